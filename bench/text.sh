#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# --text (issue 19): what printing the plaintext costs on top of the capture. nginx (TLS 1.3, HTTP/2,
# 2 workers) on lo of a private network namespace; h2load (nghttp2-client) as the client, two loads:
#   rate   1 000 requests/s (10 connections x 100 requests/s, one stream at a time): tlscap's CPU per request
#   max    as fast as it goes (10 connections x 10 streams): requests/s against untraced
# and four modes, rotated every round, medians over the rounds:
#   off    not traced
#   w      tlscap -w FILE (the product without --text)
#   text   tlscap -w FILE --text (stdout to a file)
#   json   tlscap -w FILE --text --text-format json
# Checks that --text printed every request h2load completed and its response ("all shown": a + per
# round and load, a - where one is missing). Prints one table (stdout); raw lines on stderr.
#
# runtime: ~4 min with the defaults (4 modes x 2 loads x 3 rounds x (1 + 2 + 6) s), ~1.5 min with QUICK=1.
# usage: bench/text.sh    (root; nginx-light, nghttp2-client, openssl, java)
# env:   ROUNDS=3 SECONDS=6 (per load), QUICK=1 (ROUNDS=1 SECONDS=3), MODES="off w text json",
#        TLSCAP_JAR, SKIP_BUILD, JAVA_OPTS, KEEP_WORK (see lib.sh)
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
seconds=$(env_at_start SECONDS)
rounds=${ROUNDS:-3}
if [ "${QUICK:-0}" = 1 ]; then rounds=${ROUNDS:-1}; seconds=${seconds:-3}; fi
seconds=${seconds:-6}
read -ra modes <<<"${MODES:-off w text json}"

bench_init text
command -v h2load >/dev/null || bench_die "not found: h2load (apt-get install -y nghttp2-client)"
bench_need nginx openssl java ip
bench_jar

ns=tlscap-bench-text-$$
bench_netns "$ns"
port=8443
bench_nginx "$ns" "$port" "TLSv1.3" http2

# load LOAD -> "succeeded started requests_per_s" (h2load's requests that succeeded, that were sent, its rate)
load() {
  local out
  if [ "$1" = warmup ]; then
    out=$(in_ns "$ns" h2load -c 10 -m 1 --rps 100 -D 2 "https://127.0.0.1:$port/" 2>&1)
  elif [ "$1" = rate ]; then
    out=$(in_ns "$ns" h2load -c 10 -m 1 --rps 100 -D "$seconds" "https://127.0.0.1:$port/" 2>&1)
  else
    out=$(in_ns "$ns" h2load -c 10 -m 10 -D "$seconds" "https://127.0.0.1:$port/" 2>&1)
  fi
  echo "$out" | awk '/^requests:/ {ok=$8; started=$4} /^finished in/ {gsub(/,/, "", $4); rate=$4} END {printf "%d %d %.1f\n", ok, started, rate}'
}

declare -A results
med() { printf '%s\n' "$@" | median; }
for round in $(seq "$rounds"); do
  for mode in $(rotate "$round" "${modes[@]}"); do
    for l in rate max; do
      text_out=$work/text-$mode-$l-$round.out
      if [ "$mode" != off ]; then
        case $mode in
          w) TLSCAP_ARGS="" ;;
          text) TLSCAP_ARGS="--text" ;;
          json) TLSCAP_ARGS="--text --text-format json" ;;
        esac
        # shellcheck disable=SC2086
        bench_spawn "$ns" bash -c 'exec java ${JAVA_OPTS:-} -jar "$0" -q -i lo -w "$1" '"$TLSCAP_ARGS"' port '"$port"' >"$2" 2>"$3"' \
          "$jar" "$work/cap.pcapng" "$text_out" "$work/cap-$mode-$l-$round.log"
        cap_pid=$spawned
        await_line "$work/cap-$mode-$l-$round.log" "^listening on" "$cap_pid"
      fi
      read -r warm warm_started _ <<<"$(load warmup)" # 2 s at the rate: the JIT compiles the paths first
      [ "$mode" = off ] || t0=$(proc_ticks "$cap_pid")
      read -r requests started rate <<<"$(load "$l")"
      line="$mode $l round $round: $requests requests, $rate req/s"
      if [ "$mode" != off ]; then
        t1=$(proc_ticks "$cap_pid")
        rss=$(proc_hwm_kb "$cap_pid")
        bench_reap "$cap_pid" TERM
        us=$(awk -v t=$((t1 - t0)) -v n="$requests" -v hz="$bench_clk" 'BEGIN {printf "%.1f", (n > 0 ? 1e6 * t / hz / n : 0)}')
        line="$line, tlscap $us us/request, peak RSS $((rss / 1024)) MiB"
        if [ "$mode" = text ] || [ "$mode" = json ]; then
          if [ "$mode" = text ]; then
            shown=$(grep -c ' HTTP/2 stream [0-9]* request' "$text_out" || true)
            answered=$(grep -c ' HTTP/2 stream [0-9]* response' "$text_out" || true)
          else
            shown=$(grep -c '"kind":"request"' "$text_out" || true)
            answered=$(grep -c '"kind":"response"' "$text_out" || true)
          fi
          # h2load stops at its deadline with requests in flight: every one that succeeded must be shown,
          # request and response; those still in flight may be (at most the ones it started)
          done_=$((requests + warm))
          line="$line, shown $shown requests ($done_ completed, $((started + warm_started)) started), $answered responses"
          if [ "$shown" -ge "$done_" ] && [ "$shown" -le "$((started + warm_started))" ] && [ "$answered" -ge "$done_" ]; then
            results[$mode-$l-shown]="${results[$mode-$l-shown]:-}+"
          else
            results[$mode-$l-shown]="${results[$mode-$l-shown]:-}-"
          fi
        fi
        results[$mode-$l-us]="${results[$mode-$l-us]:-} $us"
        results[$mode-$l-rss]="${results[$mode-$l-rss]:-} $((rss / 1024))"
      fi
      results[$mode-$l-rate]="${results[$mode-$l-rate]:-} $rate"
      echo "$line" >&2
    done
  done
done

off_max=$(med ${results[off-max-rate]})
printf "%-6s %14s %16s %18s %16s %9s %s\n" mode "rate req/s" "us/req at rate" "max req/s" "max vs untraced" "peak RSS" "all shown"
for mode in "${modes[@]}"; do
  us=$( [ "$mode" = off ] && echo - || med ${results[$mode-rate-us]})
  mx=$(med ${results[$mode-max-rate]})
  rss=$( [ "$mode" = off ] && echo - || echo "$(med ${results[$mode-rate-rss]} ${results[$mode-max-rss]}) MiB")
  printf "%-6s %14s %16s %18s %16s %9s %s\n" "$mode" "$(med ${results[$mode-rate-rate]})" "$us" "$mx" \
    "$(ratio "$mx" "$off_max")" "$rss" "${results[$mode-rate-shown]:-}${results[$mode-max-shown]:-}"
done
echo "$(machine); h2load $(h2load --version 2>&1 | awk '{print $2; exit}'), $rounds rounds x $seconds s"

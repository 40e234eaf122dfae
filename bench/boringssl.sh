#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# BoringSSL: what tlscap's two BoringSSL probes (HKDF_expand, CRYPTO_tls1_prf) cost a BoringSSL
# server. `bssl-tool server -loop -www` (Debian's android-boringssl, one connection at a time)
# answers `openssl s_time -new` (full handshakes, one client) on lo, with
#   off     tlscap not running
#   probes  the same with the filter `port 9`: no packet kept (the in-kernel filter drops them),
#           only the probes' cost in the server
#   tlscap  `java -jar tlscap.jar -i lo -w FILE --comm bssl-tool port P`: the probes in the
#           server only, the packets captured and merged with the secrets
# rotated every round; medians over the rounds. Besides handshakes/s and their ratio: the server's
# CPU per handshake, and the secrets tlscap received per handshake (TLS 1.3: 4 traffic secrets and
# the exporter of each handshake; TLS 1.2: one CLIENT_RANDOM line). Prints one table.
#
# runtime: ~1.5 min with the defaults (2 versions x 3 modes x 3 rounds x 5 s), ~20 s with QUICK=1.
# usage: bench/boringssl.sh      (root; bssl-tool, openssl, java)
# env:   ROUNDS=3, SECONDS=5, QUICK=1 (ROUNDS=1 SECONDS=3), TLSCAP_JAR, SKIP_BUILD, KEEP_WORK (lib.sh)
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
seconds=$(env_at_start SECONDS)
rounds=${ROUNDS:-3}
if [ "${QUICK:-0}" = 1 ]; then rounds=${ROUNDS:-1}; seconds=${seconds:-3}; fi
seconds=${seconds:-5}

bench_init boringssl
bench_need bssl-tool openssl java
bench_jar
port=$((20000 + RANDOM % 20000))
bench_spawn "" bssl-tool server -accept "$port" -loop -www
server_pid=$spawned
for _ in $(seq 100); do ss -ltn | grep -q ":$port " && break; sleep 0.05; done

# handshakes TLS SECONDS -> "count rate server_us_per_handshake"
handshakes() {
  local s0 s1 out n rate
  s0=$(proc_ticks "$server_pid")
  out=$(/usr/bin/time -f "cputime %e" openssl s_time -connect "127.0.0.1:$port" -new "-$1" -time "$2" 2>&1)
  s1=$(proc_ticks "$server_pid")
  n=$(awk '/connections in .* real seconds/ {print $1}' <<<"$out")
  rate=$(awk -v n="$n" '/^cputime/ {print n / $2}' <<<"$out")
  [ -n "$n" ] && [ -n "$rate" ] || bench_die "s_time: no result: $out"
  awk -v n="$n" -v r="$rate" -v a="$s0" -v b="$s1" -v hz="$bench_clk" \
    'BEGIN {printf "%d %.1f %.1f\n", n, r, (b - a) / hz * 1e6 / n}'
}

raw=$work/raw.txt
: >"$raw"
for ((r = 1; r <= rounds; r++)); do
  for tls in tls1_3 tls1_2; do
    for mode in $(rotate $((r - 1)) off probes tlscap); do
      per=-
      if [ "$mode" = tlscap ]; then
        TLSCAP_ARGS="--comm bssl-tool" cap_start tlscap "" lo "$work/bssl.pcapng" port "$port"
      elif [ "$mode" = probes ]; then
        TLSCAP_ARGS="--comm bssl-tool" cap_start tlscap "" lo "$work/bssl.pcapng" port 9
      fi
      sleep 1
      read -r n rate us <<<"$(handshakes "$tls" "$seconds")"
      if [ "$mode" != off ]; then
        cap_stop
        secrets=$(sed -n 's/^\([0-9]*\) TLS secrets.*/\1/p' "$cap_log")
        per=$(awk -v s="${secrets:-0}" -v n="$n" 'BEGIN {printf "%.2f", s / n}')
      fi
      echo "$tls-$mode $r $rate $us $per" >>"$raw"
      bench_log "$tls $mode $r: $rate handshakes/s, server $us us/hs, $per secrets/hs"
    done
  done
done

{
  printf "BoringSSL server (bssl-tool server) against openssl s_time -new on lo; medians of %s rounds of %s s\n" "$rounds" "$seconds"
  printf "%-5s %-44s %10s %7s %16s %12s\n" TLS mode "hs/s" ratio "server us/hs" "secrets/hs"
  for tls in tls1_3 tls1_2; do
    off=$(col "$raw" "$tls-off" 3 | median)
    for mode in off probes tlscap; do
      rate=$(col "$raw" "$tls-$mode" 3 | median)
      case $mode in
        off) label="not traced" ;;
        probes) label="the BoringSSL probes alone (no packet kept)" ;;
        *) label="tlscap: probes + capture + merge" ;;
      esac
      printf "%-5s %-44s %10s %7s %16s %12s\n" "${tls/tls1_/1.}" "$label" "$rate" "$(ratio "$rate" "$off")" \
        "$(col "$raw" "$tls-$mode" 4 | median)" "$(col "$raw" "$tls-$mode" 5 | median)"
    done
  done
  echo "server us/hs: the BoringSSL server's CPU per handshake (a uprobe, and on lo the TC hook, run in its context)."
  echo "machine: $(machine)"
}
echo "# raw: tls-mode round handshakes/s server_us/hs secrets/hs" >&2
cat "$raw" >&2

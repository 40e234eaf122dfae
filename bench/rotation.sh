#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Rotation with many long-lived connections: what carrying keyed TLS connections into every rotated
# file costs (issue 16). nginx (TLS 1.3, 2 workers) on lo of a private network namespace; wrk keeps
# C=1000 keep-alive HTTPS connections busy for SECONDS; tlscap writes them
#   single    tlscap -w, one file
#   rotated   tlscap -w -G G: every connection that speaks in a file gets its prologue there (its
#             handshake again and the empty records that align Wireshark's record numbers)
# rotated every round; medians over the rounds. Per mode: wrk's requests/s, tlscap's CPU, the
# bytes written, the files; for rotated, from tlscap's summary, the prologues written, their bytes
# and the time spent making them, per rotation; the requests tshark decrypts in the newest file
# with application data, read alone (last-requests); what was not carried, and why, on stderr. Prints one table (stdout); raw lines on stderr.
#
# runtime: ~2.5 min with the defaults (2 modes x 3 rounds x 12 s + checks), ~1 min with QUICK=1.
# usage: bench/rotation.sh          (root; nginx-light, wrk, openssl, tshark, java)
# env:   ROUNDS=3 SECONDS=12 C=1000 G=3, QUICK=1 (ROUNDS=1 SECONDS=8), TLSCAP_JAR, SKIP_BUILD, KEEP_WORK (see lib.sh)
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
seconds=$(env_at_start SECONDS)
rounds=${ROUNDS:-3}
if [ "${QUICK:-0}" = 1 ]; then rounds=${ROUNDS:-1}; seconds=${seconds:-8}; fi
seconds=${seconds:-12}
connections=${C:-1000}
every=${G:-3}
modes=(single rotated)

bench_init rotation
bench_need nginx wrk openssl tshark java ip
bench_jar
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
ns=tlscap-bench-rot-$$
bench_netns "$ns"
port=8443
bench_nginx "$ns" "$port" "TLSv1.3"

raw=$work/raw
: >"$raw"
for ((round = 0; round < rounds; round++)); do
  for mode in $(rotate "$round" "${modes[@]}"); do
    dir=$work/$mode-$round
    mkdir -p "$dir"
    args=()
    [ "$mode" = rotated ] && args=(-G "$every")
    TLSCAP_ARGS="${args[*]}" cap_start tlscap "$ns" lo "$dir/out.pcapng" port "$port"
    t0=$(proc_ticks "$cap_pid")
    s0=$(now)
    out=$(in_ns "$ns" wrk -t 2 -c "$connections" -d "${seconds}s" "https://127.0.0.1:$port/" 2>&1) || bench_die "wrk: $out"
    s1=$(now)
    t1=$(proc_ticks "$cap_pid")
    cap_stop
    rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
    cpu=$(cpu_pct "$t0" "$t1" "$(elapsed "$s0" "$s1")")
    files=$(find "$dir" -name 'out*.pcapng' | wc -l)
    bytes=$(find "$dir" -name 'out*.pcapng' -printf '%s\n' | awk '{s += $1} END {print s + 0}')
    summary=$(grep 'TLS sessions' "$cap_log" | head -1)
    prologues=$(sed -n 's/.*; \([0-9]*\) times a TLS session went on into a later file and was made to decrypt there.*/\1/p' <<<"$summary")
    synth=$(sed -n 's/.*made to decrypt there ([0-9]* synthetic packets, \([0-9.]*\) \([KMG]*i*B\), \([0-9]*\) ms).*/\1 \2 \3/p' <<<"$summary")
    read -r synth_size synth_unit prologue_ms <<<"${synth:-0 B 0}"
    synth_bytes=$(awk -v n="$synth_size" -v u="$synth_unit" 'BEGIN {m = u == "KiB" ? 1024 : u == "MiB" ? 1048576 : u == "GiB" ? 1073741824 : 1; printf "%d", n * m}')
    lost=$(sed -n 's/.*; \([0-9]*\) times a TLS session went on into a later file where it does not decrypt.*/\1/p' <<<"$summary")
    # the newest file with application data (the last one may hold only the connections' ends)
    for last in $(find "$dir" -name 'out*.pcapng' | sort -r); do
      [ "$(tshark -r "$last" -Y 'tls.record.content_type == 23' 2>/dev/null | wc -l)" -gt 0 ] && break
    done
    decrypted=$(tshark -r "$last" -Y http.request 2>/dev/null | wc -l)
    echo "$mode $round rps $rps cpu $cpu files $files bytes $bytes prologues ${prologues:-0} synth_bytes $synth_bytes prologue_ms $prologue_ms not_carried ${lost:-0} last_file_requests $decrypted" | tee -a "$raw" >&2
    [ "${lost:-0}" = 0 ] || bench_log "$mode $round: $(sed -n 's/.*\(times a TLS session went on into a later file where it does not decrypt.*\)/\1/p' <<<"$summary")"
    [ "$decrypted" -gt 0 ] || bench_log "$mode $round: the newest file with application data ($last) decrypts no request alone"
    [ "${KEEP_WORK:-0}" = 1 ] || rm -rf "$dir"
  done
done

med() { awk -v m="$1" -v k="$2" '$1 == m {for (i = 3; i < NF; i += 2) if ($i == k) print $(i + 1)}' "$raw" | median; }
echo "Rotation with $connections keep-alive TLS 1.3 connections (wrk -t 2) to nginx on lo, $(date -u +%Y-%m-%dT%H:%MZ);"
echo "medians of $rounds rounds x $seconds s; rotated = -G $every; $(machine)"
printf '%-8s %12s %10s %6s %12s %10s %14s %14s %12s %14s\n' mode requests/s tlscap-CPU files MiB prologues "KiB/rotation" "ms/rotation" not-carried last-requests
for mode in "${modes[@]}"; do
  files=$(med "$mode" files)
  rotations=$(awk -v f="$files" 'BEGIN {print (f > 1 ? f - 1 : 1)}')
  printf '%-8s %12s %9s%% %6s %12s %10s %14s %14s %12s %14s\n' "$mode" "$(med "$mode" rps)" "$(med "$mode" cpu)" "$files" \
    "$(awk -v b="$(med "$mode" bytes)" 'BEGIN {printf "%.1f", b / 1048576}')" "$(med "$mode" prologues)" \
    "$(awk -v b="$(med "$mode" synth_bytes)" -v r="$rotations" 'BEGIN {printf "%.0f", b / 1024 / r}')" \
    "$(awk -v b="$(med "$mode" prologue_ms)" -v r="$rotations" 'BEGIN {printf "%.1f", b / r}')" "$(med "$mode" not_carried)" \
    "$(med "$mode" last_file_requests)"
done
echo "requests/s rotated/single: $(ratio "$(med rotated rps)" "$(med single rps)")"

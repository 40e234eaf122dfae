#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Java TLS: what --java costs a JSSE program. A JSSE client (bench's JsseHandshakes: SSLSocket, full
# handshakes, each session invalidated) against nginx (TLS 1.3 or 1.2) on lo of a private network
# namespace, C concurrent connections, with
#   off       no tlscap
#   idle      tlscap with a filter that keeps no packet, without --java: its JVM and its OpenSSL
#             uprobes (they fire in nginx) on the same CPUs
#   agent     the same with --java --pid CLIENT: against idle, the agent's own cost (its hooks, its
#             line per secret, tlscap reading them), apart from the capture's
#   capture   tlscap -w on lo, without --java (the packets; no secrets for the JVM)
#   java      tlscap -w on lo with --java --pid CLIENT: the agent patched into the running JVM
# rotated every round; medians over the rounds. Each run starts a fresh client JVM and tlscap (the
# agent patches JSSE as it loads, before the first handshake), warms the JVM up (SETTLE=3 rounds of
# 3 s), then the clock runs. Apart: a warm JVM that used JSSE before the attach (the agent redefines
# its classes: before JDK 23 HotSpot then discards all compiled code), its rate after the attach. Besides handshakes/s, the client JVM's
# CPU per handshake, and tlscap's "attached in" (Attach API + agent load into the warm JVM); then,
# apart, how long a JVM started under a running tlscap --java takes from exec to attached.
# Prints one table (stdout); raw lines on stderr.
#
# runtime: ~6 min with the defaults (5 modes x 3 rounds x (5 s + 9 s of warm-up)), ~2.5 min with QUICK=1.
# usage: bench/java-tls.sh          (root; nginx-light, openssl, java, maven)
# env:   ROUNDS=3 SECONDS=5 C=2 TLS=13 (or 12), SETTLE=3, QUICK=1 (ROUNDS=1 SECONDS=3), SKIP_BUILD, TLSCAP_JAR,
#        KEEP_WORK (see lib.sh)
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
seconds=$(env_at_start SECONDS)
rounds=${ROUNDS:-3}
if [ "${QUICK:-0}" = 1 ]; then rounds=${ROUNDS:-1}; seconds=${seconds:-3}; fi
seconds=${seconds:-5}
concurrency=${C:-2}
tls=${TLS:-13}
protocol=TLSv1.${tls#1}
modes=(off idle agent capture java)

bench_init java-tls
bench_need nginx openssl java mvn ip
bench_jar
if [ "${SKIP_BUILD:-0}" != 1 ]; then
  (cd "$bench_repo" && mvn -B -ntp -q -pl bench -am package -DskipTests >&2)
fi
client_classes=$bench_repo/bench/target/classes:$bench_repo/test-support/target/classes
java_bin=$(readlink -f "$(command -v java)")
ln -s "$java_bin" "$work/jsse-bench" # the client's name (comm), for the new-JVM measure

ns=tlscap-bench-java-$$
bench_netns "$ns"
port=8443
bench_nginx "$ns" "$port" "TLSv1.2 TLSv1.3"

# client_start: a fresh client JVM (fifo stdin), $client_pid; client_run SECONDS -> its output line
client_start() {
  rm -f "$work/client.in"
  mkfifo "$work/client.in"
  exec 8<>"$work/client.in" # read-write: neither open below waits for the other end
  : >"$work/client.out"
  # not bench_spawn: a background command's stdin would be /dev/null
  ip netns exec "$ns" "$work/jsse-bench" -cp "$client_classes" dev.tlscap.bench.JsseHandshakes 127.0.0.1 "$port" \
    <"$work/client.in" >"$work/client.out" 2>"$work/client.err" &
  client_pid=$!
  bench_pids+=("$client_pid")
  await_line "$work/client.out" '^ready' "$client_pid"
}
client_run() {
  local before
  before=$(grep -c '^handshakes' "$work/client.out" || true)
  echo "run $1 $concurrency $protocol" >&8
  until [ "$(grep -c '^handshakes' "$work/client.out" || true)" -gt "$before" ]; do
    kill -0 "$client_pid" 2>/dev/null || bench_die "client died: $(tail -3 "$work/client.err")"
    sleep 0.05
  done
  grep '^handshakes' "$work/client.out" | tail -1
}
client_stop() {
  echo quit >&8 || true
  exec 8>&-
  bench_reap "$client_pid" TERM
}

tlscap_start() { # MODE LOG [ARGS...]
  local log=$2
  shift 2
  bench_spawn "$ns" java -jar "$jar" -i lo -w "$work/java-tls.pcapng" "$@" 2>"$log"
  tlscap_pid=$spawned
  await_line "$log" '^listening on' "$tlscap_pid"
}

run() {
  local mode=$1 round=$2 line n secs t0 t1 attach=- log=$work/tlscap-$1-$2.log
  client_start
  tlscap_pid=""
  case $mode in
    idle) tlscap_start "$mode" "$log" port 9 ;;
    capture) tlscap_start "$mode" "$log" port "$port" ;;
    agent | java)
      if [ "$mode" = agent ]; then filter=(port 9); else filter=(port "$port"); fi
      tlscap_start "$mode" "$log" --java --pid "$client_pid" "${filter[@]}"
      await_line "$log" 'a JVM (java' "$tlscap_pid" 60
      attach=$(sed -n 's/.*attached in \([0-9]*\) ms.*/\1/p' "$log" | head -1)
      ;;
  esac
  # tlscap (and the agent) came before the JVM's first handshake: JSSE is patched as it loads. Then
  # 9 s of warm-up (JIT) in every mode before the clock runs
  for ((w = 0; w < ${SETTLE:-3}; w++)); do client_run 3 >/dev/null; done
  t0=$(proc_ticks "$client_pid")
  line=$(client_run "$seconds")
  t1=$(proc_ticks "$client_pid")
  if [ -n "$tlscap_pid" ]; then
    bench_reap "$tlscap_pid" TERM
    [ "$mode" != capture ] && bench_log "tlscap: $(grep -E 'TLS sessions|TLS secrets' "$log" | tr '\n' ' ')"
  fi
  client_stop
  n=$(awk '{print $2}' <<<"$line")
  secs=$(awk '{print $4}' <<<"$line")
  awk -v m="$mode" -v r="$round" -v n="$n" -v s="$secs" -v a="$t0" -v b="$t1" -v hz="$bench_clk" -v at="$attach" \
    'BEGIN {printf "%s %s %.1f %.0f %s\n", m, r, n / s, (b - a) / hz * 1e6 / n, at}' >>"$raw"
  bench_log "$(tail -1 "$raw") ($line)"
}

raw=$work/raw.txt
: >"$raw"
bench_log "$rounds rounds x ${#modes[@]} modes, $seconds s each, $protocol, $concurrency connections, $(java -version 2>&1 | head -1)"
for ((r = 1; r <= rounds; r++)); do
  for mode in $(rotate $((r - 1)) "${modes[@]}"); do
    run "$mode" "$r"
  done
done

# ---- a warm JVM that uses JSSE already: the agent redefines its classes (see the agent's Installer) ----
# rates of 5 s before the attach (tlscap idle, capturing nothing) and in the 3 x 5 s after it (--java)
client_start
for ((w = 0; w < 3; w++)); do client_run 3 >/dev/null; done
tlscap_start inuse-idle "$work/tlscap-inuse-idle.log" port 9
before=$(client_run 5 | awk '{print $2 / $4}')
bench_reap "$tlscap_pid" TERM
tlscap_start inuse "$work/tlscap-inuse.log" --java --pid "$client_pid" port 9
await_line "$work/tlscap-inuse.log" 'a JVM (java' "$tlscap_pid" 60
in_use=()
for w in 1 2 3; do in_use+=("$(client_run 5 | awk -v b="$before" '{printf "%.2f", $2 / $4 / b}')"); done
bench_reap "$tlscap_pid" TERM
client_stop
bench_log "in use: before $before/s, after: ${in_use[*]}; $(grep -o 'attached in.*' "$work/tlscap-inuse.log")"

# ---- a JVM started under a running tlscap --java: exec -> "attached" ----
new_jvm=()
for i in 1 2 3; do
  log=$work/tlscap-new-$i.log
  tlscap_start new "$log" --java --comm jsse-bench port "$port"
  t0=$(date +%s%N)
  client_start
  await_line "$log" 'a JVM (java' "$tlscap_pid" 60
  new_jvm+=($((($(date +%s%N) - t0) / 1000000)))
  client_stop
  bench_reap "$tlscap_pid" TERM
done

off_rate=$(col "$raw" off 3 | median)
{
  printf "JSSE handshakes/s, %s client (SSLSocket, full handshakes) -> nginx on lo, %s, %s concurrent; medians of %s rounds of %s s\n" \
    "$(java -version 2>&1 | head -1 | cut -d'"' -f2)" "$protocol" "$concurrency" "$rounds" "$seconds"
  printf "%-46s %12s %8s %18s %16s\n" mode handshakes/s ratio "client us/hs" "attached in ms"
  for mode in "${modes[@]}"; do
    case $mode in
      off) label="no tlscap" ;;
      idle) label="tlscap capturing nothing, without --java" ;;
      agent) label="tlscap --java, capturing nothing (the agent)" ;;
      capture) label="tlscap -w, without --java" ;;
      java) label="tlscap -w --java (agent in the client)" ;;
    esac
    rate=$(col "$raw" "$mode" 3 | median)
    printf "%-46s %12s %8s %18s %16s\n" "$label" "$rate" "$(ratio "$rate" "$off_rate")" "$(col "$raw" "$mode" 4 | median)" \
      "$(col "$raw" "$mode" 5 | median)"
  done
  echo "the agent's own cost: agent vs idle, $(ratio "$(col "$raw" agent 3 | median)" "$(col "$raw" idle 3 | median)")."
  echo "a warm JVM that used JSSE before the attach (its classes redefined), handshakes/s in the 3 x 5 s after the attach, vs the 5 s before: ${in_use[*]}"
  echo "attached in: tlscap's figure for a warm, running JVM (Attach API, agent load, JSSE patched, socket connected)."
  echo "a JVM started under tlscap --java, exec -> attached (ms): ${new_jvm[*]}"
  echo "machine: $(machine)"
}
echo "# raw: mode round handshakes/s client_us/hs attach_ms" >&2
cat "$raw" >&2

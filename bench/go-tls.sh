#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Go TLS: what the Go crypto/tls probe costs the traced programs. A Go server and a Go client
# (bpf/src/test/go/tlspeer, built here with the system's go) do full handshakes on lo (no session
# resumption, C concurrent connections, TLS 1.3 by default), with
#   off     not traced
#   probe   the Go probe as tlscap places it: on writeKeyLog's stack-check jbe (emulated by the kernel)
#   entry   the same probe on writeKeyLog's first instruction (a lea: single-stepped), for comparison
#   idle    the tracer's JVM running and draining, attached to nothing: what its presence on the
#           same CPUs costs, apart from the uprobe hits
# rotated every round (off probe entry, probe entry off, ...); medians over the rounds. Only the probe
# runs (bpf's GoTlsProbeMain: GoSecretSource draining its ring), no packet capture. Besides the
# rates, the CPU both peers spent per handshake (a uprobe runs in the traced process) and the
# writeKeyLog calls the probe counted per handshake (2 ends x 4 secrets in TLS 1.3, x 1 in TLS 1.2):
# a secret sent twice (the morestack pass) would show here as more than 8 or 2.
# Prints one table (stdout); raw lines on stderr.
#
# runtime: ~1.5 min with the defaults (3 modes x 5 rounds x 5 s), ~20 s with QUICK=1.
# usage: bench/go-tls.sh           (root; golang-go, java, maven)
# env:   ROUNDS=5 SECONDS=5 C=2 TLS=13 (or 12), BUILD=plain|stripped-pie, QUICK=1 (ROUNDS=1 SECONDS=3),
#        MODES="off probe entry idle", SKIP_BUILD, KEEP_WORK (see lib.sh)
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
seconds=$(env_at_start SECONDS)
rounds=${ROUNDS:-5}
if [ "${QUICK:-0}" = 1 ]; then rounds=${ROUNDS:-1}; seconds=${seconds:-3}; fi
seconds=${seconds:-5}
concurrency=${C:-2}
tls=${TLS:-13}
build=${BUILD:-stripped-pie}
read -ra modes <<<"${MODES:-off probe entry idle}"

bench_init go-tls
bench_need go java mvn
if [ "${SKIP_BUILD:-0}" != 1 ]; then
  bench_log "building the bpf module (mvn -pl bpf -am package -DskipTests; SKIP_BUILD=1 skips)..."
  (cd "$bench_repo" && mvn -B -ntp -q -pl bpf -am package -DskipTests >&2)
fi
jna=$(sed -n 's:.*<jna.version>\(.*\)</jna.version>.*:\1:p' "$bench_repo/pom.xml")
jna_jar=$HOME/.m2/repository/net/java/dev/jna/jna/$jna/jna-$jna.jar
[ -f "$jna_jar" ] || bench_die "no $jna_jar (run mvn -pl bpf -am package once)"
classpath=$bench_repo/bpf/target/classes:$bench_repo/bpf/target/test-classes:$jna_jar

peer=$work/tlspeer
case $build in
  plain) flags=() ;;
  stripped-pie) flags=(-buildmode=pie "-ldflags=-s -w") ;;
  *) bench_die "BUILD=$build: plain or stripped-pie" ;;
esac
(cd "$bench_repo/bpf/src/test/go/tlspeer" && GOFLAGS=-mod=mod GOPROXY=off GOTOOLCHAIN=local go build "${flags[@]}" -o "$peer" .)
# writeKeyLog called in a loop (bench/go/keylogcalls), to price one probe hit on its own
calls_bin=$work/keylogcalls
(cd "$bench_repo/bench/go/keylogcalls" && GOFLAGS=-mod=mod GOPROXY=off GOTOOLCHAIN=local go build "${flags[@]}" -o "$calls_bin" .)

bench_spawn "" "$peer" server >"$work/server.log" 2>&1
server_pid=$spawned
await_line "$work/server.log" '^listening ' "$server_pid"
url=$(sed -n 's/^listening //p' "$work/server.log")

tracer_pid=""
tracer_start() {
  tracer_pid=""
  [ "$1" = off ] && return 0
  local args=("$peer" "$calls_bin")
  [ "$1" = entry ] && args=(--entry "${args[@]}")
  [ "$1" = idle ] && args=()
  tracer_log=$work/tracer-$1-$2.log
  bench_spawn "" java -cp "$classpath" dev.tlscap.secrets.go.GoTlsProbeMain "${args[@]}" 2>"$tracer_log"
  tracer_pid=$spawned
  await_line "$tracer_log" 'go-tls-probe: tracing' "$tracer_pid"
  return 0
}

# handshakes SECONDS -> "count rate peers_us_per_handshake" (CPU of server + client)
handshakes() {
  local s0 s1 out n secs client_cpu
  s0=$(proc_ticks "$server_pid")
  out=$(/usr/bin/env time -f 'cpu %U %S' "$peer" handshakes -url "$url" -seconds "$1" -c "$concurrency" -tls "$tls" 2>&1)
  s1=$(proc_ticks "$server_pid")
  n=$(sed -n 's/^handshakes \([0-9]*\) .*/\1/p' <<<"$out")
  secs=$(sed -n 's/.* seconds \([0-9.]*\)$/\1/p' <<<"$out")
  client_cpu=$(awk '/^cpu / {print $2 + $3}' <<<"$out")
  awk -v n="$n" -v s="$secs" -v a="$s0" -v b="$s1" -v hz="$bench_clk" -v c="$client_cpu" \
    'BEGIN {printf "%d %.1f %.1f\n", n, n / s, ((b - a) / hz + c) * 1e6 / n}'
}

run() {
  local mode=$1 round=$2 warm n rate us calls=-
  tracer_start "$mode" "$round"
  sleep 2 # the tracer's JVM settles (class loading, JIT) before the clock runs; "off" waits the same
  read -r warm _ _ <<<"$(handshakes 1)" # warm-up, not timed (but traced: counted in writeKeyLog/hs)
  read -r n rate us <<<"$(handshakes "$seconds")"
  if [ -n "$tracer_pid" ]; then
    bench_reap "$tracer_pid" TERM
  fi
  if [ -n "$tracer_pid" ] && [ "$mode" != idle ]; then
    local seen
    seen=$(sed -n 's/^go-tls-probe: \([0-9]*\) writeKeyLog calls.*/\1/p' "$tracer_log")
    calls=$(awk -v c="${seen:-0}" -v n="$((n + warm))" 'BEGIN {printf "%.3f", c / n}')
    grep -q ' 0 lost, 0 unreadable, 0 malformed' "$tracer_log" || bench_log "tracer: $(tail -1 "$tracer_log")"
  fi
  echo "$mode $round $rate $us $calls" >>"$raw"
  bench_log "$mode $round $rate $us $calls"
}

raw=$work/raw.txt
: >"$raw"
bench_log "$rounds rounds x ${#modes[@]} modes, $seconds s each, TLS 1.${tls#1}, $concurrency connections, $build build, $(go version | cut -d' ' -f3)"
for ((r = 1; r <= rounds; r++)); do
  for mode in $(rotate $((r - 1)) "${modes[@]}"); do
    run "$mode" "$r"
  done
done

# ---- one probe hit, priced directly: writeKeyLog in a loop (KeyLogWriter nil), ns per call ----
bench_log "pricing one hit..."
declare -A hit
for mode in "${modes[@]}"; do
  tracer_start "$mode" price
  hit[$mode]=$(for i in 1 2 3; do "$calls_bin" -n 100000 | awk '{print $4}'; done | median)
  [ -n "$tracer_pid" ] && bench_reap "$tracer_pid" TERM
  bench_log "price $mode ${hit[$mode]} ns/call"
done

off_rate=$(col "$raw" off 3 | median)
off_us=$(col "$raw" off 4 | median)
{
  printf "Go crypto/tls handshakes/s, Go client -> Go server on lo, TLS 1.%s, %s concurrent, %s build, %s; medians of %s rounds of %s s\n" \
    "${tls#1}" "$concurrency" "$build" "$(go version | cut -d' ' -f3)" "$rounds" "$seconds"
  printf "%-46s %12s %8s %16s %18s %20s\n" mode handshakes/s ratio "peers us/hs" "+us/hs vs off" "writeKeyLog/hs"
  for mode in "${modes[@]}"; do
    rate=$(col "$raw" "$mode" 3 | median)
    us=$(col "$raw" "$mode" 4 | median)
    calls=$(col "$raw" "$mode" 5 | median)
    case $mode in
      off) label="not traced" ;;
      probe) label="Go probe (on the stack check's jbe: emulated)" ;;
      entry) label="Go probe on the entry (lea: single-stepped)" ;;
      idle) label="the tracer's JVM alone, attached to nothing" ;;
    esac
    printf "%-46s %12s %8s %16s %18s %20s\n" "$label" "$rate" "$(ratio "$rate" "$off_rate")" "$us" \
      "$(awk -v a="$us" -v b="$off_us" 'BEGIN {if (a == "-" || b == "-") print "-"; else printf "%+.0f", a - b}')" "$calls"
  done
  echo "peers us/hs: CPU of the server and the client per handshake (a uprobe runs in the traced process)."
  printf "one writeKeyLog call (bench/go/keylogcalls, KeyLogWriter nil, medians of 3 x 100000 calls):"
  for mode in "${modes[@]}"; do printf " %s %s ns;" "$mode" "${hit[$mode]}"; done
  echo
  echo "machine: $(machine)"
}
echo "# raw: mode round handshakes/s peers_us/hs writeKeyLog/hs" >&2
cat "$raw" >&2

#!/usr/bin/env bash
# TLS handshakes/s of `openssl s_time -new` against `openssl s_server` on lo, with tlscap's secret
# tracing (uprobes on EVP_KDF_derive + the socket I/O tracepoint) and without, alternated
# (off on off on ...) in one run; prints the medians, their ratio and tlscap's CPU%. Needs root.
#   bench/tls-handshakes.sh [SECONDS_PER_RUN=5] [PAIRS=4]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-5}
pairs=${2:-4}
mvn -B -ntp -q -pl bpf -am install -DskipTests >/dev/null
cp=bpf/target/test-classes:bpf/target/classes:$(mvn -B -ntp -q -pl bpf dependency:build-classpath -Dmdep.outputFile=/dev/stdout)
work=$(mktemp -d)
cleanup() { [ -n "${server:-}" ] && kill "$server" 2>/dev/null; [ -n "${tracer:-}" ] && kill "$tracer" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$work/key.pem" -out "$work/cert.pem" -days 1 -subj /CN=localhost 2>/dev/null
port=$((20000 + RANDOM % 20000))
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
openssl s_server -accept "$port" -cert "$work/cert.pem" -key "$work/key.pem" -www -quiet >/dev/null 2>&1 &
server=$!
sleep 0.5

# s_time prints "N connections in T real seconds" (the rate clients see) besides a per-CPU-second figure.
# Also records the CPU both peers spent per handshake (steadier than the rate on a shared machine).
rate() {
  local s0 out t0 t1 c0 c1
  s0=$(cpu_ticks "$server")
  out=$( { /usr/bin/time -f "cputime %U %S" openssl s_time -connect "localhost:$port" -new -time "${1:-$seconds}" 2>&1; } 2>&1)
  s1=$(cpu_ticks "$server")
  conns=$(echo "$out" | awk '/real seconds/ {print $1}')
  client=$(echo "$out" | awk '/^cputime/ {print $2 + $3}')
  echo "$out" | awk '/real seconds/ {printf "%s ", $1 / $4}'
  echo "(($s1 - $s0) / $(getconf CLK_TCK) + $client) * 1000000 / $conns" | bc -l
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

start_tracer() {
  java ${JAVA_OPTS:-} -cp "$cp" dev.tlscap.secrets.SecretTracingBench "$work/keys" 2>"$work/tracer.err" &
  tracer=$!
  until grep -q tracing "$work/tracer.err" 2>/dev/null; do
    kill -0 "$tracer" 2>/dev/null || { echo "tlscap did not start:"; cat "$work/tracer.err"; exit 1; }
    sleep 0.1
  done
}
stop_tracer() { kill "$tracer"; wait "$tracer" 2>/dev/null || true; tracer=; }

# Symmetric: every measurement follows the same 3 s warm-up (which also lets tlscap's JIT settle),
# and the order flips every pair (off on, on off, ...), so neither side gains from going second.
off=(); on=(); cpu=(); off_us=(); on_us=()
for ((i = 0; i < pairs; i++)); do
  if ((i % 2 == 0)); then order="off on"; else order="on off"; fi
  for mode in $order; do
    [ "$mode" = on ] && start_tracer
    rate 3 >/dev/null
    if [ "$mode" = on ]; then
      t0=$(cpu_ticks "$tracer"); w0=$(date +%s.%N)
      read -r r u <<<"$(rate)"; on+=("$r"); on_us+=("$u")
      t1=$(cpu_ticks "$tracer"); w1=$(date +%s.%N)
      cpu+=("$(echo "($t1 - $t0) / $(getconf CLK_TCK) / ($w1 - $w0) * 100" | bc -l)")
      stop_tracer
    else
      read -r r u <<<"$(rate)"; off+=("$r"); off_us+=("$u")
    fi
  done
done
o=$(printf '%s\n' "${off[@]}" | median); n=$(printf '%s\n' "${on[@]}" | median); c=$(printf '%s\n' "${cpu[@]}" | median)
ou=$(printf '%s\n' "${off_us[@]}" | median); nu=$(printf '%s\n' "${on_us[@]}" | median)
printf '%-28s %12s %22s\n' "" "handshakes/s" "peers' CPU us/handshake"
printf '%-28s %12.1f %22.0f\n' "untraced" "$o" "$ou" "traced by tlscap" "$n" "$nu"
printf '%-28s %12.3f %22.3f\n' "ratio traced/untraced" "$(echo "$n / $o" | bc -l)" "$(echo "$ou / $nu" | bc -l)"
printf '%-28s %11.1f%%\n' "tlscap CPU while traced" "$c"
echo "(connections per real second; median of $pairs runs of ${seconds}s each, order flipped every pair, each after a 3 s warm-up; key lines written: $(wc -l < "$work/keys"); $(nproc) cores, $(uname -r), $(openssl version))"

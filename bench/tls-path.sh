#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# TLS path: what tracing TLS costs the traced programs. nginx (TLS 1.3, 2 workers, RSA 2048) serves
# on lo of a private network namespace; two loads: new handshakes (openssl s_time -new, one client)
# and HTTPS requests from 200 keep-alive clients (wrk -t 2 -c 200). Each load runs
#   off       not traced
#   tlscap    tlscap -w, port filter: the product (the KDF uprobe + packet capture + merge)
#   kdf       tlscap with a filter that captures nothing: the cost of its one hook (EVP_KDF_derive)
#   sockets   the same plus --socket-tracing (a raw_tp/sys_exit program: every syscall on the host)
#   plain     eCapture-style plaintext hooks, which tlscap does not have: uprobe + uretprobe on
#             SSL_read and SSL_write copying up to 4 KiB per call into a ring (bench/c/plaintext_hooks*)
#   tcpdump   tcpdump -w, port filter: packet capture alone, for reference
#   base      as tlscap, with the jar BASE_JAR and the JVM options BASE_JAVA_OPTS (an A/B of two builds or
#             two JVM settings in one run: MODES="off tlscap base")
# rotated every round (off tlscap kdf ..., tlscap kdf ... off, ...); medians over the rounds. Besides
# the rates, the CPU the peers (client + nginx workers) spent per handshake / request: a uprobe runs
# in the traced process, so its cost lands there. Prints one table (stdout); raw lines on stderr.
#
# runtime: ~6 min with the defaults (6 modes x 2 loads x 3 rounds x (2 + 5) s, checks, pricing), ~1.5 min with QUICK=1.
# usage: bench/tls-path.sh          (root; nginx-light, wrk, openssl, tshark, tcpdump, clang, libbpf-dev, gcc, java)
# env:   ROUNDS=3 SECONDS=5 (per load), QUICK=1 (ROUNDS=1 SECONDS=2), MODES="off tlscap kdf sockets plain tcpdump",
#        BASE_JAR (the jar of mode base), BASE_JAVA_OPTS (its JVM options; JAVA_OPTS when unset), CHECK=1 (tshark checks that the tlscap file decrypts: every ClientHello's connection shows its
#        encrypted Finished; CHECK=0 skips), PERF=0 (no perf record: the "capture in kernel" column stays "-"),
#        TLSCAP_JAR, SKIP_BUILD, JAVA_OPTS, KEEP_WORK (see lib.sh)
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
seconds=$(env_at_start SECONDS)
rounds=${ROUNDS:-3}
if [ "${QUICK:-0}" = 1 ]; then rounds=${ROUNDS:-1}; seconds=${seconds:-2}; fi
seconds=${seconds:-${DURATION:-5}}
warmup=$((seconds < 3 ? 1 : 2))
read -ra modes <<<"${MODES:-off tlscap kdf sockets plain tcpdump}"
check=${CHECK:-1}
case " ${modes[*]} " in
  *" base "*) [ -f "${BASE_JAR:-}" ] || { echo "tls-path: mode base needs BASE_JAR=path/to/tlscap.jar" >&2; exit 2; } ;;
esac

bench_init tls-path
bench_need nginx wrk openssl tshark tcpdump clang gcc java ip /usr/bin/time
bench_jar
libssl=$(ldconfig -p | awk '/libssl\.so\.3 .*x86-64|libssl\.so\.3 .*AArch64/ {print $NF; exit}')
[ -n "$libssl" ] || libssl=$(ldconfig -p | awk '/libssl\.so\.3/ {print $NF; exit}')

# the plaintext hooks: compiled here (clang, libbpf-dev), as build/bpf-compile compiles tlscap's own
case "$(uname -m)" in x86_64) arch=x86 ;; aarch64) arch=arm64 ;; *) arch=$(uname -m) ;; esac
clang -O2 -g -target bpf -D__TARGET_ARCH_"$arch" -Wall -Werror -I "$bench_repo/bpf/src/main/bpf/include" \
  -I "/usr/include/$(gcc -print-multiarch)" -c "$bench_repo/bench/c/plaintext_hooks.bpf.c" -o "$work/plaintext_hooks.bpf.o"
gcc -O2 -Wall -o "$work/plaintext_hooks" "$bench_repo/bench/c/plaintext_hooks.c" -lbpf
gcc -O2 -Wall -o "$work/uprobe_cost" "$bench_repo/bench/c/uprobe_cost.c" -lbpf
libcrypto=$(ldconfig -p | awk -v l="$libssl" '/libcrypto\.so\.3 / {print $NF}' | while read -r f; do [ "$(dirname "$f")" = "$(dirname "$libssl")" ] && echo "$f"; done | head -1)

ns=tlscap-bench-tls-$$
bench_netns "$ns"

# What a capture costs in the kernel runs in the senders' softirqs, not in the tracer's process:
# tlscap's TC program (its ring copy included), tcpdump's packet-socket taps (the clone and copy of
# each packet, its filter). perf record -a samples every CPU over the measured seconds of each run;
# the samples with that code on their stack, per operation, are the "capture in kernel" column.
perf_on=${PERF:-1}
perf_hz=499
if [ "$perf_on" = 1 ] && ! perf record -a -F "$perf_hz" -o "$work/perf.probe" -- true >/dev/null 2>&1; then
  bench_log "perf record -a does not run here (apt-get install linux-perf): the capture-in-kernel column stays '-'"
  perf_on=0
fi
# kernel_us MODE OPS: CPU us per operation in the capture's kernel code, from $work/perf.data
kernel_us() {
  local pattern
  case $1 in
    tcpdump) pattern='[[:space:]](tpacket_rcv|packet_rcv|dev_queue_xmit_nit)([+[:space:]]|$)' ;;
    *) pattern='_tlscap_(ingress|egress)([+[:space:]]|$)' ;; # off: should find none
  esac
  perf script -i "$work/perf.data" -F ip,sym 2>/dev/null | awk -v p="$pattern" -v hz="$perf_hz" -v n="$2" '
    /^[[:space:]]*$/ {if (hit) k++; hit = 0; next}
    $0 ~ p {hit = 1}
    END {if (hit) k++; printf "%.2f\n", (n > 0 ? k / hz * 1e6 / n : 0)}'
}
port=8443
bench_nginx "$ns" "$port" "TLSv1.3"
workers() { pgrep -P "$nginx_pid" | tr '\n' ' '; }
server_ticks() { local p s=0; for p in $nginx_pid $(workers); do s=$((s + $(proc_ticks "$p"))); done; echo "$s"; }

# client LOAD SECONDS -> "ops ops_per_s peers_us_per_op"; LOAD: handshakes | requests
client() {
  local load=$1 secs=$2 s0 s1 out ops rate cpu
  s0=$(server_ticks)
  if [ "$load" = handshakes ]; then
    # s_time prints whole "real seconds": the rate comes from the wall time /usr/bin/time measures
    out=$(/usr/bin/time -f "cputime %e %U %S" ip netns exec "$ns" openssl s_time -connect "127.0.0.1:$port" -new -time "$secs" 2>&1)
    ops=$(echo "$out" | awk '/connections in .* real seconds/ {print $1}')
    rate=$(echo "$out" | awk -v n="$ops" '/^cputime/ {print n / $2}')
  else
    out=$(/usr/bin/time -f "cputime %e %U %S" ip netns exec "$ns" wrk -t 2 -c 200 -d "${secs}s" "https://127.0.0.1:$port/" 2>&1)
    ops=$(echo "$out" | awk '/requests in/ {print $1}')
    rate=$(echo "$out" | awk '/^Requests\/sec/ {print $2}')
  fi
  s1=$(server_ticks)
  cpu=$(echo "$out" | awk '/^cputime/ {print $3 + $4}')
  [ -n "$ops" ] && [ -n "$rate" ] && [ -n "$cpu" ] || bench_die "$load: no result: $out"
  awk -v n="$ops" -v r="$rate" -v c="$cpu" -v a="$s0" -v b="$s1" -v hz="$bench_clk" \
    'BEGIN {printf "%d %.1f %.1f\n", n, r, (n > 0 ? ((b - a) / hz + c) * 1e6 / n : 0)}'
}

# tracer_start MODE: starts what MODE runs beside the loads; sets tracer_pid ("" for off)
tracer_start() {
  tracer_pid=""
  case $1 in
    off) ;;
    tlscap) cap_start tlscap "$ns" lo "$work/tls.pcapng" port "$port"; tracer_pid=$cap_pid ;;
    base) JAVA_OPTS=${BASE_JAVA_OPTS:-${JAVA_OPTS:-}} jar=$BASE_JAR cap_start tlscap "$ns" lo "$work/tls.pcapng" port "$port"; tracer_pid=$cap_pid ;;
    kdf) cap_start tlscap "$ns" lo "$work/tls.pcapng" port 9; tracer_pid=$cap_pid ;;
    sockets) TLSCAP_ARGS=--socket-tracing cap_start tlscap "$ns" lo "$work/tls.pcapng" port 9; tracer_pid=$cap_pid ;;
    tcpdump) cap_start tcpdump "$ns" lo "$work/tls.pcap" port "$port"; tracer_pid=$cap_pid ;;
    plain)
      bench_spawn "" "$work/plaintext_hooks" "$work/plaintext_hooks.bpf.o" "$libssl" 2>"$work/plain.log"
      tracer_pid=$spawned
      await_line "$work/plain.log" "^ready" "$tracer_pid"
      ;;
  esac
}

# one run: MODE LOAD ROUND -> a raw line appended to $raw (each load has its own tracer run, so
# neither inherits the other's backlog)
#   "mode load round ops/s peers_us/op tracer_cpu% peak_rss_kB hooked_calls/op decrypted/connections"
run() {
  local mode=$1 load=$2 round=$3 p0 p1 w0 w1 rate us n total=0 cpu=- rss=- calls=- decrypted=- kernel=- kpid="" start=- s0 v0
  rm -f "$work/tls.pcapng" "$work/tls.pcap"
  tracer_start "$mode"
  [ -n "$tracer_pid" ] && s0=$(proc_ticks "$tracer_pid")
  v0=$(now)
  read -r total _ _ <<<"$(client "$load" "$warmup")"
  # the tracer's CPU over the measured seconds only, as the rates: its start (classes, C1's first
  # compilations, the first scans) falls in the warm-up (bench/startup.sh prices it)
  if [ -n "$tracer_pid" ]; then
    p0=$(proc_ticks "$tracer_pid")
    start=$(cpu_pct "$s0" "$p0" "$(elapsed "$v0" "$(now)")")
  fi
  w0=$(now)
  if [ "$perf_on" = 1 ]; then
    perf record -a -g -F "$perf_hz" -o "$work/perf.data" -- sleep "$seconds" >/dev/null 2>&1 &
    kpid=$!
  fi
  read -r n rate us <<<"$(client "$load" "$seconds")"
  if [ -n "$kpid" ]; then
    wait "$kpid" || true
    kernel=$(kernel_us "$mode" "$n")
  fi
  total=$((total + n))
  w1=$(now)
  if [ -n "$tracer_pid" ]; then
    p1=$(proc_ticks "$tracer_pid")
    rss=$(proc_hwm_kb "$tracer_pid")
    cpu=$(cpu_pct "$p0" "$p1" "$(elapsed "$w0" "$w1")")
    if [ "$mode" = plain ]; then
      bench_reap "$tracer_pid" TERM
      calls=$(sed -n 's/^plaintext_hooks: \([0-9]*\) calls.*/\1/p' "$work/plain.log")
      calls=$(awk -v c="$calls" -v n="$total" 'BEGIN {printf "%.1f", c / n}')
    else
      cap_stop
      [ "$cap_tool" = tlscap ] && sed "s/^/tls-path: $mode $load: /" "$cap_log" >&2
    fi
    if { [ "$mode" = tlscap ] || [ "$mode" = base ]; } && [ "$check" = 1 ]; then
      # TLS 1.3 encrypts all but the hellos: a connection shows its Finished (handshakes) or its HTTP
      # requests (requests) only if the file's secrets decrypt it
      local want="tls.handshake.type == 20"
      [ "$load" = requests ] && want="http.request"
      decrypted=$(tshark -r "$work/tls.pcapng" -Y "tls.handshake.type == 1 || $want" -T fields -e tcp.stream -e tls.handshake.type \
        -e http.request 2>/dev/null | awk -v load="$load" -F'\t' '
          {n = split($2, t, ","); for (i = 1; i <= n; i++) {if (t[i] == 1) h[$1] = 1; if (t[i] == 20) d[$1] = 1}
           if (load == "requests" && $3 != "") d[$1] = 1}
          END {for (s in h) {c++; if (s in d) k++}; printf "%d/%d\n", k, c}')
    fi
  fi
  echo "$mode $load $round $rate $us $cpu $rss $calls $decrypted $kernel $start" >>"$raw"
  bench_log "$mode $load $round $rate $us $cpu $rss $calls $decrypted $kernel $start"
}

bench_log "$rounds rounds x ${#modes[@]} modes, ${warmup}+$seconds s per load; $(nproc) CPUs, kernel $(uname -r), $libssl"
raw=$work/raw.txt
: >"$raw"
# one untimed pass of both loads first: nginx, the page cache and the CPU caches warm for every mode alike
client handshakes "$warmup" >/dev/null
client requests "$warmup" >/dev/null
for ((r = 1; r <= rounds; r++)); do
  for mode in $(rotate $((r - 1)) "${modes[@]}"); do
    for load in handshakes requests; do
      run "$mode" "$load" "$r"
    done
  done
done

# ---- what one hook costs, priced directly (the rates above move by a few % between runs) ----
bench_log "pricing the hooks..."
calls=$((rounds * 10000))
read -r -a price <<<"$("$work/uprobe_cost" "$work/plaintext_hooks.bpf.o" "$calls" | awk '{printf "%s ", $2}')" # none emulated stepped stepped+ret plaintext
read -r -a sys_off <<<"$("$work/uprobe_cost" --syscalls 200000 | awk '{printf "%s ", $2}')"
TLSCAP_ARGS=--socket-tracing cap_start tlscap "$ns" lo "$work/tls.pcapng" port 9
read -r -a sys_on <<<"$("$work/uprobe_cost" --syscalls 200000 | awk '{printf "%s ", $2}')"
cap_stop
bench_spawn "" "$work/plaintext_hooks" "$work/plaintext_hooks.bpf.o" "$libcrypto" EVP_KDF_derive 2>"$work/kdf.log"
kdf_pid=$spawned
await_line "$work/kdf.log" "^ready" "$kdf_pid"
read -r kdf_hs _ _ <<<"$(client handshakes "$seconds")"
bench_reap "$kdf_pid" TERM
kdf_calls=$(sed -n 's/^plaintext_hooks: \([0-9]*\) calls of.*/\1/p' "$work/kdf.log")

label() {
  case $1 in
    off) echo "not traced" ;;
    tlscap) echo "tlscap -w (KDF hook + capture)" ;;
    kdf) echo "tlscap KDF hook only" ;;
    sockets) echo "tlscap --socket-tracing, hooks only" ;;
    plain) echo "plaintext hooks (eCapture-style)" ;;
    tcpdump) echo "tcpdump -w (capture only)" ;;
    base) echo "tlscap -w, BASE_JAR" ;;
    *) echo "$1" ;;
  esac
}
# v MODE LOAD COLUMN: the median of COLUMN; vs MODE LOAD COLUMN: the median of the per-round ratios to "off"
v() { awk -v m="$1" -v l="$2" -v c="$3" '$1 == m && $2 == l {print $c}' "$raw" | median; }
vs() {
  awk -v m="$1" -v l="$2" -v c="$3" '$2 == l && $1 == "off" {o[$3] = $c} $2 == l && $1 == m {x[$3] = $c}
    END {for (r in x) if (o[r] > 0) print x[r] / o[r]}' "$raw" | median
}
echo "TLS path: nginx (TLS 1.3, RSA 2048, 2 workers) on lo, $(date -u +%Y-%m-%dT%H:%MZ); medians of $rounds rounds x $seconds s per load, modes rotated every round"
# tracer MODE LOAD: the median over the rounds of the tracer's CPU per operation, in us
tracer() {
  awk -v m="$1" -v l="$2" '$1 == m && $2 == l && $6 != "-" && $4 > 0 {printf "%.1f\n", $6 * 1e4 / $4}' "$raw" | median
}
# kernel MODE LOAD: the median of the capture's kernel CPU per operation; whole MODE LOAD: of the
# tracer's and that together (the capture's whole cost; each round's own sum)
kernel() { awk -v m="$1" -v l="$2" '$1 == m && $2 == l && $10 != "-" && $10 != "" {print $10}' "$raw" | median; }
whole() {
  awk -v m="$1" -v l="$2" '$1 == m && $2 == l && $6 != "-" && $4 > 0 && $10 != "-" && $10 != "" {printf "%.1f\n", $6 * 1e4 / $4 + $10}' "$raw" | median
}
pair() { local a b; a=$("$1" "$2" handshakes); b=$("$1" "$2" requests); [ "$a" = - ] && [ "$b" = - ] && echo - || echo "$a / $b"; }
printf '%-36s %10s %6s %7s %10s %6s %7s %13s %15s %15s %15s %8s\n' "" "handshk/s" "vs off" "us/hs" "request/s" "vs off" "us/req" \
  "tracer CPU%" "tracer us/op" "in kernel us/op" "capture us/op" "peak RSS"
for mode in "${modes[@]}"; do
  cpu_h=$(v "$mode" handshakes 6); cpu_r=$(v "$mode" requests 6)
  rss=$(awk -v m="$mode" '$1 == m {print $7}' "$raw" | median)
  printf '%-36s %10.0f %6s %7.0f %10.0f %6s %7.1f %13s %15s %15s %15s %8s\n' "$(label "$mode")" \
    "$(v "$mode" handshakes 4)" "$(ratio "$(vs "$mode" handshakes 4)" 1 %.3f)" "$(v "$mode" handshakes 5)" \
    "$(v "$mode" requests 4)" "$(ratio "$(vs "$mode" requests 4)" 1 %.3f)" "$(v "$mode" requests 5)" \
    "$([ "$cpu_h" = - ] && echo - || echo "$cpu_h / $cpu_r")" \
    "$([ "$cpu_h" = - ] && echo - || echo "$(tracer "$mode" handshakes) / $(tracer "$mode" requests)")" \
    "$([ "$cpu_h" = - ] && echo - || pair kernel "$mode")" "$([ "$cpu_h" = - ] && echo - || pair whole "$mode")" \
    "$([ "$rss" = - ] && echo - || awk -v k="$rss" 'BEGIN {printf "%.0f MiB", k / 1024}')"
done
warm=""
for mode in "${modes[@]}"; do
  a=$(v "$mode" handshakes 11); b=$(v "$mode" requests 11)
  [ "$a" = - ] && [ "$b" = - ] || warm="$warm, $mode $a / $b"
done
[ -z "$warm" ] || echo "tracer CPU% in the ${warmup} s warm-up right after its start (handshakes / requests; not in the table):${warm#,}"
awk -v none="${price[0]}" -v em="${price[1]}" -v st="${price[2]}" -v str="${price[3]}" -v plain="${price[4]}" \
  -v wr0="${sys_off[0]}" -v wr1="${sys_on[0]}" -v gp0="${sys_off[1]}" -v gp1="${sys_on[1]}" \
  -v kc="$kdf_calls" -v kh="$kdf_hs" -v pc="$(v plain requests 8)" -v pu="$(v plain requests 5)" -v ou="$(v off requests 5)" 'BEGIN {
  e = (em - none) / 1000; p = (plain - none) / 1000; k = kh > 0 ? kc / kh : 0
  printf "What each hook costs here (bench/c/uprobe_cost.c: a function called in a loop, medians; us added per call):\n"
  printf "  uprobe on an emulated instruction (push): %.2f; on a single-stepped one (mov): %.2f; + uretprobe: %.2f; eCapture-style (+ copy to a ring): %.2f\n", e, (st - none) / 1000, (str - none) / 1000, p
  printf "  tlscap KDF hook (placed on an emulated instruction): EVP_KDF_derive runs %.1f times per TLS 1.3 handshake (client + nginx)\n", k
  printf "    -> ~%.0f us per handshake; none per request on a kept-alive connection\n", k * e
  printf "  tlscap --socket-tracing (raw_tp/sys_exit): write(2) %.0f -> %.0f ns, getppid(2) %.0f -> %.0f ns, for every syscall of every process\n", wr0, wr1, gp0, gp1
  if (pc != "-" && pc > 0)
    printf "  plaintext hooks (SSL_read/SSL_write start with sub: single-stepped): %.1f calls per request (both peers) -> ~%.0f us per request (measured above: %+.0f us of peer CPU)\n", pc, pc * p, pu - ou
}'
if printf '%s\n' "${modes[@]}" | grep -qx tlscap && [ "$check" = 1 ]; then
  echo "tlscap files, connections decrypted (handshakes: Finished shown; requests: HTTP shown) / connections, per round:" \
    "handshakes $(awk '$1 == "tlscap" && $2 == "handshakes" {printf "%s ", $9}' "$raw")," \
    "requests $(awk '$1 == "tlscap" && $2 == "requests" {printf "%s ", $9}' "$raw")"
fi
cat <<NOTE
handshk/s: openssl s_time -new (one client; connections per second of wall time). request/s: wrk -t 2 -c 200
(keep-alive: handshakes only at the start). Each load runs under its own start of the tracer, after a ${warmup} s
warm-up. vs off: the per-round ratio to the untraced run of the same round. us/hs, us/req: CPU time (user + system)
of the client and the nginx workers per handshake / request: a uprobe's trap and its BPF program run there.
tracer CPU%: of the tracing process (tlscap, tcpdump, or the plaintext hooks' reader) during the handshakes / the
requests (the measured seconds, not the warm-up), 100 = one core; tracer us/op: that CPU per handshake / per
request (median of the rounds' ratios). in kernel us/op: CPU of the capture's kernel code per operation, which
runs in the senders' softirqs and so is in no tracer's CPU (tlscap's TC program; tcpdump's packet-socket taps:
tpacket_rcv, packet_rcv, dev_queue_xmit_nit), from perf record -a -g at $perf_hz Hz over the measured seconds
("-" without perf); capture us/op: the two together, what capturing costs the machine per operation.
peak RSS: its VmHWM. "KDF hook only" and "--socket-tracing": tlscap -i lo with the
filter 'port 9' (captures nothing), so only the hooks and the secret reader run.
command: ROUNDS=$rounds SECONDS=$seconds bench/tls-path.sh
machine: $(machine), $(openssl version | cut -d' ' -f1-2)
NOTE
echo "# raw: mode load round ops/s peers_us/op tracer_cpu% peak_rss_kB hooked_calls/op decrypted/connections kernel_us/op warmup_tracer_cpu%" >&2
sed 's/^/#   /' "$raw" >&2

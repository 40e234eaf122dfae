# shellcheck shell=bash
# SPDX-License-Identifier: Apache-2.0
# Shared helpers of bench/*.sh (sourced, not run): a work directory and a cleanup that runs on any
# exit (Ctrl-C included), the tlscap jar under test, private network namespaces, starting and
# stopping the capturers (tlscap, tcpdump, dumpcap) with their drop counters, a process's CPU time
# and peak RSS from /proc, medians and ratios.
#
# Environment understood by every script that sources this:
#   TLSCAP_JAR   the jar to run (default: target/tlscap.jar, built first unless SKIP_BUILD=1); the
#                script runs a private copy, so a rebuild during the run does not change it
#   SKIP_BUILD=1 do not run Maven
#   JAVA_OPTS    extra JVM options for tlscap
#   KEEP_WORK=1  keep the work directory (logs) instead of deleting it

bench_repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bench_clk=$(getconf CLK_TCK)
bench_pids=()   # started in the background, killed at exit
bench_netns=()  # created, deleted at exit
work=""

bench_log() { echo "$bench_name: $*" >&2; }
bench_die() { echo "$bench_name: $*" >&2; exit 1; }

# bench_init NAME: root check, work directory $work, cleanup on exit and on SIGINT/SIGTERM.
bench_init() {
  bench_name=$1
  [ "$(id -u)" = 0 ] || bench_die "run as root (it attaches BPF programs)"
  work=$(mktemp -d "/tmp/$bench_name.XXXXXX")
  chmod 755 "$work" # tcpdump may write as its own user
  trap bench_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}

bench_cleanup() {
  local pid ns i alive
  trap - EXIT INT TERM
  # an orderly stop first (no "Killed" notices, tlscap detaches at once), then SIGKILL what is left
  for pid in "${bench_pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for i in $(seq 30); do
    alive=0
    for pid in "${bench_pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ "$alive" = 1 ] || break
    sleep 0.1
  done
  for pid in "${bench_pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  for ns in "${bench_netns[@]}"; do
    # whatever still runs inside is ours: it was started there by this script
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null || true; done
    ip netns del "$ns" 2>/dev/null || true
  done
  for pid in "${bench_pids[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  if [ -n "$work" ] && [ "${KEEP_WORK:-0}" != 1 ]; then rm -rf "$work"; fi
  [ -n "$work" ] && [ "${KEEP_WORK:-0}" = 1 ] && echo "$bench_name: logs kept in $work" >&2
  return 0
}

# bench_need CMD...: fail with an apt-get hint if a command is missing.
bench_need() {
  local c absent=()
  for c in "$@"; do command -v "$c" >/dev/null || absent+=("$c"); done
  [ ${#absent[@]} = 0 ] && return 0
  bench_die "not found: ${absent[*]} (apt-get install -y iperf3 tcpdump tshark nginx-light wrk jq clang libbpf-dev gcc time openjdk-17-jdk-headless maven)"
}

# bench_jar: sets $jar to a private copy of the jar under test.
bench_jar() {
  local src=${TLSCAP_JAR:-}
  if [ -z "$src" ]; then
    src=$bench_repo/target/tlscap.jar
    if [ "${SKIP_BUILD:-0}" != 1 ]; then
      bench_log "building target/tlscap.jar (mvn -DskipTests package; SKIP_BUILD=1 skips)..."
      (cd "$bench_repo" && mvn -B -ntp -q -DskipTests package >&2)
    fi
  fi
  [ -f "$src" ] || bench_die "no $src (build it: mvn -DskipTests package)"
  jar=$work/tlscap.jar
  cp "$src" "$jar"
}

# bench_spawn NS CMD...: runs CMD in the background in network namespace NS ("" = this one), killed at
# exit; its pid in $spawned (`ip netns exec` execs CMD: the same process).
bench_spawn() {
  local ns=$1
  shift
  if [ -n "$ns" ]; then ip netns exec "$ns" "$@" & else "$@" & fi
  spawned=$!
  bench_pids+=("$spawned")
}

# bench_reap PID [SIGNAL]: signals PID (default TERM), waits for it, forgets it.
bench_reap() {
  local pid=$1 sig=${2:-TERM} p keep=()
  kill "-$sig" "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  for p in "${bench_pids[@]}"; do [ "$p" = "$pid" ] || keep+=("$p"); done
  bench_pids=("${keep[@]}")
}

# bench_netns NAME: creates a network namespace with lo up (deleted at exit).
bench_netns() {
  ip netns add "$1"
  bench_netns+=("$1")
  ip -n "$1" link set lo up
}

# in_ns NS CMD...: runs CMD in NS ("" = here). `ip netns exec` execs CMD: same pid.
in_ns() {
  local ns=$1
  shift
  if [ -n "$ns" ]; then ip netns exec "$ns" "$@"; else "$@"; fi
}

# bench_nginx NS PORT PROTOCOLS [LISTEN]: nginx (2 workers, RSA 2048, no session resumption) serving HTTPS
# with PROTOCOLS ("TLSv1.3", "TLSv1.2 TLSv1.3") on 127.0.0.1:PORT in network namespace NS (LISTEN: more
# listen parameters, e.g. http2); returns once it listens; sets nginx_pid.
bench_nginx() {
  local ns=$1 port=$2 protocols=$3 listen=${4:-}
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$work/key.pem" -out "$work/cert.pem" -days 1 -subj /CN=localhost 2>/dev/null
  cat >"$work/nginx.conf" <<CONF
daemon off; master_process on; worker_processes 2; user root; pid $work/nginx.pid; error_log $work/nginx.log warn;
events { worker_connections 4096; }
http { access_log off; client_body_temp_path $work; proxy_temp_path $work; fastcgi_temp_path $work; uwsgi_temp_path $work; scgi_temp_path $work;
  server { listen 127.0.0.1:$port ssl $listen; ssl_protocols $protocols; ssl_certificate $work/cert.pem; ssl_certificate_key $work/key.pem;
    ssl_session_cache off; ssl_session_tickets off; keepalive_requests 1000000; location / { return 200 'tlscap bench body'; } } }
CONF
  bench_spawn "$ns" nginx -c "$work/nginx.conf"
  nginx_pid=$spawned
  for _ in $(seq 200); do in_ns "$ns" ss -ltn | grep -q ":$port " && return 0; sleep 0.05; done
  bench_die "nginx does not listen on $port: $(tail -3 "$work/nginx.log" 2>/dev/null)"
}

# await_line FILE REGEX PID [SECONDS=60]: waits until FILE has a line matching REGEX; fails if PID exits.
await_line() {
  local deadline=$((SECONDS + ${4:-60}))
  until grep -q "$2" "$1" 2>/dev/null; do
    kill -0 "$3" 2>/dev/null || bench_die "exited before '$2': $(tail -5 "$1" 2>/dev/null)"
    [ "$SECONDS" -lt "$deadline" ] || bench_die "no '$2' after ${4:-60} s: $(tail -5 "$1" 2>/dev/null)"
    sleep 0.01
  done
}

# ---- the capturing process: CPU and memory from /proc ----
proc_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; } # user+system, all threads
proc_hwm_kb() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
now() { date +%s.%N; }
# cpu_pct TICKS0 TICKS1 SECONDS: CPU% (100 = one core) of TICKS1-TICKS0 over SECONDS
cpu_pct() { awk -v a="$1" -v b="$2" -v s="$3" -v hz="$bench_clk" 'BEGIN {printf "%.1f", (s > 0 ? 100 * (b - a) / hz / s : 0)}'; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.3f", b - a}'; }

# ---- statistics ----
# median: the median of the numbers on stdin, ignoring anything else ("-" when none); the mean of the
# middle two for an even count
median() {
  awk '$1 ~ /^-?[0-9.]+([eE][-+]?[0-9]+)?$/ {print $1}' | sort -g |
    awk '{a[NR] = $1} END {if (NR == 0) print "-"; else if (NR % 2) print a[(NR + 1) / 2]; else printf "%.6g\n", (a[NR / 2] + a[NR / 2 + 1]) / 2}'
}
# ratio A B [FORMAT=%.2f]: A/B, "-" if either is missing
ratio() { awk -v a="$1" -v b="$2" -v f="${3:-%.2f}" 'BEGIN {if (a == "-" || b == "-" || b == 0) print "-"; else printf f "\n", a / b}'; }
# rotate N WORD...: the words rotated left by N (alternation: A B C, B C A, C A B, ...)
rotate() {
  local n=$1
  shift
  local words=("$@") i out=()
  for ((i = 0; i < ${#words[@]}; i++)); do out+=("${words[$(((i + n) % ${#words[@]}))]}"); done
  echo "${out[*]}"
}
# col FILE KEY COLUMN [FILTER_COL VALUE]...: the values of COLUMN in the raw lines whose first columns match
# e.g. `col raw "lo-udp tlscap" 5` prints column 5 of every line starting with "lo-udp tlscap "
col() { awk -v k="$2 " -v c="$3" 'index($0, k) == 1 {print $c}' "$1"; }

# machine: one line describing where the numbers come from
machine() {
  echo "$(nproc) CPUs ($(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)), kernel $(uname -r), $(java -version 2>&1 | head -1 | sed 's/"//g'), load average $(cut -d' ' -f1-3 /proc/loadavg) at the end"
}

# ---- capturers ----
# cap_start TOOL NS IFACE FILE [FILTER...]: starts tlscap, tcpdump or dumpcap writing FILE, waits until it
# listens; sets cap_pid, cap_tool, cap_log and cap_startup_ms (from exec to "listening").
cap_start() {
  local tool=$1 ns=$2 iface=$3 file=$4 t0
  shift 4
  cap_tool=$tool
  cap_runs=$((${cap_runs:-0} + 1))
  cap_log=$work/$tool-$cap_runs.log # one per run: KEEP_WORK=1 keeps them all
  : >"$cap_log"
  t0=$(date +%s%N)
  case $tool in
    tlscap)
      # shellcheck disable=SC2086
      bench_spawn "$ns" java ${JAVA_OPTS:-} -jar "$jar" -q -i "$iface" -w "$file" ${TLSCAP_ARGS:-} "$@" 2>"$cap_log"
      cap_pid=$spawned
      await_line "$cap_log" "^listening on" "$cap_pid"
      ;;
    tcpdump)
      bench_spawn "$ns" tcpdump -Z root -i "$iface" -w "$file" "$@" 2>"$cap_log"
      cap_pid=$spawned
      await_line "$cap_log" "listening on" "$cap_pid"
      ;;
    dumpcap)
      if [ $# -gt 0 ]; then set -- -f "$*"; fi
      bench_spawn "$ns" dumpcap -q -i "$iface" -w "$file" "$@" 2>"$cap_log"
      cap_pid=$spawned
      await_line "$cap_log" "^File: " "$cap_pid"
      ;;
    *) bench_die "unknown capturer $tool" ;;
  esac
  # shellcheck disable=SC2034 # read by startup.sh
  cap_startup_ms=$((($(date +%s%N) - t0) / 1000000))
}

# cap_stop: stops the capturer (SIGINT for tcpdump/dumpcap, SIGTERM for tlscap: their orderly stops) and
# sets cap_dropped to the packets it says it dropped (tlscap: dropped by the kernel + not written).
cap_stop() {
  if [ "$cap_tool" = tlscap ]; then bench_reap "$cap_pid" TERM; else bench_reap "$cap_pid" INT; fi
  case $cap_tool in
    tlscap)
      cap_dropped=$(sed -n 's/^[0-9]* packets captured, \([0-9]*\) dropped by the kernel\(, \([0-9]*\) not written\)\{0,1\}.*/\1 \3/p' "$cap_log" |
        awk '{print $1 + $2}')
      ;;
    tcpdump) cap_dropped=$(awk '/packets dropped by kernel/ {print $1}' "$cap_log") ;;
    dumpcap) cap_dropped=$(sed -n "s/^Packets received\/dropped on interface .*: [0-9]*\/\([0-9]*\) .*/\1/p" "$cap_log" | head -1) ;;
  esac
  [ -n "$cap_dropped" ] || bench_die "$cap_tool printed no drop count: $(tail -5 "$cap_log")"
}

# packets_in FILE: the number of packets in a pcap or pcapng file (capinfos reads only the record headers)
packets_in() { capinfos -c -M "$1" 2>/dev/null | awk -F: '/Number of packets/ {gsub(/ /, "", $2); print $2}'; }

# env_at_start NAME: NAME's value in this script's initial environment (for SECONDS, which bash
# turns into its own clock as soon as it starts)
env_at_start() { tr '\0' '\n' </proc/$$/environ | sed -n "s/^$1=//p" | head -1; }

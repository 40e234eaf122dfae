#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# HTTPS requests/s of 200 concurrent clients (wrk -c 200, keep-alive, OpenSSL) against nginx on lo
# (TLS 1.3, 2 workers): not captured, captured by tcpdump -w, captured by tlscap (the same port filter),
# the order rotated every round, medians;
# tlscap's CPU% and peak RSS, whether every connection decrypts (tshark, no key file), and the time
# from `java -jar` to "listening on" (median of 5).
#   bench/tls-nginx.sh [SECONDS=10] [PAIRS=3]       (root; nginx-light, wrk, tshark)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-10}
pairs=${2:-3}
[ "$(id -u)" = 0 ] || { echo "tls-nginx: run as root" >&2; exit 1; }
for c in nginx wrk tshark java tcpdump; do
  command -v "$c" >/dev/null || { echo "tls-nginx: $c not found (apt-get install -y nginx-light wrk tshark)" >&2; exit 1; }
done
[ "${SKIP_BUILD:-0}" = 1 ] || mvn -B -ntp -q package -DskipTests >&2
jar=$PWD/target/tlscap.jar
work=$(mktemp -d /tmp/tls-nginx.XXXXXX)
nginx_pid=""; tlscap_pid=""; dump_pid=""
cleanup() { [ -n "$tlscap_pid" ] && kill -9 "$tlscap_pid" 2>/dev/null; [ -n "$nginx_pid" ] && kill "$nginx_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

openssl req -x509 -newkey rsa:2048 -nodes -keyout "$work/key.pem" -out "$work/cert.pem" -days 1 -subj /CN=localhost 2>/dev/null
port=$((20000 + RANDOM % 20000))
cat >"$work/nginx.conf" <<CONF
daemon off; master_process on; worker_processes 2; user root; pid $work/nginx.pid; error_log $work/error.log warn;
events { worker_connections 4096; }
http { access_log off; client_body_temp_path $work; proxy_temp_path $work; fastcgi_temp_path $work; uwsgi_temp_path $work; scgi_temp_path $work;
  server { listen 127.0.0.1:$port ssl; ssl_protocols TLSv1.3; ssl_certificate $work/cert.pem; ssl_certificate_key $work/key.pem;
    keepalive_requests 1000000; location / { return 200 'tlscap bench body'; } } }
CONF
nginx -c "$work/nginx.conf" &
nginx_pid=$!
sleep 1

ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hwm_kb() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status"; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
run_wrk() { wrk -t 2 -c 200 -d "${1}s" "https://127.0.0.1:$port/bench" 2>/dev/null | awk '/Requests\/sec/ {print $2}'; }
start_tlscap() { # FILE -> sets tlscap_pid and startup_ms (time to "listening on"); no subshell
  local t0; t0=$(date +%s%N)
  java -jar "$jar" -q -i lo -w "$1" port "$port" 2>"$work/tlscap.err" &
  tlscap_pid=$!
  until grep -q "listening on" "$work/tlscap.err" 2>/dev/null; do
    kill -0 "$tlscap_pid" 2>/dev/null || { cat "$work/tlscap.err" >&2; exit 1; }
    sleep 0.01
  done
  startup_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
}
stop_tlscap() { kill -TERM "$tlscap_pid"; wait "$tlscap_pid" 2>/dev/null || true; tlscap_pid=""; }

off=(); on=(); dump=(); cpu=(); rss=(); decrypted=()
orders=("off tcpdump tlscap" "tlscap off tcpdump" "tcpdump tlscap off")
for ((i = 0; i < pairs; i++)); do
  for mode in ${orders[$((i % 3))]}; do
    case $mode in
      off)
        run_wrk 2 >/dev/null
        off+=("$(run_wrk "$seconds")")
        ;;
      tcpdump)
        tcpdump -i lo -w "$work/dump.pcap" "port $port" 2>"$work/tcpdump.err" &
        dump_pid=$!
        until grep -q "listening on" "$work/tcpdump.err"; do sleep 0.05; done
        run_wrk 2 >/dev/null
        dump+=("$(run_wrk "$seconds")")
        kill -INT "$dump_pid" 2>/dev/null || kill -TERM "$dump_pid"; wait "$dump_pid" 2>/dev/null || true
        rm -f "$work/dump.pcap"
        ;;
      tlscap)
        file="$work/cap-$i.pcapng"
        start_tlscap "$file"
        run_wrk 2 >/dev/null # warm-up: the same for every mode
        t0=$(ticks "$tlscap_pid"); w0=$(date +%s.%N)
        on+=("$(run_wrk "$seconds")")
        t1=$(ticks "$tlscap_pid"); w1=$(date +%s.%N)
        cpu+=("$(echo "($t1 - $t0) / $(getconf CLK_TCK) / ($w1 - $w0) * 100" | bc -l)")
        rss+=("$(hwm_kb "$tlscap_pid")")
        stop_tlscap
        grep "packets captured" "$work/tlscap.err" >&2 || true
        hellos=$(tshark -r "$file" -Y "tls.handshake.type == 1" -T fields -e tcp.stream 2>/dev/null | sort -u | wc -l)
        readable=$(tshark -r "$file" -Y "http.request" -T fields -e tcp.stream 2>/dev/null | sort -u | wc -l)
        decrypted+=("$readable/$hellos")
        rm -f "$file"
        ;;
    esac
  done
done
startup=()
for ((i = 0; i < 5; i++)); do
  start_tlscap "$work/startup.pcapng"
  startup+=("$startup_ms")
  stop_tlscap
done

o=$(printf '%s\n' "${off[@]}" | median); n=$(printf '%s\n' "${on[@]}" | median); d=$(printf '%s\n' "${dump[@]}" | median)
printf '%-34s %12s %10s\n' "200 HTTPS clients (wrk), nginx" "requests/s" "vs none"
printf '%-34s %12.0f %9.3fx\n' "not captured" "$o" 1 "tcpdump -w (port filter)" "$d" "$(echo "$d / $o" | bc -l)" \
  "tlscap -w (port filter)" "$n" "$(echo "$n / $o" | bc -l)"
printf '%-34s %12.3f\n' "tlscap / tcpdump" "$(echo "$n / $d" | bc -l)"
printf '%-34s %11.0f%%\n' "tlscap CPU" "$(printf '%s\n' "${cpu[@]}" | median)"
printf '%-34s %8.0f MiB\n' "tlscap peak RSS" "$(echo "$(printf '%s\n' "${rss[@]}" | sort -n | tail -1) / 1024" | bc -l)"
printf '%-34s %12s\n' "connections decrypted per run" "${decrypted[*]}"
printf '%-34s %9s ms\n' "java -jar to 'listening on'" "$(printf '%s\n' "${startup[@]}" | median)"
echo "(medians of $pairs rounds of ${seconds}s per mode, order rotated every round; $(nproc) cores, $(uname -r), $(java -version 2>&1 | head -1))"

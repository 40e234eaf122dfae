#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Soak: tlscap captures mixed traffic for DURATION seconds (default 600) with rotation (-C, -G) and
# compression, in a private network namespace (its lo): HTTPS to nginx (new connections over
# HTTP/1.1, kept-alive HTTP/2), TLS 1.2 to openssl s_server, an iperf3 UDP stream and iperf3 TCP
# bursts. Then it checks that
#   - tlscap's RSS stays flat (sampled every 5 s: at start, after warm-up, at the end, the peak),
#   - every file opens (tshark, and tlscap's own reader: whole blocks, ending with statistics),
#   - nothing is lost without a count: the packets in the files are those tlscap reports captured,
#     and with the kernel's drops they make up what the classifier received (the last ISB); every
#     HTTPS request answered is decrypted in the files or its session is counted as released
#     without its secrets;
# and prints a short result (exit code 1 if a check failed).
#
# usage: bench/soak.sh        (root; java, nginx, openssl, curl, iperf3, tshark)
# env:   DURATION=600 (seconds of traffic), FILE_MB=20 (-C), ROTATE_SECONDS=60 (-G), COMPRESS=zstd,
#        TLSCAP_JAR (default target/tlscap.jar, built first unless SKIP_BUILD=1), JAVA_OPTS (tlscap's
#        JVM, e.g. -Xmx512m), KEEP_WORK=1 keeps the files and logs
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
duration=${DURATION:-600}
file_mb=${FILE_MB:-20}
rotate_seconds=${ROTATE_SECONDS:-60}
compress=${COMPRESS:-zstd}

die() { echo "soak: $*" >&2; exit 1; }
log() { echo "soak: $*" >&2; }

[ "$(id -u)" = 0 ] || die "run as root (it attaches BPF programs)"
for c in java nginx openssl curl iperf3 tshark; do
  command -v "$c" >/dev/null || die "$c not found (apt-get install -y openjdk-17-jdk-headless nginx-light openssl curl iperf3 tshark)"
done

work=$(mktemp -d /tmp/tlscap-soak.XXXXXX)
ns=tlscap-soak-$$
pids=()
cleanup() {
  local pid
  trap - EXIT INT TERM
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  sleep 0.5
  for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  # whatever still runs in the namespace was started there by this script
  for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  ip netns del "$ns" 2>/dev/null || true
  if [ "${KEEP_WORK:-0}" = 1 ]; then echo "soak: files and logs kept in $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The jar under test: a private copy, so a rebuild during the soak does not change it.
src=${TLSCAP_JAR:-$repo/target/tlscap.jar}
if [ -z "${TLSCAP_JAR:-}" ] && [ "${SKIP_BUILD:-0}" != 1 ]; then
  log "building target/tlscap.jar (SKIP_BUILD=1 skips)..."
  (cd "$repo" && mvn -B -ntp -q -DskipTests package >&2)
fi
[ -f "$src" ] || die "no $src (build it: mvn -DskipTests package)"
cp "$src" "$work/tlscap.jar"

ip netns add "$ns"
ip -n "$ns" link set lo up
# spawn CMD...: runs CMD in the namespace in the background, killed at exit (`ip netns exec` execs
# CMD: $! is CMD's own pid)
spawn() {
  ip netns exec "$ns" "$@" &
  pids+=($!)
}

# ---------------------------------------------------------------- servers
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$work/key.pem" -out "$work/cert.pem" -days 2 \
  -subj /CN=localhost 2>/dev/null
cat >"$work/nginx.conf" <<EOF
daemon off; master_process on; worker_processes 2; user root;
pid $work/nginx.pid; error_log $work/nginx-error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $work; proxy_temp_path $work; fastcgi_temp_path $work; uwsgi_temp_path $work; scgi_temp_path $work;
  server {
    listen 127.0.0.1:8443 ssl http2;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_certificate $work/cert.pem; ssl_certificate_key $work/key.pem;
    keepalive_timeout 5;
    location / { default_type text/plain; return 200 'soak'; }
  }
}
EOF
spawn nginx -c "$work/nginx.conf" -e "$work/nginx-error.log"
spawn openssl s_server -quiet -accept 8444 -cert "$work/cert.pem" -key "$work/key.pem" -www -tls1_2
spawn iperf3 -s -p 5201 >"$work/iperf-server-udp.log" 2>&1
spawn iperf3 -s -p 5202 >"$work/iperf-server-tcp.log" 2>&1
sleep 1

# ---------------------------------------------------------------- tlscap
mkdir "$work/out"
# shellcheck disable=SC2086 # JAVA_OPTS: several words
ip netns exec "$ns" java ${JAVA_OPTS:-} -jar "$work/tlscap.jar" -q -i lo -C "$file_mb" -G "$rotate_seconds" --compress "$compress" \
  -w "$work/out/soak.pcapng" 2>"$work/tlscap.err" &
tlscap=$! # ip netns exec execs java: this is the JVM's pid
pids+=("$tlscap")
deadline=$((SECONDS + 60))
until grep -q '^listening on' "$work/tlscap.err"; do
  kill -0 "$tlscap" 2>/dev/null || die "tlscap exited: $(cat "$work/tlscap.err")"
  [ $SECONDS -lt $deadline ] || die "tlscap did not start in 60 s"
  sleep 0.1
done
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$tlscap/status" 2>/dev/null || echo 0; }
echo "0 $(rss_kib)" >"$work/rss.txt"
log "tlscap $(sed -n 's/^listening on/listening on/p' "$work/tlscap.err"); $duration s of traffic"

# ---------------------------------------------------------------- traffic
end=$((SECONDS + duration))
# new HTTPS connections to nginx, HTTP/1.1; each answered request prints "200 PATH"
spawn bash -c "n=0; while [ \$SECONDS -lt $duration ]; do n=\$((n+1)); curl -sk --http1.1 -o /dev/null \
  --max-time 10 -H 'Connection: close' -w '%{http_code} /a-'\$n'\\n' https://127.0.0.1:8443/a-\$n; done" >"$work/a.txt"
# kept-alive HTTP/2: 20 requests a connection
spawn bash -c "n=0; while [ \$SECONDS -lt $duration ]; do n=\$((n+1)); curl -sk --http2 --max-time 20 \
  -w '%{http_code} %{url_effective}\\n' -o /dev/null 'https://127.0.0.1:8443/b-'\$n'-[1-20]'; sleep 0.2; done" >"$work/b.txt"
# TLS 1.2 to openssl s_server (one request a connection)
spawn bash -c "n=0; while [ \$SECONDS -lt $duration ]; do n=\$((n+1)); curl -sk --tlsv1.2 -o /dev/null --max-time 10 \
  -w '%{http_code} /s-'\$n'\\n' https://127.0.0.1:8444/s-\$n; sleep 0.05; done" >"$work/s.txt"
# a steady UDP stream, and TCP bursts (plaintext) every 30 s
spawn iperf3 -c 127.0.0.1 -p 5201 -u -b 4M -l 1200 -t "$duration" --logfile "$work/iperf-udp.log"
spawn bash -c "while [ \$SECONDS -lt $((duration - 6)) ]; do iperf3 -c 127.0.0.1 -p 5202 -b 40M -t 5 >/dev/null 2>&1; \
  sleep 25; done"
while [ $SECONDS -lt "$end" ]; do
  sleep 5
  kill -0 "$tlscap" 2>/dev/null || die "tlscap died: $(tail -5 "$work/tlscap.err")"
  echo "$((duration - end + SECONDS)) $(rss_kib)" >>"$work/rss.txt"
done
sleep 3 # the loops finish their last requests
for pid in "${pids[@]}"; do [ "$pid" = "$tlscap" ] || kill -TERM "$pid" 2>/dev/null || true; done
sleep 1
rss_end=$(rss_kib)
kill -TERM "$tlscap"
wait "$tlscap" && tlscap_exit=0 || tlscap_exit=$?

# ---------------------------------------------------------------- checks
fail=()
[ "$tlscap_exit" = 0 ] || fail+=("tlscap exited $tlscap_exit")
summary=$(grep -E '^[0-9]+ packets captured' "$work/tlscap.err" || true)
secrets=$(grep -E '^[0-9]+ TLS secrets' "$work/tlscap.err" || true)
[ -n "$summary" ] || die "no summary from tlscap: $(cat "$work/tlscap.err")"
captured=$(sed -E 's/^([0-9]+) packets captured.*/\1/' <<<"$summary")
dropped=$(sed -E 's/.*, ([0-9]+) dropped by the kernel.*/\1/' <<<"$summary")
not_written=$(grep -oE '[0-9]+ not written' <<<"$summary" | cut -d' ' -f1 || true)
sessions=$(grep -oE '[0-9]+ TLS sessions, [0-9]+ with secrets' <<<"$summary")
released=$(grep -oE 'of [0-9]+ TLS sessions released without' <<<"$summary" | cut -d' ' -f2 || true)
cut_by_memory=$(grep -oE 'of [0-9]+ sessions released early' <<<"$summary" | cut -d' ' -f2 || true)
cut_by_rotation=$(grep -oE '[0-9]+ TLS sessions went on into a later file' <<<"$summary" | cut -d' ' -f1 || true)
problems=$(grep '^tlscap:' "$work/tlscap.err" | grep -v '^tlscap: TLS secrets from' || true)
[ -z "$problems" ] || fail+=("tlscap said: $problems")

mapfile -t files < <(find "$work/out" -name 'soak*' -type f | sort)
leftovers=$(printf '%s\n' "${files[@]}" | grep -vE '\.pcapng(\.zst|\.gz|\.xz)?$' || true)
[ -z "$leftovers" ] || fail+=("files that are not captures: $leftovers")
unreadable=0
: >"$work/uris.txt"
for f in "${files[@]}"; do
  # TLS on the servers' ports whatever the client's port (tshark takes client port 44322 for pmproxy)
  if ! tshark -r "$f" -n -d tcp.port==8443,tls -d tcp.port==8444,tls -T fields -e http.request.uri -e http2.headers.path -Y 'http.request || http2.headers.path' \
    >>"$work/uris.txt" 2>"$work/tshark.err"; then
    unreadable=$((unreadable + 1))
    fail+=("tshark cannot read $(basename "$f"): $(head -1 "$work/tshark.err")")
  fi
done
java -cp "$work/tlscap.jar" "$repo/bench/src/main/java/dev/tlscap/bench/SoakFiles.java" "${files[@]}" >"$work/files.txt" \
  || fail+=("broken files: $(grep broken "$work/files.txt" | head -3)")
read -r _ _ nfiles _ in_files _ received _ isb_dropped _ broken < <(grep '^total' "$work/files.txt")
incomplete=$(grep -c -v -E ' complete$|^total' "$work/files.txt" || true)
[ "$incomplete" = 0 ] || fail+=("$incomplete files do not end with their statistics")
[ "$in_files" = "$captured" ] || fail+=("the files hold $in_files packets, tlscap reports $captured captured")
accounted=$((in_files + isb_dropped + ${not_written:-0}))
[ "$accounted" = "$received" ] || fail+=("received $received, but in the files + dropped + not written = $accounted")

# requests answered vs decrypted: a connection with a request that stays encrypted must be counted
# by tlscap (released without its secrets, cut by the memory bound, or gone on into a later file
# after a rotation, where Wireshark cannot decrypt it without its handshake)
cat "$work/a.txt" "$work/s.txt" | awk '$1 == 200 {print $2}' | sort -u >"$work/answered.txt"
awk '$1 == 200 {sub(/^https:\/\/[^/]*/, "", $2); print $2}' "$work/b.txt" | sort -u >>"$work/answered.txt"
sort -u -o "$work/answered.txt" "$work/answered.txt"
tr '\t,' '\n' <"$work/uris.txt" | grep -v '^$' | sort -u >"$work/decrypted.txt"
answered=$(wc -l <"$work/answered.txt")
comm -23 "$work/answered.txt" "$work/decrypted.txt" >"$work/missing.txt"
missing=$(wc -l <"$work/missing.txt")
# /b-N-K: the K-th request of kept-alive connection N; /a-N and /s-N: one request a connection
missing_connections=$(sed -E 's|^(/b-[0-9]+)-[0-9]+$|\1|' "$work/missing.txt" | sort -u | wc -l)
counted=$((${released:-0} + ${cut_by_memory:-0} + ${cut_by_rotation:-0}))
[ "$missing_connections" -le "$counted" ] \
  || fail+=("$missing_connections connections with answered requests not decrypted, only $counted sessions counted as such")
[ "$answered" -gt 0 ] || fail+=("no HTTPS request was answered")

rss_start=$(awk 'NR == 1 {print $2}' "$work/rss.txt")
warm=$((duration / 2)) # the JVM's heap grows in steps for a while: judge the second half
rss_warm=$(awk -v w="$warm" '$1 >= w {print $2; exit}' "$work/rss.txt")
rss_peak=$(awk 'BEGIN {m = 0} $2 > m {m = $2} END {print m}' "$work/rss.txt")
# flat: the end within a quarter (and 32 MiB) of the level at half time
if [ "$rss_end" -gt $((rss_warm + rss_warm / 4 + 32768)) ]; then rss_verdict="GREW"; fail+=("RSS grew"); else rss_verdict="flat"; fi

mib() { echo "$(($1 / 1024)) MiB"; }
echo
echo "soak: ${duration} s of mixed traffic, tlscap -C $file_mb -G $rotate_seconds --compress $compress ($(openssl version | cut -d" " -f1-2), $(nproc) CPUs)"
echo "  RSS         start $(mib "$rss_start"), after ${warm} s $(mib "$rss_warm"), end $(mib "$rss_end"), peak $(mib "$rss_peak"): $rss_verdict"
echo "  packets     $captured captured, $dropped dropped by the kernel, ${not_written:-0} not written; received (last ISB) $received"
echo "  files       $nfiles ($((unreadable)) unreadable by tshark, ${broken:-?} broken, $incomplete without statistics); packets in them $in_files"
echo "  TLS         $sessions; ${released:-0} released without all their secrets, ${cut_by_memory:-0} cut by the memory bound, ${cut_by_rotation:-0} went on into a later file"
echo "  secrets     $secrets" | cut -c1-160
echo "  HTTPS       $answered requests answered, $((answered - missing)) decrypted in the files, $missing not (in $missing_connections connections; $counted sessions counted)"
if [ ${#fail[@]} = 0 ]; then
  echo "  result      PASS"
else
  echo "  result      FAIL"
  printf '    - %s\n' "${fail[@]}"
  exit 1
fi

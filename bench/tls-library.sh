#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# What tlscap's probes in one TLS library cost its programs: a client of that library against a
# server of that library on lo, both traced: two client loops, one client process per handshake and
# request, for SECONDS, with
#   off     tlscap not running
#   probes  the same with the filter `port 9`: no packet kept (the in-kernel filter drops them),
#           only the probes' cost in the client and the server
#   tlscap  `java -jar tlscap.jar -i lo -w FILE port P`: probes + capture + merge
# rotated every round; medians over the rounds. Besides handshakes/s and their ratio: the server's
# CPU per handshake, the secrets tlscap received per handshake (both ends traced: TLS 1.3 twice 5,
# TLS 1.2 twice 1) and how many connections the capture decrypted.
#   gnutls  gnutls-cli against gnutls-serv --http (Nettle's nettle_hkdf_expand for TLS 1.3,
#           _gnutls_prf_raw for TLS 1.2)
#   nss     tstclnt against selfserv, an NSS database made here (freebl's HMAC_Update/HMAC_Finish/
#           HMAC_Destroy for TLS 1.3, TLS_P_hash for TLS 1.2)
#
# runtime: ~2 min with the defaults (2 versions x 3 modes x 3 rounds x 5 s), ~30 s with QUICK=1.
# usage: bench/tls-library.sh gnutls|nss   (root; gnutls-bin or libnss3-tools, openssl, java)
# env:   ROUNDS=3, SECONDS=5, QUICK=1 (ROUNDS=1 SECONDS=3), TLSCAP_JAR, SKIP_BUILD, KEEP_WORK (lib.sh)
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
seconds=$(env_at_start SECONDS)
rounds=${ROUNDS:-3}
if [ "${QUICK:-0}" = 1 ]; then rounds=${ROUNDS:-1}; seconds=${seconds:-3}; fi
seconds=${seconds:-5}

library=${1:-}
case $library in
  gnutls) bench_init gnutls; bench_need gnutls-cli gnutls-serv openssl java ;;
  nss) bench_init nss; bench_need tstclnt selfserv certutil java ;;
  *) echo "usage: bench/tls-library.sh gnutls|nss" >&2; exit 2 ;;
esac
bench_jar
port=$((20000 + RANDOM % 20000))
printf 'GET / HTTP/1.0\r\n\r\n' >"$work/request"
if [ "$library" = gnutls ]; then
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$work/key.pem" -out "$work/cert.pem" -days 2 \
    -subj /CN=localhost >/dev/null 2>&1
  bench_spawn "" sh -c "exec gnutls-serv --http --port $port --x509certfile $work/cert.pem --x509keyfile $work/key.pem \
    >/dev/null 2>&1"
else
  mkdir "$work/nssdb"
  head -c 64 /dev/urandom >"$work/noise"
  certutil -N -d "sql:$work/nssdb" --empty-password
  certutil -S -d "sql:$work/nssdb" -n server -s CN=localhost -x -t CT,C,C -k rsa -g 2048 -z "$work/noise" -Z SHA256 \
    -8 localhost -v 12 >/dev/null 2>&1
  bench_spawn "" sh -c "exec selfserv -d sql:$work/nssdb -n server -p $port -V tls1.2:tls1.3 >/dev/null 2>&1"
fi
server_pid=$spawned
for _ in $(seq 100); do ss -ltn | grep -q ":$port " && break; sleep 0.05; done

# one handshake and request of TLS VERSION; true when the answer came
one_request() {
  if [ "$library" = gnutls ]; then
    gnutls-cli --insecure --logfile=/dev/null --priority "NORMAL:-VERS-ALL:+VERS-TLS$1" --port "$port" 127.0.0.1 \
      <"$work/request" 2>/dev/null | grep -q 'HTTP/1.0 200'
  else # the request from a file: from a pipe, tstclnt spins on the ended stdin until the server hangs up
    tstclnt -h 127.0.0.1 -p "$port" -d "sql:$work/nssdb" -o -V "tls$1:tls$1" -A "$work/request" 2>/dev/null \
      | grep -q 'HTTP/1.0 200'
  fi
}

# one client loop: handshakes (and a GET) until the deadline; prints how many succeeded
client_loop() {
  local version=$1 deadline=$2 n=0
  while [ "$(date +%s%N)" -lt "$deadline" ]; do
    if one_request "$version"; then
      n=$((n + 1))
    fi
  done
  echo "$n"
}

# handshakes VERSION SECONDS -> "count rate server_us_per_handshake"
handshakes() {
  local s0 s1 deadline a b
  s0=$(proc_ticks "$server_pid")
  deadline=$(($(date +%s%N) + $2 * 1000000000))
  client_loop "$1" "$deadline" >"$work/c1" &
  client_loop "$1" "$deadline" >"$work/c2"
  wait
  s1=$(proc_ticks "$server_pid")
  a=$(cat "$work/c1")
  b=$(cat "$work/c2")
  awk -v n=$((a + b)) -v t="$2" -v a="$s0" -v b="$s1" -v hz="$bench_clk" \
    'BEGIN {printf "%d %.1f %.1f\n", n, n / t, n ? (b - a) / hz * 1e6 / n : 0}'
}

raw=$work/raw.txt
: >"$raw"
for ((r = 1; r <= rounds; r++)); do
  for tls in 1.3 1.2; do
    for mode in $(rotate $((r - 1)) off probes tlscap); do
      per=- decrypted=-
      if [ "$mode" = tlscap ]; then
        cap_start tlscap "" lo "$work/$library.pcapng" port "$port"
      elif [ "$mode" = probes ]; then
        cap_start tlscap "" lo "$work/$library.pcapng" port 9
      fi
      sleep 1
      read -r n rate us <<<"$(handshakes "$tls" "$seconds")"
      if [ "$mode" != off ]; then
        cap_stop
        secrets=$(sed -n 's/^\([0-9]*\) TLS secrets.*/\1/p' "$cap_log")
        per=$(awk -v s="${secrets:-0}" -v n="$n" 'BEGIN {printf "%.2f", n ? s / n : 0}')
      fi
      if [ "$mode" = tlscap ]; then
        decrypted="$(tshark -r "$work/$library.pcapng" -Y http.request 2>/dev/null | wc -l)/$n"
      fi
      echo "$tls-$mode $r $rate $us $per $decrypted" >>"$raw"
      bench_log "TLS $tls $mode $r: $rate handshakes/s, server $us us/hs, $per secrets/hs, decrypted $decrypted"
    done
  done
done

{
  if [ "$library" = gnutls ]; then
    pair="gnutls-cli (a process per handshake, two loops) against gnutls-serv --http"
  else
    pair="tstclnt (a process per handshake, two loops) against selfserv (NSS)"
  fi
  printf "%s on lo; medians of %s rounds of %s s\n" "$pair" "$rounds" "$seconds"
  printf "%-5s %-44s %8s %7s %14s %11s %12s\n" TLS mode "hs/s" ratio "server us/hs" "secrets/hs" "decrypted"
  for tls in 1.3 1.2; do
    off=$(col "$raw" "$tls-off" 3 | median)
    for mode in off probes tlscap; do
      rate=$(col "$raw" "$tls-$mode" 3 | median)
      case $mode in
        off) label="not traced" ;;
        probes) label="the $library probes alone (no packet kept)" ;;
        *) label="tlscap: probes + capture + merge" ;;
      esac
      printf "%-5s %-44s %8s %7s %14s %11s %12s\n" "$tls" "$label" "$rate" "$(ratio "$rate" "$off")" \
        "$(col "$raw" "$tls-$mode" 4 | median)" "$(col "$raw" "$tls-$mode" 5 | median)" \
        "$(col "$raw" "$tls-$mode" 6 | tail -1)"
    done
  done
  echo "server us/hs: the server's CPU per handshake (its uprobes, and on lo the TC hook, run in its context)."
  echo "decrypted: HTTP requests tshark shows decrypted with no key file / handshakes (last round)."
  echo "machine: $(machine)"
}
echo "# raw: tls-mode round handshakes/s server_us/hs secrets/hs decrypted" >&2
cat "$raw" >&2

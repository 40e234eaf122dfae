#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# How the TlsStream/SecretMatcher fixtures were made (run once as root; needs openssl, curl, tcpdump).
# Each scenario: real clients against `openssl s_server` on 127.0.0.1, captured on lo by tcpdump
# (classic pcap, Ethernet link type) into NAME.pcap, with the client's SSLKEYLOGFILE as NAME.keylog.
#   tls13-aes128-gcm  two curl connections, TLS_AES_128_GCM_SHA256, SNI "localhost"
#   tls13-aes256-gcm  one curl connection, TLS_AES_256_GCM_SHA384
#   tls13-chacha20    one curl connection, TLS_CHACHA20_POLY1305_SHA256
#   tls12             one curl connection, TLS 1.2 (the suite OpenSSL prefers: ECDHE-ECDSA-AES256-GCM-SHA384)
#   tls13-hrr         curl offers an X25519 key share, the server wants P-384: HelloRetryRequest
#   tls13-early-data  openssl s_client: a full handshake that saves the session, then a resumption
#                     that sends the request as 0-RTT early data (s_server -early_data)
#   tls12-offered-tls13  curl offers TLS 1.3 too, the server only does 1.2: ECDHE-ECDSA-CHACHA20-POLY1305
#   tls12-renegotiation  openssl s_client, TLS 1.2 ECDHE-ECDSA-CHACHA20-POLY1305, renegotiates ("R") twice,
#                     then sends the request (s_server -client_renegotiation): three CLIENT_RANDOM lines
# Usage: make-fixtures.sh [SCENARIO...] (default: all of them).
# The tests replay the packets through TlsStream and the key log lines, without their client
# random, through SecretMatcher, and expect every line back.
set -euo pipefail
out=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
cd "$work"

# A throwaway self-signed certificate (P-256 keeps the handshakes small).
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
  -subj /CN=localhost -keyout key.pem -out cert.pem 2>/dev/null
echo 'hello tls' > hello.txt
printf 'GET /hello.txt HTTP/1.0\r\n\r\n' > request.txt

# capture NAME PORT COMMAND...: runs COMMAND while tcpdump records port PORT into NAME.pcap.
capture() {
  local name=$1 port=$2
  shift 2
  tcpdump -i lo -U -s 0 -w "$name.pcap" "tcp port $port" 2>/dev/null &
  local dump=$!
  sleep 1
  "$@"
  sleep 1
  kill "$dump"
  wait "$dump" 2>/dev/null || true
  cp "$name.pcap" "$out/$name.pcap"
  grep -v '^#' "$name.keylog" > "$out/$name.keylog"
}

www_server() { # PORT [s_server options...]
  local port=$1
  shift
  openssl s_server -quiet -accept "127.0.0.1:$port" -cert cert.pem -key key.pem -WWW "$@" >/dev/null 2>&1 &
  sleep 0.5
}

fetch() { # NAME PORT [curl options...]
  local name=$1 port=$2
  shift 2
  SSLKEYLOGFILE=$work/$name.keylog curl -sk --resolve "localhost:$port:127.0.0.1" "$@" \
    "https://localhost:$port/hello.txt" >/dev/null
}

wanted() { [ ${#scenarios[@]} -eq 0 ] || [[ " ${scenarios[*]} " == *" $1 "* ]]; }
scenarios=("$@")

if wanted tls13-aes128-gcm || wanted tls13-aes256-gcm || wanted tls13-chacha20 || wanted tls12; then
www_server 44331
fi
wanted tls13-aes128-gcm && capture tls13-aes128-gcm 44331 bash -c "$(declare -f fetch); work=$work
  fetch tls13-aes128-gcm 44331 --tlsv1.3 --tls13-ciphers TLS_AES_128_GCM_SHA256
  fetch tls13-aes128-gcm 44331 --tlsv1.3 --tls13-ciphers TLS_AES_128_GCM_SHA256"
wanted tls13-aes256-gcm && capture tls13-aes256-gcm 44331 fetch tls13-aes256-gcm 44331 --tlsv1.3 --tls13-ciphers TLS_AES_256_GCM_SHA384
wanted tls13-chacha20 && capture tls13-chacha20 44331 fetch tls13-chacha20 44331 --tlsv1.3 --tls13-ciphers TLS_CHACHA20_POLY1305_SHA256
wanted tls12 && capture tls12 44331 fetch tls12 44331 --tlsv1.2 --tls-max 1.2

if wanted tls13-hrr; then
www_server 44332 -groups P-384
capture tls13-hrr 44332 fetch tls13-hrr 44332 --tlsv1.3 --curves X25519:P-384
fi

if wanted tls13-early-data; then
# s_server cannot serve files and accept early data at once: it echoes instead (stdin kept open).
openssl s_server -accept 127.0.0.1:44333 -cert cert.pem -key key.pem -early_data < <(sleep 60) >/dev/null 2>&1 &
sleep 0.5
early_data() {
  (cat request.txt; sleep 0.5) | openssl s_client -connect 127.0.0.1:44333 -servername localhost \
    -sess_out session.pem -keylogfile tls13-early-data.keylog -no_ign_eof >/dev/null 2>&1
  sleep 0.5 | openssl s_client -connect 127.0.0.1:44333 -servername localhost -sess_in session.pem \
    -early_data request.txt -keylogfile tls13-early-data.keylog -no_ign_eof 2>&1 | grep -q 'Early data was accepted'
}
capture tls13-early-data 44333 early_data
fi

if wanted tls12-offered-tls13; then
www_server 44334 -tls1_2
capture tls12-offered-tls13 44334 fetch tls12-offered-tls13 44334 --ciphers ECDHE-ECDSA-CHACHA20-POLY1305
fi

if wanted tls12-renegotiation; then
openssl s_server -quiet -accept 127.0.0.1:44335 -cert cert.pem -key key.pem -WWW -tls1_2 -client_renegotiation \
  >/dev/null 2>&1 &
sleep 0.5
renegotiate() {
  (sleep 0.3; echo R; sleep 0.3; echo R; sleep 0.3; cat request.txt; sleep 1.5) | openssl s_client \
    -connect 127.0.0.1:44335 -tls1_2 -cipher ECDHE-ECDSA-CHACHA20-POLY1305 \
    -keylogfile tls12-renegotiation.keylog 2>&1 | grep -q 'hello tls'
}
capture tls12-renegotiation 44335 renegotiate
fi

ls -l "$out"/*.pcap "$out"/*.keylog

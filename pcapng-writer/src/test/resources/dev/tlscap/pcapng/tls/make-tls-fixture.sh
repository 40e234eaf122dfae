#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# How tls-sessions.pcap and tls-sessions.keylog were made (run as root; needs openssl, curl, tcpdump).
# One TLS 1.3 and one TLS 1.2 HTTPS request from curl to `openssl s_server -WWW` on 127.0.0.1,
# captured on lo with tcpdump (classic pcap, Ethernet link type), secrets from curl's SSLKEYLOGFILE.
# The tests rewrite these packets through PcapngWriter with the key log as a DSB.
set -euo pipefail
out=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
cd "$work"
port=44330

# A throwaway self-signed certificate (P-256 keeps the handshake small).
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
  -subj /CN=localhost -keyout key.pem -out cert.pem 2>/dev/null
echo 'hello tls 1.3' > tls13.txt
echo 'hello tls 1.2' > tls12.txt

openssl s_server -quiet -accept "127.0.0.1:$port" -cert cert.pem -key key.pem -WWW >/dev/null 2>&1 &
tcpdump -i lo -U -s 0 -w capture.pcap "tcp port $port" 2>/dev/null &
sleep 1

SSLKEYLOGFILE=$work/keylog curl -sk --tlsv1.3 "https://127.0.0.1:$port/tls13.txt" >/dev/null
SSLKEYLOGFILE=$work/keylog curl -sk --tlsv1.2 --tls-max 1.2 "https://127.0.0.1:$port/tls12.txt" >/dev/null
sleep 1
kill %2; wait %2 2>/dev/null || true

cp capture.pcap "$out/tls-sessions.pcap"
cp keylog "$out/tls-sessions.keylog"
ls -l "$out/tls-sessions.pcap" "$out/tls-sessions.keylog"

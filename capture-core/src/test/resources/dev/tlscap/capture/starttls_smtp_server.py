#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# A minimal SMTP server that upgrades with STARTTLS (RFC 3207), for StartTlsIT: it answers EHLO,
# STARTTLS (then the TLS handshake), any command with 250 and QUIT with 221. Its own TLS library
# is OpenSSL through Python's ssl module; the test takes secrets from the client only (--comm).
# usage: starttls_smtp_server.py PORT_FILE CERT KEY
import socket
import ssl
import sys

port_file, cert, key = sys.argv[1:4]
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(cert, key)
server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("127.0.0.1", 0))
server.listen(8)
with open(port_file + ".tmp", "w") as f:
    f.write(str(server.getsockname()[1]))
import os
os.rename(port_file + ".tmp", port_file)


def lines(conn):
    buf = b""
    while True:
        while b"\n" not in buf:
            data = conn.recv(4096)
            if not data:
                return
            buf += data
        line, buf = buf.split(b"\n", 1)
        yield line.rstrip(b"\r").decode("ascii", "replace")


while True:
    conn, _ = server.accept()
    try:
        conn.sendall(b"220 localhost ESMTP starttls test\r\n")
        for line in lines(conn):
            verb = line.split(" ")[0].upper()
            if verb in ("EHLO", "HELO"):
                conn.sendall(b"250-localhost\r\n250 STARTTLS\r\n")
            elif verb == "STARTTLS":
                conn.sendall(b"220 2.0.0 Ready to start TLS\r\n")
                conn = context.wrap_socket(conn, server_side=True)
                for tls_line in lines(conn):
                    tls_verb = tls_line.split(" ")[0].upper()
                    if tls_verb == "QUIT":
                        conn.sendall(b"221 2.0.0 Bye\r\n")
                        break
                    if tls_verb in ("EHLO", "HELO"):
                        conn.sendall(b"250-localhost\r\n250 8BITMIME\r\n")
                    else:
                        conn.sendall(b"250 2.0.0 OK " + tls_verb.encode() + b"\r\n")
                break
            elif verb == "QUIT":
                conn.sendall(b"221 Bye\r\n")
                break
            else:
                conn.sendall(b"250 OK\r\n")
    except (OSError, ssl.SSLError):
        pass
    finally:
        conn.close()

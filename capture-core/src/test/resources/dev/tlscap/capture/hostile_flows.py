#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# Hostile TCP flows for HostileFlowIT, written as raw Ethernet frames to lo through a packet socket
# (as tcpreplay or scapy do): per flow a SYN, the first bytes of a ClientHello whose record claims
# more, and segments far ahead of it (out of order, never filled). The IPv4 header checksum is left
# zero so the host's own stack drops them (no RSTs); capture sees them as sent.
# usage: hostile_flows.py PORT FLOWS SEGMENTS_PER_FLOW SEGMENT_BYTES  -> prints the number of frames sent
import socket
import struct
import sys

port, flows, segments, size = (int(a) for a in sys.argv[1:5])
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind(("lo", 0))
eth = b"\x00" * 12 + b"\x08\x00"
hello = bytes([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03]) + bytes(49)
filler = bytes(size)


def frame(src_port, seq, flags, payload):
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 40 + len(payload), 0, 0, 64, 6, 0,
                     bytes([127, 0, 0, 2]), bytes([127, 0, 0, 1]))
    tcp = struct.pack("!HHIIBBHHH", src_port, port, seq, 0, 0x50, flags, 65535, 0, 0)
    return eth + ip + tcp + payload


sent = 0
for i in range(flows):
    src = 20000 + i % 40000
    base = 1000 + i * 7919
    frames = [frame(src, base, 0x02, b""), frame(src, base + 1, 0x18, hello)]
    for k in range(segments):
        frames.append(frame(src, base + 1 + 8000 + k * size, 0x18, filler))
    for f in frames:
        s.send(f)
        sent += 1
print(sent)

// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.tc;

import java.io.ByteArrayOutputStream;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * Builds Ethernet frames byte by byte, for {@link PacketSocket} to send: TCP, UDP and ICMP over IPv4
 * (with options, fragments) and IPv6 (with extension headers, fragments), ARP, runts. Checksums are
 * left 0, so the receiving stack drops the frames after TC and the packet taps saw them (no replies).
 */
final class Frames {
  static final int ETH_IP = 0x0800;
  static final int ETH_ARP = 0x0806;
  static final int ETH_IPV6 = 0x86dd;
  static final int TCP = 6;
  static final int UDP = 17;
  static final int ICMP = 1;
  static final int ICMPV6 = 58;
  static final int HOP_BY_HOP = 0;
  static final int ROUTING = 43;
  static final int FRAGMENT = 44;
  static final int DESTINATION_OPTIONS = 60;
  static final int SYN = 0x02;
  static final int ACK_PSH = 0x18;

  private static final byte[] DST_MAC = {0x02, 0, 0, 0, 0x21, 0x01};
  private static final byte[] SRC_MAC = {0x02, 0, 0, 0, 0x21, 0x02};

  private Frames() {}

  static byte[] address(String literal) {
    try {
      return InetAddress.getByName(literal).getAddress();
    } catch (UnknownHostException e) {
      throw new IllegalArgumentException(literal, e);
    }
  }

  /** {@code size} bytes of a recognisable pattern. */
  static byte[] payload(int size) {
    byte[] b = new byte[size];
    for (int i = 0; i < size; i++) {
      b[i] = (byte) ('a' + i % 26);
    }
    return b;
  }

  static byte[] concat(byte[]... parts) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (byte[] p : parts) {
      out.writeBytes(p);
    }
    return out.toByteArray();
  }

  static byte[] ethernet(int etherType, byte[] payload) {
    return concat(DST_MAC, SRC_MAC, new byte[] {(byte) (etherType >> 8), (byte) etherType}, payload);
  }

  static byte[] tcp(int sport, int dport, int flags, byte[] payload) {
    ByteBuffer b = ByteBuffer.allocate(20 + payload.length);
    b.putShort((short) sport).putShort((short) dport).putInt(1000).putInt(flags == SYN ? 0 : 1)
        .put((byte) 0x50).put((byte) flags).putShort((short) 65535).putShort((short) 0).putShort((short) 0)
        .put(payload);
    return b.array();
  }

  static byte[] udp(int sport, int dport, byte[] payload) {
    ByteBuffer b = ByteBuffer.allocate(8 + payload.length);
    b.putShort((short) sport).putShort((short) dport).putShort((short) (8 + payload.length)).putShort((short) 0)
        .put(payload);
    return b.array();
  }

  /** An IPv4 header (with {@code options}, a multiple of 4 bytes) and payload; {@code fragment}: flags + offset field. */
  static byte[] ipv4(String src, String dst, int protocol, int fragment, byte[] options, byte[] payload) {
    int header = 20 + options.length;
    ByteBuffer b = ByteBuffer.allocate(header + payload.length);
    b.put((byte) (0x40 | header / 4)).put((byte) 0).putShort((short) (header + payload.length))
        .putShort((short) 0x1234).putShort((short) fragment).put((byte) 64).put((byte) protocol).putShort((short) 0)
        .put(address(src)).put(address(dst)).put(options).put(payload);
    return b.array();
  }

  static byte[] ipv4(String src, String dst, int protocol, byte[] payload) {
    return ipv4(src, dst, protocol, 0, new byte[0], payload);
  }

  /** An IPv6 header; {@code extensions} (built by {@link #extension}/{@link #fragmentHeader}) come first. */
  static byte[] ipv6(String src, String dst, int nextHeader, byte[] extensionsAndPayload) {
    ByteBuffer b = ByteBuffer.allocate(40 + extensionsAndPayload.length);
    b.putInt(0x60000000).putShort((short) extensionsAndPayload.length).put((byte) nextHeader).put((byte) 64)
        .put(address(src)).put(address(dst)).put(extensionsAndPayload);
    return b.array();
  }

  /** A hop-by-hop, destination options or routing header of 8 bytes (PadN / type 0, no segments left). */
  static byte[] extension(int type, int nextHeader) {
    if (type == ROUTING) {
      return new byte[] {(byte) nextHeader, 0, 0, 0, 0, 0, 0, 0};
    }
    return new byte[] {(byte) nextHeader, 0, 1, 4, 0, 0, 0, 0};
  }

  static byte[] fragmentHeader(int nextHeader, int offsetBytes, boolean more) {
    int field = offsetBytes / 8 << 3 | (more ? 1 : 0);
    return ByteBuffer.allocate(8).put((byte) nextHeader).put((byte) 0).putShort((short) field).putInt(0x4321)
        .array();
  }

  static byte[] arp(String sender, String target) {
    ByteBuffer b = ByteBuffer.allocate(28);
    b.putShort((short) 1).putShort((short) ETH_IP).put((byte) 6).put((byte) 4).putShort((short) 1).put(SRC_MAC)
        .put(address(sender)).put(new byte[6]).put(address(target));
    return b.array();
  }

  /**
   * Every packet shape the filter must judge as tcpdump does, each small (in the skb's linear area)
   * and large (a packet socket's frame above a page keeps only its link header there), between
   * {@code a4}/{@code b4} and {@code a6}/{@code b6}, to and from {@code port}. {@code large} is the
   * payload of the large ones (below the interface's MTU).
   */
  static List<byte[]> shapes(String a4, String b4, String a6, String b6, int port, int large) {
    List<byte[]> frames = new ArrayList<>();
    int sport = (port + 7) & 0xffff;
    for (int size : new int[] {100, large}) {
      byte[] data = payload(size);
      // plain TCP and UDP, both ways
      frames.add(ethernet(ETH_IP, ipv4(a4, b4, TCP, tcp(sport, port, SYN, new byte[0]))));
      frames.add(ethernet(ETH_IP, ipv4(a4, b4, TCP, tcp(sport, port, ACK_PSH, data))));
      frames.add(ethernet(ETH_IP, ipv4(b4, a4, TCP, tcp(port, sport, ACK_PSH, data))));
      frames.add(ethernet(ETH_IP, ipv4(a4, b4, UDP, udp(sport, port, data))));
      // IPv4 options: the ports further in
      frames.add(ethernet(ETH_IP, ipv4(a4, b4, TCP, 0, new byte[] {1, 1, 1, 0}, tcp(sport, port, ACK_PSH, data))));
      // IPv4 fragments: the first has the ports; a later one starts with bytes that look like them
      byte[] first = udp(sport, port, data);
      frames.add(ethernet(ETH_IP, ipv4(a4, b4, UDP, 0x2000, new byte[0], first)));
      byte[] fake = udp(port, port, data);
      frames.add(ethernet(ETH_IP, ipv4(a4, b4, UDP, (first.length + 7) / 8, new byte[0], fake)));
      frames.add(ethernet(ETH_IP, ipv4(a4, b4, TCP, 0x2000 | 200, new byte[0], tcp(port, port, ACK_PSH, data))));
      // ICMP errors quoting a TCP header to the port
      byte[] quoted = ipv4(a4, b4, TCP, tcp(sport, port, SYN, new byte[0]));
      frames.add(ethernet(ETH_IP, ipv4(b4, a4, ICMP, concat(new byte[] {3, 3, 0, 0, 0, 0, 0, 0}, quoted,
          size > 100 ? data : new byte[0]))));
      byte[] quoted6 = ipv6(a6, b6, TCP, tcp(sport, port, SYN, new byte[0]));
      frames.add(ethernet(ETH_IPV6, ipv6(b6, a6, ICMPV6, concat(new byte[] {1, 4, 0, 0, 0, 0, 0, 0}, quoted6,
          size > 100 ? data : new byte[0]))));
      // IPv6: plain, behind each extension header, fragments
      frames.add(ethernet(ETH_IPV6, ipv6(a6, b6, TCP, tcp(sport, port, SYN, new byte[0]))));
      frames.add(ethernet(ETH_IPV6, ipv6(a6, b6, TCP, tcp(sport, port, ACK_PSH, data))));
      frames.add(ethernet(ETH_IPV6, ipv6(b6, a6, UDP, udp(port, sport, data))));
      frames.add(ethernet(ETH_IPV6, ipv6(a6, b6, HOP_BY_HOP, concat(extension(HOP_BY_HOP, TCP),
          tcp(sport, port, ACK_PSH, data)))));
      frames.add(ethernet(ETH_IPV6, ipv6(a6, b6, ROUTING, concat(extension(ROUTING, TCP),
          tcp(sport, port, ACK_PSH, data)))));
      frames.add(ethernet(ETH_IPV6, ipv6(a6, b6, DESTINATION_OPTIONS, concat(extension(DESTINATION_OPTIONS, UDP),
          udp(sport, port, data)))));
      frames.add(ethernet(ETH_IPV6, ipv6(a6, b6, HOP_BY_HOP, concat(extension(HOP_BY_HOP, FRAGMENT),
          fragmentHeader(TCP, 0, true), tcp(sport, port, ACK_PSH, data)))));
      frames.add(ethernet(ETH_IPV6, ipv6(a6, b6, FRAGMENT, concat(fragmentHeader(TCP, 0, true),
          tcp(sport, port, ACK_PSH, data)))));
      frames.add(ethernet(ETH_IPV6, ipv6(a6, b6, FRAGMENT, concat(fragmentHeader(UDP, 0, true),
          udp(sport, port, data)))));
      frames.add(ethernet(ETH_IPV6, ipv6(a6, b6, FRAGMENT, concat(fragmentHeader(UDP, 1456, false),
          udp(port, port, data)))));
    }
    // ARP, and frames too short for the headers their EtherType announces
    frames.add(ethernet(ETH_ARP, arp(a4, b4)));
    frames.add(ethernet(ETH_IP, new byte[] {0x45, 0, 0, 10, 0, 0, 0, 0, 64, 6}));
    // cut after the source port: libpcap's 'port' tests it first and accepts on a match
    frames.add(ethernet(ETH_IP, java.util.Arrays.copyOf(ipv4(a4, b4, TCP, tcp(sport, port, SYN, new byte[0])), 22)));
    frames.add(ethernet(ETH_IP, java.util.Arrays.copyOf(ipv4(a4, b4, TCP, tcp(port, sport, SYN, new byte[0])), 22)));
    frames.add(ethernet(ETH_IPV6, java.util.Arrays.copyOf(ipv6(a6, b6, UDP, udp(port, sport, new byte[0])), 42)));
    // cut after the source address: libpcap's 'host' tests it first
    frames.add(ethernet(ETH_IP, java.util.Arrays.copyOf(ipv4(a4, b4, UDP, udp(sport, port, new byte[0])), 16)));
    frames.add(ethernet(ETH_IPV6, java.util.Arrays.copyOf(ipv6(a6, b6, TCP, tcp(sport, port, SYN, new byte[0])), 30)));
    return frames;
  }

  /**
   * The replay: {@code flows} TCP flows to {@code port}, each one SYN, one 1000-byte segment
   * and {@code segments} 4096-byte segments.
   */
  static List<byte[]> replay(String src, String dst, int port, int flows, int segments) {
    List<byte[]> frames = new ArrayList<>();
    for (int f = 0; f < flows; f++) {
      int sport = 20000 + f;
      frames.add(ethernet(ETH_IP, ipv4(src, dst, TCP, tcp(sport, port, SYN, new byte[0]))));
      frames.add(ethernet(ETH_IP, ipv4(src, dst, TCP, tcp(sport, port, ACK_PSH, payload(1000)))));
      for (int s = 0; s < segments; s++) {
        frames.add(ethernet(ETH_IP, ipv4(src, dst, TCP, tcp(sport, port, ACK_PSH, payload(4096)))));
      }
    }
    return frames;
  }
}

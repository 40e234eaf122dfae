// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.capture;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/** {@link PacketHeaders}: IPv4, IPv6 and the IPv6 extension headers in front of TCP and UDP. */
class PacketHeadersTest {
  private static final byte[] TLS = "\u0016\u0003\u0001 a ClientHello".getBytes(java.nio.charset.StandardCharsets.ISO_8859_1);

  private static byte[] concat(byte[]... parts) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (byte[] p : parts) {
      out.writeBytes(p);
    }
    return out.toByteArray();
  }

  private static byte[] tcp(int sport, int dport, int flags, byte[] payload) {
    return ByteBuffer.allocate(20 + payload.length).putShort((short) sport).putShort((short) dport)
        .putInt(0x11223344).putInt(0).put((byte) 0x50).put((byte) flags).putShort((short) 65535).putInt(0)
        .put(payload).array();
  }

  private static byte[] udp(int sport, int dport, byte[] payload) {
    return ByteBuffer.allocate(8 + payload.length).putShort((short) sport).putShort((short) dport)
        .putShort((short) (8 + payload.length)).putShort((short) 0).put(payload).array();
  }

  private static byte[] ipv6(int next, byte[] rest) {
    byte[] src = new byte[16];
    byte[] dst = new byte[16];
    src[15] = 1;
    dst[0] = (byte) 0xfd;
    dst[15] = 2;
    return ByteBuffer.allocate(40 + rest.length).putInt(0x60000000).putShort((short) rest.length).put((byte) next)
        .put((byte) 64).put(src).put(dst).put(rest).array();
  }

  private static byte[] ipv4(int protocol, int fragment, byte[] rest) {
    return ByteBuffer.allocate(20 + rest.length).put((byte) 0x45).put((byte) 0).putShort((short) (20 + rest.length))
        .putShort((short) 1).putShort((short) fragment).put((byte) 64).put((byte) protocol).putShort((short) 0)
        .putInt(0x7f000001).putInt(0x7f000002).put(rest).array();
  }

  /** An extension header of {@code bytes} bytes (a multiple of 8; AH: of 4, at least 12). */
  private static byte[] extension(int type, int next, int bytes) {
    byte[] h = new byte[bytes];
    h[0] = (byte) next;
    h[1] = (byte) (type == PacketHeaders.IPV6_AH ? bytes / 4 - 2 : bytes / 8 - 1);
    return h;
  }

  private static byte[] fragment(int next, int offset, boolean more) {
    return ByteBuffer.allocate(8).put((byte) next).put((byte) 0).putShort((short) (offset | (more ? 1 : 0)))
        .putInt(7).array();
  }

  private static byte[] ethernet(int type, byte[] rest) {
    return concat(new byte[12], new byte[] {(byte) (type >> 8), (byte) type}, rest);
  }

  private static PacketHeaders parse(byte[] frame, int linkType) {
    // at an offset in a larger little-endian buffer, as the pipeline hands records over: a direct one
    // (the ring's, read by address) and a heap one (read through the buffer) must parse alike
    PacketHeaders heap = parseIn(ByteBuffer.allocate(frame.length + 16), frame, linkType);
    PacketHeaders direct = parseIn(ByteBuffer.allocateDirect(frame.length + 16), frame, linkType);
    assertEquals(fields(heap), fields(direct));
    return heap;
  }

  private static PacketHeaders parseIn(ByteBuffer b, byte[] frame, int linkType) {
    b.order(ByteOrder.LITTLE_ENDIAN).position(8);
    b.put(frame);
    PacketHeaders h = new PacketHeaders();
    h.protocol = 99; // parse must reset what it does not find
    h.parse(b, 8, frame.length, linkType);
    return h;
  }

  private static List<Object> fields(PacketHeaders h) {
    return List.of(h.ipVersion, h.protocol, h.srcHigh, h.srcLow, h.dstHigh, h.dstLow, h.srcPort, h.dstPort, h.tcpFlags,
        h.tcpSeq, h.ipOffset, h.tcpOffset, h.payloadCut, h.payloadOffset, h.payloadLength);
  }

  private static void assertTcp(PacketHeaders h, int version, int payloadStart, int payloadLength) {
    assertEquals(version, h.ipVersion);
    assertEquals(PacketHeaders.TCP, h.protocol);
    assertEquals(50000, h.srcPort);
    assertEquals(443, h.dstPort);
    assertEquals(PacketHeaders.SYN | PacketHeaders.ACK, h.tcpFlags);
    assertEquals(0x11223344L, h.tcpSeq);
    assertEquals(8 + payloadStart, h.payloadOffset);
    assertEquals(payloadLength, h.payloadLength);
  }

  @Test
  void ipv4AndIpv6WithoutExtensionHeaders() {
    byte[] segment = tcp(50000, 443, PacketHeaders.SYN | PacketHeaders.ACK, TLS);
    assertTcp(parse(ethernet(0x0800, ipv4(6, 0, segment)), PacketHeaders.LINKTYPE_ETHERNET), 4, 14 + 40, TLS.length);
    PacketHeaders h = parse(ethernet(0x86dd, ipv6(6, segment)), PacketHeaders.LINKTYPE_ETHERNET);
    assertTcp(h, 6, 14 + 60, TLS.length);
    assertEquals(0, h.srcHigh);
    assertEquals(1L, h.srcLow);
    assertEquals(0xfdL << 56, h.dstHigh);
    assertEquals(2L, h.dstLow);
    assertTcp(parse(ipv6(6, segment), PacketHeaders.LINKTYPE_RAW), 6, 60, TLS.length);
  }

  @Test
  void ipv6ExtensionHeadersAreWalkedToTcp() {
    byte[] segment = tcp(50000, 443, PacketHeaders.SYN | PacketHeaders.ACK, TLS);
    int[][] chains = {
        {PacketHeaders.IPV6_HOP_BY_HOP, 8},
        {PacketHeaders.IPV6_ROUTING, 24},
        {PacketHeaders.IPV6_DESTINATION_OPTIONS, 16},
        {PacketHeaders.IPV6_AH, 24},
    };
    for (int[] c : chains) {
      byte[] frame = ethernet(0x86dd, ipv6(c[0], concat(extension(c[0], 6, c[1]), segment)));
      assertTcp(parse(frame, PacketHeaders.LINKTYPE_ETHERNET), 6, 14 + 40 + c[1] + 20, TLS.length);
    }
    // hop-by-hop, routing, first fragment, AH, destination options, then TCP
    byte[] chain = concat(extension(0, 43, 8), extension(43, 44, 16), fragment(51, 0, true), extension(51, 60, 12),
        extension(60, 6, 8), segment);
    assertTcp(parse(ipv6(0, chain), PacketHeaders.LINKTYPE_RAW), 6, 40 + 52 + 20, TLS.length);
  }

  @Test
  void onlyTheFirstFragmentHasTheTransportHeader() {
    byte[] segment = tcp(50000, 443, PacketHeaders.SYN | PacketHeaders.ACK, TLS);
    assertTcp(parse(ipv6(44, concat(fragment(6, 0, true), segment)), PacketHeaders.LINKTYPE_RAW), 6, 68, TLS.length);
    PacketHeaders later = parse(ipv6(44, concat(fragment(6, 1448, false), segment)), PacketHeaders.LINKTYPE_RAW);
    assertEquals(0, later.protocol);
    PacketHeaders later4 = parse(ipv4(6, 185, segment), PacketHeaders.LINKTYPE_RAW);
    assertEquals(0, later4.protocol);
  }

  @Test
  void udpBehindExtensionHeaders() {
    PacketHeaders h = parse(ipv6(60, concat(extension(60, 0x11, 8), udp(5353, 53, TLS))), PacketHeaders.LINKTYPE_RAW);
    assertEquals(PacketHeaders.UDP, h.protocol);
    assertEquals(5353, h.srcPort);
    assertEquals(53, h.dstPort);
  }

  @Test
  void cutOrEndlessChainsAreLeftUnparsed() {
    byte[] segment = tcp(50000, 443, PacketHeaders.SYN | PacketHeaders.ACK, TLS);
    byte[] whole = ipv6(0, concat(extension(0, 43, 8), extension(43, 6, 16), segment));
    for (int cut = 40; cut < 40 + 24 + 20; cut++) {
      PacketHeaders h = parse(Arrays.copyOf(whole, cut), PacketHeaders.LINKTYPE_RAW);
      assertEquals(0, h.protocol, "cut at " + cut);
    }
    // an extension header whose length runs past the packet
    byte[] runaway = ipv6(0, concat(new byte[] {6, (byte) 255, 0, 0, 0, 0, 0, 0}, segment));
    assertEquals(0, parse(runaway, PacketHeaders.LINKTYPE_RAW).protocol);
    // nine hop-by-hop headers: more than the walk follows
    byte[][] many = new byte[10][];
    for (int i = 0; i < 9; i++) {
      many[i] = extension(0, 0, 8);
    }
    many[8] = extension(0, 6, 8);
    many[9] = segment;
    assertEquals(0, parse(ipv6(0, concat(many)), PacketHeaders.LINKTYPE_RAW).protocol);
    // no next header (59) and ESP (50) are not TCP
    assertEquals(59, parse(ipv6(59, new byte[8]), PacketHeaders.LINKTYPE_RAW).protocol);
  }

  @Test
  void aRangeOutsideTheBufferIsRefusedBeforeAnyRead() {
    // a direct buffer is read by address: a caller's range past its end must not be read at all
    ByteBuffer b = ByteBuffer.allocateDirect(64);
    PacketHeaders h = new PacketHeaders();
    assertThrows(IndexOutOfBoundsException.class, () -> h.parse(b, 8, 57, PacketHeaders.LINKTYPE_RAW));
    assertThrows(IndexOutOfBoundsException.class, () -> h.parse(b, -1, 20, PacketHeaders.LINKTYPE_RAW));
    h.parse(b, 8, 56, PacketHeaders.LINKTYPE_RAW);
    assertEquals(0, h.protocol);
  }
}

// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.capture;

import dev.tlscap.pcapng.RawMemory;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Objects;

/**
 * The headers of one captured packet that the pipeline needs: IP version, addresses, protocol,
 * ports, and for TCP its flags, sequence number and payload. Reused for every packet (no
 * allocation); {@link #parse} never throws on short or malformed packets, it leaves
 * {@link #protocol} at 0.
 *
 * <p>Link layers: Ethernet (with one optional 802.1Q tag; loopback's zero header too) and raw IP; for
 * files of other tools ({@code -r}) also Linux cooked (SLL, SLL2) and BSD loopback.
 * IPv6 extension headers (hop-by-hop, routing, destination options, AH, fragment) are walked to the
 * transport header; a fragment after the first (IPv4 or IPv6) has none: {@link #protocol} stays 0.
 */
final class PacketHeaders {
  static final int LINKTYPE_ETHERNET = 1;
  static final int LINKTYPE_RAW = 101;
  /** BSD loopback: a 4-byte address family (host order for NULL, network order for LOOP); -r only. */
  static final int LINKTYPE_NULL = 0;
  static final int LINKTYPE_LOOP = 108;
  /** Linux cooked captures (tcpdump -i any): 16-byte SLL, 20-byte SLL2 headers; -r only. */
  static final int LINKTYPE_LINUX_SLL = 113;
  static final int LINKTYPE_LINUX_SLL2 = 276;
  static final int LINKTYPE_IPV4 = 228;
  static final int LINKTYPE_IPV6 = 229;
  static final int TCP = 6;
  static final int UDP = 17;
  static final int IPV6_HOP_BY_HOP = 0;
  static final int IPV6_ROUTING = 43;
  static final int IPV6_FRAGMENT = 44;
  static final int IPV6_AH = 51;
  static final int IPV6_DESTINATION_OPTIONS = 60;
  /** Extension headers walked at most (a packet with more is left unparsed, protocol 0). */
  static final int IPV6_MAX_EXTENSION_HEADERS = 8;

  static final int FIN = 0x01;
  static final int SYN = 0x02;
  static final int RST = 0x04;
  static final int ACK = 0x10;

  /** 4 or 6; 0 when the packet is not IP. */
  int ipVersion;
  int protocol;
  long srcHigh;
  long srcLow;
  long dstHigh;
  long dstLow;
  int srcPort;
  int dstPort;
  int tcpFlags;
  long tcpSeq;
  /** Absolute index of the IP header and of the TCP header in the buffer. */
  int ipOffset;
  int tcpOffset;
  /** The IP header gives more payload than was captured (the snap length cut the packet). */
  boolean payloadCut;
  /** Absolute index of the TCP payload in the buffer, and its captured length (0 if none). */
  int payloadOffset;
  int payloadLength;
  /** The buffer being parsed, and its memory's address when read by address (else 0). */
  private ByteBuffer buffer;
  private long address;

  void parse(ByteBuffer b, int at, int captured, int linkType) {
    Objects.checkFromIndexSize(at, captured, b.limit()); // a caller's error; every read below stays before at + captured
    if (b != buffer) { // (the ring's buffer, packet after packet)
      buffer = b;
      address = RawMemory.address(b);
    }
    ipVersion = 0;
    protocol = 0;
    payloadLength = 0;
    payloadCut = false;
    int end = at + captured;
    int ip;
    if (linkType == LINKTYPE_ETHERNET) {
      if (captured < 14) {
        return;
      }
      int type = u16(at + 12);
      ip = at + 14;
      if (type == 0x8100 || type == 0x88a8) {
        if (captured < 18) {
          return;
        }
        type = u16(at + 16);
        ip = at + 18;
      }
      if (type != 0x0800 && type != 0x86dd) {
        return;
      }
    } else if (linkType == LINKTYPE_RAW || linkType == LINKTYPE_IPV4 || linkType == LINKTYPE_IPV6) {
      ip = at;
    } else if (linkType == LINKTYPE_LINUX_SLL || linkType == LINKTYPE_LINUX_SLL2) {
      int header = linkType == LINKTYPE_LINUX_SLL ? 16 : 20;
      if (captured < header) {
        return;
      }
      int type = u16(linkType == LINKTYPE_LINUX_SLL ? at + 14 : at);
      if (type != 0x0800 && type != 0x86dd) {
        return;
      }
      ip = at + header;
    } else if (linkType == LINKTYPE_NULL || linkType == LINKTYPE_LOOP) {
      ip = at + 4; // the IP version nibble says which family
    } else {
      return;
    }
    if (ip >= end) {
      return;
    }
    ipOffset = ip;
    int version = u8(ip) >>> 4;
    int transport;
    int ipEnd;
    if (version == 4) {
      if (ip + 20 > end) {
        return;
      }
      int ihl = (u8(ip) & 0x0f) * 4;
      int fragment = u16(ip + 6);
      if (ihl < 20 || (fragment & 0x1fff) != 0) {
        return; // a later fragment has no transport header
      }
      protocol = u8(ip + 9);
      srcHigh = 0;
      srcLow = u32(ip + 12);
      dstHigh = 0;
      dstLow = u32(ip + 16);
      transport = ip + ihl;
      int total = u16(ip + 2);
      ipEnd = total == 0 ? end : Math.min(end, ip + total); // 0: a GSO packet of unknown length
      payloadCut = total != 0 && ip + total > end;
    } else if (version == 6) {
      if (ip + 40 > end) {
        return;
      }
      int next = u8(ip + 6);
      srcHigh = u64(ip + 8);
      srcLow = u64(ip + 16);
      dstHigh = u64(ip + 24);
      dstLow = u64(ip + 32);
      transport = ip + 40;
      int payload = u16(ip + 4);
      ipEnd = payload == 0 ? end : Math.min(end, transport + payload);
      payloadCut = payload != 0 && transport + payload > end;
      for (int headers = 0; isExtensionHeader(next); headers++) {
        if (headers == IPV6_MAX_EXTENSION_HEADERS || transport + 8 > end) {
          return; // too many, or cut: protocol stays 0
        }
        int following = u8(transport);
        if (next == IPV6_FRAGMENT) {
          if ((u16(transport + 2) & 0xfff8) != 0) {
            return; // a later fragment has no transport header
          }
          transport += 8;
        } else if (next == IPV6_AH) {
          transport += (u8(transport + 1) + 2) * 4;
        } else {
          transport += (u8(transport + 1) + 1) * 8;
        }
        next = following;
      }
      protocol = next;
    } else {
      return;
    }
    ipVersion = version;
    if (protocol == TCP) {
      if (transport + 20 > end) {
        protocol = 0;
        return;
      }
      tcpOffset = transport;
      srcPort = u16(transport);
      dstPort = u16(transport + 2);
      tcpSeq = u32(transport + 4);
      int dataOffset = (u8(transport + 12) >>> 4) * 4;
      tcpFlags = u8(transport + 13);
      if (dataOffset < 20) {
        protocol = 0;
        return;
      }
      payloadOffset = transport + dataOffset;
      payloadLength = Math.max(0, ipEnd - payloadOffset);
    } else if (protocol == UDP) {
      if (transport + 8 > end) {
        protocol = 0;
        return;
      }
      srcPort = u16(transport);
      dstPort = u16(transport + 2);
    }
  }

  /**
   * The sequence number of the segment's first payload byte: a SYN takes one number, so data in a
   * SYN (TCP Fast Open) starts one after the initial sequence number.
   */
  long payloadSequence() {
    return (tcpFlags & SYN) != 0 ? (tcpSeq + 1) & 0xFFFFFFFFL : tcpSeq;
  }

  /**
   * Whether the payload (of {@code b}, the buffer just parsed) starts a TLS ClientHello: a handshake
   * record (0x16, version 3.x) whose first message is a ClientHello (type 1).
   */
  boolean startsClientHello(ByteBuffer b) {
    int at = payloadOffset;
    return payloadLength >= 6 && b.get(at) == 0x16 && b.get(at + 1) == 0x03 && (b.get(at + 2) & 0xFF) <= 4
        && b.get(at + 5) == 0x01;
  }

  private static boolean isExtensionHeader(int next) {
    return next == IPV6_HOP_BY_HOP || next == IPV6_ROUTING || next == IPV6_FRAGMENT || next == IPV6_AH
        || next == IPV6_DESTINATION_OPTIONS;
  }

  /*
   * The buffer being parsed, read by address when it is direct ({@link RawMemory}: under C1 a direct
   * buffer's get is a chain of calls, and these reads are a dozen or more per packet), else through
   * the buffer. Each read by address stays small enough for C1 to inline; the buffer's way is apart.
   * Addresses and sequence numbers are kept as numbers in network order, whatever the buffer's order.
   */

  private int u8(int at) {
    return address != 0 ? RawMemory.getByte(address + at) & 0xff : bufferU8(at);
  }

  private int u16(int at) {
    return address != 0 ? RawMemory.getU16BigEndian(address + at) : bufferU16(at);
  }

  private long u32(int at) {
    return address != 0 ? RawMemory.getIntBigEndian(address + at) & 0xffffffffL : bufferU32(at);
  }

  private long u64(int at) {
    return address != 0 ? RawMemory.getLongBigEndian(address + at) : bufferU64(at);
  }

  private int bufferU8(int at) {
    return buffer.get(at) & 0xff;
  }

  private int bufferU16(int at) {
    return (buffer.get(at) & 0xff) << 8 | (buffer.get(at + 1) & 0xff);
  }

  private long bufferU32(int at) {
    int v = buffer.getInt(at);
    return (buffer.order() == ByteOrder.LITTLE_ENDIAN ? Integer.reverseBytes(v) : v) & 0xffffffffL;
  }

  private long bufferU64(int at) {
    long v = buffer.getLong(at);
    return buffer.order() == ByteOrder.LITTLE_ENDIAN ? Long.reverseBytes(v) : v;
  }
}

// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.capture;

import dev.tlscap.capture.tls.CarriedSession;
import dev.tlscap.capture.tls.TlsStream;
import dev.tlscap.pcapng.Direction;
import java.nio.ByteBuffer;

/**
 * Carries keyed TLS connections into later rotated files: before a connection's first packet in a
 * file that does not hold its handshake, writes its {@link CarriedSession.Prologue} as synthetic
 * packets (its handshake again, then records that bring Wireshark's record numbers to the real
 * stream's), so that each file decrypts on its own. A connection that cannot be carried is counted
 * as not decryptable in that file.
 *
 * <p>The synthetic packets are copies of the connection's own headers (addresses, ports, TCP
 * options) with the prologue as payload, numbered in TCP so that each direction's prologue ends
 * just where its next real byte begins; each carries the comment {@link #MARK_HANDSHAKE} or
 * {@link #MARK_RECORDS} (a display filter {@code !(frame.comment contains "tlscap synthetic")}
 * hides them). Only connections that speak in a file get a prologue there.
 *
 * <p>Memory: each carried connection keeps its handshake (at most
 * {@link CarriedSession#MAX_HANDSHAKE_BYTES}) and its record in progress; all of them together at
 * most {@code maxBytes}, beyond which new connections are not carried (counted). Event-loop thread.
 */
final class CarryOver {
  static final String MARK_HANDSHAKE = "tlscap synthetic: this connection's handshake again (it began in an"
      + " earlier file), so that its records decrypt in this file";
  static final String MARK_RECORDS = "tlscap synthetic: empty TLS records under the connection's keys, so that"
      + " Wireshark's record numbers reach this file's records";
  /** Synthetic records per connection per file, both directions (about 22 bytes each). */
  static final long MAX_RECORDS = 1 << 18;

  private final PacketSink sink;
  private final CaptureStats stats;
  private final long maxBytes;
  private final PacketHeaders headers = new PacketHeaders();
  private ByteBuffer packet = ByteBuffer.allocate(1 << 16);
  private long bytes;

  CarryOver(PacketSink sink, CaptureStats stats, long maxBytes) {
    this.sink = sink;
    this.stats = stats;
    this.maxBytes = maxBytes;
  }

  /**
   * A TLS flow is keyed and about to be written for the first time (its held packets, handshake
   * first): from now on it is followed, and carried into later files when it can be.
   */
  void start(TcpFlow flow) {
    CarriedSession before = flow.carry;
    if (before == null) {
      flow.fileNumber = sink.fileNumber();
    }
    if (flow.upgraded) {
      flow.notCarried = "TLS began inside a plain connection (STARTTLS)";
    } else if (flow.releasedIncomplete && before == null) {
      flow.notCarried = "it was keyed after its handshake was written";
    } else if (bytes > maxBytes) {
      flow.notCarried = "the memory bound (--hold-memory) for carried connections";
    } else {
      forget(flow);
      flow.carry = CarriedSession.of(flow.tls, before);
      bytes += flow.carry.memoryBytes();
      flow.notCarried = flow.carry.notCarried();
    }
    if (flow.notCarried != null) {
      forget(flow);
    }
  }

  /**
   * A TLS flow is written without all its secrets but may be keyed later (it is followed on): its
   * bytes are kept (at most {@link CarriedSession#MAX_HANDSHAKE_BYTES}) so that, once keyed, it can
   * be carried into later files like any other.
   */
  void startUnkeyed(TcpFlow flow) {
    flow.fileNumber = sink.fileNumber();
    if (!flow.upgraded && bytes <= maxBytes) {
      flow.carry = CarriedSession.unkeyed();
    }
  }

  /**
   * Before a packet of a followed flow is written: starts the next file if it is due, and when the
   * packet is the flow's first in this file, writes the flow's prologue (or counts it as not
   * decryptable here). {@code parsed}: the packet's headers if the caller has them, else null.
   */
  void beforeWrite(TcpFlow flow, CapturedPacket p, PacketHeaders parsed) {
    if (!sink.rotateIfDue(p.timestampNanos)) {
      return;
    }
    long file = sink.fileNumber();
    if (file == flow.fileNumber || !flow.keyedOnce || flow.carry != null && !flow.carry.keyed()) {
      return; // (not keyed yet: no secrets to decrypt it with, in any file; counted as such)
    }
    PacketHeaders h = parsed != null ? parsed : parse(flow, p);
    if (h.payloadLength == 0 && flow.closing()) {
      return; // the end of a closing connection: nothing to decrypt
    }
    flow.fileNumber = file;
    long started = System.nanoTime();
    CarriedSession.Prologue prologue = flow.carry != null ? flow.carry.prologue(MAX_RECORDS)
        : CarriedSession.Prologue.failed(flow.notCarried);
    if (prologue.failure() != null) {
      stats.notCarried(prologue.failure());
      return;
    }
    if (prologue.pieces().isEmpty()) {
      return; // none of its bytes went to an earlier file
    }
    write(flow, prologue, p.timestampNanos);
    flow.prologueFile = file;
    stats.prologueNanos += System.nanoTime() - started;
    stats.tlsSessionsCarried++;
    stats.carriedInFile++;
  }

  /** After a packet of a carried flow was written: its bytes move the flow's records on. */
  void written(TcpFlow flow, CapturedPacket p, boolean fromClient, PacketHeaders parsed) {
    CarriedSession carry = flow.carry;
    if (carry == null) {
      return;
    }
    PacketHeaders h = parsed != null ? parsed : parse(flow, p);
    if (h.protocol != PacketHeaders.TCP) {
      return;
    }
    Template t = fromClient ? flow.clientTemplate : flow.serverTemplate;
    if (t == null) {
      t = new Template(p, h);
      if (fromClient) {
        flow.clientTemplate = t;
      } else {
        flow.serverTemplate = t;
      }
    }
    TlsStream.Side side = fromClient ? TlsStream.Side.CLIENT : TlsStream.Side.SERVER;
    long before = carry.memoryBytes();
    boolean wasLost = carry.lost() != null;
    if (h.payloadCut) {
      carry.truncated(side);
    } else if (h.payloadLength > 0) {
      carry.onSegment(side, h.payloadSequence(), p.data, h.payloadOffset, h.payloadLength);
    }
    bytes += carry.memoryBytes() - before;
    if (!wasLost && carry.lost() != null && flow.prologueFile == sink.fileNumber()) {
      stats.notCarried(carry.lost()); // its prologue here no longer holds: not decryptable from here on
    }
  }

  /** A flow leaves the table: its carried bytes are freed. */
  void forget(TcpFlow flow) {
    if (flow.carry != null) {
      bytes -= flow.carry.memoryBytes();
      flow.carry = null;
      if (flow.notCarried == null) {
        flow.notCarried = "it was followed no further";
      }
    }
  }

  /** Bytes all carried connections hold. */
  long bytes() {
    return bytes;
  }

  private PacketHeaders parse(TcpFlow flow, CapturedPacket p) {
    headers.parse(p.data, p.offset, p.capturedLength, flow.linkType);
    return headers;
  }

  /** The prologue's pieces as packets, each direction numbered to end where its real stream goes on. */
  private void write(TcpFlow flow, CarriedSession.Prologue prologue, long timestamp) {
    long clientSeq = prologue.clientNext();
    long serverSeq = prologue.serverNext();
    for (CarriedSession.Piece piece : prologue.pieces()) {
      if (piece.side() == TlsStream.Side.CLIENT) {
        clientSeq -= piece.bytes().length;
      } else {
        serverSeq -= piece.bytes().length;
      }
    }
    for (CarriedSession.Piece piece : prologue.pieces()) {
      boolean client = piece.side() == TlsStream.Side.CLIENT;
      Template t = client ? flow.clientTemplate : flow.serverTemplate;
      if (t == null) {
        t = (client ? flow.serverTemplate : flow.clientTemplate).reversed();
      }
      long seq = client ? clientSeq : serverSeq;
      long ack = client ? serverSeq : clientSeq;
      int length = t.build(this, piece.bytes(), seq & 0xFFFFFFFFL, ack & 0xFFFFFFFFL);
      sink.writeSynthetic(t.interfaceId, timestamp, packet, 0, length, t.direction,
          piece.synthetic() ? MARK_RECORDS : MARK_HANDSHAKE, flow.secrets);
      stats.syntheticPackets++;
      stats.syntheticBytes += length;
      if (client) {
        clientSeq += piece.bytes().length;
      } else {
        serverSeq += piece.bytes().length;
      }
    }
  }

  private ByteBuffer packetBuffer(int length) {
    if (packet.capacity() < length) {
      packet = ByteBuffer.allocate(Math.max(length, packet.capacity() * 2));
    }
    return packet;
  }

  /** The headers of one direction's packets (link, IP, TCP with its options), for synthetic packets. */
  static final class Template {
    final byte[] headers;
    final int ipOffset;
    final int tcpOffset;
    final int ipVersion;
    final int interfaceId;
    final Direction direction;

    Template(CapturedPacket p, PacketHeaders h) {
      this.headers = new byte[h.payloadOffset - p.offset];
      p.data.get(p.offset, headers);
      this.ipOffset = h.ipOffset - p.offset;
      this.tcpOffset = h.tcpOffset - p.offset;
      this.ipVersion = h.ipVersion;
      this.interfaceId = p.interfaceId;
      this.direction = p.direction;
    }

    private Template(byte[] headers, int ipOffset, int tcpOffset, int ipVersion, int interfaceId, Direction direction) {
      this.headers = headers;
      this.ipOffset = ipOffset;
      this.tcpOffset = tcpOffset;
      this.ipVersion = ipVersion;
      this.interfaceId = interfaceId;
      this.direction = direction;
    }

    /**
     * The other direction's headers, made from this one's (a side that sent nothing yet): addresses
     * and ports swapped, the Ethernet addresses too, TCP options dropped.
     */
    Template reversed() {
      int tcpLength = 20;
      byte[] r = java.util.Arrays.copyOf(headers, tcpOffset + tcpLength);
      if (ipOffset >= 14) {
        System.arraycopy(headers, 0, r, 6, 6);
        System.arraycopy(headers, 6, r, 0, 6);
      }
      int addressLength = ipVersion == 4 ? 4 : 16;
      int src = ipOffset + (ipVersion == 4 ? 12 : 8);
      System.arraycopy(headers, src, r, src + addressLength, addressLength);
      System.arraycopy(headers, src + addressLength, r, src, addressLength);
      System.arraycopy(headers, tcpOffset, r, tcpOffset + 2, 2);
      System.arraycopy(headers, tcpOffset + 2, r, tcpOffset, 2);
      r[tcpOffset + 12] = (byte) (5 << 4);
      Direction d = direction == Direction.INBOUND ? Direction.OUTBOUND
          : direction == Direction.OUTBOUND ? Direction.INBOUND : direction;
      return new Template(r, ipOffset, tcpOffset, ipVersion, interfaceId, d);
    }

    /** Writes the packet with {@code payload} into the carry's buffer; returns its length. */
    int build(CarryOver owner, byte[] payload, long seq, long ack) {
      int length = headers.length + payload.length;
      ByteBuffer b = owner.packetBuffer(length);
      b.clear();
      b.put(0, headers);
      b.put(headers.length, payload);
      if (ipVersion == 4) {
        b.putShort(ipOffset + 2, (short) (length - ipOffset));
        b.putShort(ipOffset + 10, (short) 0);
        int ihl = (headers[ipOffset] & 0x0f) * 4;
        b.putShort(ipOffset + 10, (short) ~sum(b, ipOffset, ihl, 0));
      } else {
        b.putShort(ipOffset + 4, (short) (length - ipOffset - 40));
      }
      b.putInt(tcpOffset + 4, (int) seq);
      b.putInt(tcpOffset + 8, (int) ack);
      b.put(tcpOffset + 13, (byte) 0x18); // PSH, ACK
      b.putShort(tcpOffset + 16, (short) 0);
      int tcpLength = length - tcpOffset;
      int pseudo;
      if (ipVersion == 4) {
        pseudo = sum(b, ipOffset + 12, 8, 0) + PacketHeaders.TCP + tcpLength;
      } else {
        pseudo = sum(b, ipOffset + 8, 32, 0) + PacketHeaders.TCP + tcpLength;
      }
      b.putShort(tcpOffset + 16, (short) ~sum(b, tcpOffset, tcpLength, pseudo));
      return length;
    }

    /** RFC 1071: the ones' complement sum of {@code length} bytes, folded to 16 bits. */
    private static int sum(ByteBuffer b, int at, int length, int initial) {
      long s = initial;
      int i = 0;
      for (; i + 1 < length; i += 2) {
        s += ((b.get(at + i) & 0xFF) << 8) | (b.get(at + i + 1) & 0xFF);
      }
      if (i < length) {
        s += (b.get(at + i) & 0xFF) << 8;
      }
      while ((s >>> 16) != 0) {
        s = (s & 0xFFFF) + (s >>> 16);
      }
      return (int) s;
    }
  }
}

// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.tc;

import dev.tlscap.pcapng.RawMemory;
import java.nio.ByteBuffer;

/**
 * One captured packet, as a reusable view over its ring-buffer record: valid only during
 * {@link PacketHandler#onPacket}, allocates nothing.
 *
 * <p>Reads {@code struct packet_event} of {@code tc-classifier/src/main/bpf/packet_abi.h}
 * (offsets below, checked against the object's BTF by {@code PacketAbiLayoutTest}):
 * <pre>
 * struct packet_event {
 *     __u64 timestamp_ns;     // CLOCK_BOOTTIME
 *     __u64 socket_cookie;
 *     __u32 ifindex;
 *     __u32 original_length;
 *     __u32 captured_length;
 *     __u32 flags;            // PACKET_INBOUND 1, PACKET_OUTBOUND 2, PACKET_RECORD_LIMIT 4
 * };                          // 32 bytes, then captured_length packet bytes
 * </pre>
 * The packet bytes are {@link #capturedLength()} bytes at {@link #dataOffset()} of {@link #data()},
 * a read-only buffer in native byte order shared by every record: use absolute gets or an absolute
 * bulk copy (e.g. {@code PcapngWriter.writePacket(id, ts, data(), dataOffset(), ...)}), never its
 * position. Not thread-safe.
 */
public final class PacketEvent {
  static final int SIZE = 32;
  static final int TIMESTAMP_NS = 0;
  static final int SOCKET_COOKIE = 8;
  static final int IFINDEX = 16;
  static final int ORIGINAL_LENGTH = 20;
  static final int CAPTURED_LENGTH = 24;
  static final int FLAGS = 28;

  /** {@code enum packet_flag} of packet_abi.h, checked against BTF by {@code PacketAbiEnumTest}. */
  static final int FLAG_INBOUND = 1;
  static final int FLAG_OUTBOUND = 2;
  static final int FLAG_RECORD_LIMIT = 4;

  private final PacketCapture.InterfaceTable interfaces;
  private ByteBuffer ring;
  /** The ring's memory, read by address ({@link RawMemory}: fewer calls under C1), or 0: through {@link #ring}. */
  private long address;
  private int at;
  private int recordLength;
  private long wallClockOffsetNanos;

  PacketEvent(PacketCapture.InterfaceTable interfaces) {
    this.interfaces = interfaces;
  }

  void wrap(ByteBuffer data, int offset, int length, long offsetNanos) {
    if (data != ring) {
      this.ring = data;
      this.address = RawMemory.address(data);
    }
    this.at = offset;
    this.recordLength = length;
    this.wallClockOffsetNanos = offsetNanos;
  }

  /** A record too short for its header (never written by tc_capture.bpf.c): the reader skips it. */
  boolean malformed() {
    return recordLength < SIZE || capturedLength() < 0 || capturedLength() > recordLength - SIZE;
  }

  /** Wall-clock time the classifier saw the packet, in nanoseconds since the epoch (UTC). */
  public long timestampNanos() {
    return getLong(TIMESTAMP_NS) + wallClockOffsetNanos;
  }

  /** The kernel's CLOCK_BOOTTIME when the classifier saw the packet. */
  public long bootTimeNanos() {
    return getLong(TIMESTAMP_NS);
  }

  /**
   * The cookie of the socket that owns the packet ({@code bpf_get_socket_cookie}), or 0: the
   * sending socket at egress for locally sent packets, and at ingress of a veth whose peer is in
   * another namespace of this host (veth keeps the sender's socket). Packets received from the
   * wire, and on {@code lo} (whose transmit orphans the packet), carry 0: the kernel looks the
   * receiving socket up only after TC.
   */
  public long socketCookie() {
    return getLong(SOCKET_COOKIE);
  }

  /** The interface index of the device the packet passed. */
  public int ifindex() {
    return getInt(IFINDEX);
  }

  /** The {@link CaptureInterface#id()} of {@link #ifindex()}, or -1 for an interface the capture does not know. */
  public int interfaceId() {
    return interfaces.idOf(ifindex());
  }

  /** The packet's full length on the wire (a GSO packet counts whole, as tcpdump shows it). */
  public int originalLength() {
    return getInt(ORIGINAL_LENGTH);
  }

  /** The bytes captured: min(original length, snap length, largest record). */
  public int capturedLength() {
    return getInt(CAPTURED_LENGTH);
  }

  /** True when fewer bytes were captured than the packet has (snap length or record limit). */
  public boolean isTruncated() {
    return capturedLength() < originalLength();
  }

  /** True when the record limit, not the snap length, cut the packet ({@code PACKET_RECORD_LIMIT}). */
  public boolean isCutByRecordLimit() {
    return (flags() & FLAG_RECORD_LIMIT) != 0;
  }

  public PacketDirection direction() {
    return (flags() & FLAG_INBOUND) != 0 ? PacketDirection.INBOUND : PacketDirection.OUTBOUND;
  }

  /** The raw {@code flags} word. */
  public int flags() {
    return getInt(FLAGS);
  }

  /** The ring's data pages: read-only, native order, shared; the packet is at {@link #dataOffset()}. */
  public ByteBuffer data() {
    return ring;
  }

  /** Where the packet's first byte is in {@link #data()}. */
  public int dataOffset() {
    return at + SIZE;
  }

  /** Copies the captured bytes into a new array (for tests and diagnostics; allocates). */
  public byte[] copyBytes() {
    byte[] bytes = new byte[capturedLength()];
    ring.get(dataOffset(), bytes);
    return bytes;
  }

  private long getLong(int field) {
    return address != 0 ? RawMemory.getLong(address + at + field) : ring.getLong(at + field);
  }

  private int getInt(int field) {
    return address != 0 ? RawMemory.getInt(address + at + field) : ring.getInt(at + field);
  }

  @Override
  public String toString() {
    return "PacketEvent[ifindex=" + ifindex() + ", " + direction() + ", " + capturedLength() + "/" + originalLength()
        + " bytes, cookie=" + socketCookie() + "]";
  }
}

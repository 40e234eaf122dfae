// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Reads a classic pcap file, as {@code tcpdump -w} writes it, for tests that compare a capture with
 * tcpdump's. Both byte orders, microsecond ({@code 0xa1b2c3d4}) and nanosecond ({@code 0xa1b23c4d},
 * {@code --time-stamp-precision=nano}) timestamps. A record cut short at the end of the file (tcpdump
 * killed mid-write) is ignored. Immutable result; thread-safe.
 *
 * @param linkType the file's LINKTYPE_* value
 * @param snapLength the file's snap length
 * @param packets every whole record, in file order
 */
public record PcapFile(int linkType, int snapLength, List<Packet> packets) {
  /**
   * One record.
   *
   * @param timestampNanos since the epoch
   * @param originalLength the packet's length on the wire
   * @param data the captured bytes (caplen of them)
   */
  public record Packet(long timestampNanos, int originalLength, byte[] data) {
    @Override
    public boolean equals(Object o) {
      return o instanceof Packet p && p.timestampNanos == timestampNanos && p.originalLength == originalLength
          && Arrays.equals(p.data, data);
    }

    @Override
    public int hashCode() {
      return Arrays.hashCode(data) * 31 + originalLength;
    }

    @Override
    public String toString() {
      return "Packet[" + data.length + "/" + originalLength + " bytes at " + timestampNanos + "]";
    }
  }

  /** Reads {@code file}; fails the test with the reason if it is not a pcap file. */
  public static PcapFile read(Path file) {
    byte[] bytes;
    try {
      bytes = Files.readAllBytes(file);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + file, e);
    }
    if (bytes.length < 24) {
      throw new AssertionError(file + " is not a pcap file: " + bytes.length + " bytes");
    }
    ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
    int magic = b.getInt(0);
    boolean nanos;
    if (magic == 0xa1b2c3d4 || magic == 0xa1b23c4d) {
      nanos = magic == 0xa1b23c4d;
    } else {
      b.order(ByteOrder.BIG_ENDIAN);
      magic = b.getInt(0);
      if (magic != 0xa1b2c3d4 && magic != 0xa1b23c4d) {
        throw new AssertionError(file + " is not a pcap file: magic " + Integer.toHexString(magic));
      }
      nanos = magic == 0xa1b23c4d;
    }
    int snap = b.getInt(16);
    int linkType = b.getInt(20) & 0x0fffffff;
    List<Packet> packets = new ArrayList<>();
    int at = 24;
    while (at + 16 <= bytes.length) {
      long seconds = b.getInt(at) & 0xffffffffL;
      long fraction = b.getInt(at + 4) & 0xffffffffL;
      int caplen = b.getInt(at + 8);
      int origlen = b.getInt(at + 12);
      if (caplen < 0 || at + 16 + caplen > bytes.length) {
        break;
      }
      byte[] data = Arrays.copyOfRange(bytes, at + 16, at + 16 + caplen);
      packets.add(new Packet(seconds * 1_000_000_000L + (nanos ? fraction : fraction * 1000), origlen, data));
      at += 16 + caplen;
    }
    return new PcapFile(linkType, snap, List.copyOf(packets));
  }
}

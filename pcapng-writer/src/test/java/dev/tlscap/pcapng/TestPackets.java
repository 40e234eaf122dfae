// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.pcapng;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.function.LongSupplier;

/** Packets, clocks and small checks shared by the tests. */
final class TestPackets {
  private TestPackets() {}

  /** 2024-05-01T12:00:00Z in nanoseconds. */
  static final long T0 = 1_714_564_800_000_000_000L;

  /**
   * An Ethernet + IPv4 + UDP frame of exactly {@code size} bytes (at least 42) from 10.0.0.1:{@code
   * port} to 10.0.0.2:53, whose payload starts with {@code seq}.
   */
  static ByteBuffer udp(int size, int port, int seq) {
    ByteBuffer b = ByteBuffer.allocate(size);
    b.put(new byte[] {2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1}).putShort((short) 0x0800);
    int ipLength = size - 14;
    b.put((byte) 0x45).put((byte) 0).putShort((short) ipLength).putShort((short) seq).putShort((short) 0)
        .put((byte) 64).put((byte) 17).putShort((short) 0)
        .put(new byte[] {10, 0, 0, 1}).put(new byte[] {10, 0, 0, 2});
    int sum = 0;
    for (int i = 14; i < 34; i += 2) {
      sum += b.getShort(i) & 0xFFFF;
    }
    while ((sum >> 16) != 0) {
      sum = (sum & 0xFFFF) + (sum >> 16);
    }
    b.putShort(24, (short) ~sum);
    b.putShort((short) port).putShort((short) 53).putShort((short) (ipLength - 20)).putShort((short) 0);
    if (b.remaining() >= 4) {
      b.putInt(seq);
    }
    b.clear();
    return b;
  }

  /** A settable clock in nanoseconds since the epoch. */
  static final class FakeClock implements LongSupplier {
    long now = T0;

    @Override
    public long getAsLong() {
      return now;
    }

    void advanceSeconds(double seconds) {
      now += (long) (seconds * 1e9);
    }
  }

  /** The block type names of a file in order, e.g. [SHB, IDB, EPB, ISB]. */
  static List<String> blockNames(Path file) throws Exception {
    List<String> names = new ArrayList<>();
    for (PcapngBlock b : PcapngReader.readAll(file)) {
      names.add(b.typeName());
    }
    return names;
  }

  static String mode(Path file) throws Exception {
    return PosixFilePermissions.toString(Files.getPosixFilePermissions(file));
  }

  /** The files in a directory, sorted by name. */
  static List<Path> files(Path dir) throws Exception {
    try (var s = Files.list(dir)) {
      return s.sorted().toList();
    }
  }
}

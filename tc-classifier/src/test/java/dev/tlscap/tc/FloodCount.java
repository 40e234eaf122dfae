// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.tc;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Counts the flood's datagrams in a capture file for {@code bench/tc-flood.sh}: IPv4/UDP packets to
 * {@code PORT} with a {@code PAYLOAD}-byte payload, in a classic pcap (tcpdump) or a pcapng (tlscap)
 * file of Ethernet frames. {@code FloodCount FILE PORT PAYLOAD} prints the count.
 */
public final class FloodCount {
  private FloodCount() {}

  public static void main(String[] args) throws IOException {
    System.out.println(count(Path.of(args[0]), Integer.parseInt(args[1]), Integer.parseInt(args[2])));
  }

  static long count(Path file, int port, int payload) throws IOException {
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
      long size = ch.size();
      if (size > Integer.MAX_VALUE) {
        throw new IOException(file + " is too big for this counter");
      }
      MappedByteBuffer b = ch.map(FileChannel.MapMode.READ_ONLY, 0, size);
      b.order(ByteOrder.LITTLE_ENDIAN);
      int magic = b.getInt(0);
      if (magic == 0x0A0D0D0A) {
        return pcapng(b, port, payload);
      }
      if (magic == 0xa1b2c3d4 || magic == 0xa1b23c4d) {
        return pcap(b, port, payload);
      }
      throw new IOException(file + ": neither pcap nor little-endian pcapng");
    }
  }

  private static long pcap(ByteBuffer b, int port, int payload) {
    long n = 0;
    int at = 24;
    while (at + 16 <= b.limit()) {
      int caplen = b.getInt(at + 8);
      if (at + 16 + caplen > b.limit()) {
        break;
      }
      if (matches(b, at + 16, caplen, port, payload)) {
        n++;
      }
      at += 16 + caplen;
    }
    return n;
  }

  private static long pcapng(ByteBuffer b, int port, int payload) {
    long n = 0;
    int at = 0;
    while (at + 12 <= b.limit()) {
      int type = b.getInt(at);
      int length = b.getInt(at + 4);
      if (length < 12 || at + length > b.limit()) {
        break;
      }
      if (type == 6 && matches(b, at + 28, b.getInt(at + 20), port, payload)) {
        n++;
      }
      at += length;
    }
    return n;
  }

  private static boolean matches(ByteBuffer b, int frame, int caplen, int port, int payload) {
    if (caplen < 42) {
      return false;
    }
    int etherType = (b.get(frame + 12) & 0xff) << 8 | (b.get(frame + 13) & 0xff);
    int ip = frame + 14;
    if (etherType != 0x0800 || (b.get(ip + 9) & 0xff) != 17) {
      return false;
    }
    int udp = ip + (b.get(ip) & 0x0f) * 4;
    int dport = (b.get(udp + 2) & 0xff) << 8 | (b.get(udp + 3) & 0xff);
    int length = (b.get(udp + 4) & 0xff) << 8 | (b.get(udp + 5) & 0xff);
    return dport == port && length == 8 + payload;
  }
}

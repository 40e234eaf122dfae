// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.capture;

import dev.tlscap.pcapng.Direction;
import dev.tlscap.pcapng.InterfaceDescription;
import dev.tlscap.pcapng.PcapngWriter;
import dev.tlscap.pcapng.RawMemory;
import dev.tlscap.capture.tls.SecretMatcher;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * Benchmark (not a test): what tlscap's loop spends on each packet of an established connection
 * after the ring hands it over: its headers parsed, its connection found, its Enhanced Packet Block
 * written (the writer drains to {@code /dev/null}: the file's own write(2) is not in it). The packets
 * sit in a direct buffer as in the ring, {@code FLOWS} connections of plaintext TCP sent round robin
 * (each direction's segments alternate), {@code PAYLOAD} bytes each. bench/packet-loop.sh runs it in
 * tlscap's JVM settings (C1, serial collector), with and without {@code -Dtlscap.rawMemory=false}.
 *
 * <p>Usage: {@code PacketPathBench FLOWS PAYLOAD MILLION_PACKETS ROUNDS}; prints
 * {@code packet-path raw|buffers median_ns_per_packet}.
 */
public final class PacketPathBench {
  private static final int SLOT = 2048;

  private PacketPathBench() {}

  public static void main(String[] args) throws Exception {
    int flows = Integer.parseInt(args[0]);
    int payload = Integer.parseInt(args[1]);
    long perRound = Long.parseLong(args[2]) * 1_000_000L;
    int rounds = Integer.parseInt(args[3]);
    ByteBuffer ring = ByteBuffer.allocateDirect(flows * 2 * SLOT).order(ByteOrder.nativeOrder());
    int length = 14 + 20 + 20 + payload;
    for (int f = 0; f < flows; f++) {
      frame(ring, 2 * f * SLOT, f, true, payload);
      frame(ring, (2 * f + 1) * SLOT, f, false, payload);
    }
    CaptureStats stats = new CaptureStats();
    PcapngWriter writer = PcapngWriter.builder().open(Path.of("/dev/null"));
    int id = writer.addInterface(InterfaceDescription.ethernet("lo"));
    CaptureFileSink sink = new CaptureFileSink(writer, null, stats, Long.MAX_VALUE);
    ConnectionTable table = new ConnectionTable(sink, stats,
        new ConnectionTable.Limits(1_000_000_000L, 64L << 20, Long.MAX_VALUE), new SecretMatcher());
    CapturedPacket packet = new CapturedPacket();
    double[] ns = new double[rounds];
    long now = 1_000_000_000L;
    int slots = 2 * flows;
    for (int r = -2; r < rounds; r++) { // two rounds to compile the path first
      long start = System.nanoTime();
      for (long i = 0; i < perRound; i++) {
        int slot = (int) (i % slots);
        now += 10;
        packet.set(id, now, ring, slot * SLOT, length, length, (slot & 1) == 0 ? Direction.OUTBOUND : Direction.INBOUND);
        table.onPacket(packet, PacketHeaders.LINKTYPE_ETHERNET, true, now);
      }
      if (r >= 0) {
        ns[r] = (System.nanoTime() - start) / (double) perRound;
      }
    }
    writer.close();
    if (stats.packetsWritten != (rounds + 2) * perRound) {
      throw new IllegalStateException("written " + stats.packetsWritten + " of " + (rounds + 2) * perRound);
    }
    Arrays.sort(ns);
    System.out.printf("packet-path %s %.1f%n", RawMemory.available() ? "raw" : "buffers", ns[rounds / 2]);
  }

  /** An Ethernet + IPv4 + TCP frame of connection {@code f}, client to server or back, with {@code payload} bytes. */
  private static void frame(ByteBuffer b, int at, int f, boolean fromClient, int payload) {
    ByteBuffer p = b.duplicate().order(ByteOrder.BIG_ENDIAN);
    p.position(at);
    p.put(new byte[12]).putShort((short) 0x0800);
    int client = 0x7f000001;
    int server = 0x7f000002;
    p.put((byte) 0x45).put((byte) 0).putShort((short) (20 + 20 + payload)).putInt(0).put((byte) 64).put((byte) 6)
        .putShort((short) 0).putInt(fromClient ? client : server).putInt(fromClient ? server : client);
    int clientPort = 10_000 + f;
    p.putShort((short) (fromClient ? clientPort : 80)).putShort((short) (fromClient ? 80 : clientPort))
        .putInt(1000).putInt(2000).put((byte) 0x50).put((byte) 0x18).putShort((short) 512).putInt(0);
    for (int i = 0; i < payload; i++) {
      p.put((byte) ('a' + i % 26)); // plaintext: the flow is not TLS
    }
  }
}

// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.tc;

import dev.tlscap.bpf.BpfProgram;
import dev.tlscap.pcapng.Direction;
import dev.tlscap.pcapng.InterfaceDescription;
import dev.tlscap.pcapng.LinkType;
import dev.tlscap.pcapng.PcapngWriter;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The consumer's cost per packet: the classifier fills the ring with 106-byte frames through
 * BPF_PROG_TEST_RUN (nothing else runs), then Java drains it into nothing, into reads of every
 * field, and into a pcapng file. {@code ConsumerMicroBench [PACKETS]}; needs root. For tuning.
 */
public final class ConsumerMicroBench {
  private ConsumerMicroBench() {}

  public static void main(String[] args) throws Exception {
    int packets = args.length > 0 ? Integer.parseInt(args[0]) : 1_000_000;
    Path file = Files.createTempFile("consumer", ".pcapng");
    try (TestCapture t = TestCapture.openAsIs(PacketCaptureOptions.builder().iface("lo").ringBytes(256 << 20)
        .filter(PacketFilter.parse("udp port 1")))) {
      PacketCapture capture = t.capture;
      java.lang.reflect.Field f = PacketCapture.class.getDeclaredField("ingress");
      f.setAccessible(true);
      BpfProgram ingress = (BpfProgram) f.get(capture);
      byte[] packet = new byte[106];
      packet[12] = 0x08;
      packet[14] = 0x45;
      packet[17] = 92;
      packet[23] = 17;
      packet[37] = 1;
      long[] sink = new long[1];
      PcapngWriter writer = PcapngWriter.builder().open(file);
      writer.addInterface(new InterfaceDescription("lo", null, LinkType.ETHERNET, 262144, null, null));
      for (int round = 0; round < 8; round++) {
        ingress.testRunPacket(packet, packets); // fills the ring
        String what;
        long start = System.nanoTime();
        int n;
        switch (round % 3) {
          case 0 -> {
            what = "drain, empty handler";
            n = capture.drain(p -> sink[0]++);
          }
          case 1 -> {
            what = "drain, read every field";
            n = capture.drain(p -> sink[0] += p.timestampNanos() + p.ifindex() + p.originalLength()
                + p.capturedLength() + p.socketCookie() + p.interfaceId() + p.direction().ordinal() + p.dataOffset());
          }
          default -> {
            what = "drain, write pcapng";
            n = capture.drain(p -> writer.writePacket(p.interfaceId(), p.timestampNanos(), p.data(), p.dataOffset(),
                p.capturedLength(), p.originalLength(), Direction.INBOUND));
          }
        }
        long ns = System.nanoTime() - start;
        System.out.printf("%-26s %d records, %.1f ns/record%n", what, n, (double) ns / n);
      }
      writer.close();
      System.out.println(sink[0] == 42 ? "" : "(" + t.capture.counters(0) + ")");
    } finally {
      Files.deleteIfExists(file);
    }
  }
}

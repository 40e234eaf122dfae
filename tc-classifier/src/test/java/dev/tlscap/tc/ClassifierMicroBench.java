// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.tc;

import dev.tlscap.bpf.BpfMap;
import dev.tlscap.bpf.BpfObject;
import dev.tlscap.bpf.BpfProgram;
import dev.tlscap.bpf.RingBufferReader;

/**
 * The classifier's cost per packet, measured in the kernel with BPF_PROG_TEST_RUN (repeat N, the
 * kernel's own average): {@code ClassifierMicroBench [FILTER] [FRAME_BYTES] [WAKEUP_NS]}. Drains the
 * ring between batches so records are really written. For tuning tc_capture.bpf.c; needs root.
 */
public final class ClassifierMicroBench {
  private ClassifierMicroBench() {}

  private static byte[] readAll(String file) {
    try {
      return java.nio.file.Files.readAllBytes(java.nio.file.Path.of(file));
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  public static void main(String[] args) {
    String filter = args.length > 0 ? args[0] : "";
    int frame = args.length > 1 ? Integer.parseInt(args[1]) : 106;
    long wakeup = args.length > 2 ? Long.parseLong(args[2]) : PacketCaptureOptions.DEFAULT_WAKEUP_INTERVAL_NANOS;
    PacketFilter f = PacketFilter.compile(filter);
    String objectFile = System.getProperty("object");
    try (BpfObject object = objectFile == null ? BpfObject.open(PacketCapture.class, PacketCapture.OBJECT)
        : BpfObject.open(readAll(objectFile), "tc_capture.bpf.o")) {
      object.setRodataU32("snap_length", 262144).setRodataU32("max_packet_bytes", 262144)
          .setRodataU64("wakeup_interval_ns", wakeup)
          .setRodataU32("filter_clause_count", f.clauseCount()).setRodata("filter_clauses", f.encodeClauses())
          .setMaxEntries("packets", 64 << 20).load();
      BpfMap counters = object.map("counters");
      byte[] zero = new byte[32 * BpfMap.possibleCpus()];
      counters.update(BpfMap.u32Key(0), zero);
      counters.update(BpfMap.u32Key(1), zero);
      // test runs come in on lo (ifindex 1): slot 1
      object.map("interface_slots").update(BpfMap.u32Key(1),
          java.util.Arrays.copyOf(InterfaceSlots.entry(1, 1, InterfaceSlots.LINK_ETHERNET),
              object.map("interface_slots").valueSize()));
      RingBufferReader reader = new RingBufferReader(object.map("packets"));
      object.closeWith(reader);
      // an Ethernet + IPv4 + UDP frame to 127.0.0.1:5201
      byte[] packet = new byte[frame];
      packet[12] = 0x08;
      packet[14] = 0x45;
      packet[16] = (byte) ((frame - 14) >> 8);
      packet[17] = (byte) (frame - 14);
      packet[22] = 64;
      packet[23] = 17;
      packet[26] = 127;
      packet[29] = 1;
      packet[30] = 127;
      packet[33] = 1;
      packet[34] = 0x30;
      packet[35] = 0x39;
      packet[36] = 0x14;
      packet[37] = 0x51;
      BpfProgram ingress = object.program("tlscap_ingress");
      long[] records = new long[1];
      for (int round = 0; round < 6; round++) {
        BpfProgram.TestRun run = ingress.testRunPacket(packet, 200_000);
        reader.drain((b, o, l) -> records[0]++);
        System.out.println("filter '" + filter + "', " + frame + "-byte frame: " + run.nanosPerRun() + " ns per packet");
      }
      System.out.println("records " + records[0] + ", counters " + counters.sumPerCpuU64(1, 0) + " received, "
          + counters.sumPerCpuU64(1, 8) + " dropped, " + counters.sumPerCpuU64(1, 16) + " filtered");
    }
  }
}

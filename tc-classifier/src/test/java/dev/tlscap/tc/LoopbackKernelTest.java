// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.tc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tlscap.testing.PcapFile;
import dev.tlscap.testing.Requirements;
import dev.tlscap.testing.Tcpdump;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Loopback: the same traffic captured by tlscap and by the real {@code tcpdump -w} gives the same
 * packets, byte for byte, once each, in TCX and in clsact mode. Traffic is filtered by random ports
 * so whatever else uses lo meanwhile does not matter.
 */
@Tag("kernel")
class LoopbackKernelTest {
  @TempDir Path dir;

  @BeforeEach
  void root() {
    Requirements.requireRoot();
    Requirements.requireCommand("tcpdump", "tcpdump");
  }

  @ParameterizedTest
  @EnumSource(value = AttachMode.class, names = {"TCX", "CLSACT"})
  void loopbackCaptureEqualsTcpdump(AttachMode mode) throws Exception {
    try (EchoPeer peer = EchoPeer.start(EchoPeer.freePort())) {
      int port = peer.port();
      String filter = "udp port " + port + " or tcp port " + port;
      try (Tcpdump tcpdump = Tcpdump.start(dir.resolve("lo.pcap"), "lo", null, filter);
           TestCapture t = TestCapture.open(PacketCaptureOptions.builder().iface("lo").attachMode(mode)
               .filter(PacketFilter.parse(filter)))) {
        CaptureInterface lo = t.iface("lo");
        assertEquals(LinkType.ETHERNET, lo.linkType());
        assertTrue(lo.loopback());
        assertEquals(mode, lo.attachMode());

        Traffic.udpPingPong("127.0.0.1", port, 1, 100, 1400, 9000, 30000, 60000);
        Traffic.udpPingPong("::1", port, 7, 1500, 20000);
        Traffic.tcpSession("127.0.0.1", port, 10, 1 << 20);
        Traffic.tcpSession("::1", port, 3, 0);

        List<CapturedPacket> ours = t.drainAll();
        PcapFile theirs = tcpdump.stop();
        assertEquals(1, theirs.linkType(), "tcpdump writes lo as Ethernet too");
        Packets.assertSameAsTcpdump(ours, theirs.packets(), true, "lo (" + mode + ")");

        assertTrue(ours.stream().allMatch(p -> p.direction() == PacketDirection.INBOUND && p.ifindex() == lo.ifindex()));
        assertTrue(ours.stream().anyMatch(p -> p.originalLength() > 16384), "GSO packets above the scratch size");
        assertTrue(ours.stream().allMatch(p -> p.data().length == p.originalLength()), "nothing truncated");
        InterfaceCounters c = t.capture.counters(lo.id());
        assertEquals(0, c.dropped());
        assertEquals(0, c.truncated());
        assertTrue(c.received() >= ours.size(), c.toString());
      }
    }
  }

  @Test
  void aFullRingDropsAndCountsPerCpuAndInterface() {
    int port = EchoPeer.freePort();
    try (TestCapture t = TestCapture.openAsIs(PacketCaptureOptions.builder().iface("lo").ringBytes(64 << 10)
        .filter(PacketFilter.parse("udp dst port " + port)))) {
      Traffic.udpSend("127.0.0.1", port, 3000, 100); // about 150 bytes a record: the ring holds ~430
      List<CapturedPacket> ours = t.drainAll();
      InterfaceCounters c = t.capture.counters(0);
      assertEquals(3000, c.received(), c.toString());
      assertTrue(c.dropped() > 2000, c.toString());
      assertEquals(c.received() - c.dropped(), ours.size(), "every packet is captured or counted as dropped");
      assertEquals(c.dropped(), java.util.Arrays.stream(t.capture.droppedPerCpu()).sum(), "per CPU adds up");
      InterfaceCounters total = t.capture.totalCounters(); // filteredOut moves with other lo traffic
      assertEquals(c.received(), total.received(), "one interface: the total is its counters");
      assertEquals(c.dropped(), total.dropped());
    }
  }

  @Test
  void theFirstPacketAfterAQuietSpellWakesTheConsumerAtOnce() throws Exception {
    int port = EchoPeer.freePort();
    try (TestCapture t = TestCapture.openAsIs(PacketCaptureOptions.builder().iface("lo")
        .filter(PacketFilter.parse("udp dst port " + port)))) {
      java.util.concurrent.atomic.AtomicLong woke = new java.util.concurrent.atomic.AtomicLong();
      Thread consumer = new Thread(() -> {
        long start = System.nanoTime();
        while (t.capture.poll(p -> { }, 10_000) == 0 && System.nanoTime() - start < 20_000_000_000L) {
          // until the packet arrives
        }
        woke.set(System.nanoTime());
      });
      consumer.start();
      Thread.sleep(300); // the consumer waits in epoll_wait now, with a 10 s timeout
      long sent = System.nanoTime();
      Traffic.udpSend("127.0.0.1", port, 1, 10);
      consumer.join(15_000);
      long latency = woke.get() - sent;
      assertTrue(latency > 0 && latency < 1_000_000_000L, "woken after " + latency / 1_000_000 + " ms");
    }
  }

  @Test
  void aRingFillingUpWakesTheConsumerBetweenQuietSpellWakeups() throws Exception {
    int port = EchoPeer.freePort();
    try (TestCapture t = TestCapture.openAsIs(PacketCaptureOptions.builder().iface("lo").ringBytes(1 << 20)
        .wakeupIntervalNanos(60_000_000_000L).filter(PacketFilter.parse("udp dst port " + port)))) {
      assertEquals((1 << 20) / 16, t.capture.options().wakeupBytes());
      Traffic.udpSend("127.0.0.1", port, 1, 10); // the quiet-spell wakeup of this CPU is used up
      assertEquals(1, t.capture.poll(p -> { }, 5_000));
      aFillingRingWakesTheConsumer(t, port);
    }
  }

  /** ~150 KB sent to a consumer waiting with a 20 s timeout, past the 64 KiB threshold of a 1 MiB ring: it wakes. */
  private static void aFillingRingWakesTheConsumer(TestCapture t, int port) throws InterruptedException {
    java.util.concurrent.atomic.AtomicLong got = new java.util.concurrent.atomic.AtomicLong();
    Thread consumer = new Thread(() -> {
      long start = System.nanoTime();
      while (got.get() < 400 && System.nanoTime() - start < 30_000_000_000L) {
        got.addAndGet(t.capture.poll(p -> { }, 20_000));
      }
    });
    consumer.start();
    Thread.sleep(300);
    long sent = System.nanoTime();
    Traffic.udpSend("127.0.0.1", port, 1000, 100);
    consumer.join(25_000);
    long waited = System.nanoTime() - sent;
    assertTrue(got.get() >= 400, "the consumer woke for the fill: " + got.get());
    assertTrue(waited < 5_000_000_000L, "well before its 20 s timeout: " + waited / 1_000_000 + " ms");
  }

  /** tlscap's own setting: its loop drains every 10 ms, so only a filling ring wakes it. */
  @Test
  void withoutQuietSpellWakeupsOnlyAFillingRingWakesTheConsumer() throws Exception {
    int port = EchoPeer.freePort();
    try (TestCapture t = TestCapture.openAsIs(PacketCaptureOptions.builder().iface("lo").ringBytes(1 << 20)
        .wakeupIntervalNanos(0).filter(PacketFilter.parse("udp dst port " + port)))) {
      java.util.concurrent.atomic.AtomicLong drained = new java.util.concurrent.atomic.AtomicLong();
      Thread quiet = new Thread(() -> drained.set(t.capture.poll(p -> { }, 1_500)));
      quiet.start();
      Thread.sleep(300); // the consumer waits in epoll_wait now
      long sent = System.nanoTime();
      Traffic.udpSend("127.0.0.1", port, 1, 10);
      quiet.join(10_000);
      long waited = System.nanoTime() - sent;
      assertEquals(1, drained.get(), "the packet is there when the consumer looks");
      assertTrue(waited > 1_000_000_000L, "not woken for it: the timeout ran out after " + waited / 1_000_000 + " ms");
      aFillingRingWakesTheConsumer(t, port);
    }
  }

  @Test
  void drainingAllocatesNothingPerPacket() {
    int port = EchoPeer.freePort();
    try (TestCapture t = TestCapture.open(PacketCaptureOptions.builder().iface("lo")
        .filter(PacketFilter.parse("udp dst port " + port)))) {
      long[] sum = new long[1];
      PacketHandler reader = p -> sum[0] += p.timestampNanos() + p.ifindex() + p.interfaceId() + p.originalLength()
          + p.capturedLength() + p.socketCookie() + p.direction().ordinal() + p.flags() + p.data().get(p.dataOffset());
      Traffic.udpSend("127.0.0.1", port, 20_000, 64); // warm up
      TestCapture.sleep(200);
      t.capture.drain(reader);
      Traffic.udpSend("127.0.0.1", port, 50_000, 64);
      TestCapture.sleep(200);
      com.sun.management.ThreadMXBean mx = (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
      long before = mx.getCurrentThreadAllocatedBytes();
      int n = t.capture.drain(reader);
      long allocated = mx.getCurrentThreadAllocatedBytes() - before;
      assertEquals(50_000, n);
      assertTrue(allocated < 4096, allocated + " bytes allocated draining " + n + " packets");
    }
  }

  @Test
  void aSnapLengthCutsPacketsLikeTcpdumps() throws Exception {
    try (EchoPeer peer = EchoPeer.start(EchoPeer.freePort())) {
      String filter = "udp port " + peer.port();
      try (Tcpdump tcpdump = Tcpdump.start(dir.resolve("lo.pcap"), "lo", null, filter, "-s", "100");
           TestCapture t = TestCapture.open(PacketCaptureOptions.builder().iface("lo").snapLength(100)
               .filter(PacketFilter.parse(filter)))) {
        Traffic.udpPingPong("127.0.0.1", peer.port(), 10, 58, 59, 500, 5000, 60000);
        List<CapturedPacket> ours = t.drainAll();
        Packets.assertSameAsTcpdump(ours, tcpdump.stop().packets(), true, "lo -s 100");
        assertEquals(4 * 2, ours.stream().filter(p -> p.data().length == 100 && p.originalLength() > 100).count());
        assertTrue(ours.stream().noneMatch(CapturedPacket::cutByRecordLimit), "the snap length is not the record limit");
        assertEquals(0, t.capture.counters(0).truncated());
      }
    }
  }

  @Test
  void packetsLongerThanARecordAreCutAndMarkedNeverDropped() throws Exception {
    try (EchoPeer peer = EchoPeer.start(EchoPeer.freePort())) {
      String filter = "port " + peer.port();
      try (Tcpdump tcpdump = Tcpdump.start(dir.resolve("lo.pcap"), "lo", null, filter);
           TestCapture t = TestCapture.open(PacketCaptureOptions.builder().iface("lo").maxPacketBytes(1000)
               .filter(PacketFilter.parse(filter)))) {
        assertEquals(1000, t.capture.maxPacketBytes());
        Traffic.udpPingPong("127.0.0.1", peer.port(), 10, 999, 1000, 1001, 5000, 60000);
        Traffic.tcpSession("127.0.0.1", peer.port(), 2, 300_000);
        List<CapturedPacket> ours = t.drainAll();
        List<PcapFile.Packet> theirs = tcpdump.stop().packets();
        assertEquals(theirs.size(), ours.size(), "nothing dropped for its size");
        for (int i = 0; i < ours.size(); i++) {
          CapturedPacket o = ours.get(i);
          byte[] full = theirs.get(i).data();
          assertEquals(theirs.get(i).originalLength(), o.originalLength());
          assertEquals(Math.min(1000, full.length), o.data().length);
          assertTrue(java.util.Arrays.equals(full, 0, o.data().length, o.data(), 0, o.data().length), "same first bytes");
          assertEquals(o.originalLength() > 1000, o.cutByRecordLimit(), "marked when cut: " + o);
        }
        InterfaceCounters c = t.capture.counters(0);
        assertEquals(ours.stream().filter(CapturedPacket::cutByRecordLimit).count(), c.truncated());
        assertTrue(c.truncated() >= 8, c.toString());
        assertEquals(0, c.dropped());
      }
    }
  }
}

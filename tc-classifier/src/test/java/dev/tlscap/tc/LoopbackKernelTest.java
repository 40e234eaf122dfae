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
        System.err.println(tcpdump.stderr());
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
}

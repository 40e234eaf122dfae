// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.tc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tlscap.testing.Command;
import dev.tlscap.testing.NetworkNamespace;
import dev.tlscap.testing.PcapFile;
import dev.tlscap.testing.Requirements;
import dev.tlscap.testing.Tcpdump;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The in-kernel filter keeps exactly what tcpdump's filter keeps: several filters, each captured by
 * tlscap and by tcpdump at the same time, over one mix of matching and non-matching traffic on a
 * veth (UDP and TCP to a served and an unserved port, two peer addresses, IPv4 and IPv6, ARP,
 * neighbour discovery, ICMP errors).
 */
@Tag("kernel")
class FilterKernelTest {
  @TempDir Path dir;
  NetworkNamespace ns;
  NetworkNamespace.Veth veth;
  String net;
  int port;
  int closedPort;

  @BeforeEach
  void setUp() {
    Requirements.requireRoot();
    Requirements.requireCommand("tcpdump", "tcpdump");
    ns = NetworkNamespace.create("tcfilter");
    net = "10.212." + ThreadLocalRandom.current().nextInt(1, 250);
    veth = ns.addVeth(net + ".1/24", net + ".2/24");
    ns.addAddress(ns.name(), veth.peerName(), net + ".3/24");
    ns.addAddress(null, veth.hostName(), "fd00:212::1/64");
    ns.addAddress(ns.name(), veth.peerName(), "fd00:212::2/64");
    port = EchoPeer.freePort();
    closedPort = port + 1;
    VethKernelTest.startEchoPeer(ns, port);
  }

  @AfterEach
  void tearDown() {
    if (ns != null) {
      ns.close();
    }
  }

  private void traffic() {
    Command.run(Duration.ofSeconds(10), "ip", "neigh", "flush", "dev", veth.hostName());
    Traffic.udpPingPong(net + ".2", port, 10, 1000);
    Traffic.udpPingPong(net + ".3", port, 20);
    Traffic.udpSend(net + ".2", closedPort, 3, 50);       // ICMP port unreachable comes back
    Traffic.tcpSession(net + ".2", port, 2, 0);
    try {
      Traffic.tcpSession(net + ".2", closedPort, 0, 0);   // SYN, RST
    } catch (java.io.UncheckedIOException expected) {
      // connection refused
    }
    Traffic.udpPingPong("fd00:212::2", port, 30);
    Traffic.udpSend("fd00:212::2", closedPort, 2, 10);
  }

  @Test
  void eachFilterKeepsWhatTcpdumpKeeps() {
    List<String> filters = List.of(
        "udp port " + port,
        "host " + net + ".3",
        "tcp and dst port " + closedPort + " or udp src port " + port,
        "ip6 and udp",
        "src host " + net + ".1 and dst portrange " + port + "-" + closedPort,
        "arp",
        "icmp or icmp6",
        "dst net " + net + ".0/30 and tcp[tcpflags] & tcp-rst == 0 or arp",
        // beyond the clauses: libpcap's own program, run by the classifier's cBPF interpreter
        // (not IPv6 multicast: MLD reports go out at random times after the veth comes up, when tcpdump
        // may already run and the capture not yet)
        "not port " + port + " and not ip6 multicast",
        "not (udp or arp) and ip",
        "tcp[tcpflags] & (tcp-syn|tcp-fin) != 0",
        "udp and greater 120",
        "less 80 and not ip6",
        "ip[8] = 64 and icmp",
        "ip6 and not icmp6 and src host fd00:212::1",
        "ether broadcast and not ether src host 00:00:00:00:00:00",
        "udp[8:2] = 0x0000 or (icmp[icmptype] = icmp-unreach)",
        "tcp and (port " + port + " or port " + closedPort + ") and not src net " + net + ".0/31");
    List<Tcpdump> tcpdumps = new ArrayList<>();
    List<TestCapture> captures = new ArrayList<>();
    try {
      for (int i = 0; i < filters.size(); i++) {
        tcpdumps.add(Tcpdump.start(dir.resolve(i + ".pcap"), veth.hostName(), null, filters.get(i)));
        captures.add(TestCapture.openAsIs(PacketCaptureOptions.builder().iface(veth.hostName()).ringBytes(4 << 20)
            .filter(PacketFilter.compile(filters.get(i)))));
      }
      traffic();
      for (int i = 0; i < filters.size(); i++) {
        String filter = filters.get(i);
        TestCapture t = captures.get(i);
        List<CapturedPacket> ours = t.drainAll();
        PcapFile theirs = tcpdumps.get(i).stop();
        assertFalse(theirs.packets().isEmpty(), "the traffic has packets for '" + filter + "'");
        assertTrue(t.capture.filter().inKernel(), "'" + filter + "' runs in the kernel (libpcap's program if need be)");
        if (t.capture.filter().inKernel()) {
          Packets.assertSameAsTcpdump(ours, theirs.packets(), true, "'" + filter + "'");
          InterfaceCounters c = t.capture.counters(0);
          assertEquals(ours.size(), c.received(), filter);
          assertTrue(c.filteredOut() > 0, "packets that did not match were counted, not copied: " + filter);
        } else {
          // Superset: everything tcpdump kept is there, plus what only user space can reject.
          List<byte[]> kept = ours.stream().map(CapturedPacket::data).toList();
          for (PcapFile.Packet p : theirs.packets()) {
            assertTrue(kept.stream().anyMatch(b -> Arrays.equals(b, p.data())),
                "'" + filter + "': the superset holds " + Packets.describe(p.data(), true));
          }
          assertTrue(ours.size() > theirs.packets().size(), "'" + filter + "' keeps more in the kernel");
        }
      }
    } finally {
      tcpdumps.forEach(Tcpdump::close);
      captures.forEach(TestCapture::close);
    }
  }

  @Test
  void aFilterThatMatchesNothingCopiesNothingAndCountsEverything() {
    try (TestCapture t = TestCapture.open(PacketCaptureOptions.builder().iface(veth.hostName())
        .filter(PacketFilter.parse("ip6 and arp")))) {
      traffic();
      assertEquals(List.of(), t.drainAll());
      InterfaceCounters c = t.capture.counters(0);
      assertEquals(0, c.received());
      assertTrue(c.filteredOut() > 20, c.toString());
    }
  }
}

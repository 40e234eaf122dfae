// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.tc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tlscap.testing.Command;
import dev.tlscap.testing.NetworkNamespace;
import dev.tlscap.testing.PcapFile;
import dev.tlscap.testing.Requirements;
import dev.tlscap.testing.Tcpdump;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A veth pair into a network namespace the test creates, with an echo server inside: tlscap's
 * capture of the host end equals tcpdump's, per direction ({@code tcpdump -Q in} / {@code -Q out}),
 * in TCX and clsact mode; and {@code -i any} captures lo and the veth at once, each like tcpdump.
 */
@Tag("kernel")
class VethKernelTest {
  @TempDir Path dir;
  NetworkNamespace ns;
  NetworkNamespace.Veth veth;
  int port;

  @BeforeEach
  void setUp() {
    Requirements.requireRoot();
    Requirements.requireCommand("tcpdump", "tcpdump");
    ns = NetworkNamespace.create("tcveth");
    int net = ThreadLocalRandom.current().nextInt(1, 250);
    veth = ns.addVeth("10.211." + net + ".1/24", "10.211." + net + ".2/24");
    ns.addAddress(null, veth.hostName(), "fd00:211:" + net + "::1/64");
    ns.addAddress(ns.name(), veth.peerName(), "fd00:211:" + net + "::2/64");
    port = EchoPeer.freePort();
    startEchoPeer(ns, port);
  }

  @AfterEach
  void tearDown() {
    if (ns != null) {
      ns.close();
    }
  }

  /** Starts {@link EchoPeer} inside the namespace on {@code port}. */
  static Command.Background startEchoPeer(NetworkNamespace ns, int port) {
    String java = ProcessHandle.current().info().command().orElse("java");
    Command.Background peer = ns.start(java, "-cp", System.getProperty("java.class.path"), EchoPeer.class.getName(),
        Integer.toString(port));
    peer.awaitOutput("ready", Duration.ofSeconds(60));
    return peer;
  }

  String peerV6() {
    return veth.peerAddress().replace("10.211.", "fd00:211:").replaceAll("\\.\\d+\\.2$", "::2")
        .replaceAll("^fd00:211:(\\d+)", "fd00:211:$1");
  }

  /** The traffic of every veth test: UDP of many sizes (fragments too), TCP with big GSO writes, IPv6. */
  void traffic(String v4, String v6) {
    Traffic.udpPingPong(v4, port, 1, 100, 1472, 3000, 8000);
    Traffic.tcpSession(v4, port, 8, 1 << 20);
    Traffic.udpPingPong(v6, port, 64, 1400);
    Traffic.tcpSession(v6, port, 3, 100_000);
  }

  String v6Peer() {
    String net = veth.peerAddress().split("\\.")[2];
    return "fd00:211:" + net + "::2";
  }

  @ParameterizedTest
  @EnumSource(value = AttachMode.class, names = {"TCX", "CLSACT"})
  void vethCaptureEqualsTcpdumpPerDirection(AttachMode mode) {
    String filter = "port " + port;
    try (Tcpdump in = Tcpdump.start(dir.resolve("in.pcap"), veth.hostName(), "in", filter);
         Tcpdump out = Tcpdump.start(dir.resolve("out.pcap"), veth.hostName(), "out", filter);
         TestCapture t = TestCapture.open(PacketCaptureOptions.builder().iface(veth.hostName()).attachMode(mode)
             .filter(PacketFilter.parse(filter)))) {
      CaptureInterface v = t.iface(veth.hostName());
      assertEquals(LinkType.ETHERNET, v.linkType());
      assertEquals(mode, v.attachMode());
      assertEquals(1500, v.mtu());

      traffic(veth.peerAddress(), v6Peer());

      t.drainAll();
      PcapFile inbound = in.stop();
      PcapFile outbound = out.stop();
      Packets.assertSameAsTcpdump(t.on(v, PacketDirection.INBOUND), inbound.packets(), true, veth.hostName() + " in");
      Packets.assertSameAsTcpdump(t.on(v, PacketDirection.OUTBOUND), outbound.packets(), true, veth.hostName() + " out");
      assertTrue(t.on(v, PacketDirection.OUTBOUND).stream().anyMatch(p -> p.originalLength() > 16384),
          "TSO packets above the scratch size leave the host end whole");
      assertEquals(java.util.List.of(), t.on(v, PacketDirection.OUTBOUND).stream()
          .filter(p -> Packets.describe(p.data(), true).startsWith("tcp")).filter(p -> p.socketCookie() == 0).toList(),
          "outbound TCP packets carry their socket's cookie");
      InterfaceCounters c = t.capture.counters(v.id());
      assertEquals(t.packets.size(), c.received());
      assertEquals(0, c.dropped());
      assertTrue(c.filteredOut() > 0, "ARP/ND packets did not match 'port': " + c);
    }
  }

  @Test
  void anyCapturesLoAndTheVethEachLikeTcpdump() throws Exception {
    try (EchoPeer local = EchoPeer.start(EchoPeer.freePort())) {
      String filter = "port " + port + " or port " + local.port();
      try (Tcpdump lo = Tcpdump.start(dir.resolve("lo.pcap"), "lo", null, filter);
           Tcpdump in = Tcpdump.start(dir.resolve("in.pcap"), veth.hostName(), "in", filter);
           Tcpdump out = Tcpdump.start(dir.resolve("out.pcap"), veth.hostName(), "out", filter);
           TestCapture t = TestCapture.open(PacketCaptureOptions.builder().iface("any")
               .filter(PacketFilter.parse(filter)))) {
        CaptureInterface loopback = t.iface("lo");
        CaptureInterface v = t.iface(veth.hostName());
        assertEquals(t.capture.interfaces().size(), t.added.size(), "every interface announced");
        for (CaptureInterface i : t.capture.interfaces()) {
          assertEquals(i, t.capture.iface(i.id()));
          assertTrue(i.description().contains("netns net:["), i.description());
        }

        Traffic.udpPingPong("127.0.0.1", local.port(), 10, 2000);
        traffic(veth.peerAddress(), v6Peer());
        Traffic.tcpSession("127.0.0.1", local.port(), 4, 300_000);

        t.drainAll();
        Packets.assertSameAsTcpdump(t.on(loopback, null), lo.stop().packets(), true, "any: lo");
        Packets.assertSameAsTcpdump(t.on(v, PacketDirection.INBOUND), in.stop().packets(), true, "any: veth in");
        Packets.assertSameAsTcpdump(t.on(v, PacketDirection.OUTBOUND), out.stop().packets(), true, "any: veth out");
        assertTrue(t.packets.stream().allMatch(p -> p.interfaceId() >= 0
            && t.capture.iface(p.interfaceId()).ifindex() == p.ifindex()), "interface ids resolve");
      }
    }
  }
}

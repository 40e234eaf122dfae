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
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The in-kernel filter keeps what tcpdump's keeps whatever the packet's shape and wherever the kernel
 * put its bytes: frames written by a packet socket (as tcpreplay and scapy do: above a page only the
 * link header is in the skb's linear area, and at egress the kernel's network header offset is the
 * link header's) and by the kernel's own stack (GSO super-packets, IPv4 and IPv6 fragments, ICMP
 * errors), IPv4 options and fragments, IPv6 extension headers, ICMP errors quoting TCP, runts; on lo
 * and on a veth (both directions), each through a table of filters, each captured by tlscap and by
 * tcpdump at once: the same packets, byte for byte.
 */
@Tag("kernel")
class PacketShapesKernelTest {
  @TempDir Path dir;

  @BeforeEach
  void root() {
    Requirements.requireRoot();
    Requirements.requireCommand("tcpdump", "tcpdump");
    Requirements.requireCommand("python3", "python3");
  }

  /** The replay: 100 flows of a SYN, a 1000-byte and sixteen 4096-byte segments to TCP port 1, on lo. */
  @Test
  void replayedFramesOnLoopbackAreAllKept() {
    String filter = "tcp port 1";
    List<byte[]> frames = Frames.replay("127.0.0.1", "127.0.0.1", 1, 100, 16);
    assertEquals(1800, frames.size());
    try (Tcpdump tcpdump = Tcpdump.start(dir.resolve("replay.pcap"), "lo", null, filter);
         TestCapture t = TestCapture.open(PacketCaptureOptions.builder().iface("lo")
             .filter(PacketFilter.parse(filter)))) {
      PacketSocket.send(dir, null, "lo", frames);
      List<CapturedPacket> ours = t.drainAll();
      PcapFile theirs = tcpdump.stop();
      assertEquals(1800, theirs.packets().size(), "tcpdump keeps every replayed frame");
      Packets.assertSameSetAsTcpdump(ours, theirs.packets(), true, "'" + filter + "' on replayed frames");
      InterfaceCounters c = t.capture.counters(0);
      assertEquals(1800, c.received(), c.toString());
      assertEquals(0, c.dropped(), c.toString());
    }
  }

  @Test
  void onLoopbackEachFilterKeepsWhatTcpdumpKeeps() throws Exception {
    int x = ThreadLocalRandom.current().nextInt(1, 250);
    String a4 = "127.33." + x + ".1";
    String b4 = "127.33." + x + ".2";
    String a6 = "fd00:21:" + Integer.toHexString(x) + "::1";
    String b6 = "fd00:21:" + Integer.toHexString(x) + "::2";
    try (EchoPeer peer = EchoPeer.start(EchoPeer.freePort())) {
      int e = peer.port();
      int p = EchoPeer.freePort();
      // lo is shared: every filter names this test's addresses or ports
      List<String> filters = List.of(
          "tcp port " + p,
          "port " + p,
          "udp port " + e + " or tcp port " + e,
          "ip6 and tcp and port " + p,
          "ip and port " + p,
          "udp and host " + b4,
          "tcp and src host " + a6,
          "net 127.33." + x + ".0/24",
          "host " + b6 + " and (tcp or udp)",
          "(icmp or icmp6) and (host " + a4 + " or host " + a6 + ")",
          "src port " + p + " or dst port " + e,
          "tcp dst portrange " + p + "-" + (p + 1) + " and host " + b4,
          "arp and host " + a4 + " or udp port " + p,
          "ip6 and host " + a6 + " or ip and dst host " + b4);
      compare("lo", filters, () -> {
        PacketSocket.send(dir, null, "lo", Frames.shapes(a4, b4, a6, b6, p, 6000));
        Traffic.udpPingPong("127.0.0.1", e, 1, 1400, 30000, 60000);
        Traffic.udpPingPong("::1", e, 7, 20000);
        Traffic.tcpSession("127.0.0.1", e, 3, 1 << 20); // GSO packets above 16 KiB
        Traffic.tcpSession("::1", e, 2, 1 << 18);
      }, true);
    }
  }

  @Test
  void onVethEachFilterKeepsWhatTcpdumpKeeps() {
    int x = ThreadLocalRandom.current().nextInt(1, 250);
    String net = "10.213." + x;
    String a4 = net + ".1";
    String b4 = net + ".2";
    String a6 = "fd00:213:" + Integer.toHexString(x) + "::1";
    String b6 = "fd00:213:" + Integer.toHexString(x) + "::2";
    try (NetworkNamespace ns = NetworkNamespace.create("tcshape")) {
      Veth veth = quietVeth(ns, a4, b4, a6, b6);
      int e = EchoPeer.freePort();
      int p = e + 1;
      int closed = e + 2;
      VethKernelTest.startEchoPeer(ns, e);
      List<String> filters = List.of(
          "tcp port " + p,
          "port " + p,
          "udp port " + e,
          "tcp",
          "udp",
          "ip6 and tcp",
          "ip and udp",
          "ip6",
          "host " + b4,
          "src host " + a6,
          "dst net " + net + ".0/30",
          "icmp or icmp6",
          "dst port " + p + " or src port " + e,
          "tcp dst portrange " + p + "-" + closed + " and host " + b4,
          "arp or udp port " + p,
          "sctp or tcp port " + e + " or ip6 and udp");
      compare(veth.host(), filters, () -> {
        PacketSocket.send(dir, null, veth.host(), Frames.shapes(a4, b4, a6, b6, p, 6000));        // egress
        PacketSocket.send(dir, ns.name(), veth.peer(), Frames.shapes(b4, a4, b6, a6, p, 6000));   // ingress
        Traffic.udpPingPong(b4, e, 10, 1400, 20000, 60000); // IPv4 fragments both ways
        Traffic.udpPingPong(b6, e, 30, 20000);              // IPv6 fragments
        Traffic.udpSend(b4, closed, 2, 50);                 // ICMP port unreachable comes back
        Traffic.udpSend(b6, closed, 2, 50);
        Traffic.tcpSession(b4, e, 2, 1 << 19);              // GSO at egress
        Traffic.tcpSession(b6, e, 1, 1 << 17);
        try {
          Traffic.tcpSession(b4, closed, 0, 0);             // SYN, RST
        } catch (UncheckedIOException refused) {
          // connection refused
        }
      }, true);
    }
  }

  /** Raw IP (tun, as WireGuard): no link header; the filter tells IPv4 from IPv6 by the version nibble. */
  @Test
  void onTunEachFilterKeepsWhatTcpdumpKeeps() {
    int x = ThreadLocalRandom.current().nextInt(1, 250);
    String a4 = "10.214." + x + ".1";
    String b4 = "10.214." + x + ".2";
    String a6 = "fd00:214:" + Integer.toHexString(x) + "::1";
    String b6 = "fd00:214:" + Integer.toHexString(x) + "::2";
    String name = "tvst" + Integer.toHexString(0x10000 + ThreadLocalRandom.current().nextInt(0xeffff));
    try (TunDevice tun = TunDevice.create(name)) {
      // no IPv6 on it: nothing of its own (router solicitations, MLD); TC sees the IPv6 packets written anyway
      run(null, "sysctl", "-q", "-w", "net.ipv6.conf." + name + ".disable_ipv6=1");
      run(null, "ip", "addr", "add", a4 + "/24", "dev", name);
      run(null, "ip", "link", "set", name, "mtu", "9000", "up");
      int p = EchoPeer.freePort();
      List<String> filters = List.of(
          "tcp port " + p,
          "port " + p,
          "udp",
          "tcp",
          "ip6 and tcp",
          "ip",
          "ip6",
          "host " + b4,
          "dst host " + a6,
          "icmp or icmp6",
          "src port " + p + " or dst port 9");
      compare(name, filters, () -> {
        for (byte[] frame : Frames.shapes(b4, a4, b6, a6, p, 6000)) {
          int type = Packets.u16(frame, 12);
          if (type == Frames.ETH_IP || type == Frames.ETH_IPV6) {
            tun.write(java.util.Arrays.copyOfRange(frame, 14, frame.length)); // ingress
          }
        }
        Traffic.udpSend(b4, 9, 3, 100);                                        // egress
        Traffic.udpSend(b4, 9, 2, 30000);                                      // egress, IPv4 fragments
      }, false);
    }
  }

  record Veth(String host, String peer) {}

  /**
   * A veth pair (here / in {@code ns}) that sends nothing by itself, so every packet on it is the
   * test's and both captures see the same ones however far apart they start and stop: no link-local
   * addresses (no router solicitations, no DAD), MLD's unsolicited reports done before the captures,
   * permanent neighbour entries (no ARP or neighbour discovery, no probes). MTU 9000: a packet
   * socket's frame above a page is then in page fragments.
   */
  private static Veth quietVeth(NetworkNamespace ns, String a4, String b4, String a6, String b6) {
    String base = "tvs" + Integer.toHexString(0x10000 + ThreadLocalRandom.current().nextInt(0xeffff));
    Veth veth = new Veth(base + "h", base + "p");
    Duration timeout = Duration.ofSeconds(10);
    Command.run(timeout, "ip", "link", "add", veth.host(), "mtu", "9000", "type", "veth", "peer", "name", veth.peer(),
        "mtu", "9000", "netns", ns.name()).check();
    String[][] sides = {{null, veth.host(), a4, a6}, {ns.name(), veth.peer(), b4, b6}};
    for (String[] side : sides) {
      List<String> sysctl = new ArrayList<>(List.of("sysctl", "-q", "-w"));
      for (String setting : List.of("addr_gen_mode=1", "router_solicitations=0", "accept_ra=0",
          "mldv1_unsolicited_report_interval=1", "mldv2_unsolicited_report_interval=1")) {
        sysctl.add("net.ipv6.conf." + side[1] + "." + setting);
      }
      run(side[0], sysctl.toArray(new String[0]));
      run(side[0], "ip", "addr", "add", side[2] + "/24", "dev", side[1]);
      run(side[0], "ip", "-6", "addr", "add", side[3] + "/64", "dev", side[1], "nodad");
    }
    String hostMac = Command.run(timeout, "cat", "/sys/class/net/" + veth.host() + "/address").check().stdout().strip();
    String peerMac = ns.run("cat", "/sys/class/net/" + veth.peer() + "/address").check().stdout().strip();
    run(null, "ip", "neigh", "add", b4, "lladdr", peerMac, "dev", veth.host(), "nud", "permanent");
    run(null, "ip", "-6", "neigh", "add", b6, "lladdr", peerMac, "dev", veth.host(), "nud", "permanent");
    run(ns.name(), "ip", "neigh", "add", a4, "lladdr", hostMac, "dev", veth.peer(), "nud", "permanent");
    run(ns.name(), "ip", "-6", "neigh", "add", a6, "lladdr", hostMac, "dev", veth.peer(), "nud", "permanent");
    run(null, "ip", "link", "set", veth.host(), "up");
    run(ns.name(), "ip", "link", "set", veth.peer(), "up");
    TestCapture.sleep(300); // MLD's unsolicited reports (1 ms apart) are out
    return veth;
  }

  private static void run(String namespace, String... argv) {
    List<String> all = new ArrayList<>();
    if (namespace != null) {
      all.addAll(List.of("ip", "netns", "exec", namespace));
    }
    all.addAll(List.of(argv));
    Command.run(Duration.ofSeconds(10), all.toArray(new String[0])).check();
  }

  /**
   * Runs {@code traffic} while tcpdump and tlscap capture with each filter at once on {@code iface};
   * then each pair must hold the same packets, and tlscap counted every packet it did not keep.
   */
  private void compare(String iface, List<String> filters, Runnable traffic, boolean ethernet) {
    List<Tcpdump> tcpdumps = new ArrayList<>();
    List<TestCapture> captures = new ArrayList<>();
    Map<String, String> counts = new LinkedHashMap<>();
    try {
      for (int i = 0; i < filters.size(); i++) {
        PacketFilter filter = PacketFilter.parse(filters.get(i));
        assertTrue(filter.inKernel(), filters.get(i));
        tcpdumps.add(Tcpdump.start(dir.resolve(i + ".pcap"), iface, null, filters.get(i)));
        captures.add(TestCapture.openAsIs(PacketCaptureOptions.builder().iface(iface).ringBytes(16 << 20)
            .filter(filter)));
      }
      traffic.run();
      boolean large = false;
      for (int i = 0; i < filters.size(); i++) {
        String filter = filters.get(i);
        TestCapture t = captures.get(i);
        List<CapturedPacket> ours = t.drainAll();
        PcapFile theirs = tcpdumps.get(i).stop();
        counts.put(filter, "tcpdump " + theirs.packets().size() + ", tlscap " + ours.size());
        assertFalse(theirs.packets().isEmpty(), "the traffic has packets for '" + filter + "'");
        // in any order per flow: a sender moving between CPUs has packets of one flow received on two at once
        Packets.assertSameSetAsTcpdump(ours, theirs.packets(), ethernet, iface + " '" + filter + "'");
        InterfaceCounters c = t.capture.counters(0);
        assertEquals(0, c.dropped(), c.toString());
        assertEquals(ours.size(), c.received(), filter + ": " + c);
        assertTrue(c.filteredOut() > 0, "what did not match was counted: " + filter + ": " + c);
        large |= ours.stream().anyMatch(q -> q.originalLength() > 16384);
      }
      assertTrue(large || !ethernet, "GSO packets above 16 KiB were among them");
    } finally {
      tcpdumps.forEach(Tcpdump::close);
      captures.forEach(TestCapture::close);
      System.err.println(iface + ": packets kept per filter:");
      counts.forEach((f, c) -> System.err.println("  " + f + ": " + c));
    }
  }
}

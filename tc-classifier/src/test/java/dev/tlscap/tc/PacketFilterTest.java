// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.tc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tlscap.tc.PacketFilter.Clause;
import dev.tlscap.tc.PacketFilter.Direction;
import dev.tlscap.tc.PacketFilter.HostCondition;
import dev.tlscap.tc.PacketFilter.PortCondition;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The tcpdump subset the kernel evaluates: parsing, normal form, supersets and the rodata encoding. */
class PacketFilterTest {
  static final int PORTS = PacketFilter.PORT_PROTOCOLS;

  static HostCondition host(String address, int prefix, Direction d) {
    return new HostCondition(FilterValues.parseAddress(address), prefix, d);
  }

  static PortCondition port(int low, int high, Direction d) {
    return new PortCondition(low, high, d);
  }

  static Clause clause(int protocols, int families, List<HostCondition> hosts, List<PortCondition> ports) {
    return new Clause(protocols, families, hosts, ports);
  }

  @Test
  void noFilterCapturesEverything() {
    assertTrue(PacketFilter.compile(null).matchesEverything());
    assertTrue(PacketFilter.compile("  ").matchesEverything());
    assertTrue(PacketFilter.ALL.inKernel());
    assertEquals(0, PacketFilter.ALL.clauseCount());
  }

  @Test
  void portAndProtocolPort() {
    assertEquals(List.of(clause(PORTS, PacketFilter.IP_FAMILIES, List.of(), List.of(port(443, 443, Direction.SRC_OR_DST)))),
        PacketFilter.parse("port 443").clauses());
    assertEquals(List.of(clause(PacketFilter.PROTO_TCP, PacketFilter.IP_FAMILIES, List.of(),
        List.of(port(443, 443, Direction.SRC_OR_DST)))), PacketFilter.parse("tcp port 443").clauses());
    assertEquals(List.of(clause(PacketFilter.PROTO_UDP, PacketFilter.IP_FAMILIES, List.of(),
        List.of(port(53, 53, Direction.DST)))), PacketFilter.parse("udp dst port 53").clauses());
    assertEquals(List.of(clause(PORTS, PacketFilter.IP_FAMILIES, List.of(), List.of(port(8000, 8080, Direction.SRC)))),
        PacketFilter.parse("src portrange 8080-8000").clauses(), "a reversed range is swapped, as libpcap does");
  }

  @Test
  void orOfPortsAndTcpdumpsShortForm() {
    List<Clause> expected = List.of(
        clause(PORTS, PacketFilter.IP_FAMILIES, List.of(), List.of(port(443, 443, Direction.SRC_OR_DST))),
        clause(PORTS, PacketFilter.IP_FAMILIES, List.of(), List.of(port(8443, 8443, Direction.SRC_OR_DST))));
    assertEquals(expected, PacketFilter.parse("port 443 or port 8443").clauses());
    assertEquals(expected, PacketFilter.parse("port 443 or 8443").clauses());
    assertEquals(expected, PacketFilter.parse("port 443 || port 8443").clauses());
    assertEquals(expected, PacketFilter.parse("(port 443) or (port 8443)").clauses());
  }

  @Test
  void hostAndPortAndNet() {
    assertEquals(List.of(clause(PORTS, PacketFilter.FAMILY_IPV4, List.of(host("10.0.0.1", 32, Direction.SRC_OR_DST)),
        List.of(port(443, 443, Direction.SRC_OR_DST)))), PacketFilter.parse("host 10.0.0.1 and port 443").clauses(),
        "an IPv4 host with a port: IPv4 only");
    assertEquals(List.of(clause(0, 0, List.of(host("10.1.0.0", 16, Direction.DST)), List.of())),
        PacketFilter.parse("dst net 10.1.2.3/16").clauses(), "host bits are cleared");
    assertEquals(List.of(clause(0, PacketFilter.FAMILY_IPV6, List.of(host("fe80::", 10, Direction.SRC_OR_DST)), List.of())),
        PacketFilter.parse("ip6 net fe80::/10").clauses());
    assertEquals(List.of(clause(0, 0, List.of(host("::1", 128, Direction.SRC_AND_DST)), List.of())),
        PacketFilter.parse("src and dst host ::1").clauses());
    assertEquals(List.of(clause(0, 0, List.of(host("10.0.0.1", 32, Direction.SRC_OR_DST)), List.of())),
        PacketFilter.parse("src or dst host 10.0.0.1").clauses());
    assertEquals(List.of(clause(0, 0, List.of(host("10.0.0.1", 32, Direction.SRC)), List.of())),
        PacketFilter.parse("src 10.0.0.1").clauses(), "a bare address after src is a host");
    assertEquals(List.of(clause(0, PacketFilter.FAMILY_ARP, List.of(host("10.0.0.1", 32, Direction.SRC_OR_DST)), List.of())),
        PacketFilter.parse("arp host 10.0.0.1").clauses());
  }

  @Test
  void andAndOrBindEquallyLeftToRightAsInPcapFilter() {
    // "A or B and C" is "(A or B) and C" in pcap-filter(7)
    List<Clause> c = PacketFilter.parse("port 1 or port 2 and host 10.0.0.9").clauses();
    assertEquals(2, c.size());
    assertTrue(c.stream().allMatch(x -> x.hosts().size() == 1), c.toString());
  }

  @Test
  void conjunctionsDistributeOverDisjunctions() {
    List<Clause> c = PacketFilter.parse("(host 10.0.0.1 or host 10.0.0.2) and (port 80 or port 443)").clauses();
    assertEquals(4, c.size());
    assertTrue(c.stream().allMatch(x -> x.hosts().size() == 1 && x.ports().size() == 1));
  }

  @Test
  void protocolsAndFamiliesAlone() {
    assertEquals(List.of(clause(PacketFilter.PROTO_TCP, PacketFilter.IP_FAMILIES, List.of(), List.of())),
        PacketFilter.parse("tcp").clauses());
    assertEquals(List.of(clause(PacketFilter.PROTO_ICMP, PacketFilter.FAMILY_IPV4, List.of(), List.of())),
        PacketFilter.parse("icmp").clauses());
    assertEquals(List.of(clause(0, PacketFilter.FAMILY_IPV6, List.of(), List.of())), PacketFilter.parse("ip6").clauses());
    assertEquals(List.of(clause(0, PacketFilter.FAMILY_RARP, List.of(), List.of())), PacketFilter.parse("rarp").clauses());
  }

  @Test
  void contradictionsMatchNothing() {
    PacketFilter f = PacketFilter.parse("ip6 and arp");
    assertTrue(f.inKernel());
    assertEquals(List.of(Clause.NEVER), f.clauses());
    assertEquals(List.of(Clause.NEVER), PacketFilter.parse("icmp and port 80").clauses());
    assertEquals(List.of(Clause.NEVER), PacketFilter.parse("ip6 and host 10.0.0.1").clauses());
    assertEquals(List.of(Clause.NEVER), PacketFilter.parse("tcp and udp").clauses());
  }

  @Test
  void whatTheClausesCannotDoWidensThem() {
    // FilterParser alone (as without libpcap): a superset with the reason
    PacketFilter f = FilterParser.compile("tcp port 443 and not host 10.0.0.1");
    assertFalse(f.inKernel());
    assertEquals(List.of(clause(PacketFilter.PROTO_TCP, PacketFilter.IP_FAMILIES, List.of(),
        List.of(port(443, 443, Direction.SRC_OR_DST)))), f.clauses(), "the unsupported part is dropped from the 'and'");
    assertTrue(f.notInKernelReason().contains("'not host 10.0.0.1'"), f.notInKernelReason());

    PacketFilter or = FilterParser.compile("port 53 or ether host 01:02:03:04:05:06");
    assertFalse(or.inKernel());
    assertTrue(or.matchesEverything(), "an 'or' with an unsupported part lets everything through");
    assertTrue(FilterParser.compile("host example.com").notInKernelReason().contains("DNS"));
  }

  @Test
  void libpcapCompilesTheRestAndRefusesWhatTcpdumpRefuses() {
    for (String expr : List.of("tcp port 443 and not host 10.0.0.1", "port 53 or ether host 01:02:03:04:05:06",
        "tcp[tcpflags] & tcp-syn != 0", "greater 100", "vlan and port 1", "not (icmp or arp)")) {
      PacketFilter f = PacketFilter.parse(expr);
      assertTrue(f.inKernel() && f.usesLibpcap() && !f.matchesEverything(), expr);
      assertEquals(expr, f.expression());
    }
    assertFalse(PacketFilter.parse("tcp port 443").usesLibpcap(), "the common cases stay clauses");
    CaptureException e = assertThrows(CaptureException.class, () -> PacketFilter.parse("tcp[tcpflags] & tcp-bogus != 0"));
    assertTrue(e.getMessage().startsWith("the filter 'tcp[tcpflags] & tcp-bogus != 0' does not compile: "), e.getMessage());
    assertEquals("the filter 'host no-such-host.invalid' does not compile: unknown host 'no-such-host.invalid'",
        assertThrows(CaptureException.class, () -> PacketFilter.parse("host no-such-host.invalid")).getMessage());
    PacketFilter etherOnly = PacketFilter.parse("ether broadcast");
    byte[] lengths = etherOnly.encodeCbpfLengths();
    assertTrue(lengths[0] != 0 && lengths[4] == 0, "Ethernet has a program; raw IP none (nothing matches there)");
  }

  @Test
  void syntaxTheParserCannotFollowIsASupersetWithAReason() {
    for (String bad : List.of("port", "port 80 and", "(port 80", "port 80)", "and port 80", "port 99999")) {
      PacketFilter f = PacketFilter.compile(bad);
      assertFalse(f.inKernel(), bad);
      assertTrue(f.matchesEverything(), bad);
      assertThrows(CaptureException.class, () -> PacketFilter.parse(bad));
    }
  }

  @Test
  void tooManyAlternativesIsASuperset() {
    String expr = "(port 1 or port 2 or port 3 or port 4 or port 5) and (host 10.0.0.1 or host 10.0.0.2 or host 10.0.0.3 or host 10.0.0.4)";
    PacketFilter f = FilterParser.compile(expr);
    assertFalse(f.inKernel());
    assertTrue(f.notInKernelReason().contains("more than 16"), f.notInKernelReason());
    assertTrue(PacketFilter.parse(expr).usesLibpcap(), "libpcap takes what the clauses cannot hold");
  }

  @Test
  void serviceNamesComeFromEtcServices() {
    org.junit.jupiter.api.Assumptions.assumeTrue(java.nio.file.Files.exists(java.nio.file.Path.of("/etc/services")));
    assertEquals(443, PacketFilter.parse("tcp port https").clauses().get(0).ports().get(0).low());
    assertEquals(53, PacketFilter.parse("udp port domain").clauses().get(0).ports().get(0).low());
  }

  @Test
  void portAndHostOptions() {
    PacketFilter f = PacketFilter.forPortsAndHosts(List.of(443, 8443), List.of("10.0.0.1", "fd00::/8"));
    assertEquals("(port 443 or port 8443) and (host 10.0.0.1 or net fd00::/8)", f.expression());
    assertEquals(4, f.clauseCount());
    assertTrue(f.inKernel());
    assertThrows(CaptureException.class, () -> PacketFilter.forPortsAndHosts(List.of(70000), List.of()));
    assertThrows(CaptureException.class, () -> PacketFilter.forPortsAndHosts(List.of(), List.of("example.com")));
  }

  @Test
  void encodingFollowsPacketAbiH() {
    PacketFilter f = PacketFilter.parse("src host 10.1.2.3 and dst portrange 100-200 or ip6 host ::1");
    ByteBuffer b = ByteBuffer.wrap(f.encodeClauses()).order(ByteOrder.nativeOrder());
    assertEquals(PacketFilter.MAX_CLAUSES * PacketFilter.CLAUSE_SIZE, b.capacity());
    assertEquals(2, f.clauseCount());
    assertEquals(PORTS, b.getInt(PacketFilter.CLAUSE_PROTOCOLS));
    int host0 = PacketFilter.CLAUSE_HOSTS;
    assertEquals(10, b.get(host0 + PacketFilter.HOST_ADDR));
    assertEquals(3, b.get(host0 + PacketFilter.HOST_ADDR + 3), "addresses in network order");
    assertEquals(-1, b.getInt(host0 + PacketFilter.HOST_MASK), "a /32 mask");
    assertEquals(4, b.getInt(host0 + PacketFilter.HOST_FAMILY));
    assertEquals(PacketFilter.DIR_SRC, b.getInt(host0 + PacketFilter.HOST_DIRECTION));
    assertEquals(0, b.getInt(host0 + PacketFilter.HOST_SIZE + PacketFilter.HOST_DIRECTION), "second host unused");
    int port0 = PacketFilter.CLAUSE_PORTS;
    assertEquals(100, b.getShort(port0 + PacketFilter.PORT_LOW));
    assertEquals(200, b.getShort(port0 + PacketFilter.PORT_HIGH));
    assertEquals(PacketFilter.DIR_DST, b.getInt(port0 + PacketFilter.PORT_DIRECTION));
    int second = PacketFilter.CLAUSE_SIZE;
    assertEquals(PacketFilter.FAMILY_IPV6, b.getInt(second + PacketFilter.CLAUSE_FAMILIES));
    assertEquals(6, b.getInt(second + host0 + PacketFilter.HOST_FAMILY));
    assertEquals(1, b.get(second + host0 + 15));
    assertEquals(0, b.getInt(2 * PacketFilter.CLAUSE_SIZE), "unused clauses are zero");
  }
}

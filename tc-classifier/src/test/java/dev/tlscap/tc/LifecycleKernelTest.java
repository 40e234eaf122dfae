// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.tc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tlscap.testing.Command;
import dev.tlscap.testing.NetworkNamespace;
import dev.tlscap.testing.Requirements;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Attach and detach over a capture's life: unknown interfaces, interfaces that go away or come up
 * mid-capture, a capturing process killed with {@code kill -9} (TCX: the kernel removes its links;
 * clsact: the next run removes its filters and says so), and the clsact qdisc left as found.
 */
@Tag("kernel")
class LifecycleKernelTest {
  NetworkNamespace ns;
  NetworkNamespace.Veth veth;
  String net;

  @BeforeEach
  void setUp() {
    Requirements.requireRoot();
    Requirements.requireCommand("tc", "iproute2");
    Requirements.requireCommand("bpftool", "bpftool");
    ns = NetworkNamespace.create("tclife");
    net = "10.213." + ThreadLocalRandom.current().nextInt(1, 250);
    veth = ns.addVeth(net + ".1/24", net + ".2/24");
  }

  @AfterEach
  void tearDown() {
    if (ns != null) {
      ns.close();
    }
  }

  static String tcFilters(String dev) {
    return NetworkNamespace.output("tc", "filter", "show", "dev", dev, "ingress")
        + NetworkNamespace.output("tc", "filter", "show", "dev", dev, "egress");
  }

  /** bpftool's view of the interface (clsact filters; Debian 12's bpftool shows no TCX links here). */
  static String bpfNet(String dev) {
    return NetworkNamespace.output("bpftool", "net", "show", "dev", dev);
  }

  /** tlscap programs the kernel lists on the interface (TCX and clsact, through BPF_PROG_QUERY and netlink). */
  static List<TcAttachment.AttachedProgram> tlscapPrograms(String dev) {
    int ifindex = NetDevices.find(dev).ifindex();
    return TcAttachment.listAttached(ifindex).stream()
        .filter(p -> p.programName() != null && p.programName().startsWith("tlscap_")).toList();
  }

  static boolean hasClsact(String dev) {
    return NetworkNamespace.output("tc", "qdisc", "show", "dev", dev).contains("clsact");
  }

  /** Nothing of tlscap on the interface: no TCX program, no filter (asked of the kernel, bpftool and tc). */
  static void assertNothingAttached(String dev) {
    assertEquals(List.of(), tlscapPrograms(dev));
    assertFalse(bpfNet(dev).contains("tlscap_"), bpfNet(dev));
    assertFalse(tcFilters(dev).contains("tlscap_"), tcFilters(dev));
  }

  @Test
  void anUnknownInterfaceIsOneLineAndNothingIsAttached() {
    CaptureException e = assertThrows(CaptureException.class, () -> PacketCapture.open(PacketCaptureOptions.builder()
        .iface(veth.hostName()).iface("eth7").build()));
    assertEquals("no such interface 'eth7' (see 'ip link')", e.getMessage());
    assertNothingAttached(veth.hostName());
  }

  @Test
  void theCliLikeChildExitsNonZeroWithTheLine() {
    Exit r = run(java(), "-cp", System.getProperty("java.class.path"), CaptureChild.class.getName(), "-i", "lo",
        "-i", "eth7");
    assertNotEquals(0, r.code());
    assertEquals("tlscap: no such interface 'eth7' (see 'ip link')", r.stderr().strip());
    assertNothingAttached("lo");
  }

  @Test
  void withoutPrivilegesTheRuntimeSaysWhatIsMissing() {
    Requirements.requireCommand("setpriv", "util-linux");
    Exit r = run("setpriv", "--inh-caps=-all", "--bounding-set=-all",
        java(), "-cp", System.getProperty("java.class.path"), CaptureChild.class.getName(), "-i", "lo");
    assertEquals(1, r.code(), r.stderr());
    assertEquals("tlscap: needs root or CAP_BPF, CAP_PERFMON and CAP_NET_ADMIN (run it with sudo)", r.stderr().strip());
  }

  @Test
  void anInterfaceThatGoesAwayWarnsOnceAndTheOthersGoOn() throws Exception {
    try (EchoPeer local = EchoPeer.start(EchoPeer.freePort());
         TestCapture t = TestCapture.open(PacketCaptureOptions.builder().iface("lo").iface(veth.hostName())
             .filter(PacketFilter.parse("udp port " + local.port() + " or icmp")))) {
      CaptureInterface v = t.iface(veth.hostName());
      CaptureInterface lo = t.iface("lo");
      Traffic.udpSend(net + ".2", local.port(), 3, 10); // ICMP port unreachable back, or nothing
      Traffic.udpPingPong("127.0.0.1", local.port(), 1, 2, 3, 4, 5);
      t.drainAll();
      long vethBefore = t.on(v, null).size();
      assertTrue(vethBefore >= 3, "veth packets before it goes");

      NetworkNamespace.deleteLink(veth.hostName());
      t.capture.maintain();
      t.capture.maintain();
      Traffic.udpPingPong("127.0.0.1", local.port(), 1, 2, 3, 4, 5, 6, 7);
      t.drainAll();

      assertEquals(List.of(v), t.gone);
      assertEquals(1, t.notices.stream().filter(n -> n.contains(veth.hostName())).count(), t.notices.toString());
      assertEquals("interface " + veth.hostName() + " went away; its capture stops here, the capture of the others goes on",
          t.notices.get(0));
      assertEquals(List.of(lo, v), t.capture.interfaces().stream().sorted((a, b) -> a.name().equals("lo") ? -1 : 1).toList());
      assertFalse(t.capture.isActive(v.id()));
      assertTrue(t.capture.isActive(lo.id()));
      assertEquals(vethBefore, t.capture.counters(v.id()).received(), "its counters stay");
      assertEquals(2 * (5 + 7), t.on(lo, null).size(), "lo goes on: 5 + 7 datagrams and their echoes");
    }
  }

  @Test
  void anyAttachesToInterfacesThatComeUpLater() {
    try (NetworkNamespace later = NetworkNamespace.create("tclate");
         TestCapture t = TestCapture.open(PacketCaptureOptions.builder().iface("any")
             .filter(PacketFilter.parse("udp port 9")))) {
      int before = t.capture.interfaces().size();
      NetworkNamespace.Veth v = later.addVeth("10.214.7.1/24", "10.214.7.2/24");
      t.capture.maintain();
      CaptureInterface added = t.iface(v.hostName());
      assertEquals(before, added.id());
      assertEquals(added, t.added.get(t.added.size() - 1));
      Traffic.udpSend("10.214.7.2", 9, 4, 30);
      t.drainAll();
      assertEquals(4, t.on(added, PacketDirection.OUTBOUND).size());
      t.capture.maintain();
      assertEquals(before + 1, t.capture.interfaces().size(), "attached once");
    }
  }

  @Test
  void interfacesWhoseSlotEntriesCollideAreCountedApart() throws Exception {
    // lo is ifindex 1; an interface with ifindex 1 + k * 4096 shares its interface_slots entry.
    String host = "tvcol" + Integer.toHexString(ThreadLocalRandom.current().nextInt(0x1000));
    int index = 1 + 4096 * ThreadLocalRandom.current().nextInt(100, 200);
    Command.run(Duration.ofSeconds(10), "ip", "link", "add", host, "index", Integer.toString(index), "type", "veth",
        "peer", "name", host + "p", "netns", ns.name()).check();
    try (EchoPeer local = EchoPeer.start(EchoPeer.freePort())) {
      Command.run(Duration.ofSeconds(10), "ip", "addr", "add", "10.216.9.1/24", "dev", host).check();
      Command.run(Duration.ofSeconds(10), "ip", "link", "set", host, "up").check();
      ns.run("ip", "addr", "add", "10.216.9.2/24", "dev", host + "p").check();
      ns.run("ip", "link", "set", host + "p", "up").check();
      try (TestCapture t = TestCapture.open(PacketCaptureOptions.builder().iface("lo").iface(host)
          .filter(PacketFilter.parse("udp port " + local.port() + " or udp port 9")))) {
        assertEquals(index, t.iface(host).ifindex());
        Traffic.udpPingPong("127.0.0.1", local.port(), 1, 2, 3);
        Traffic.udpSend("10.216.9.2", 9, 5, 10);
        t.drainAll();
        assertEquals(6, t.capture.counters(t.iface("lo").id()).received());
        assertEquals(5, t.capture.counters(t.iface(host).id()).received());
        assertEquals(5, t.on(t.iface(host), PacketDirection.OUTBOUND).size());
      }
    } finally {
      NetworkNamespace.deleteLink(host);
    }
  }

  @ParameterizedTest
  @EnumSource(value = AttachMode.class, names = {"TCX", "CLSACT"})
  void afterKill9ANewRunStartsCleanlyAndNothingOldRemains(AttachMode mode) throws Exception {
    String dev = veth.hostName();
    Command.Background child = Command.Background.start(java(), "-cp", System.getProperty("java.class.path"),
        CaptureChild.class.getName(), "--mode", mode.name(), "-i", dev);
    try (child) {
      child.awaitOutput("capturing " + mode.name().toLowerCase() + " on " + dev, Duration.ofSeconds(60));
      assertEquals(List.of("tlscap_ingress", "tlscap_egress"),
          tlscapPrograms(dev).stream().map(TcAttachment.AttachedProgram::programName).toList());
      assertTrue(tlscapPrograms(dev).stream().allMatch(p -> p.mode() == mode));
      if (mode == AttachMode.CLSACT) {
        assertTrue(tcFilters(dev).contains("tlscap_ingress") && tcFilters(dev).contains("tlscap_egress"), tcFilters(dev));
        assertTrue(tlscapPrograms(dev).stream().allMatch(p -> p.ownerPid() == child.pid()),
            child.pid() + " " + tlscapPrograms(dev));
      }
      child.process().destroyForcibly(); // SIGKILL
      assertTrue(child.process().waitFor(10, TimeUnit.SECONDS));
    }
    if (mode == AttachMode.TCX) {
      assertNothingAttached(dev); // the links died with the process
    } else {
      assertEquals(2, tlscapPrograms(dev).size(), "clsact filters outlive a killed process");
      assertTrue(tcFilters(dev).contains("tlscap_"));
    }

    try (TestCapture t = TestCapture.open(PacketCaptureOptions.builder().iface(dev).attachMode(mode))) {
      if (mode == AttachMode.CLSACT) {
        assertEquals(1, t.notices.size(), t.notices.toString());
        assertTrue(t.notices.get(0).matches("removed 2 TC filters left on " + dev
            + " by a tlscap run that was killed \\(pid " + child.pid() + "\\)"), t.notices.get(0));
      } else {
        assertEquals(List.of(), t.notices);
      }
      Traffic.udpSend(net + ".2", 9, 2, 10);
      assertEquals(2, udpCount(t.drainAll()), "the new run captures");
      assertEquals(2, tlscapPrograms(dev).size(), "only the new run's two programs: " + tlscapPrograms(dev));
      assertTrue(tlscapPrograms(dev).stream().allMatch(p -> p.ownerPid() == -1 || p.ownerPid() == ProcessHandle.current().pid()));
    }
    assertNothingAttached(dev);
    // After kill -9 the empty clsact qdisc of the killed run stays: nothing tells it from one an
    // administrator added, so the next run leaves it (README). TCX needs none.
    assertEquals(mode == AttachMode.CLSACT, hasClsact(dev));
  }

  @Test
  void aLiveRunsFiltersAreNotLeftovers() {
    String dev = veth.hostName();
    try (TestCapture first = TestCapture.open(PacketCaptureOptions.builder().iface(dev).attachMode(AttachMode.CLSACT));
         TestCapture second = TestCapture.open(PacketCaptureOptions.builder().iface(dev).attachMode(AttachMode.CLSACT))) {
      assertEquals(List.of(), second.notices);
      assertEquals(4, tlscapPrograms(dev).size(), tcFilters(dev));
      Traffic.udpSend(net + ".2", 9, 3, 10);
      assertEquals(3, udpCount(first.drainAll()), "the first captures");
      assertEquals(3, udpCount(second.drainAll()), "the second captures");
    }
    assertNothingAttached(dev);
  }

  @Test
  void aClsactQdiscTlscapAddedGoesOnClose() {
    String dev = veth.hostName();
    assertFalse(hasClsact(dev));
    try (TestCapture t = TestCapture.open(PacketCaptureOptions.builder().iface(dev).attachMode(AttachMode.CLSACT))) {
      assertTrue(hasClsact(dev));
      assertEquals(AttachMode.CLSACT, t.capture.attachMode());
    }
    assertNothingAttached(dev);
    assertFalse(hasClsact(dev));
  }

  @Test
  void aClsactQdiscThatWasThereStays() {
    String dev = veth.hostName();
    Command.run(Duration.ofSeconds(10), "tc", "qdisc", "add", "dev", dev, "clsact").check();
    try (TestCapture t = TestCapture.open(PacketCaptureOptions.builder().iface(dev).attachMode(AttachMode.CLSACT))) {
      assertTrue(tcFilters(dev).contains("tlscap_"));
      assertEquals(List.of(), t.notices, "a qdisc without tlscap filters is no leftover");
    }
    assertNothingAttached(dev);
    assertTrue(hasClsact(dev), "tlscap did not add it, so it does not remove it: "
        + NetworkNamespace.output("tc", "qdisc", "show", "dev", dev));
  }

  static long udpCount(List<CapturedPacket> packets) {
    return packets.stream().filter(p -> Packets.describe(p.data(), true).startsWith("udp")).count();
  }

  record Exit(int code, String stderr) {}

  /** Runs a child to its end; its whole stderr (read before the exit code is taken). */
  static Exit run(String... argv) {
    try {
      Process p = new ProcessBuilder(argv).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
      p.getOutputStream().close();
      String err = new String(p.getErrorStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
      assertTrue(p.waitFor(60, TimeUnit.SECONDS), String.join(" ", argv) + " did not exit");
      return new Exit(p.exitValue(), err);
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  static String java() {
    return ProcessHandle.current().info().command().orElse("java");
  }
}

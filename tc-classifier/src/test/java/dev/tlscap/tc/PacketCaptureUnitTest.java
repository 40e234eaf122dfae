// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.tc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The parts of the capture that need no kernel: link types, options, names, handles, netlink parsing, the event view. */
class PacketCaptureUnitTest {
  @Test
  void linkTypesFollowTheArphrdType() {
    assertEquals(new LinkType.Choice(LinkType.ETHERNET, null), LinkType.forDevice("eth0", 1, 6));
    assertEquals(new LinkType.Choice(LinkType.ETHERNET, null), LinkType.forDevice("lo", 772, 6));
    assertEquals(new LinkType.Choice(LinkType.RAW, null), LinkType.forDevice("wg0", 65534, 0));
    assertEquals(1, LinkType.ETHERNET.value());
    assertEquals(101, LinkType.RAW.value());
    LinkType.Choice ipip = LinkType.forDevice("tunl0", 768, 4);
    assertEquals(LinkType.RAW, ipip.type());
    assertTrue(ipip.warning().contains("tunl0"));
    LinkType.Choice odd = LinkType.forDevice("ib0", 32, 20);
    assertEquals(LinkType.RAW, odd.type());
    assertEquals("interface ib0 has ARPHRD type 32, which tlscap does not know: writing its packets as"
        + " LINKTYPE_RAW (Wireshark may not dissect them)", odd.warning());
    assertEquals(LinkType.ETHERNET, LinkType.forDevice("x", 999, 6).type());
  }

  @Test
  void optionsAreCheckedWithOneLineMessages() {
    assertEquals("no interface to capture on (use -i NAME, or -i any)",
        assertThrows(CaptureException.class, () -> PacketCaptureOptions.builder().build()).getMessage());
    assertEquals(262144, PacketCaptureOptions.builder().iface("lo").snapLength(0).build().snapLength());
    assertThrows(CaptureException.class, () -> PacketCaptureOptions.builder().iface("lo").snapLength(300000).build());
    assertThrows(CaptureException.class, () -> PacketCaptureOptions.builder().iface("lo").ringBytes(3 << 20).build());
    assertThrows(CaptureException.class, () -> PacketCaptureOptions.builder().iface("lo").maxPacketBytes(0).build());
    PacketCaptureOptions small = PacketCaptureOptions.builder().iface("lo").ringBytes(64 << 10).build();
    assertEquals(16384 - 40, small.effectivePacketBytes(), "a record fits a quarter of the ring");
    assertEquals(100, PacketCaptureOptions.builder().iface("lo").snapLength(100).build().effectivePacketBytes());
    assertEquals(AttachMode.CLSACT, AttachMode.parse(" ClsAct "));
    assertEquals("unknown TC attach mode 'xdp' (use auto, tcx or clsact)",
        assertThrows(CaptureException.class, () -> AttachMode.parse("xdp")).getMessage());
  }

  @Test
  void unknownInterfacesAreNamedBeforeAnythingElse() {
    assertEquals("no such interface 'eth7' (see 'ip link')",
        assertThrows(CaptureException.class, () -> PacketCapture.resolve(List.of("lo", "eth7"))).getMessage());
    assertThrows(CaptureException.class, () -> PacketCapture.resolve(List.of("../lo")));
    assertNull(NetDevices.find(""));
    assertEquals(1, PacketCapture.resolve(List.of("lo", "lo")).size(), "named twice, captured once");
  }

  @Test
  void clsactHandlesCarryTheOwnerPid() {
    int h = TcAttachment.handle(4_194_303, 1023);
    assertEquals(4_194_303, TcAttachment.owner(h));
    assertEquals(12345, TcAttachment.owner(TcAttachment.handle(12345, 1)));
    assertThrows(IllegalArgumentException.class, () -> TcAttachment.handle(1 << 22, 1));
    assertThrows(IllegalArgumentException.class, () -> TcAttachment.handle(1, 0));
  }

  @Test
  void interfaceTableMapsIfindexes() {
    PacketCapture.InterfaceTable t = new PacketCapture.InterfaceTable();
    for (int i = 1; i <= 500; i++) {
      t.put(i * 7919, i - 1);
    }
    for (int i = 1; i <= 500; i++) {
      assertEquals(i - 1, t.idOf(i * 7919));
    }
    assertEquals(-1, t.idOf(3));
  }

  @Test
  void netlinkFilterDumpsAreParsed() {
    // RTM_NEWTFILTER: nlmsghdr + tcmsg(handle 0x3039c01, info prio 1 << 16 | 0x0300) + TCA_KIND "bpf"
    // + TCA_OPTIONS { TCA_BPF_NAME "tlscap_ingress:[42]", TCA_BPF_ID 42 }, then NLMSG_DONE.
    ByteBuffer b = ByteBuffer.allocate(512).order(ByteOrder.nativeOrder());
    int seq = 77;
    byte[] name = "tlscap_ingress:[42]\0".getBytes();
    int optionsLength = 4 + align(4 + name.length) + 8;
    int length = 16 + 20 + 8 + optionsLength;
    b.putInt(length).putShort((short) ClsactFilters.RTM_NEWTFILTER).putShort((short) 2).putInt(seq).putInt(0);
    b.put((byte) 0).put((byte) 0).putShort((short) 0).putInt(7).putInt(0x3039c01).putInt(ClsactFilters.PARENT_INGRESS)
        .putInt(1 << 16 | 0x0300);
    b.putShort((short) 8).putShort((short) ClsactFilters.TCA_KIND).put("bpf\0".getBytes());
    b.putShort((short) optionsLength).putShort((short) ClsactFilters.TCA_OPTIONS);
    b.putShort((short) (4 + name.length)).putShort((short) ClsactFilters.TCA_BPF_NAME).put(name);
    b.position(b.position() + align(4 + name.length) - (4 + name.length));
    b.putShort((short) 8).putShort((short) ClsactFilters.TCA_BPF_ID).putInt(42);
    b.putInt(20).putShort((short) ClsactFilters.NLMSG_DONE).putShort((short) 2).putInt(seq).putInt(0).putInt(0);
    b.flip();
    List<ClsactFilters.Filter> out = new ArrayList<>();
    assertTrue(ClsactFilters.parse(b, seq, 7, true, out));
    assertEquals(List.of(new ClsactFilters.Filter(7, true, 0x3039c01, 1, "bpf", "tlscap_ingress:[42]", 42)), out);
  }

  private static int align(int n) {
    return (n + 3) & ~3;
  }

  @Test
  void theEventViewReadsPacketAbiH() {
    ByteBuffer ring = ByteBuffer.allocate(128).order(ByteOrder.nativeOrder());
    ring.putLong(8, 1_000L).putLong(16, 99L).putInt(24, 3).putInt(28, 1500).putInt(32, 60)
        .putInt(36, PacketEvent.FLAG_OUTBOUND | PacketEvent.FLAG_RECORD_LIMIT);
    PacketCapture.InterfaceTable table = new PacketCapture.InterfaceTable();
    table.put(3, 0);
    PacketEvent e = new PacketEvent(table);
    e.wrap(ring.asReadOnlyBuffer().order(ByteOrder.nativeOrder()), 8, 32 + 60, 5_000L);
    assertEquals(6_000L, e.timestampNanos());
    assertEquals(1_000L, e.bootTimeNanos());
    assertEquals(99L, e.socketCookie());
    assertEquals(0, e.interfaceId());
    assertEquals(1500, e.originalLength());
    assertEquals(60, e.capturedLength());
    assertEquals(PacketDirection.OUTBOUND, e.direction());
    assertTrue(e.isTruncated() && e.isCutByRecordLimit());
    assertEquals(40, e.dataOffset());
    assertEquals(false, e.malformed());
    e.wrap(ring, 8, 20, 0);
    assertEquals(true, e.malformed());
  }

  @Test
  void theBootClockOffsetIsStable() {
    BootClock clock = new BootClock();
    long a = clock.measureOffset();
    long b = clock.measureOffset();
    assertTrue(Math.abs(a - b) < 1_000_000, a + " vs " + b);
    long wall = System.currentTimeMillis() * 1_000_000L;
    assertTrue(Math.abs(clock.bootNanos() + a - wall) < 50_000_000L, "boot time + offset is the wall clock");
  }
}

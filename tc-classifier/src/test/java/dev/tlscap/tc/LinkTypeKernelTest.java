// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.tc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tlscap.testing.Command;
import dev.tlscap.testing.PcapFile;
import dev.tlscap.testing.Requirements;
import dev.tlscap.testing.Tcpdump;
import dev.tlscap.testing.Tshark;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A raw-IP device (tun: ARPHRD_NONE, as WireGuard) gets LINKTYPE_RAW and its packets equal
 * tcpdump's; and a pcapng file of lo (Ethernet) and tun (raw IP) packets written with tlscap's link
 * types is dissected by Wireshark (tshark) down to UDP on both.
 */
@Tag("kernel")
class LinkTypeKernelTest {
  @TempDir Path dir;

  @BeforeEach
  void root() {
    Requirements.requireRoot();
    Requirements.requireCommand("tcpdump", "tcpdump");
    Requirements.requireCommand("tshark", "tshark");
  }

  @Test
  void rawIpDeviceLikeTcpdumpAndEveryLinkTypeDissects() throws Exception {
    int net = ThreadLocalRandom.current().nextInt(1, 250);
    String name = "tvtun" + Integer.toHexString(ThreadLocalRandom.current().nextInt(0x10000));
    byte[] local = {10, (byte) 215, (byte) net, 1};
    byte[] remote = {10, (byte) 215, (byte) net, 2};
    try (TunDevice tun = TunDevice.create(name)) {
      Command.run(Duration.ofSeconds(10), "ip", "addr", "add", "10.215." + net + ".1/24", "dev", name).check();
      Command.run(Duration.ofSeconds(10), "ip", "link", "set", name, "up").check();
      try (DatagramSocket receiver = new DatagramSocket(new InetSocketAddress("10.215." + net + ".1", 0));
           EchoPeer echo = EchoPeer.start(EchoPeer.freePort())) {
        int port = receiver.getLocalPort();
        String filter = "udp and (port " + port + " or port 9 or port " + echo.port() + ")";
        try (Tcpdump tcpdump = Tcpdump.start(dir.resolve("tun.pcap"), name, null, filter);
             TestCapture t = TestCapture.open(PacketCaptureOptions.builder().iface(name).iface("lo")
                 .filter(PacketFilter.parse(filter)))) {
          CaptureInterface raw = t.iface(name);
          assertEquals(LinkType.RAW, raw.linkType());
          assertEquals(0xFFFE, raw.arphrdType());
          assertTrue(raw.description().contains("tun"), raw.description());

          Traffic.udpSend("10.215." + net + ".2", 9, 3, 100);             // out through tun (egress)
          for (int i = 0; i < 3; i++) {                                    // in through tun (ingress)
            tun.write(TunDevice.udp4(remote, local, 4000 + i, port, ("hello " + i).getBytes()));
          }
          receiver.setSoTimeout(2000);
          DatagramPacket got = new DatagramPacket(new byte[100], 100);
          receiver.receive(got);
          Traffic.udpPingPong("127.0.0.1", echo.port(), 10, 20);

          List<CapturedPacket> ours = t.drainAll();
          PcapFile theirs = tcpdump.stop();
          assertEquals(101, theirs.linkType(), "tcpdump writes tun as LINKTYPE_RAW too");
          Packets.assertSameAsTcpdump(t.on(raw, null), theirs.packets(), false, name);
          assertEquals(3, t.on(raw, PacketDirection.OUTBOUND).size());
          assertEquals(3, t.on(raw, PacketDirection.INBOUND).size());

          Path file = dir.resolve("linktypes.pcapng");
          try (PcapngSink sink = new PcapngSink(t.capture, file)) {
            for (CapturedPacket p : ours) {
              java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(p.data());
              sink.writer.writePacket(p.interfaceId(), p.timestampNanos(), b, 0, p.data().length, p.originalLength(),
                  p.direction() == PacketDirection.INBOUND ? dev.tlscap.pcapng.Direction.INBOUND
                      : dev.tlscap.pcapng.Direction.OUTBOUND);
            }
          }
          List<List<String>> rows = Tshark.fields(file, null, "frame.interface_name", "frame.protocols", "udp.dstport");
          assertEquals(ours.size(), rows.size());
          for (List<String> row : rows) {
            String expected = row.get(0).equals("lo") ? "eth:ethertype:ip:udp:data" : "raw:ip:udp:data";
            assertEquals(expected, row.get(1), row.toString());
          }
          assertEquals(6, rows.stream().filter(r -> r.get(0).equals(name)).count());
          assertEquals(4, rows.stream().filter(r -> r.get(0).equals("lo")).count());
        }
      }
    }
  }
}

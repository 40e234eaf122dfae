// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.pcapng;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The recorded TLS fixture (see {@code tls/make-tls-fixture.sh}): one TLS 1.3 and one TLS 1.2 HTTPS
 * request from curl to openssl s_server on 127.0.0.1:44330, as classic pcap packets, and curl's key
 * log. A tiny classic-pcap reader, enough for this file.
 */
final class TlsFixture {
  static final int SERVER_PORT = 44330;
  /** The request URIs of the two sessions, in capture order. */
  static final List<String> URIS = List.of("/tls13.txt", "/tls12.txt");

  /** One packet: when, its bytes, and the flow (0 = the TLS 1.3 session, 1 = the TLS 1.2 one). */
  record Packet(long timestampNanos, byte[] data, int originalLength, int flow, boolean fromClient) {
    ByteBuffer buffer() {
      return ByteBuffer.wrap(data).asReadOnlyBuffer();
    }
  }

  final int linkType;
  final List<Packet> packets;
  /** The key log lines of each flow, in flow order. */
  final List<List<String>> keyLogByFlow;
  final String keyLog;

  private TlsFixture(int linkType, List<Packet> packets, List<List<String>> keyLogByFlow, String keyLog) {
    this.linkType = linkType;
    this.packets = packets;
    this.keyLogByFlow = keyLogByFlow;
    this.keyLog = keyLog;
  }

  static TlsFixture load() throws IOException {
    byte[] pcap = resource("tls/tls-sessions.pcap");
    String keyLog = new String(resource("tls/tls-sessions.keylog"), StandardCharsets.US_ASCII);
    ByteBuffer b = ByteBuffer.wrap(pcap).order(ByteOrder.LITTLE_ENDIAN);
    int magic = b.getInt(0);
    if (magic == 0xd4c3b2a1 || magic == 0x4d3cb2a1) {
      b.order(ByteOrder.BIG_ENDIAN);
      magic = b.getInt(0);
    }
    long fractionToNanos = magic == 0xa1b23c4d ? 1 : magic == 0xa1b2c3d4 ? 1000 : -1;
    if (fractionToNanos < 0) {
      throw new IOException("the fixture is not a classic pcap file");
    }
    int linkType = b.getInt(20);
    List<Packet> packets = new ArrayList<>();
    Map<Integer, Integer> flowOfClientPort = new LinkedHashMap<>();
    int p = 24;
    while (p + 16 <= pcap.length) {
      long ts = (b.getInt(p) & 0xFFFFFFFFL) * 1_000_000_000L + (b.getInt(p + 4) & 0xFFFFFFFFL) * fractionToNanos;
      int captured = b.getInt(p + 8);
      int original = b.getInt(p + 12);
      byte[] data = new byte[captured];
      System.arraycopy(pcap, p + 16, data, 0, captured);
      p += 16 + captured;
      // Ethernet + IPv4 + TCP: the client is the side whose port is not the server's.
      int ihl = (data[14] & 0x0F) * 4;
      ByteBuffer d = ByteBuffer.wrap(data);
      int sport = d.getShort(14 + ihl) & 0xFFFF;
      int dport = d.getShort(14 + ihl + 2) & 0xFFFF;
      boolean fromClient = dport == SERVER_PORT;
      int clientPort = fromClient ? sport : dport;
      int flow = flowOfClientPort.computeIfAbsent(clientPort, k -> flowOfClientPort.size());
      packets.add(new Packet(ts, data, original, flow, fromClient));
    }
    // Lines grouped by client random in order of first appearance: curl ran the TLS 1.3 session first.
    Map<String, List<String>> byRandom = new LinkedHashMap<>();
    for (String line : keyLog.split("\n")) {
      if (!line.isBlank()) {
        byRandom.computeIfAbsent(line.split(" ")[1], k -> new ArrayList<>()).add(line);
      }
    }
    if (byRandom.size() != 2 || flowOfClientPort.size() != 2) {
      throw new IOException("the fixture should hold two TLS sessions");
    }
    return new TlsFixture(linkType, packets, new ArrayList<>(byRandom.values()), keyLog);
  }

  /** The index of the first packet of {@code flow} from the given side carrying TLS payload of that content type. */
  int firstTlsRecord(int flow, boolean fromClient, int contentType) {
    for (int i = 0; i < packets.size(); i++) {
      Packet pk = packets.get(i);
      if (pk.flow() != flow || pk.fromClient() != fromClient) {
        continue;
      }
      int ihl = (pk.data()[14] & 0x0F) * 4;
      int tcpHeader = ((pk.data()[14 + ihl + 12] & 0xF0) >> 4) * 4;
      int payload = 14 + ihl + tcpHeader;
      if (payload < pk.data().length && (pk.data()[payload] & 0xFF) == contentType) {
        return i;
      }
    }
    throw new IllegalStateException("no TLS record of type " + contentType + " in flow " + flow);
  }

  /** The index of the last packet of {@code flow}. */
  int lastPacketOf(int flow) {
    int last = -1;
    for (int i = 0; i < packets.size(); i++) {
      if (packets.get(i).flow() == flow) {
        last = i;
      }
    }
    return last;
  }

  private static byte[] resource(String name) throws IOException {
    try (InputStream in = TlsFixture.class.getResourceAsStream(name)) {
      if (in == null) {
        throw new IOException("test resource " + name + " is missing");
      }
      return in.readAllBytes();
    }
  }
}

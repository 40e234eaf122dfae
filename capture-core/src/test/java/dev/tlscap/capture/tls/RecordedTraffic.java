// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.capture.tls;

import dev.tlscap.capture.tls.TlsStream.Side;
import dev.tlscap.secrets.TlsLabel;
import dev.tlscap.secrets.TlsSecret;
import dev.tlscap.testing.KeyLogs;
import dev.tlscap.testing.PcapFile;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A recorded fixture (see {@code make-fixtures.sh} beside the files): the TCP segments of its pcap,
 * each with its connection (numbered in order of the SYNs) and side, and its key log. Reads
 * Ethernet, IPv4/IPv6 and TCP headers itself (the pipeline has its own parser).
 */
public final class RecordedTraffic {
  /** The fixtures make-fixtures.sh writes. */
  public static final List<String> ALL = List.of("tls13-aes128-gcm", "tls13-aes256-gcm", "tls13-chacha20", "tls12",
      "tls13-hrr", "tls13-early-data", "tls12-offered-tls13");

  /**
   * One captured TCP packet.
   *
   * @param connection which connection (0, 1, ... in SYN order)
   * @param side who sent it
   * @param seq the TCP sequence number
   * @param syn the SYN flag
   * @param payload the TCP payload (may be empty)
   * @param frame the whole captured frame
   */
  public record Segment(int connection, Side side, long seq, boolean syn, boolean fin, byte[] payload, byte[] frame,
      long timestampNanos, int originalLength) {}

  public final String name;
  public final int linkType;
  public final List<Segment> segments;
  public final int connections;
  /** The key log lines with labels tlscap knows (EARLY_EXPORTER_SECRET is not one), in file order. */
  public final List<String> keyLog;

  private RecordedTraffic(String name, int linkType, List<Segment> segments, int connections, List<String> keyLog) {
    this.name = name;
    this.linkType = linkType;
    this.segments = segments;
    this.connections = connections;
    this.keyLog = keyLog;
  }

  public static RecordedTraffic load(String name) {
    PcapFile pcap = PcapFile.read(resource(name + ".pcap"));
    if (pcap.linkType() != 1) {
      throw new AssertionError(name + ": expected Ethernet, link type " + pcap.linkType());
    }
    List<Segment> segments = new ArrayList<>();
    Map<Integer, Integer> connectionOfClientPort = new LinkedHashMap<>();
    int serverPort = -1;
    for (PcapFile.Packet p : pcap.packets()) {
      ByteBuffer b = ByteBuffer.wrap(p.data());
      int etherType = b.getShort(12) & 0xFFFF;
      int ip = 14;
      int tcp;
      int end;
      if (etherType == 0x0800) {
        if (b.get(ip + 9) != 6) {
          continue;
        }
        tcp = ip + (b.get(ip) & 0x0F) * 4;
        end = ip + (b.getShort(ip + 2) & 0xFFFF);
      } else if (etherType == 0x86DD) {
        if (b.get(ip + 6) != 6) {
          continue; // extension headers: not in these fixtures
        }
        tcp = ip + 40;
        end = tcp + (b.getShort(ip + 4) & 0xFFFF);
      } else {
        continue;
      }
      int sport = b.getShort(tcp) & 0xFFFF;
      int dport = b.getShort(tcp + 2) & 0xFFFF;
      long seq = b.getInt(tcp + 4) & 0xFFFFFFFFL;
      int flags = b.get(tcp + 13) & 0xFF;
      boolean syn = (flags & 0x02) != 0;
      boolean ack = (flags & 0x10) != 0;
      if (syn && !ack) {
        serverPort = dport;
        connectionOfClientPort.putIfAbsent(sport, connectionOfClientPort.size());
      }
      Side side = dport == serverPort ? Side.CLIENT : Side.SERVER;
      Integer connection = connectionOfClientPort.get(side == Side.CLIENT ? sport : dport);
      if (connection == null) {
        throw new AssertionError(name + ": a packet before its connection's SYN");
      }
      int payload = tcp + ((b.get(tcp + 12) & 0xF0) >> 4) * 4;
      boolean fin = (flags & 0x01) != 0;
      segments.add(new Segment(connection, side, seq, syn, fin, Arrays.copyOfRange(p.data(), payload, Math.max(payload, end)),
          p.data(), p.timestampNanos(), p.originalLength()));
    }
    List<String> lines = new ArrayList<>();
    for (String line : KeyLogs.read(resource(name + ".keylog"))) {
      if (label(line) != null) {
        lines.add(line);
      }
    }
    return new RecordedTraffic(name, pcap.linkType(), List.copyOf(segments), connectionOfClientPort.size(),
        List.copyOf(lines));
  }

  static Path resource(String file) {
    URL url = RecordedTraffic.class.getResource(file);
    if (url == null) {
      throw new AssertionError("test resource " + file + " is missing (see make-fixtures.sh)");
    }
    try {
      return Path.of(url.toURI());
    } catch (URISyntaxException e) {
      throw new AssertionError(e);
    }
  }

  /** The label of a key log line, or null when tlscap does not collect it. */
  static TlsLabel label(String line) {
    try {
      return TlsLabel.valueOf(line.substring(0, line.indexOf(' ')));
    } catch (IllegalArgumentException e) {
      return null;
    }
  }

  public static String randomHex(String line) {
    return line.split(" ")[1];
  }

  static byte[] secret(String line) {
    return HexFormat.of().parseHex(line.split(" ")[2]);
  }

  /** The key log lines of the connection whose client random is {@code random}, in file order. */
  public List<String> linesOf(byte[] random) {
    String hex = HexFormat.of().formatHex(random);
    return keyLog.stream().filter(l -> randomHex(l).equals(hex)).toList();
  }

  /** The client randoms of the key log, in order of first appearance. */
  public List<String> randoms() {
    return keyLog.stream().map(RecordedTraffic::randomHex).distinct().toList();
  }

  /** The order OpenSSL 3 derives TLS 1.3 secrets in, as a client (measured with the KDF uprobe). */
  public static final List<TlsLabel> CLIENT_ORDER = List.of(TlsLabel.CLIENT_EARLY_TRAFFIC_SECRET,
      TlsLabel.SERVER_HANDSHAKE_TRAFFIC_SECRET, TlsLabel.SERVER_TRAFFIC_SECRET_0, TlsLabel.EXPORTER_SECRET,
      TlsLabel.CLIENT_HANDSHAKE_TRAFFIC_SECRET, TlsLabel.CLIENT_TRAFFIC_SECRET_0, TlsLabel.CLIENT_RANDOM);
  /** ... and as a server. */
  public static final List<TlsLabel> SERVER_ORDER = List.of(TlsLabel.CLIENT_EARLY_TRAFFIC_SECRET,
      TlsLabel.SERVER_HANDSHAKE_TRAFFIC_SECRET, TlsLabel.CLIENT_HANDSHAKE_TRAFFIC_SECRET,
      TlsLabel.SERVER_TRAFFIC_SECRET_0, TlsLabel.EXPORTER_SECRET, TlsLabel.CLIENT_TRAFFIC_SECRET_0,
      TlsLabel.CLIENT_RANDOM);

  /**
   * The secrets of {@code lines} (one connection's) as a traced process would deliver them: in
   * {@code order}, WITHOUT client random (unless {@code withRandom}), from pid/tid.
   */
  public static List<TlsSecret> events(List<String> lines, List<TlsLabel> order, int pid, int tid, boolean withRandom) {
    List<TlsSecret> events = new ArrayList<>();
    for (TlsLabel label : order) {
      for (String line : lines) {
        if (label(line) == label) {
          byte[] random = withRandom ? HexFormat.of().parseHex(randomHex(line)) : null;
          events.add(new TlsSecret(0, pid, tid, pid == 1 ? "curl" : "openssl", null, random, label, secret(line)));
        }
      }
    }
    return events;
  }
}

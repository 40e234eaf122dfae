// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.capture;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tlscap.capture.tls.RecordedTraffic;
import dev.tlscap.capture.tls.SecretMatcher;
import dev.tlscap.capture.tls.TlsStream;
import dev.tlscap.pcapng.Direction;
import dev.tlscap.pcapng.InterfaceDescription;
import dev.tlscap.pcapng.PcapngWriter;
import dev.tlscap.pcapng.RotationPolicy;
import dev.tlscap.testing.Requirements;
import dev.tlscap.testing.Tshark;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Rotation in the middle of a recorded TLS connection, at every packet: the real connection table,
 * carry-over and pcapng writer write two files, and the real tshark decrypts, in each file read
 * alone, the request and the response it holds.
 */
class CarryOverTest {
  private static final long MS = 1_000_000L;
  private static final long T0 = 1_700_000_000_000_000_000L;
  private static final String SYNTHETIC = "frame.comment contains \"tlscap synthetic\"";
  @TempDir Path dir;

  @BeforeEach
  void needsTshark() {
    Requirements.requireCommand("tshark", "tshark");
  }

  /**
   * Plays {@code fixture} (the client's secrets first) with a -G 1 rotation before segment
   * {@code cut}; segment {@code truncated} (or none: -1) cut short by 20 bytes, as a snap length would.
   */
  private CaptureStats play(RecordedTraffic t, int cut, Path base, int truncated) throws Exception {
    return play(t, t.segments, cut, base, truncated);
  }

  private CaptureStats play(RecordedTraffic t, List<RecordedTraffic.Segment> segments, int cut, Path base,
      int truncated) throws Exception {
    CaptureStats stats = new CaptureStats();
    long[] clock = {T0};
    PcapngWriter writer = PcapngWriter.builder().rotation(RotationPolicy.fromFlags(null, "1", null))
        .clock(() -> clock[0]).open(base);
    writer.addInterface(new InterfaceDescription("lo", null, t.linkType, 262144, null, null));
    CaptureFileSink sink = new CaptureFileSink(writer, null, stats, Long.MAX_VALUE);
    ConnectionTable table = new ConnectionTable(sink, stats,
        new ConnectionTable.Limits(2_000 * MS, 64L << 20, Long.MAX_VALUE), new SecretMatcher());
    table.carryOver = new CarryOver(sink, stats, 64L << 20);
    long now = 1_000 * MS;
    for (String random : t.randoms()) {
      for (var s : RecordedTraffic.events(t.keyLog.stream().filter(l -> RecordedTraffic.randomHex(l).equals(random))
          .toList(), RecordedTraffic.CLIENT_ORDER, 1, 1, false)) {
        table.onSecret(s, now += MS);
      }
    }
    CapturedPacket view = new CapturedPacket();
    for (int i = 0; i < segments.size(); i++) {
      RecordedTraffic.Segment s = segments.get(i);
      int captured = i == truncated ? s.frame().length - 20 : s.frame().length;
      clock[0] = i < cut ? T0 + i * MS : T0 + 2_000 * MS + i * MS;
      view.set(0, clock[0], ByteBuffer.wrap(s.frame()), 0, captured,
          s.originalLength(), s.side() == TlsStream.Side.CLIENT ? Direction.OUTBOUND : Direction.INBOUND);
      table.onPacket(view, t.linkType, false, now += MS);
    }
    table.releaseAll();
    writer.close();
    return stats;
  }

  private List<Path> files(String stem) throws Exception {
    try (Stream<Path> s = Files.list(dir)) {
      return s.filter(p -> p.getFileName().toString().startsWith(stem + "-")).sorted().collect(Collectors.toList());
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"tls13-aes128-gcm", "tls13-chacha20", "tls12"})
  void everyCutPointLeavesEachFileDecryptingWhatItHolds(String fixture) throws Exception {
    RecordedTraffic t = RecordedTraffic.load(fixture);
    int carried = 0;
    for (int cut = 1; cut < t.segments.size(); cut++) {
      String stem = fixture + "-cut" + cut;
      CaptureStats stats = play(t, cut, dir.resolve(stem + ".pcapng"), -1);
      List<Path> files = files(stem);
      assertEquals(2, files.size(), stem + ": files");
      // one tshark run per file: its requests, and its synthetic packets
      int requests = 0;
      int[] synthetic = new int[2];
      for (int f = 0; f < 2; f++) {
        for (List<String> row : Tshark.fields(files.get(f), "http.request || " + SYNTHETIC, "http.request.method",
            "frame.comment")) {
          requests += row.get(0).isEmpty() ? 0 : 1;
          synthetic[f] += row.get(1).contains("tlscap synthetic") ? 1 : 0;
        }
      }
      assertEquals(t.connections, requests, stem + ": every request decrypted once, in the file that holds it");
      assertEquals(0, stats.notCarriedTotal, stem + ": " + stats.notCarried);
      assertEquals(0, synthetic[0], stem + ": the first file holds the handshake itself");
      assertEquals(stats.tlsSessionsCarried > 0, synthetic[1] > 0, stem + ": a prologue in the second file");
      carried += (int) stats.tlsSessionsCarried;
    }
    assertTrue(carried > 0, "some cut points came after the connection was keyed");
  }

  /**
   * The request's record split across two TCP segments (in its header, in its body) with the new
   * file between them: the record's first part is written again in the prologue, and the request
   * decrypts in the second file.
   */
  @ParameterizedTest
  @ValueSource(ints = {3, 40})
  void aRecordSplitAcrossTheFileBoundaryDecryptsInTheSecondFile(int splitAt) throws Exception {
    RecordedTraffic t = RecordedTraffic.load("tls13-aes128-gcm");
    int request = requestSegment(t);
    assertTrue(request > 0, "the fixture's request segment");
    List<RecordedTraffic.Segment> segments = new java.util.ArrayList<>(t.segments);
    RecordedTraffic.Segment whole = segments.remove(request);
    segments.add(request, part(whole, splitAt, whole.payload().length));
    segments.add(request, part(whole, 0, splitAt));
    String stem = "split" + splitAt;
    CaptureStats stats = play(t, segments, request + 1, dir.resolve(stem + ".pcapng"), -1);
    List<Path> files = files(stem);
    assertEquals(2, files.size());
    assertEquals(1, stats.tlsSessionsCarried, stats.notCarried.toString());
    assertEquals(t.connections, Tshark.packetCount(files.get(0), "http.request")
        + Tshark.packetCount(files.get(1), "http.request"), "every request, the split one in the second file");
  }

  /**
   * Segments out of order (a segment lost on its way and sent again after the next one): the
   * connection is followed through the gap once it fills, and carried into the next file.
   */
  @Test
  void segmentsOutOfOrderAreFollowedOnceTheGapFills() throws Exception {
    RecordedTraffic t = RecordedTraffic.load("tls13-aes128-gcm");
    int request = requestSegment(t);
    List<RecordedTraffic.Segment> segments = new java.util.ArrayList<>(t.segments);
    RecordedTraffic.Segment whole = segments.remove(request);
    segments.add(request, part(whole, 0, 30)); // the second part first
    segments.add(request, part(whole, 30, whole.payload().length));
    CaptureStats stats = play(t, segments, request + 2, dir.resolve("reordered.pcapng"), -1);
    List<Path> files = files("reordered");
    assertEquals(2, files.size());
    assertEquals(0, stats.notCarriedTotal, stats.notCarried.toString());
    assertTrue(stats.tlsSessionsCarried >= 1, stats.tlsSummary());
    // (tshark does not reassemble out-of-order segments by default: the reordered request itself
    // does not show in the first file, as in any capture; what follows it does, in the second:
    // both ends' close_notify alerts, which only decrypt with the records aligned)
    assertEquals(2 * t.connections, Tshark.packetCount(files.get(1), "tls.alert_message.desc == 0"),
        "every close_notify decrypted in the second file");
  }

  /**
   * A record tlscap never saw (here: the server's second record after the handshake taken out of the capture,
   * the later server bytes moved up, as a KeyUpdate tlscap missed would leave it): the first record
   * after the next file's prologue does not open with the key and number tlscap holds, and the
   * session is counted as not decryptable there.
   */
  @Test
  void aRecordTlscapDidNotSeeIsCountedWhenTheFirstRecordAfterThePrologueDoesNotOpen() throws Exception {
    RecordedTraffic t = RecordedTraffic.load("tls13-aes128-gcm");
    List<RecordedTraffic.Segment> segments = new java.util.ArrayList<>();
    int ticket = -1;
    int serverRecords = 0;
    long shift = 0;
    int connection = t.segments.get(0).connection();
    for (RecordedTraffic.Segment s : t.segments) {
      if (s.connection() != connection) {
        continue;
      }
      boolean afterHandshake = segments.stream().anyMatch(x -> x.side() == TlsStream.Side.CLIENT
          && x.payload().length > 60 && x.payload()[0] == 23);
      if (ticket < 0 && afterHandshake && s.side() == TlsStream.Side.SERVER && s.payload().length > 0
          && s.payload()[0] == 23 && serverRecords++ == 1) {
        ticket = segments.size();
        shift = s.payload().length;
        continue;
      }
      segments.add(s.side() == TlsStream.Side.SERVER && ticket >= 0 ? part(s, 0, s.payload().length, -shift) : s);
    }
    assertTrue(ticket > 0, "a server record after the client's first application record");
    CaptureStats stats = play(t, segments, ticket, dir.resolve("missed.pcapng"), -1);
    assertTrue(stats.tlsSessionsCarried <= 1, stats.tlsSummary());
    assertEquals(1, stats.notCarriedTotal, stats.tlsSummary());
    assertTrue(stats.notCarried.keySet().iterator().next().contains("server stream lost: a record its traffic key"
        + " did not open"), stats.notCarried.toString());
  }

  /** The index of the segment with the first connection's request (its first encrypted client data). */
  private static int requestSegment(RecordedTraffic t) {
    for (int i = 6; i < t.segments.size(); i++) {
      RecordedTraffic.Segment s = t.segments.get(i);
      if (s.side() == TlsStream.Side.CLIENT && s.payload().length > 60 && s.payload()[0] == 23) {
        return i;
      }
    }
    throw new AssertionError("no request segment in " + t.name);
  }

  /** Bytes {@code from} to {@code to} of a segment's payload as a segment of their own (IPv4 in Ethernet). */
  private static RecordedTraffic.Segment part(RecordedTraffic.Segment s, int from, int to) {
    return part(s, from, to, 0);
  }

  /** {@link #part(RecordedTraffic.Segment, int, int)} moved by {@code shift} in TCP sequence. */
  private static RecordedTraffic.Segment part(RecordedTraffic.Segment s, int from, int to, long shift) {
    int headers = s.frame().length - s.payload().length;
    byte[] frame = new byte[headers + to - from];
    System.arraycopy(s.frame(), 0, frame, 0, headers);
    System.arraycopy(s.payload(), from, frame, headers, to - from);
    ByteBuffer b = ByteBuffer.wrap(frame);
    b.putShort(14 + 2, (short) (frame.length - 14));
    int tcp = 14 + (frame[14] & 0x0f) * 4;
    b.putInt(tcp + 4, (int) (s.seq() + from + shift));
    return new RecordedTraffic.Segment(s.connection(), s.side(), s.seq() + from + shift, s.syn(), s.fin(),
        java.util.Arrays.copyOfRange(s.payload(), from, to), frame, s.timestampNanos(), frame.length);
  }

  @Test
  void aPacketCutByTheSnapLengthIsCountedAsNotDecryptableInTheNextFile() throws Exception {
    RecordedTraffic t = RecordedTraffic.load("tls13-aes128-gcm");
    int response = 0;
    for (int i = 0; i < t.segments.size(); i++) {
      if (t.segments.get(i).side() == TlsStream.Side.SERVER && t.segments.get(i).payload().length > 100) {
        response = i; // the last big server segment: the response
      }
    }
    // the response cut short, then a new file: the connection's next packets there cannot be aligned
    CaptureStats cutShort = play(t, response + 1, dir.resolve("cut.pcapng"), response);
    assertEquals(0, cutShort.tlsSessionsCarried);
    assertEquals(1, cutShort.notCarriedTotal, cutShort.notCarried.toString());
    assertTrue(cutShort.tlsSummary().contains("1 times a TLS session went on into a later file where it does not"
        + " decrypt (1: server stream lost: a packet cut by the snap length)"), cutShort.tlsSummary());
  }
}

// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.capture;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tlscap.capture.tls.RecordedTraffic;
import dev.tlscap.capture.tls.SecretMatcher;
import dev.tlscap.pcapng.DecryptionSecretsBlock;
import dev.tlscap.pcapng.Direction;
import dev.tlscap.pcapng.EnhancedPacketBlock;
import dev.tlscap.pcapng.FlowSecrets;
import dev.tlscap.pcapng.InterfaceDescription;
import dev.tlscap.pcapng.KeyLogLine;
import dev.tlscap.pcapng.PcapngBlock;
import dev.tlscap.pcapng.PcapngReader;
import dev.tlscap.pcapng.PcapngWriter;
import dev.tlscap.pcapng.ProcessAnnotation;
import dev.tlscap.secrets.TlsLabel;
import dev.tlscap.secrets.TlsSecret;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The connection table without root: recorded connections (the TLS fixtures of the tls package)
 * played in as captured packets, their secrets as a traced process delivers them, and the pcapng
 * the table's sink wrote read back. Checks hold-back, the DSB-before-packets order, every way a
 * flow leaves hold-back and that every packet is written exactly once.
 */
class ConnectionTableTest {
  private static final long MS = 1_000_000L;
  private static final long HOLD = 2_000 * MS;

  /** Plays a fixture through a table whose sink is a real pcapng writer in memory. */
  static final class Run {
    final RecordedTraffic traffic;
    final CaptureStats stats = new CaptureStats();
    final ByteArrayOutputStream file = new ByteArrayOutputStream();
    final PcapngWriter writer;
    final List<KeyLogLine> keyLogLines = new ArrayList<>();
    final ConnectionTable table;
    final boolean loopback;
    long now = 1_000 * MS;
    int fed;

    Run(String fixture, long holdBytes, boolean loopback) {
      this.traffic = RecordedTraffic.load(fixture);
      this.loopback = loopback;
      try {
        writer = PcapngWriter.builder().open(file);
      } catch (Exception e) {
        throw new AssertionError(e);
      }
      writer.addInterface(new InterfaceDescription("lo", null, traffic.linkType, 262144, null, null));
      PacketSink sink = new PacketSink() {
        @Override
        public void write(CapturedPacket p, ProcessAnnotation process, int tid, FlowSecrets secrets) {
          if (writer.writePacket(p.interfaceId, p.timestampNanos, p.data, p.offset, p.capturedLength,
              p.originalLength, p.direction, process, tid, secrets)) {
            stats.packetsWritten++;
          }
        }

        @Override
        public FlowSecrets newFlowSecrets() {
          return writer.newFlowSecrets();
        }

        @Override
        public void keyLogLine(KeyLogLine line) {
          keyLogLines.add(line);
        }
      };
      table = new ConnectionTable(sink, stats, new ConnectionTable.Limits(HOLD, holdBytes, Long.MAX_VALUE),
          new SecretMatcher());
    }

    Run(String fixture) {
      this(fixture, 64L << 20, false);
    }

    Run packets() {
      CapturedPacket view = new CapturedPacket();
      for (RecordedTraffic.Segment s : traffic.segments) {
        now += MS;
        view.set(0, s.timestampNanos(), ByteBuffer.wrap(s.frame()).asReadOnlyBuffer(), 0, s.frame().length,
            s.originalLength(), s.side() == dev.tlscap.capture.tls.TlsStream.Side.CLIENT ? Direction.OUTBOUND
                : Direction.INBOUND);
        table.onPacket(view, traffic.linkType, loopback, now);
        fed++;
      }
      return this;
    }

    Run secrets(List<TlsSecret> secrets) {
      for (TlsSecret s : secrets) {
        now += MS;
        table.onSecret(s, now);
      }
      return this;
    }

    /** Every connection's secrets as curl (pid 1) derives them, without client random. */
    Run clientSecrets() {
      for (String random : traffic.randoms()) {
        secrets(RecordedTraffic.events(lines(random), RecordedTraffic.CLIENT_ORDER, 1, 1, false));
      }
      return this;
    }

    /** The recorded segment whose frame {@code written} holds. */
    RecordedTraffic.Segment segmentOf(EnhancedPacketBlock written) {
      return segmentOf(written.data());
    }

    RecordedTraffic.Segment segmentOf(byte[] frame) {
      for (RecordedTraffic.Segment s : traffic.segments) {
        if (java.util.Arrays.equals(s.frame(), frame)) {
          return s;
        }
      }
      throw new AssertionError("a packet that is not in the fixture");
    }

    List<String> lines(String random) {
      return traffic.keyLog.stream().filter(l -> RecordedTraffic.randomHex(l).equals(random)).toList();
    }

    /** The blocks written so far (the writer flushed, still open). */
    List<PcapngBlock> blocksSoFar() {
      writer.flush();
      return read();
    }

    List<PcapngBlock> blocks() {
      writer.close();
      return read();
    }

    private List<PcapngBlock> read() {
      try (PcapngReader reader = new PcapngReader(new ByteArrayInputStream(file.toByteArray()))) {
        return reader.readAll();
      } catch (Exception e) {
        throw new AssertionError(e);
      }
    }
  }

  private static List<EnhancedPacketBlock> packets(List<PcapngBlock> blocks) {
    return blocks.stream().filter(b -> b instanceof EnhancedPacketBlock).map(b -> (EnhancedPacketBlock) b).toList();
  }

  /** Key log lines in DSBs before the first packet with payload after a ClientHello, in file order. */
  private static Set<String> dsbLines(List<PcapngBlock> blocks) {
    Set<String> lines = new TreeSet<>();
    for (PcapngBlock b : blocks) {
      if (b instanceof DecryptionSecretsBlock d) {
        lines.addAll(List.of(d.keyLog().split("\n")));
      }
    }
    return lines;
  }

  @ParameterizedTest
  @ValueSource(strings = {"tls13-aes128-gcm", "tls13-chacha20", "tls13-hrr", "tls12"})
  void tlsPacketsWaitForTheirSecretsAndFollowTheirDsb(String fixture) {
    Run run = new Run(fixture).packets();
    for (EnhancedPacketBlock written : packets(run.blocksSoFar())) {
      assertEquals(0, run.segmentOf(written).payload().length, "nothing of a TLS flow is written before its secrets");
    }
    assertTrue(run.table.heldBytes() > 0);
    run.clientSecrets();
    assertEquals(0, run.table.heldBytes(), "every flow released once keyed");
    List<PcapngBlock> blocks = run.blocks();
    List<EnhancedPacketBlock> packets = packets(blocks);
    assertEquals(run.fed, packets.size(), "every packet written exactly once");
    assertEquals(new TreeSet<>(run.traffic.keyLog), dsbLines(blocks), "every key log line in a DSB");
    int firstDsb = indexOf(blocks, DecryptionSecretsBlock.class);
    int firstPayload = -1;
    for (int i = 0; i < blocks.size() && firstPayload < 0; i++) {
      if (blocks.get(i) instanceof EnhancedPacketBlock e && run.segmentOf(e).payload().length > 0) {
        firstPayload = i;
      }
    }
    assertTrue(firstDsb >= 0 && firstDsb < firstPayload, "the DSB precedes the flow's payload");
    assertEquals(run.traffic.connections, run.stats.tlsFlows);
    assertEquals(run.traffic.connections, run.stats.tlsFlowsKeyed);
    assertEquals(0, run.stats.packetsReleasedWithoutSecrets);
    for (int c = 0; c < run.traffic.connections; c++) {
      int connection = c;
      List<byte[]> recorded = run.traffic.segments.stream().filter(g -> g.connection() == connection)
          .map(RecordedTraffic.Segment::frame).toList();
      List<byte[]> written = packets.stream().map(EnhancedPacketBlock::data)
          .filter(d -> run.segmentOf(d).connection() == connection).toList();
      assertEquals(recorded.size(), written.size());
      for (int i = 0; i < recorded.size(); i++) {
        assertArrayEquals(recorded.get(i), written.get(i), "connection " + c + ": packet " + i + " in capture order");
      }
    }
  }

  @Test
  void secretsWithTheirClientRandomKeyAtOnceAndReachTheKeyLogFile() {
    Run run = new Run("tls12");
    for (String random : run.traffic.randoms()) {
      run.secrets(RecordedTraffic.events(run.lines(random), RecordedTraffic.CLIENT_ORDER, 1, 1, true));
    }
    assertEquals(run.traffic.keyLog.size(), run.keyLogLines.size(), "lines with a random go to the key log file at once");
    run.packets();
    assertEquals(0, run.table.heldBytes());
    assertEquals(run.traffic.connections, run.stats.tlsFlowsKeyed);
    assertEquals(new TreeSet<>(run.traffic.keyLog), dsbLines(run.blocks()));
  }

  @Test
  void aFlowWithoutSecretsIsWrittenWhenItsHoldRunsOutAndCounted() {
    Run run = new Run("tls13-aes128-gcm");
    long start = run.now;
    run.packets();
    long held = run.table.heldBytes();
    assertTrue(held > 0);
    run.table.releaseExpired(start + HOLD - MS);
    assertEquals(held, run.table.heldBytes(), "not before --hold");
    run.table.releaseExpired(run.now + HOLD + MS);
    assertEquals(0, run.table.heldBytes());
    List<PcapngBlock> blocks = run.blocks();
    assertEquals(run.fed, packets(blocks).size());
    assertEquals(-1, indexOf(blocks, DecryptionSecretsBlock.class), "no secrets, no DSB");
    assertEquals(run.traffic.connections, run.stats.flowsReleasedWithoutSecrets);
    assertTrue(run.stats.packetsReleasedWithoutSecrets > 0);
    assertEquals(0, run.stats.tlsFlowsKeyed);
  }

  @Test
  void aKeyedConnectionThatEndedBothWaysLetsGoOfItsStreamAtOnceAndLeavesTheTableSoon() {
    Run run = new Run("tls13-aes128-gcm", 64L << 20, true).packets(); // each connection ends with a FIN from each end
    long lastPacket = run.now;
    assertEquals(run.traffic.connections, run.table.streamCount());
    run.clientSecrets();
    run.table.releaseExpired(run.now + ConnectionTable.PEER_PROCESS_GRACE_NANOS + MS); // lo: the grace for the peer's copy
    assertEquals(run.traffic.connections, run.stats.tlsFlowsKeyed);
    assertEquals(0, run.table.streamCount(), "keyed and ended: nothing left to read");
    assertEquals(0, run.table.parserBytes());
    assertEquals(run.traffic.connections, run.table.flowCount(), "the flows wait for their last ACKs");
    // The server's copies of the same secrets come after the stream closed: known, not unmatched.
    for (String random : run.traffic.randoms()) {
      run.secrets(RecordedTraffic.events(run.lines(random), RecordedTraffic.CLIENT_ORDER, 2, 2, false));
    }
    run.table.everySecond(lastPacket + ConnectionTable.ENDED_NANOS - MS);
    assertTrue(run.table.flowCount() >= 1, "the last one to end is still waiting");
    run.table.everySecond(lastPacket + ConnectionTable.ENDED_NANOS + MS);
    assertEquals(0, run.table.flowCount(), "ended both ways: gone after " + ConnectionTable.ENDED_NANOS + " ns, not "
        + ConnectionTable.CLOSED_NANOS);
    run.table.everySecond(run.now + SecretMatcher.DEFAULT_TTL_NANOS + 1_000 * MS);
    assertEquals(0, run.table.matcher().counters().unmatched(), run.table.matcher().summary());
    assertEquals(run.fed, packets(run.blocks()).size());
  }

  @Test
  void theMemoryBoundReleasesTheOldestFlowsAndCountsThem() {
    Run run = new Run("tls13-aes128-gcm", 4_000, false).packets();
    assertTrue(run.table.heldBytes() <= 4_000, "held bytes stay under --hold-memory: " + run.table.heldBytes());
    assertTrue(run.stats.flowsCutByMemory > 0);
    run.table.releaseAll();
    assertEquals(run.fed, packets(run.blocks()).size(), "released early, still written once");
  }

  @Test
  void stoppingWritesEveryHeldPacket() {
    Run run = new Run("tls13-chacha20").packets();
    run.table.releaseAll();
    assertEquals(0, run.table.heldBytes());
    assertEquals(run.fed, packets(run.blocks()).size());
    assertEquals(run.traffic.connections, run.stats.flowsReleasedWithoutSecrets);
  }

  @Test
  void onLoopbackBothEndsAnnotateThePacketsTheySent() {
    Run run = new Run("tls13-aes128-gcm", 64L << 20, true).packets();
    for (String random : run.traffic.randoms()) {
      run.secrets(RecordedTraffic.events(run.lines(random), RecordedTraffic.CLIENT_ORDER, 1, 11, false));
    }
    assertTrue(run.table.heldBytes() > 0, "on lo a keyed flow waits for its peer's secrets (grace)");
    for (String random : run.traffic.randoms()) {
      run.secrets(RecordedTraffic.events(run.lines(random), RecordedTraffic.SERVER_ORDER, 2, 22, false));
    }
    assertEquals(0, run.table.heldBytes(), "both ends known: written at once");
    Set<String> clientComments = new HashSet<>();
    Set<String> serverComments = new HashSet<>();
    List<PcapngBlock> blocks = run.blocks();
    List<EnhancedPacketBlock> packets = packets(blocks);
    for (int i = 0; i < packets.size(); i++) {
      RecordedTraffic.Segment segment = run.segmentOf(packets.get(i));
      if (segment.payload().length == 0 && packets.get(i).processId().isEmpty()) {
        continue; // the handshake's SYNs and ACKs, written before the flow was known to be TLS
      }
      boolean fromClient = segment.side() == dev.tlscap.capture.tls.TlsStream.Side.CLIENT;
      (fromClient ? clientComments : serverComments).addAll(packets.get(i).comments());
      assertEquals(fromClient ? 1 : 2, packets.get(i).processId().orElse(-1), "packet " + i);
    }
    Set<String> bothEnds = Set.of("client: pid 1 curl\nserver: pid 2 openssl");
    assertEquals(bothEnds, clientComments, "each packet names both ends; its pid option names its sender");
    assertEquals(bothEnds, serverComments);
  }

  @Test
  void onLoopbackOneKnownEndIsWrittenAfterTheGrace() {
    Run run = new Run("tls13-aes128-gcm", 64L << 20, true).packets();
    run.clientSecrets();
    assertTrue(run.table.heldBytes() > 0);
    run.table.releaseExpired(run.now + ConnectionTable.PEER_PROCESS_GRACE_NANOS + MS);
    assertEquals(0, run.table.heldBytes());
    assertEquals(run.traffic.connections, run.stats.tlsFlowsKeyed);
    for (EnhancedPacketBlock p : packets(run.blocks())) {
      if (run.segmentOf(p).payload().length > 0) {
        assertEquals(1, p.processId().orElse(-1), "the one known process annotates both directions");
      }
    }
  }

  @Test
  void aConnectionThatIsNotTlsIsWrittenAtOnce() {
    Run run = new Run("tls13-aes128-gcm");
    // The fixture's first connection with its ClientHello's first byte changed: plain TCP.
    CapturedPacket view = new CapturedPacket();
    Set<Integer> changed = new HashSet<>();
    for (RecordedTraffic.Segment s : run.traffic.segments) {
      byte[] frame = s.frame().clone();
      if (s.payload().length > 0 && s.side() == dev.tlscap.capture.tls.TlsStream.Side.CLIENT
          && changed.add(s.connection())) {
        frame[frame.length - s.payload().length] = 'G';
      }
      view.set(0, s.timestampNanos(), ByteBuffer.wrap(frame), 0, frame.length, s.originalLength(), Direction.OUTBOUND);
      run.table.onPacket(view, run.traffic.linkType, false, run.now += MS);
      assertEquals(0, run.table.heldBytes(), "never held");
    }
    assertEquals(run.traffic.segments.size(), packets(run.blocks()).size());
    assertEquals(0, run.stats.tlsFlows);
  }

  @Test
  void aReusedPortStartsANewConnectionAndTheOldOneStillGetsItsSecrets() {
    Run run = new Run("tls13-aes128-gcm").packets();
    byte[] frame = reusedSyn(run);
    run.table.onPacket(reusedSynView(frame), run.traffic.linkType, false, run.now += MS);
    assertTrue(packets(run.blocksSoFar()).stream().noneMatch(p -> Arrays.equals(frame, p.data())),
        "the new connection's SYN waits behind the old connection, still held for its secrets");
    run.clientSecrets();
    assertEquals(0, run.table.heldBytes(), "the retired flow was keyed and written");
    assertEquals(run.traffic.connections, run.stats.tlsFlowsKeyed);
    List<EnhancedPacketBlock> written = packets(run.blocks());
    assertEquals(run.fed + 1, written.size());
    assertNewSynAfterTheOldConnection(run, written, frame);
  }

  @Test
  void onLoopbackAReusedPortWritesTheKeyedOldConnectionBeforeTheNewOne() {
    // both ends on this host: keyed by the client's secrets, the old connection waits only for the
    // server's (the peer's grace) when its client gets the port back
    Run run = new Run("tls13-aes128-gcm", 64L << 20, true).packets();
    run.clientSecrets();
    assertTrue(run.table.heldBytes() > 0, "in the peer's grace");
    byte[] frame = reusedSyn(run);
    run.table.onPacket(reusedSynView(frame), run.traffic.linkType, true, run.now += MS);
    assertNewSynAfterTheOldConnection(run, packets(run.blocksSoFar()), frame);
    run.table.releaseExpired(run.now + ConnectionTable.PEER_PROCESS_GRACE_NANOS + MS);
    assertEquals(run.traffic.connections, run.stats.tlsFlowsKeyed);
  }

  /** Every packet of the fixture's first connection is in the file, before the SYN that reused its 4-tuple. */
  private static void assertNewSynAfterTheOldConnection(Run run, List<EnhancedPacketBlock> written, byte[] syn) {
    int at = -1;
    for (int i = 0; i < written.size(); i++) {
      if (Arrays.equals(syn, written.get(i).data())) {
        at = i;
      }
    }
    assertTrue(at >= 0, "the new connection's SYN is written");
    int oldConnection = run.traffic.segments.get(0).connection();
    long oldPackets = run.traffic.segments.stream().filter(g -> g.connection() == oldConnection).count();
    long before = written.subList(0, at).stream().filter(p -> run.segmentOf(p).connection() == oldConnection).count();
    assertEquals(oldPackets, before,
        "every packet of the old connection before the new one's SYN: Wireshark shows both whole");
  }

  @Test
  void aThirdConnectionOnTheFourTupleWritesTheTwoBeforeItOldestFirst() {
    Run run = new Run("tls13-aes128-gcm").packets();
    byte[] second = reusedSyn(run);
    byte[] third = reusedSyn(run, 0x66);
    run.table.onPacket(reusedSynView(second), run.traffic.linkType, false, run.now += MS);
    run.table.onPacket(reusedSynView(third), run.traffic.linkType, false, run.now += MS);
    List<EnhancedPacketBlock> written = packets(run.blocksSoFar());
    assertNewSynAfterTheOldConnection(run, written, second);
    assertArrayEquals(third, written.get(written.size() - 1).data(), "then the third connection's SYN, at once");
    assertEquals(1, run.stats.flowsReleasedWithoutSecrets, "the old connection, counted: its secrets had not come");
  }

  /** The fixture's first SYN with another initial sequence number: a new connection on the same 4-tuple. */
  private static byte[] reusedSyn(Run run) {
    return reusedSyn(run, 0x55);
  }

  private static byte[] reusedSyn(Run run, int isnChange) {
    byte[] frame = run.traffic.segments.get(0).frame().clone();
    int tcp = 14 + ((frame[14] & 0x0F) * 4);
    frame[tcp + 4] ^= (byte) isnChange;
    return frame;
  }

  private static CapturedPacket reusedSynView(byte[] frame) {
    return new CapturedPacket().set(0, 0, ByteBuffer.wrap(frame), 0, frame.length, frame.length, Direction.OUTBOUND);
  }

  @Test
  void dataInTheSynIsReadFromItsFirstByte() {
    // TCP Fast Open: the ClientHello rides in the SYN; its first byte (0x16) has the ISN + 1.
    Run run = new Run("tls13-aes128-gcm");
    List<RecordedTraffic.Segment> segments = run.traffic.segments;
    Set<Integer> merged = new HashSet<>();
    List<byte[]> frames = new ArrayList<>();
    for (RecordedTraffic.Segment s : segments) {
      if (s.syn() && s.side() == dev.tlscap.capture.tls.TlsStream.Side.CLIENT) {
        RecordedTraffic.Segment hello = segments.stream()
            .filter(g -> g.connection() == s.connection() && g.side() == s.side() && g.payload().length > 0)
            .findFirst().orElseThrow();
        frames.add(withPayload(s.frame(), hello.payload()));
        merged.add(segments.indexOf(hello));
      } else if (!merged.contains(segments.indexOf(s))) {
        frames.add(s.frame());
      }
    }
    CapturedPacket view = new CapturedPacket();
    for (byte[] frame : frames) {
      view.set(0, 0, ByteBuffer.wrap(frame), 0, frame.length, frame.length, Direction.OUTBOUND);
      run.table.onPacket(view, run.traffic.linkType, false, run.now += MS);
    }
    run.clientSecrets();
    assertEquals(run.traffic.connections, run.stats.tlsFlows, "the SYN's data was read as a ClientHello");
    assertEquals(run.traffic.connections, run.stats.tlsFlowsKeyed);
    assertEquals(0, run.table.heldBytes());
  }

  @Test
  void aQuietConnectionIsKeyedWhenItSpeaksAgainAndItsDsbPrecedesThatRecord() {
    // A TLS 1.3 client quiet after its Finished for longer than --hold and the matcher's time to
    // live (an interactive s_client, a pooled connection): its traffic secret came with the others
    // but no record proved it. When it speaks, its packets wait again, the secret is proven on the
    // new record, and its DSB goes before that record.
    Run run = new Run("tls13-aes128-gcm");
    List<RecordedTraffic.Segment> connection = run.traffic.segments.stream().filter(g -> g.connection() == 0).toList();
    List<RecordedTraffic.Segment> clientPayload = connection.stream()
        .filter(g -> g.side() == dev.tlscap.capture.tls.TlsStream.Side.CLIENT && g.payload().length > 0).toList();
    RecordedTraffic.Segment request = clientPayload.get(2); // ClientHello, ChangeCipherSpec + Finished, then the request
    int cut = connection.indexOf(request);
    CapturedPacket view = new CapturedPacket();
    for (RecordedTraffic.Segment g : connection.subList(0, cut)) {
      view.set(0, g.timestampNanos(), ByteBuffer.wrap(g.frame()), 0, g.frame().length, g.originalLength(),
          Direction.OUTBOUND);
      run.table.onPacket(view, run.traffic.linkType, false, run.now += MS);
    }
    String random = run.traffic.randoms().get(0);
    run.secrets(RecordedTraffic.events(run.lines(random), RecordedTraffic.CLIENT_ORDER, 1, 1, false));
    run.table.releaseExpired(run.now += HOLD + MS);
    assertEquals(1, run.stats.flowsReleasedWithoutSecrets, "released at --hold without its client traffic secret");
    run.now += 2 * SecretMatcher.DEFAULT_TTL_NANOS;
    run.table.everySecond(run.now);
    // the two traffic secrets and the exporter: no record of the quiet connection proved them yet
    assertEquals(3, run.table.matcher().counters().unmatched(), "the secrets left the pool by their time to live");
    for (RecordedTraffic.Segment g : connection.subList(cut, connection.size())) {
      view.set(0, g.timestampNanos(), ByteBuffer.wrap(g.frame()), 0, g.frame().length, g.originalLength(),
          Direction.OUTBOUND);
      run.table.onPacket(view, run.traffic.linkType, false, run.now += MS);
    }
    assertEquals(0, run.table.heldBytes());
    assertEquals(1, run.stats.tlsFlowsKeyed);
    assertEquals(1, run.stats.tlsFlowsKeyedLate);
    assertEquals(0, run.stats.flowsReleasedWithoutSecrets, "keyed after all: not a session without secrets");
    assertEquals(0, run.table.matcher().counters().unmatched());
    List<PcapngBlock> blocks = run.blocks();
    int dsb = -1;
    int requestAt = -1;
    for (int i = 0; i < blocks.size(); i++) {
      if (blocks.get(i) instanceof DecryptionSecretsBlock d && d.keyLog().contains("CLIENT_TRAFFIC_SECRET_0")) {
        dsb = i;
      }
      if (blocks.get(i) instanceof EnhancedPacketBlock e && java.util.Arrays.equals(e.data(), request.frame())) {
        requestAt = i;
      }
    }
    assertTrue(dsb >= 0 && dsb < requestAt, "the late secret's DSB (" + dsb + ") before the record it opens ("
        + requestAt + ")");
    assertEquals(connection.size(), packets(blocks).size());
  }

  @Test
  void hostileFlowsCannotGrowTheParsersPastTheMemoryBound() {
    // Many connections that send a SYN, the start of a ClientHello and segments far ahead of it: the
    // TLS parsers keep the out-of-order bytes; held packets and parser memory stay under
    // --hold-memory together, the releases are counted, and every packet is written once.
    long bound = 1 << 20;
    Run run = new Run("tls13-aes128-gcm", bound, false);
    byte[] hello = run.traffic.segments.stream().filter(g -> g.payload().length > 0).findFirst().orElseThrow().payload();
    byte[] start = java.util.Arrays.copyOf(hello, 60);
    CapturedPacket view = new CapturedPacket();
    int fed = 0;
    for (int port = 10_000; port < 10_400; port++) {
      List<byte[]> frames = new ArrayList<>();
      frames.add(tcpFrame(port, 443, 1000, 0x02, new byte[0]));
      frames.add(tcpFrame(port, 443, 1001, 0x18, start));
      for (int k = 0; k < 40; k++) {
        frames.add(tcpFrame(port, 443, 1001 + 4000 + k * 1400, 0x18, new byte[1400]));
      }
      for (byte[] f : frames) {
        view.set(0, 0, ByteBuffer.wrap(f), 0, f.length, f.length, Direction.INBOUND);
        run.table.onPacket(view, 1, false, run.now += MS / 10);
        fed++;
        assertTrue(run.table.heldBytes() + run.table.parserBytes() <= bound,
            "held " + run.table.heldBytes() + " + parsers " + run.table.parserBytes() + " > " + bound);
      }
    }
    assertTrue(run.stats.flowsCutByMemory > 0, "the releases are counted");
    run.table.releaseAll();
    assertEquals(fed, packets(run.blocks()).size(), "every packet written once");
  }

  @Test
  void aKeyedTls12ConnectionIsReadOnForItsRenegotiations() {
    // Keyed by its first line at its ServerHello, the connection is written as it comes, and read on:
    // the two renegotiations' encrypted ClientHellos name the lines that key them, into DSBs.
    Run run = new Run("tls12-renegotiation");
    run.secrets(RecordedTraffic.events(run.traffic.keyLog, List.of(TlsLabel.CLIENT_RANDOM), 2, 2, true)).packets();
    assertEquals(3, run.traffic.keyLog.size());
    List<PcapngBlock> blocks = run.blocks();
    assertEquals(new TreeSet<>(run.traffic.keyLog), dsbLines(blocks), "the handshake's and both renegotiations' lines");
    assertEquals(run.fed, packets(blocks).size());
  }

  @Test
  void aFullTableLetsGoOfTheLeastRecentlySeenConnectionToWithinASecond() {
    Run run = new Run("tls13-aes128-gcm");
    CapturedPacket view = new CapturedPacket();
    long start = run.now;
    java.util.function.BiConsumer<Integer, Long> send = (port, at) -> {
      byte[] f = tcpFrame(port, 80, 1000, 0x18, "GET / HTTP/1.1\r\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
      view.set(0, 0, ByteBuffer.wrap(f), 0, f.length, f.length, Direction.OUTBOUND);
      run.table.onPacket(view, 1, false, start + at);
    };
    send.accept(1, 0L);
    send.accept(2, 1L);
    send.accept(3, 2L);
    assertEquals(3, run.table.flowCount());
    assertEquals(1, run.table.oldest().key.aPort);
    send.accept(1, 500 * MS); // seen again, but moved less than a second ago: stays first
    assertEquals(1, run.table.oldest().key.aPort);
    send.accept(2, 1_500 * MS); // moves to the end
    assertEquals(1, run.table.oldest().key.aPort);
    send.accept(1, 2_600 * MS); // moves to the end: 3 was seen least recently
    assertEquals(3, run.table.oldest().key.aPort);
    assertEquals(3, run.table.flowCount(), "moved, not added");
  }

  /** An Ethernet + IPv4 + TCP frame from 10.0.0.1:{@code from} to 10.0.0.2:{@code to}. */
  private static byte[] tcpFrame(int from, int to, long seq, int flags, byte[] payload) {
    ByteBuffer b = ByteBuffer.allocate(14 + 20 + 20 + payload.length);
    b.position(12);
    b.putShort((short) 0x0800);
    b.put((byte) 0x45).put((byte) 0).putShort((short) (40 + payload.length)).putInt(0).put((byte) 64).put((byte) 6)
        .putShort((short) 0).put(new byte[] {10, 0, 0, 1}).put(new byte[] {10, 0, 0, 2});
    b.putShort((short) from).putShort((short) to).putInt((int) seq).putInt(0).put((byte) 0x50).put((byte) flags)
        .putShort((short) 65535).putShort((short) 0).putShort((short) 0);
    b.put(payload);
    return b.array();
  }

  /** An IPv4 or IPv6 TCP frame (Ethernet) with {@code payload} appended and the IP length fixed. */
  private static byte[] withPayload(byte[] frame, byte[] payload) {
    byte[] out = java.util.Arrays.copyOf(frame, frame.length + payload.length);
    System.arraycopy(payload, 0, out, frame.length, payload.length);
    ByteBuffer b = ByteBuffer.wrap(out);
    if ((out[14] & 0xF0) == 0x40) {
      b.putShort(16, (short) ((b.getShort(16) & 0xFFFF) + payload.length));
    } else {
      b.putShort(18, (short) ((b.getShort(18) & 0xFFFF) + payload.length));
    }
    return out;
  }

  private static int indexOf(List<PcapngBlock> blocks, Class<?> type) {
    for (int i = 0; i < blocks.size(); i++) {
      if (type.isInstance(blocks.get(i))) {
        return i;
      }
    }
    return -1;
  }
}

// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.capture.tls;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tlscap.capture.tls.TlsStream.Side;
import dev.tlscap.capture.tls.TlsStream.State;
import dev.tlscap.capture.tls.TlsStream.Verdict;
import dev.tlscap.secrets.TlsLabel;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * TlsStream on what a network can send: nothing escapes as an exception, memory stays bounded,
 * and {@link TlsStream#state()} says what happened.
 */
class TlsStreamHostileInputTest {
  /** The most one stream may hold: kept records, a hello, out-of-order segments, per side. */
  static final long MAX_HELD = 2L * (TlsStream.DEFAULT_MAX_KEPT_RECORDS * (5 + TlsStream.MAX_RECORD_LENGTH)
      + TlsStream.MAX_HELLO_LENGTH + 4 + TcpReassembly.MAX_WAITING_BYTES + 5 + TlsStream.MAX_RECORD_LENGTH);

  static final RecordedTraffic AES128 = RecordedTraffic.load("tls13-aes128-gcm");

  /** A chunk of one side's byte stream. */
  record Chunk(Side side, long seq, byte[] bytes) {}

  /** Connection 0 of a fixture as payload chunks in capture order. */
  static List<Chunk> chunks(RecordedTraffic t) {
    List<Chunk> out = new ArrayList<>();
    for (RecordedTraffic.Segment s : t.segments) {
      if (s.connection() == 0 && s.payload().length > 0) {
        out.add(new Chunk(s.side(), s.seq(), s.payload()));
      }
    }
    return out;
  }

  /** The chunks cut into pieces of at most {@code size} bytes. */
  static List<Chunk> split(List<Chunk> chunks, int size) {
    List<Chunk> out = new ArrayList<>();
    for (Chunk c : chunks) {
      for (int at = 0; at < c.bytes.length; at += size) {
        out.add(new Chunk(c.side, c.seq + at, Arrays.copyOfRange(c.bytes, at, Math.min(c.bytes.length, at + size))));
      }
    }
    return out;
  }

  static TlsStream feed(List<Chunk> chunks) {
    return feed(chunks, new TlsStream());
  }

  /** Feeds {@code chunks} after the SYNs of the original connection 0 (data starts where it did). */
  static TlsStream feedAfterSyns(List<Chunk> chunks, List<Chunk> original) {
    TlsStream s = new TlsStream();
    for (Side side : Side.values()) {
      s.onSyn(side, original.stream().filter(c -> c.side == side).findFirst().orElseThrow().seq - 1);
    }
    return feed(chunks, s);
  }

  static TlsStream feed(List<Chunk> chunks, TlsStream s) {
    for (Chunk c : chunks) {
      s.onSegment(c.side, c.seq & 0xFFFFFFFFL, ByteBuffer.wrap(c.bytes).asReadOnlyBuffer(), 0, c.bytes.length);
      assertSane(s);
    }
    return s;
  }

  static void assertSane(TlsStream s) {
    assertTrue(s.problem() == null || !s.problem().contains("internal error"), s.problem());
    assertTrue(s.heldBytes() <= MAX_HELD, s.heldBytes() + " bytes held");
  }

  /** Every secret of connection 0 verifies (EXPORTER aside). */
  static void assertAllSecretsMatch(TlsStream s, RecordedTraffic t) {
    assertNotNull(s.clientRandom(), s.toString());
    List<String> lines = t.linesOf(s.clientRandom());
    assertFalse(lines.isEmpty());
    for (String line : lines) {
      TlsLabel label = RecordedTraffic.label(line);
      if (label != TlsLabel.EXPORTER_SECRET) {
        assertEquals(Verdict.MATCH, s.verify(label, RecordedTraffic.secret(line)).verdict(), line + " on " + s);
      }
    }
  }

  static byte[] clientHelloBytes() {
    return chunks(AES128).get(0).bytes;
  }

  @Test
  void httpOnPort443IsNotTlsFromItsFirstByte() {
    byte[] http = "GET / HTTP/1.1\r\nHost: example\r\n\r\n".getBytes(StandardCharsets.US_ASCII);
    TlsStream s = new TlsStream();
    assertTrue(s.onSegment(Side.CLIENT, 1, ByteBuffer.wrap(http), 0, 1));
    assertEquals(State.NOT_TLS, s.state());
    assertTrue(s.problem().contains("0x47"), s.problem());
    assertFalse(s.onSegment(Side.CLIENT, 2, ByteBuffer.wrap(http), 1, http.length - 1), "ignored from then on");
    assertEquals(Verdict.NO_MATCH, s.verify(TlsLabel.SERVER_HANDSHAKE_TRAFFIC_SECRET, new byte[32]).verdict());
    assertTrue(s.neededLabels().isEmpty());
  }

  @Test
  void otherProtocolsAreNotTls() {
    for (String other : new String[] {"SSH-2.0-OpenSSH_9.2\r\n", "\u0016\u0002\u0000", "\u0016\u0003\u0009",
        "\u0016\u0003\u0001\u0000\u0000", "\u0016\u0003\u0001\u0000\u0010\u0002", "\u0017\u0003\u0003\u0000\u0010"}) {
      TlsStream s = TlsStream.feed(other.getBytes(StandardCharsets.ISO_8859_1));
      assertEquals(State.NOT_TLS, s.state(), other + ": " + s);
      assertNotNull(s.problem());
    }
  }

  @Test
  void aServerThatSpeaksFirstIsNotTls() {
    TlsStream s = TlsStream.feed(null, "220 smtp.example ESMTP\r\n".getBytes(StandardCharsets.US_ASCII));
    assertEquals(State.NOT_TLS, s.state());
    assertEquals("the server spoke first", s.problem());
  }

  @Test
  void aClientHelloInOneByteSegmentsIsRead() {
    List<Chunk> bytes = split(chunks(AES128), 1);
    TlsStream s = feed(bytes);
    assertEquals(State.TLS, s.state());
    assertAllSecretsMatch(s, AES128);
  }

  @Test
  void aClientHelloSpanningSeveralRecordsIsRead() {
    // The ClientHello handshake message cut into records of 50 bytes each (RFC 8446 5.1 allows it).
    byte[] record = clientHelloBytes();
    byte[] message = Arrays.copyOfRange(record, 5, record.length);
    ByteBuffer fragmented = ByteBuffer.allocate(message.length + 5 * (message.length / 50 + 1));
    for (int at = 0; at < message.length; at += 50) {
      int n = Math.min(50, message.length - at);
      fragmented.put(new byte[] {22, 3, 1, 0, (byte) n}).put(message, at, n);
    }
    byte[] wire = Arrays.copyOf(fragmented.array(), fragmented.position());
    ClientHello hello = TlsStream.parseClientHello(wire);
    assertNotNull(hello);
    assertArrayEquals(TlsStream.parseClientHello(record).random(), hello.random());
    assertEquals("localhost", hello.serverName());
  }

  @Test
  void aTruncatedClientHelloLeavesTheStreamUndecided() {
    byte[] hello = clientHelloBytes();
    for (int cut = 1; cut < hello.length; cut += 7) {
      TlsStream s = TlsStream.feed(Arrays.copyOf(hello, cut));
      assertEquals(State.UNDECIDED, s.state(), "cut at " + cut);
      assertNull(s.clientRandom());
      assertEquals(Verdict.NOT_YET, s.verify(TlsLabel.SERVER_HANDSHAKE_TRAFFIC_SECRET, new byte[32]).verdict());
      assertSane(s);
    }
  }

  @Test
  void aClientHelloWithBrokenLengthsIsNotTls() {
    byte[] hello = clientHelloBytes();
    ByteBuffer b = ByteBuffer.wrap(hello);
    int sessionIdLength = 5 + 4 + 2 + 32;
    int suitesLength = sessionIdLength + 1 + (hello[sessionIdLength] & 0xFF);
    int compressionLength = suitesLength + 2 + (b.getShort(suitesLength) & 0xFFFF);
    int extensionsLength = compressionLength + 1 + (hello[compressionLength] & 0xFF);
    int firstExtensionLength = extensionsLength + 2 + 2;
    record Broken(int at, int bytes, String problem) {}
    for (Broken x : List.of(new Broken(sessionIdLength, 1, "session id of 255 bytes"),
        new Broken(suitesLength, 2, "cipher suites of 65535 bytes"), new Broken(compressionLength, 1, "ClientHello cut short"),
        new Broken(extensionsLength, 2, "ClientHello cut short"), new Broken(firstExtensionLength, 2, "ClientHello cut short"),
        new Broken(5 + 1, 3, "hello of 16777215 bytes"))) {
      byte[] broken = hello.clone();
      Arrays.fill(broken, x.at, x.at + x.bytes, (byte) 0xFF);
      TlsStream s = TlsStream.feed(broken);
      assertEquals(State.NOT_TLS, s.state(), s.toString());
      assertTrue(s.problem().contains(x.problem), s.problem());
      assertSane(s);
    }
  }

  @Test
  void garbageAfterAValidClientHelloIsMalformedAndTheServerSideStillVerifies() {
    List<Chunk> chunks = chunks(AES128);
    List<Chunk> withGarbage = new ArrayList<>();
    withGarbage.add(chunks.get(0));
    Chunk first = chunks.get(0);
    byte[] garbage = "GARBAGE GARBAGE GARBAGE".getBytes(StandardCharsets.US_ASCII);
    withGarbage.add(new Chunk(Side.CLIENT, first.seq + first.bytes.length, garbage));
    long shift = garbage.length;
    for (Chunk c : chunks.subList(1, chunks.size())) {
      withGarbage.add(c.side == Side.CLIENT ? new Chunk(c.side, c.seq + shift, c.bytes) : c);
    }
    TlsStream s = feed(withGarbage);
    assertEquals(State.MALFORMED, s.state());
    assertTrue(s.problem().startsWith("client: record header 47 41 52"), s.problem());
    assertNotNull(s.clientRandom());
    String sh = AES128.linesOf(s.clientRandom()).stream()
        .filter(l -> RecordedTraffic.label(l) == TlsLabel.SERVER_HANDSHAKE_TRAFFIC_SECRET).findFirst().orElseThrow();
    assertEquals(Verdict.MATCH, s.verify(TlsLabel.SERVER_HANDSHAKE_TRAFFIC_SECRET,
        RecordedTraffic.secret(sh)).verdict());
    assertEquals(Verdict.NO_MATCH, s.verify(TlsLabel.CLIENT_HANDSHAKE_TRAFFIC_SECRET, new byte[32]).verdict(),
        "no client record will come");
  }

  @Test
  void outOfOrderRetransmittedAndOverlappingSegmentsGiveTheSameResult() {
    Random random = new Random(7);
    for (int round = 0; round < 30; round++) {
      List<Chunk> original = chunks(AES128);
      List<Chunk> pieces = split(original, 20 + random.nextInt(200));
      List<Chunk> mixed = new ArrayList<>();
      for (int i = 0; i < pieces.size(); i += 6) {
        // Each side's pieces change places among themselves (the server still answers the client).
        List<Chunk> window = new ArrayList<>(pieces.subList(i, Math.min(pieces.size(), i + 6)));
        for (Side side : Side.values()) {
          List<Integer> at = new ArrayList<>();
          for (int k = 0; k < window.size(); k++) {
            if (window.get(k).side == side) {
              at.add(k);
            }
          }
          List<Chunk> mine = new ArrayList<>();
          at.forEach(k -> mine.add(window.get(k)));
          Collections.shuffle(mine, random);
          for (int k = 0; k < at.size(); k++) {
            window.set(at.get(k), mine.get(k));
          }
        }
        for (Chunk c : window) {
          mixed.add(c);
          if (random.nextInt(5) == 0) {
            mixed.add(c); // retransmitted
          }
          if (random.nextInt(7) == 0 && c.bytes.length > 4) { // an overlapping piece of it, sent again
            int from = random.nextInt(c.bytes.length / 2);
            mixed.add(new Chunk(c.side, c.seq + from, Arrays.copyOfRange(c.bytes, from, c.bytes.length)));
          }
        }
      }
      TlsStream s = feedAfterSyns(mixed, original);
      assertEquals(State.TLS, s.state(), "round " + round + ": " + s);
      assertFalse(s.lost(Side.CLIENT) || s.lost(Side.SERVER));
      assertAllSecretsMatch(s, AES128);
    }
  }

  @Test
  void sequenceNumbersThatWrapAroundWork() {
    List<Chunk> chunks = chunks(AES128);
    long clientBase = chunks.stream().filter(c -> c.side == Side.CLIENT).findFirst().orElseThrow().seq;
    long serverBase = chunks.stream().filter(c -> c.side == Side.SERVER).findFirst().orElseThrow().seq;
    List<Chunk> wrapped = new ArrayList<>();
    for (Chunk c : split(chunks, 100)) {
      // The client's stream wraps inside its ClientHello, the server's inside its handshake records.
      long base = c.side == Side.CLIENT ? clientBase - (0x1_0000_0000L - 150) : serverBase - (0x1_0000_0000L - 1000);
      wrapped.add(new Chunk(c.side, (c.seq - base) & 0xFFFFFFFFL, c.bytes));
    }
    TlsStream s = feed(wrapped);
    assertEquals(State.TLS, s.state(), s.toString());
    assertAllSecretsMatch(s, AES128);
  }

  @Test
  void aGapThatNeverFillsLosesThatDirection() {
    List<Chunk> chunks = chunks(AES128);
    TlsStream s = new TlsStream();
    Chunk hello = chunks.get(0);
    s.onSegment(Side.CLIENT, hello.seq, ByteBuffer.wrap(hello.bytes), 0, hello.bytes.length);
    // The server's data with its first 10 bytes never captured, then a long stream after the gap.
    long seq = chunks.stream().filter(c -> c.side == Side.SERVER).findFirst().orElseThrow().seq;
    s.onSyn(Side.SERVER, seq - 1);
    byte[] block = new byte[1400];
    long at = seq + 10;
    for (int i = 0; i < 100 && !s.lost(Side.SERVER); i++) {
      s.onSegment(Side.SERVER, at, ByteBuffer.wrap(block), 0, block.length);
      at += block.length;
      assertSane(s);
    }
    assertTrue(s.lost(Side.SERVER));
    assertEquals(State.LOST, s.state());
    assertTrue(s.problem().contains("server stream lost"), s.problem());
    assertEquals(Verdict.NO_MATCH, s.verify(TlsLabel.SERVER_HANDSHAKE_TRAFFIC_SECRET, new byte[32]).verdict());
    assertEquals(0, s.heldBytes() - 0, "nothing waits once lost");
  }

  @Test
  void hugeRecordLengthsAreRefusedAtTheHeader() {
    // The client announces a 65535-byte ClientHello record (TLSPlaintext is at most 2^14).
    TlsStream client = TlsStream.feed(new byte[] {22, 3, 1, (byte) 0xFF, (byte) 0xFF, 1, 0});
    assertEquals(State.NOT_TLS, client.state());
    // A ClientHello message claiming 16 MiB.
    TlsStream message = TlsStream.feed(new byte[] {22, 3, 1, 0x40, 0, 1, (byte) 0xFF, (byte) 0xFF, (byte) 0xFF});
    assertEquals(State.NOT_TLS, message.state());
    assertTrue(message.problem().contains("hello of 16777215 bytes"), message.problem());
    // After a real handshake, the server announces a 65535-byte record.
    List<Chunk> chunks = chunks(AES128);
    TlsStream s = feed(chunks.subList(0, 2));
    Chunk last = chunks.get(1);
    byte[] huge = {23, 3, 3, (byte) 0xFF, (byte) 0xFF, 0, 0, 0};
    s.onSegment(Side.SERVER, last.seq + last.bytes.length, ByteBuffer.wrap(huge), 0, huge.length);
    assertEquals(State.MALFORMED, s.state());
    assertTrue(s.problem().startsWith("server: record of 65535 bytes"), s.problem());
    assertSane(s);
  }

  @Test
  void endlessApplicationDataKeepsMemoryBounded() {
    List<Chunk> chunks = chunks(AES128);
    TlsStream s = feed(chunks.subList(0, 2)); // ClientHello; ServerHello + encrypted handshake
    Chunk last = chunks.get(1);
    long seq = last.seq + last.bytes.length;
    byte[] record = new byte[5 + (1 << 14) + 256];
    record[0] = 23;
    record[1] = 3;
    record[2] = 3;
    record[3] = (byte) ((record.length - 5) >> 8);
    record[4] = (byte) (record.length - 5);
    for (int i = 0; i < 300; i++) {
      for (int at = 0; at < record.length; at += 1448) {
        int n = Math.min(1448, record.length - at);
        s.onSegment(Side.SERVER, seq, ByteBuffer.wrap(record), at, n);
        seq += n;
      }
    }
    assertEquals(State.TLS, s.state());
    assertEquals(304, s.records(Side.SERVER), "every record counted");
    assertTrue(s.heldBytes() <= TlsStream.DEFAULT_MAX_KEPT_RECORDS * (long) record.length, s.heldBytes() + " bytes");
    assertEquals(Verdict.NO_MATCH, s.verify(TlsLabel.SERVER_TRAFFIC_SECRET_0, new byte[32]).verdict(),
        "past the kept records nothing more can be proven");
  }

  @Test
  void badArgumentsAreIgnored() {
    TlsStream s = new TlsStream();
    ByteBuffer b = ByteBuffer.wrap(clientHelloBytes());
    assertFalse(s.onSegment(null, 0, b, 0, 10));
    assertFalse(s.onSegment(Side.CLIENT, 0, null, 0, 10));
    assertFalse(s.onSegment(Side.CLIENT, 0, b, -1, 10));
    assertFalse(s.onSegment(Side.CLIENT, 0, b, 0, b.limit() + 1));
    assertFalse(s.onSegment(Side.CLIENT, 0, b, b.limit(), 1));
    assertFalse(s.onSegment(Side.CLIENT, 0, b, 0, 0));
    assertEquals(State.UNDECIDED, s.state());
    assertEquals(Verdict.NO_MATCH, s.verify(null, new byte[32]).verdict());
    assertEquals(Verdict.NO_MATCH, s.verify(TlsLabel.CLIENT_TRAFFIC_SECRET_0, null).verdict());
  }

  @Test
  void randomBytesNeverThrow() {
    Random random = new Random(11);
    for (int i = 0; i < 3000; i++) {
      byte[][] segments = new byte[1 + random.nextInt(6)][];
      for (int k = 0; k < segments.length; k++) {
        segments[k] = new byte[random.nextInt(300)];
        random.nextBytes(segments[k]);
        if (k == 0 && random.nextBoolean() && segments[k].length > 6) {
          // Often a plausible start, so the parser goes deeper.
          System.arraycopy(new byte[] {22, 3, 1, 1, 0, 1}, 0, segments[k], 0, 6);
        }
      }
      TlsStream s = TlsStream.feed(segments);
      assertSane(s);
      for (TlsLabel label : TlsLabel.values()) {
        s.verify(label, new byte[32]);
      }
      assertSane(s);
    }
  }

  @Test
  void mutatedRecordedHandshakesNeverThrow() {
    Random random = new Random(13);
    for (String fixture : RecordedTraffic.ALL) {
      RecordedTraffic t = RecordedTraffic.load(fixture);
      List<Chunk> original = chunks(t);
      for (int round = 0; round < 300; round++) {
        List<Chunk> mutated = new ArrayList<>();
        for (Chunk c : original) {
          byte[] bytes = c.bytes.clone();
          int flips = random.nextInt(3);
          for (int f = 0; f < flips; f++) {
            bytes[random.nextInt(bytes.length)] = (byte) random.nextInt(256);
          }
          if (random.nextInt(10) == 0) {
            bytes = Arrays.copyOf(bytes, random.nextInt(bytes.length + 1));
          }
          if (bytes.length > 0) {
            mutated.add(new Chunk(c.side, c.seq, bytes));
          }
        }
        TlsStream s = feed(mutated);
        for (String line : t.keyLog) {
          s.verify(RecordedTraffic.label(line), RecordedTraffic.secret(line));
          s.keyed(RecordedTraffic.label(line), RecordedTraffic.secret(line), null);
        }
        assertSane(s);
      }
    }
  }

  @Test
  void mutatedClientHellosNeverThrow() {
    Random random = new Random(17);
    byte[] hello = clientHelloBytes();
    int parsed = 0;
    for (int i = 0; i < 20000; i++) {
      byte[] m = hello.clone();
      for (int f = 1 + random.nextInt(4); f > 0; f--) {
        m[5 + random.nextInt(m.length - 5)] = (byte) random.nextInt(256);
      }
      if (TlsStream.parseClientHello(m) != null) {
        parsed++;
      }
    }
    assertTrue(parsed > 0 && parsed < 20000, parsed + " of the mutated hellos still parse");
  }
}

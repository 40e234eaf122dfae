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
import java.util.EnumSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.FieldSource;

/** TlsStream on real recorded handshakes (curl, openssl s_client, openssl s_server): parsing and verification. */
class TlsStreamTest {
  static final List<String> FIXTURES = RecordedTraffic.ALL;

  private static Replay replayed(String fixture) {
    return new Replay(RecordedTraffic.load(fixture)).packets();
  }

  @ParameterizedTest
  @FieldSource("FIXTURES")
  void everyKeyLogLineVerifiesOnItsConnectionAndAWrongSecretDoesNot(String fixture) {
    Replay r = replayed(fixture);
    assertEquals(r.traffic.randoms().size(), r.streams.length, "one key log random per connection");
    for (int i = 0; i < r.streams.length; i++) {
      TlsStream s = r.streams[i];
      assertEquals(State.TLS, s.state(), s.toString());
      List<String> lines = r.expectedLines(i);
      assertFalse(lines.isEmpty(), "connection " + i + " has key log lines");
      for (String line : lines) {
        TlsLabel label = RecordedTraffic.label(line);
        byte[] secret = RecordedTraffic.secret(line);
        Verdict expected = label == TlsLabel.EXPORTER_SECRET ? Verdict.NO_MATCH : Verdict.MATCH;
        assertEquals(expected, s.verify(label, secret).verdict(), fixture + " " + i + ": " + line);
        byte[] wrong = secret.clone();
        wrong[wrong.length - 1] ^= 1;
        assertEquals(Verdict.NO_MATCH, s.verify(label, wrong).verdict(),
            fixture + " " + i + ": a flipped bit of " + label);
        // Another connection's secret of the same label does not open this one's records.
        for (int j = 0; j < r.streams.length; j++) {
          if (j != i) {
            for (String other : r.expectedLines(j)) {
              if (RecordedTraffic.label(other) == label) {
                assertEquals(Verdict.NO_MATCH, r.streams[j].verify(label, secret).verdict(),
                    "connection " + j + " vs " + line);
              }
            }
          }
        }
      }
    }
  }

  @Test
  void helloFieldsOfATls13Connection() {
    Replay r = replayed("tls13-aes256-gcm");
    TlsStream s = r.streams[0];
    assertEquals("localhost", s.serverName());
    assertEquals(TlsStream.TLS_1_3, s.version());
    assertEquals(0x1302, s.cipherSuite());
    assertEquals(RecordedTraffic.randomHex(r.traffic.keyLog.get(0)), HexFormat.of().formatHex(s.clientRandom()));
    assertEquals(List.of("h2", "http/1.1"), s.clientHello().alpn());
    assertTrue(s.clientHello().supportedVersions().contains(TlsStream.TLS_1_3));
    assertEquals(32, s.clientHello().sessionId().length, "TLS 1.3 compatibility mode sends a session id");
    assertNotNull(s.serverRandom());
    assertFalse(s.helloRetryRequest());
    assertNull(s.problem());
  }

  @ParameterizedTest
  @FieldSource("FIXTURES")
  void suitesAndVersions(String fixture) {
    int expectedSuite = switch (fixture) {
      case "tls13-aes128-gcm" -> 0x1301;
      case "tls13-chacha20" -> 0x1303;
      case "tls12" -> 0xC02C; // ECDHE-ECDSA-AES256-GCM-SHA384 with the P-256 certificate
      case "tls12-offered-tls13" -> 0xCCA9; // ECDHE-ECDSA-CHACHA20-POLY1305
      default -> 0x1302;
    };
    for (TlsStream s : replayed(fixture).streams) {
      assertEquals(expectedSuite, s.cipherSuite(), fixture);
      assertEquals(fixture.startsWith("tls12") ? TlsStream.TLS_1_2 : TlsStream.TLS_1_3, s.version(), fixture);
    }
  }

  @Test
  void helloRetryRequestIsFollowedToTheRealServerHello() {
    Replay r = replayed("tls13-hrr");
    TlsStream s = r.streams[0];
    assertTrue(s.helloRetryRequest());
    assertEquals(0x1302, s.cipherSuite());
    assertEquals(TlsStream.TLS_1_3, s.version());
    for (String line : r.expectedLines(0)) {
      if (RecordedTraffic.label(line) != TlsLabel.EXPORTER_SECRET) {
        assertEquals(Verdict.MATCH, s.verify(RecordedTraffic.label(line), RecordedTraffic.secret(line)).verdict(),
            line);
      }
    }
  }

  @Test
  void earlyDataConnectionNeedsTheEarlySecretAndTheOtherDoesNot() {
    Replay r = replayed("tls13-early-data");
    TlsStream full = r.streams[0];
    TlsStream zeroRtt = r.streams[1];
    assertFalse(full.clientHello().offersEarlyData());
    assertTrue(zeroRtt.clientHello().offersEarlyData());
    Set<TlsLabel> four = EnumSet.of(TlsLabel.CLIENT_HANDSHAKE_TRAFFIC_SECRET, TlsLabel.SERVER_HANDSHAKE_TRAFFIC_SECRET,
        TlsLabel.CLIENT_TRAFFIC_SECRET_0, TlsLabel.SERVER_TRAFFIC_SECRET_0);
    assertEquals(four, full.neededLabels());
    Set<TlsLabel> five = EnumSet.copyOf(four);
    five.add(TlsLabel.CLIENT_EARLY_TRAFFIC_SECRET);
    assertEquals(five, zeroRtt.neededLabels());
    // The early key opens the 0-RTT request (client record 0) and EndOfEarlyData (record 1); the
    // handshake key starts at record 2.
    String early = r.expectedLines(1).stream()
        .filter(l -> RecordedTraffic.label(l) == TlsLabel.CLIENT_EARLY_TRAFFIC_SECRET).findFirst().orElseThrow();
    assertEquals(Verdict.MATCH, zeroRtt.verify(TlsLabel.CLIENT_EARLY_TRAFFIC_SECRET,
        RecordedTraffic.secret(early)).verdict());
    assertEquals(Verdict.NO_MATCH, full.verify(TlsLabel.CLIENT_EARLY_TRAFFIC_SECRET,
        RecordedTraffic.secret(early)).verdict(), "no early data offered: never a match");
    zeroRtt.keyed(TlsLabel.CLIENT_EARLY_TRAFFIC_SECRET, RecordedTraffic.secret(early), null);
    assertEquals(four, zeroRtt.missingLabels());
  }

  @Test
  void tls12NeedsTheMasterSecretOnly() {
    Replay r = replayed("tls12");
    TlsStream s = r.streams[0];
    assertEquals(EnumSet.of(TlsLabel.CLIENT_RANDOM), s.neededLabels());
    String line = r.expectedLines(0).get(0);
    assertEquals(Verdict.NO_MATCH, s.verify(TlsLabel.SERVER_HANDSHAKE_TRAFFIC_SECRET, new byte[48]).verdict(),
        "TLS 1.3 labels never match a TLS 1.2 connection");
    s.keyed(TlsLabel.CLIENT_RANDOM, RecordedTraffic.secret(line), null);
    assertTrue(s.fullyKeyed());
    assertTrue(s.missingLabels().isEmpty());
    assertEquals(0, s.heldBytes(), "records are dropped once keyed");
  }

  @Test
  void notYetBeforeTheRecordsArriveThenMatch() {
    RecordedTraffic t = RecordedTraffic.load("tls13-aes128-gcm");
    List<String> lines = t.keyLog;
    TlsStream s = new TlsStream();
    long[] next = new long[2];
    RecordedTraffic.Segment serverFirst = null;
    for (RecordedTraffic.Segment seg : t.segments) {
      if (seg.connection() != 0 || seg.payload().length == 0) {
        continue;
      }
      if (seg.side() == Side.SERVER) {
        serverFirst = seg;
        break;
      }
      s.onSegment(seg.side(), seg.seq(), ByteBuffer.wrap(seg.payload()), 0, seg.payload().length);
    }
    assertNotNull(serverFirst);
    byte[] shSecret = secretOf(t, s, TlsLabel.SERVER_HANDSHAKE_TRAFFIC_SECRET);
    assertEquals(State.TLS, s.state());
    assertEquals(Verdict.NOT_YET, s.verify(TlsLabel.SERVER_HANDSHAKE_TRAFFIC_SECRET, shSecret).verdict(),
        "no ServerHello yet");
    // The server's first segment holds ServerHello, ChangeCipherSpec and the encrypted handshake:
    // feed only the ServerHello record first.
    byte[] p = serverFirst.payload();
    int helloRecord = 5 + ((p[3] & 0xFF) << 8 | (p[4] & 0xFF));
    assertTrue(s.onSegment(Side.SERVER, serverFirst.seq(), ByteBuffer.wrap(p), 0, helloRecord));
    assertEquals(TlsStream.TLS_1_3, s.version());
    assertEquals(Verdict.NOT_YET, s.verify(TlsLabel.SERVER_HANDSHAKE_TRAFFIC_SECRET, shSecret).verdict(),
        "no record yet");
    assertTrue(s.onSegment(Side.SERVER, serverFirst.seq() + helloRecord, ByteBuffer.wrap(p), helloRecord,
        p.length - helloRecord));
    assertEquals(Verdict.MATCH, s.verify(TlsLabel.SERVER_HANDSHAKE_TRAFFIC_SECRET, shSecret).verdict());
    assertEquals(Verdict.NOT_YET, s.verify(TlsLabel.SERVER_TRAFFIC_SECRET_0,
        secretOf(t, s, TlsLabel.SERVER_TRAFFIC_SECRET_0)).verdict(),
        "the server's first application record has not come");
    assertEquals(Verdict.NOT_YET, s.verify(TlsLabel.CLIENT_HANDSHAKE_TRAFFIC_SECRET,
        secretOf(t, s, TlsLabel.CLIENT_HANDSHAKE_TRAFFIC_SECRET)).verdict(), "the client's Finished has not come");
    assertTrue(lines.size() >= 5);
  }

  @Test
  void keyingTheHandshakeSecretFindsWhereTheTrafficKeyStarts() {
    Replay r = replayed("tls13-aes128-gcm");
    TlsStream s = r.streams[0];
    RecordedTraffic t = r.traffic;
    // The server sends EncryptedExtensions, Certificate, CertificateVerify, Finished in four records.
    assertTrue(s.records(Side.SERVER) >= 5, "server records: " + s.records(Side.SERVER));
    long before = s.trialDecryptions();
    s.keyed(TlsLabel.SERVER_HANDSHAKE_TRAFFIC_SECRET, secretOf(t, s, TlsLabel.SERVER_HANDSHAKE_TRAFFIC_SECRET), null);
    assertTrue(s.trialDecryptions() - before >= 4, "followed the handshake records");
    // The traffic key is now tried on one record only: a wrong secret costs one attempt.
    before = s.trialDecryptions();
    assertEquals(Verdict.NO_MATCH, s.verify(TlsLabel.SERVER_TRAFFIC_SECRET_0, new byte[32]).verdict());
    assertEquals(1, s.trialDecryptions() - before);
    assertEquals(Verdict.MATCH, s.verify(TlsLabel.SERVER_TRAFFIC_SECRET_0,
        secretOf(t, s, TlsLabel.SERVER_TRAFFIC_SECRET_0)).verdict());
  }

  @Test
  void aSecretOfTheWrongLengthIsNoMatchWithoutDecrypting() {
    TlsStream s = replayed("tls13-aes256-gcm").streams[0];
    long before = s.trialDecryptions();
    assertEquals(Verdict.NO_MATCH, s.verify(TlsLabel.SERVER_HANDSHAKE_TRAFFIC_SECRET, new byte[32]).verdict(),
        "SHA-384 suite");
    assertEquals(Verdict.NO_MATCH, s.verify(TlsLabel.CLIENT_RANDOM, new byte[48]).verdict(),
        "TLS 1.2 label on TLS 1.3");
    assertEquals(before, s.trialDecryptions());
  }

  @Test
  void aesCcmIsUnsupported() {
    // The recorded handshake with its ServerHello's cipher suite rewritten to TLS_AES_128_CCM_SHA256.
    RecordedTraffic t = RecordedTraffic.load("tls13-aes128-gcm");
    TlsStream s = new TlsStream();
    for (RecordedTraffic.Segment seg : t.segments) {
      if (seg.connection() != 0 || seg.payload().length == 0) {
        continue;
      }
      byte[] p = seg.payload().clone();
      if (seg.side() == Side.SERVER && p[0] == 22 && p[5] == 2) {
        int suite = 5 + 4 + 2 + 32 + 1 + (p[5 + 4 + 2 + 32] & 0xFF);
        assertEquals(0x1301, (p[suite] & 0xFF) << 8 | (p[suite + 1] & 0xFF));
        p[suite + 1] = 0x04;
      }
      s.onSegment(seg.side(), seg.seq(), ByteBuffer.wrap(p), 0, p.length);
    }
    assertEquals(0x1304, s.cipherSuite());
    assertEquals(Verdict.UNSUPPORTED, s.verify(TlsLabel.SERVER_HANDSHAKE_TRAFFIC_SECRET, new byte[32]).verdict());
  }

  @Test
  void readOnlyDirectBuffersAtAnOffsetWork() {
    RecordedTraffic t = RecordedTraffic.load("tls13-chacha20");
    TlsStream s = new TlsStream();
    for (RecordedTraffic.Segment seg : t.segments) {
      if (seg.payload().length == 0) {
        continue;
      }
      ByteBuffer direct = ByteBuffer.allocateDirect(seg.payload().length + 100);
      direct.put(37, seg.payload());
      ByteBuffer ro = direct.asReadOnlyBuffer();
      ro.position(3).limit(37 + seg.payload().length + 10);
      s.onSegment(seg.side(), seg.seq(), ro, 37, seg.payload().length);
      assertEquals(3, ro.position(), "position untouched");
    }
    for (String line : t.keyLog) {
      if (RecordedTraffic.label(line) != TlsLabel.EXPORTER_SECRET) {
        assertEquals(Verdict.MATCH, s.verify(RecordedTraffic.label(line), RecordedTraffic.secret(line)).verdict(),
            line);
      }
    }
  }

  @Test
  void parseClientHelloReadsTheRecordedOne() {
    RecordedTraffic t = RecordedTraffic.load("tls13-aes128-gcm");
    byte[] first = t.segments.stream().filter(s -> s.side() == Side.CLIENT && s.payload().length > 0)
        .findFirst().orElseThrow().payload();
    ClientHello hello = TlsStream.parseClientHello(first);
    assertNotNull(hello);
    assertArrayEquals(HexFormat.of().parseHex(RecordedTraffic.randomHex(t.keyLog.get(0))), hello.random());
    assertEquals("localhost", hello.serverName());
    assertNull(TlsStream.parseClientHello(new byte[] {22, 3, 1, 0, 5, 1, 0, 0, 1, 3}));
  }

  static byte[] secretOf(RecordedTraffic t, TlsStream s, TlsLabel label) {
    return t.linesOf(s.clientRandom()).stream().filter(l -> RecordedTraffic.label(l) == label)
        .map(RecordedTraffic::secret).findFirst().orElseThrow();
  }
}

// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.capture.tls;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import dev.tlscap.capture.tls.TlsStream.Side;
import dev.tlscap.capture.tls.TlsStream.State;
import dev.tlscap.capture.tls.TlsStream.Verdict;
import dev.tlscap.secrets.TlsLabel;
import java.nio.ByteBuffer;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * What {@link TlsStreamFuzzTest} found, each as the exact calls and bytes that showed it (recorded
 * segments of a fixture, or the fuzzer's bytes in hex), kept as plain tests.
 */
class TlsStreamFuzzRegressionTest {
  static final RecordedTraffic AES128 = RecordedTraffic.load("tls13-aes128-gcm");

  /** Connection 0's segments with payload, in capture order. */
  static List<RecordedTraffic.Segment> segments(RecordedTraffic t) {
    return t.segments.stream().filter(s -> s.connection() == 0 && s.payload().length > 0).toList();
  }

  static boolean feed(TlsStream s, RecordedTraffic.Segment segment) {
    return s.onSegment(segment.side(), segment.seq(), ByteBuffer.wrap(segment.payload()), 0, segment.payload().length);
  }

  static String line(RecordedTraffic t, byte[] random, TlsLabel label) {
    return t.linesOf(random).stream().filter(l -> RecordedTraffic.label(l) == label).findFirst().orElseThrow();
  }

  /**
   * Found in the first minute: both server secrets keyed by client random (socket tracing) before
   * the ServerHello was captured. The ServerHello then settled everything the server side needs,
   * the side was released in the middle of parsing its hello, and the parser went on into the
   * released buffer (NullPointerException, caught as "server: internal error", the stream
   * MALFORMED).
   */
  @Test
  void serverSecretsKeyedBeforeTheServerHelloReleaseTheServerSideCleanly() {
    TlsStream s = new TlsStream();
    List<RecordedTraffic.Segment> segments = segments(AES128);
    RecordedTraffic.Segment clientHello = segments.get(0);
    assertEquals(Side.CLIENT, clientHello.side());
    feed(s, clientHello);
    for (TlsLabel label : List.of(TlsLabel.SERVER_TRAFFIC_SECRET_0, TlsLabel.SERVER_HANDSHAKE_TRAFFIC_SECRET)) {
      s.keyed(label, RecordedTraffic.secret(line(AES128, s.clientRandom(), label)), null);
    }
    for (RecordedTraffic.Segment segment : segments.subList(1, segments.size())) {
      feed(s, segment);
    }
    assertNull(s.problem(), s.toString());
    assertEquals(State.TLS, s.state());
    for (TlsLabel label : List.of(TlsLabel.CLIENT_HANDSHAKE_TRAFFIC_SECRET, TlsLabel.CLIENT_TRAFFIC_SECRET_0)) {
      SecretProof proof = s.verify(label, RecordedTraffic.secret(line(AES128, s.clientRandom(), label)));
      assertEquals(Verdict.MATCH, proof.verdict(), label + " on " + s);
    }
  }

  /**
   * Found after 11 minutes: a ClientHello that offers early data (here: the recorded one with its
   * empty extended_master_secret extension, 00 17 00 00, renamed early_data, 00 2a 00 00) whose
   * client then sends no 0-RTT record: the handshake key opens the client's record 0, so no early
   * secret is needed. Once the client's secrets were all keyed its side was released, which also
   * forgot where its handshake key started; the stream then believed early data possible again,
   * asked for CLIENT_EARLY_TRAFFIC_SECRET and never became fully keyed (its packets waited for the
   * hold timeout and were counted as released without their secrets).
   */
  @Test
  void earlyDataOfferedButNotSentNeedsNoEarlySecretAfterTheClientSideIsReleased() {
    List<RecordedTraffic.Segment> segments = segments(AES128);
    byte[] hello = segments.get(0).payload().clone();
    int at = indexOf(hello, new byte[] {0, 0x16, 0, 0, 0, 0x17, 0, 0});
    hello[at + 5] = 0x2a;
    TlsStream s = new TlsStream();
    s.onSegment(Side.CLIENT, segments.get(0).seq(), ByteBuffer.wrap(hello), 0, hello.length);
    for (RecordedTraffic.Segment segment : segments.subList(1, segments.size())) {
      feed(s, segment);
    }
    assertEquals(true, s.clientHello().offersEarlyData());
    byte[] random = s.clientRandom();
    for (TlsLabel label : List.of(TlsLabel.CLIENT_HANDSHAKE_TRAFFIC_SECRET, TlsLabel.CLIENT_TRAFFIC_SECRET_0,
        TlsLabel.SERVER_HANDSHAKE_TRAFFIC_SECRET, TlsLabel.SERVER_TRAFFIC_SECRET_0)) {
      byte[] secret = RecordedTraffic.secret(line(AES128, random, label));
      SecretProof proof = s.verify(label, secret);
      assertEquals(Verdict.MATCH, proof.verdict(), label.toString());
      s.keyed(label, secret, proof);
    }
    assertEquals(java.util.Set.of(), s.missingLabels(), s.toString());
    assertEquals(true, s.fullyKeyed(), s.toString());
  }

  static int indexOf(byte[] b, byte[] what) {
    for (int i = 0; i + what.length <= b.length; i++) {
      if (java.util.Arrays.equals(b, i, i + what.length, what, 0, what.length)) {
        return i;
      }
    }
    throw new AssertionError("not found");
  }

  /**
   * Found after 11 minutes (and confirmed with tshark): a client that answers a HelloRetryRequest
   * with a second ClientHello whose random differs from its first (RFC 8446 4.1.2 forbids it; the
   * server goes on all the same). Peers and Wireshark go by the second hello's random; the stream
   * kept the first one's, so every line keyed by trial decryption named a random the file's reader
   * never matches (the capture did not decrypt), and secrets that came with the real random waited
   * for a stream that never had it.
   */
  @Test
  void aSecondClientHelloAfterAHelloRetryRequestSetsTheRandom() {
    RecordedTraffic hrr = RecordedTraffic.load("tls13-hrr");
    List<RecordedTraffic.Segment> segments = segments(hrr);
    byte[] first = segments.get(0).payload().clone();
    first[5 + 4 + 2] ^= (byte) 0xFF; // the first ClientHello's random, first byte
    String real = RecordedTraffic.randomHex(hrr.keyLog.get(0));

    List<String> keyed = new java.util.ArrayList<>();
    SecretMatcher matcher = new SecretMatcher();
    MatcherListener listener = (stream, label, line, source) -> keyed.add(line);
    TlsStream s = new TlsStream();
    s.onSegment(Side.CLIENT, segments.get(0).seq(), ByteBuffer.wrap(first), 0, first.length);
    listener.accept(matcher.onStream(s));
    assertEquals(false, real.equals(java.util.HexFormat.of().formatHex(s.clientRandom())));
    long now = 1;
    for (RecordedTraffic.Segment segment : segments.subList(1, segments.size())) {
      if (feed(s, segment)) {
        listener.accept(matcher.onRecords(s, now++));
      }
    }
    assertEquals(true, s.helloRetryRequest());
    assertEquals(real, java.util.HexFormat.of().formatHex(s.clientRandom()), "the second ClientHello's random");
    assertNull(s.problem(), s.toString());
    // A secret that comes with the real random (socket tracing) is keyed to the stream at once;
    // the others are proven by decryption and their lines name the real random too.
    for (String line : hrr.linesOf(s.clientRandom())) {
      byte[] random = line.startsWith("SERVER_HANDSHAKE") ? s.clientRandom() : null;
      listener.accept(matcher.onSecret(new dev.tlscap.secrets.TlsSecret(0, 1, 1, "openssl", null, random,
          RecordedTraffic.label(line), RecordedTraffic.secret(line)), now++));
    }
    java.util.Set<String> expected = new java.util.HashSet<>(hrr.linesOf(s.clientRandom()));
    expected.removeIf(l -> l.startsWith("EXPORTER_SECRET ")); // keyed by thread order, not sent in it here
    keyed.removeIf(l -> l.startsWith("EXPORTER_SECRET "));
    assertEquals(expected, new java.util.HashSet<>(keyed));
    assertEquals(true, s.fullyKeyed(), s.toString());
  }
}

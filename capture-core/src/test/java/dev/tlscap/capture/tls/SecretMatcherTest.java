// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.capture.tls;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tlscap.secrets.TlsLabel;
import dev.tlscap.secrets.TlsSecret;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * SecretMatcher on the recorded connections: the key log's secrets, delivered without their client
 * random as the uprobes deliver them, come back as exactly the key log's lines, on the right
 * connections.
 */
class SecretMatcherTest {
  enum When { BEFORE_THE_PACKETS, AT_THE_CLIENT_HELLO, AFTER_THE_PACKETS }

  static Stream<Arguments> fixturesAndTimings() {
    return RecordedTraffic.ALL.stream().flatMap(f -> Stream.of(When.values()).map(w -> Arguments.of(f, w)));
  }

  /** Client-side secrets (OpenSSL's client derivation order) of each connection, from pid 1 tid 1, without random. */
  static List<TlsSecret> clientSecrets(RecordedTraffic t, String random) {
    return RecordedTraffic.events(linesOf(t, random), RecordedTraffic.CLIENT_ORDER, 1, 1, false);
  }

  static List<String> linesOf(RecordedTraffic t, String random) {
    return t.keyLog.stream().filter(l -> RecordedTraffic.randomHex(l).equals(random)).toList();
  }

  static void assertEveryLineKeyedOnce(Replay r) {
    for (int i = 0; i < r.streams.length; i++) {
      assertEquals(new TreeSet<>(r.expectedLines(i)), new TreeSet<>(r.keyedLines(i)),
          r.traffic.name + " connection " + i);
      assertEquals(r.expectedLines(i).size(), r.keyedLines(i).size(), "each line once");
      assertTrue(r.streams[i].fullyKeyed(), r.streams[i].toString());
      assertTrue(r.fullyKeyed.contains(r.streams[i]));
    }
    assertEquals(r.streams.length, r.fullyKeyed.size(), "onFullyKeyed once per stream");
    assertEquals(r.traffic.keyLog.size(), r.allLines.size());
    assertEquals(0, r.matcher.counters().unmatched());
    assertEquals(0, r.matcher.waitingSecrets());
  }

  @ParameterizedTest
  @MethodSource("fixturesAndTimings")
  void everyKeyLogLineIsReproducedFromSecretsWithoutRandom(String fixture, When when) {
    Replay r = new Replay(RecordedTraffic.load(fixture));
    List<String> randoms = r.traffic.randoms();
    switch (when) {
      case BEFORE_THE_PACKETS -> {
        for (String random : randoms) {
          r.secrets(clientSecrets(r.traffic, random));
        }
        r.packets();
      }
      case AT_THE_CLIENT_HELLO -> {
        for (int c = 0; c < r.streams.length; c++) {
          r.untilClientHello(c);
          r.secrets(clientSecrets(r.traffic, r.randoms().get(c)));
        }
        r.packets();
      }
      case AFTER_THE_PACKETS -> {
        r.packets();
        for (String random : randoms) {
          r.secrets(clientSecrets(r.traffic, random));
        }
      }
    }
    assertEveryLineKeyedOnce(r);
    MatcherCounters c = r.matcher.counters();
    boolean tls12 = fixture.startsWith("tls12");
    assertEquals(tls12 ? 0 : randoms.size(), c.keyedByThread(), "EXPORTER_SECRET by thread");
    assertEquals(r.traffic.keyLog.size() - c.keyedByThread(), c.keyedByTrial());
    assertTrue(c.trialDecryptions() >= c.keyedByTrial());
  }

  @Test
  void interleavedHandshakesOfOneThreadAreKeyedToTheirOwnConnections() {
    RecordedTraffic t = RecordedTraffic.load("tls13-aes128-gcm"); // two connections, same suite
    for (boolean secretsFirst : new boolean[] {true, false}) {
      Replay r = new Replay(t);
      List<String> randoms = t.randoms();
      List<TlsSecret> a = clientSecrets(t, randoms.get(0)); // SH, ST0, EXP, CH, CT0
      List<TlsSecret> b = clientSecrets(t, randoms.get(1));
      // One thread driving both handshakes: each EXPORTER still right after its own SERVER_TRAFFIC_SECRET_0.
      List<TlsSecret> mixed = List.of(a.get(0), b.get(0), b.get(1), b.get(2), a.get(1), a.get(2), b.get(3),
          a.get(3), a.get(4), b.get(4));
      if (secretsFirst) {
        r.secrets(mixed).packets();
      } else {
        r.packets().secrets(mixed);
      }
      assertEveryLineKeyedOnce(r);
    }
  }

  @Test
  void anExporterDerivedBeforeTheTrafficSecretsGoesWithThem() {
    RecordedTraffic t = RecordedTraffic.load("tls13-aes128-gcm");
    for (boolean secretsFirst : new boolean[] {true, false}) {
      Replay r = new Replay(t);
      List<TlsSecret> gnutlsOrder = new ArrayList<>();
      for (String random : t.randoms()) {
        List<TlsSecret> s = clientSecrets(t, random); // SH, ST0, EXP, CH, CT0
        // GnuTLS (lib/handshake-tls13.c): CH, SH, then EXP before the traffic secrets CT0, ST0
        gnutlsOrder.addAll(List.of(s.get(3), s.get(0), s.get(2), s.get(4), s.get(1)));
      }
      if (secretsFirst) {
        r.secrets(gnutlsOrder).packets();
      } else {
        r.packets().secrets(gnutlsOrder);
      }
      assertEveryLineKeyedOnce(r);
      assertEquals(t.randoms().size(), r.matcher.counters().keyedByThread(), "each exporter by its thread");
      assertEquals(0, r.matcher.counters().unmatched());
    }
  }

  @Test
  void bothEndsTracedGiveEachLineOnceAndReportTheSecondProcess() {
    RecordedTraffic t = RecordedTraffic.load("tls13-aes128-gcm");
    Replay both = new Replay(t);
    Replay serverOnly = new Replay(t);
    for (String random : t.randoms()) {
      List<TlsSecret> server = RecordedTraffic.events(linesOf(t, random), RecordedTraffic.SERVER_ORDER, 2, 2, false);
      List<TlsSecret> client = RecordedTraffic.events(linesOf(t, random), RecordedTraffic.CLIENT_ORDER, 1, 1, false);
      both.secrets(server).secrets(client);
      serverOnly.secrets(server);
    }
    both.packets();
    serverOnly.packets();
    assertEveryLineKeyedOnce(both);
    assertEquals(t.keyLog.size(), both.keyedAgain.size(), both.keyedAgain.toString());
    for (int i = 0; i < both.streams.length; i++) {
      Set<Integer> pids = new HashSet<>();
      both.sources.get(both.streams[i]).forEach(e -> pids.add(e.pid()));
      assertEquals(Set.of(1, 2), pids, "both processes reported for connection " + i);
    }
    assertEquals(serverOnly.matcher.counters().trialDecryptions(), both.matcher.counters().trialDecryptions(),
        "the second process's copies are not decrypted again");
    // And when the second copy comes after the first was keyed: no decryption at all for it.
    long trials = both.matcher.counters().trialDecryptions();
    both.secrets(RecordedTraffic.events(linesOf(t, t.randoms().get(0)), RecordedTraffic.SERVER_ORDER, 3, 3, false));
    assertEquals(trials, both.matcher.counters().trialDecryptions());
    assertEquals(t.keyLog.size() + 5, both.keyedAgain.size());
  }

  @Test
  void secretsWithTheirRandomAreKeyedAtOnceOrWhenTheirStreamAppears() {
    RecordedTraffic t = RecordedTraffic.load("tls12");
    String random = t.randoms().get(0);
    Replay before = new Replay(t);
    before.secrets(RecordedTraffic.events(linesOf(t, random), RecordedTraffic.CLIENT_ORDER, 1, 1, true));
    assertEquals(1, before.matcher.waitingSecrets(), "waits for its stream");
    before.packets();
    assertEveryLineKeyedOnce(before);
    assertEquals(1, before.matcher.counters().keyedByRandom());
    assertEquals(0, before.matcher.counters().trialDecryptions());

    Replay after = new Replay(t).packets();
    after.secrets(RecordedTraffic.events(linesOf(t, random), RecordedTraffic.CLIENT_ORDER, 1, 1, true));
    assertEveryLineKeyedOnce(after);
    assertEquals(1, after.matcher.counters().keyedByRandom());
  }

  @Test
  void aClientOfferingTls13WhoseMasterSecretCameIsFullyKeyedBeforeTheServerHello() {
    // A master secret exists only below TLS 1.3: it settles the version before the ServerHello, so
    // the stream is complete in the onKeyed call that brings it.
    RecordedTraffic t = RecordedTraffic.load("tls12-offered-tls13");
    TlsStream s = new TlsStream();
    RecordedTraffic.Segment hello = t.segments.stream().filter(g -> g.payload().length > 0).findFirst().orElseThrow();
    s.onSegment(hello.side(), hello.seq(), java.nio.ByteBuffer.wrap(hello.payload()), 0, hello.payload().length);
    assertTrue(s.clientHello().offersTls13());
    assertEquals(4, s.neededLabels().size(), "until a secret or the ServerHello says otherwise: what TLS 1.3 needs");
    List<Boolean> emptyInOnKeyed = new ArrayList<>();
    SecretMatcher m = new SecretMatcher();
    MatcherListener listener = new MatcherListener() {
      @Override
      public void onKeyed(TlsStream stream, TlsLabel label, String line, TlsSecret source) {
        emptyInOnKeyed.add(stream.missingLabels().isEmpty());
      }
    };
    listener.accept(m.onRecords(s, 1));
    for (TlsSecret e : RecordedTraffic.events(t.keyLog, RecordedTraffic.CLIENT_ORDER, 1, 1, true)) {
      listener.accept(m.onSecret(e, 2));
    }
    assertEquals(List.of(true), emptyInOnKeyed);
    assertTrue(s.fullyKeyed());
    assertEquals(1, m.counters().streamsFullyKeyed());
  }

  @Test
  void tls13SecretsWithTheirRandomAreKeyedWithoutDecrypting() {
    RecordedTraffic t = RecordedTraffic.load("tls13-chacha20");
    Replay r = new Replay(t).packets();
    r.secrets(RecordedTraffic.events(t.keyLog, RecordedTraffic.CLIENT_ORDER, 1, 1, true));
    assertEveryLineKeyedOnce(r);
    assertEquals(t.keyLog.size(), r.matcher.counters().keyedByRandom());
  }

  @Test
  void aWrongSecretWithTheRightClientRandomIsRejectedAndDoesNotBlockTheRightOne() {
    // socket tracing's guess, say: the right random, a wrong secret, before the right one
    RecordedTraffic t = RecordedTraffic.load("tls13-aes128-gcm");
    String random = t.randoms().get(0);
    Replay r = new Replay(t).packets();
    List<TlsSecret> right = clientSecrets(t, random);
    TlsSecret first = right.stream().filter(e -> e.label() == TlsLabel.SERVER_HANDSHAKE_TRAFFIC_SECRET).findFirst()
        .orElseThrow();
    byte[] wrong = first.secret().clone();
    wrong[0] ^= 1;
    r.secrets(List.of(new TlsSecret(0, 7, 7, "guess", null, java.util.HexFormat.of().parseHex(random),
        first.label(), wrong)));
    assertTrue(r.allLines.isEmpty(), "a wrong secret is never keyed: " + r.allLines);
    assertEquals(1, r.matcher.counters().rejected());
    r.secrets(right);
    assertEquals(new java.util.TreeSet<>(t.linesOf(java.util.HexFormat.of().parseHex(random))),
        new java.util.TreeSet<>(r.lines.get(r.streams[0])), "the right secrets keyed, the wrong one never");
  }

  @Test
  void wrongSecretsAreNeverKeyedAndExpireAsUnmatched() {
    RecordedTraffic t = RecordedTraffic.load("tls13-aes256-gcm");
    Replay r = new Replay(t);
    List<TlsSecret> wrong = new ArrayList<>();
    for (TlsSecret e : clientSecrets(t, t.randoms().get(0))) {
      byte[] s = e.secret().clone();
      s[3] ^= 0x40;
      wrong.add(new TlsSecret(0, e.pid(), e.tid(), e.comm(), null, null, e.label(), s));
    }
    r.secrets(wrong).packets();
    assertTrue(r.allLines.isEmpty(), r.allLines.toString());
    assertEquals(wrong.size(), r.matcher.waitingSecrets(), "the candidates and the exporter waiting on one");
    r.matcher.expire(r.now + SecretMatcher.DEFAULT_TTL_NANOS + 1);
    assertEquals(wrong.size(), r.matcher.counters().unmatched());
    assertEquals(0, r.matcher.waitingSecrets());
    assertEquals(1, r.matcher.counters().streamsGivenUp());
    // The right secrets after the stream was given up: a stream is tried while it is young only.
    r.secrets(clientSecrets(t, t.randoms().get(0)));
    assertTrue(r.allLines.isEmpty());
  }

  @Test
  void anExporterWithNoTrafficSecretBesideItIsUnmatched() {
    RecordedTraffic t = RecordedTraffic.load("tls13-aes128-gcm");
    List<TlsSecret> events = clientSecrets(t, t.randoms().get(0)); // SH, ST0, EXP, CH, CT0
    TlsSecret exporter = events.get(2);
    assertEquals(TlsLabel.EXPORTER_SECRET, exporter.label());
    // alone: it waits for its thread's next secret, until the thread is idle past the time to live
    Replay alone = new Replay(t).packets();
    alone.secrets(List.of(exporter));
    assertEquals(1, alone.matcher.waitingSecrets());
    assertEquals(0, alone.matcher.counters().unmatched());
    alone.matcher.expire(alone.now + SecretMatcher.DEFAULT_TTL_NANOS + 1);
    assertEquals(0, alone.matcher.waitingSecrets());
    assertEquals(1, alone.matcher.counters().unmatched());
    assertTrue(alone.allLines.isEmpty());
    // followed by a handshake secret: nothing ties it to a connection
    Replay beforeHandshake = new Replay(t).packets();
    beforeHandshake.secrets(List.of(exporter, events.get(0)));
    assertEquals(1, beforeHandshake.matcher.counters().unmatched());
    assertFalse(beforeHandshake.allLines.stream().anyMatch(l -> l.startsWith("EXPORTER_SECRET")),
        beforeHandshake.allLines.toString());
  }

  @Test
  void theCapDropsTheOldestCandidates() {
    RecordedTraffic t = RecordedTraffic.load("tls13-aes128-gcm");
    Replay r = new Replay(t, SecretMatcher.DEFAULT_TTL_NANOS, 5);
    Random random = new Random(1);
    List<TlsSecret> junk = new ArrayList<>();
    for (int i = 0; i < 8; i++) {
      byte[] s = new byte[32];
      random.nextBytes(s);
      junk.add(new TlsSecret(0, 9, 9, "junk", null, null, TlsLabel.SERVER_HANDSHAKE_TRAFFIC_SECRET, s));
    }
    r.secrets(junk);
    assertEquals(5, r.matcher.waitingSecrets());
    assertEquals(3, r.matcher.counters().droppedByCap());
    // Real secrets still get through (they push junk out).
    String first = t.randoms().get(0);
    r.secrets(clientSecrets(t, first)).packets();
    assertEquals(new TreeSet<>(linesOf(t, first)), new TreeSet<>(r.keyedLines(0)));
  }

  @Test
  void eachWaitingCandidateIsTriedAtMostOncePerRecord() {
    RecordedTraffic t = RecordedTraffic.load("tls13-aes128-gcm");
    Replay r = new Replay(t);
    Random random = new Random(2);
    int junkPerLabel = 40;
    List<TlsSecret> junk = new ArrayList<>();
    for (TlsLabel label : List.of(TlsLabel.SERVER_HANDSHAKE_TRAFFIC_SECRET, TlsLabel.SERVER_TRAFFIC_SECRET_0,
        TlsLabel.CLIENT_HANDSHAKE_TRAFFIC_SECRET, TlsLabel.CLIENT_TRAFFIC_SECRET_0)) {
      for (int i = 0; i < junkPerLabel; i++) {
        byte[] s = new byte[32];
        random.nextBytes(s);
        junk.add(new TlsSecret(0, 9, 10 + i, "junk", null, null, label, s));
      }
    }
    r.secrets(junk);
    for (String rnd : t.randoms()) {
      r.secrets(clientSecrets(t, rnd));
    }
    r.packets();
    assertEquals(t.keyLog.size(), r.allLines.size());
    // Each record of each stream is tried with each waiting candidate of a label it could carry at most once.
    long records = 0;
    for (TlsStream s : r.streams) {
      records += Math.min(s.records(TlsStream.Side.CLIENT), TlsStream.DEFAULT_MAX_KEPT_RECORDS)
          + Math.min(s.records(TlsStream.Side.SERVER), TlsStream.DEFAULT_MAX_KEPT_RECORDS);
    }
    long bound = records * (2L * junkPerLabel + 2) + 16 * r.streams.length;
    long trials = r.matcher.counters().trialDecryptions();
    assertTrue(trials <= bound, trials + " trial decryptions, bound " + bound);
  }

  @Test
  void trafficSecretsAreTriedOnlyWhereTheirProcessKeyedTheHandshakeBefore() {
    // openssl s_time: one process, connection after connection, none sending under its traffic keys;
    // those secrets wait their time to live, and every later connection tried them all (130 trials
    // a handshake in bench/tls-path.sh). A process derives a connection's traffic secret after its
    // handshake secret: one derived before, or by a process that keyed no handshake secret of the
    // stream, is not tried there.
    RecordedTraffic t = RecordedTraffic.load("tls13-aes128-gcm");
    List<TlsSecret> real = new ArrayList<>();
    for (String rnd : t.randoms()) {
      real.addAll(clientSecrets(t, rnd));
    }
    real = stamped(real, 1, 1_000_000);
    Replay alone = new Replay(t).secrets(real).packets();
    assertEquals(t.keyLog.size(), alone.allLines.size());

    Random random = new Random(5);
    List<TlsSecret> stale = new ArrayList<>();
    List<TlsSecret> otherProcess = new ArrayList<>();
    for (int i = 0; i < 100; i++) {
      for (TlsLabel label : List.of(TlsLabel.CLIENT_TRAFFIC_SECRET_0, TlsLabel.SERVER_TRAFFIC_SECRET_0)) {
        byte[] a = new byte[32];
        byte[] b = new byte[32];
        random.nextBytes(a);
        random.nextBytes(b);
        stale.add(new TlsSecret(1 + i, 1, 1, "openssl", null, null, label, a));
        otherProcess.add(new TlsSecret(2_000_000 + i, 2, 2, "other", null, null, label, b));
      }
    }
    Replay r = new Replay(t).secrets(stale).secrets(real).secrets(otherProcess).packets();
    assertEquals(t.keyLog.size(), r.allLines.size());
    assertEquals(new TreeSet<>(alone.allLines), new TreeSet<>(r.allLines));
    assertEquals(alone.matcher.counters().trialDecryptions(), r.matcher.counters().trialDecryptions(),
        "not one record opened with a secret that cannot be the stream's");
  }

  /** openssl s_time's connections: one process, each hanging up right after its Finished. */
  private static final class HandshakesOnly {
    final SecretMatcher matcher = new SecretMatcher();
    long now = 1;
    long boot = 1_000_000;

    /** Connection {@code k} of {@code t} up to the client's Finished; returns it and where the client's bytes end. */
    TlsStream open(RecordedTraffic t, int k, long[] clientEnd) {
      TlsStream s = new TlsStream();
      for (RecordedTraffic.Segment segment : t.segments) {
        if (segment.connection() != k || segment.payload().length == 0) {
          continue;
        }
        s.onSegment(segment.side(), segment.seq(), java.nio.ByteBuffer.wrap(segment.payload()), 0, segment.payload().length);
        if (segment.side() == TlsStream.Side.CLIENT) {
          clientEnd[0] = (segment.seq() + segment.payload().length) & 0xFFFFFFFFL;
        }
        if (s.records(TlsStream.Side.CLIENT) >= 1) {
          break;
        }
      }
      matcher.onRecords(s, now++);
      return s;
    }

    /** The client's secrets of {@code s}, as OpenSSL derives them, from pid 1. */
    void derive(RecordedTraffic t, TlsStream s, TlsLabel... only) {
      List<TlsLabel> labels = only.length > 0 ? List.of(only) : RecordedTraffic.CLIENT_ORDER;
      for (TlsSecret e : RecordedTraffic.events(t.linesOf(s.clientRandom()), RecordedTraffic.CLIENT_ORDER, 1, 1, false)) {
        if (labels.contains(e.label())) {
          matcher.onSecret(new TlsSecret(boot += 1_000, 1, 1, "openssl", null, null, e.label(), e.secret()), now++);
        }
      }
      matcher.onRecords(s, now++);
    }

    void hangUp(TlsStream s, long clientEnd) {
      s.onReset(TlsStream.Side.CLIENT, clientEnd);
      matcher.onRecords(s, now++);
    }
  }

  @Test
  void trafficSecretsOfConnectionsThatEndedInTheirHandshakeLeaveThePoolAsNotNeeded() {
    // Before, they waited their time to live: under openssl s_time the pool filled, and the cap
    // dropped (and counted as lost) 14 000 secrets in 7 s, any of which could have been needed.
    HandshakesOnly h = new HandshakesOnly();
    int connections = 0;
    for (String fixture : List.of("tls13-aes128-gcm", "tls13-aes256-gcm", "tls13-chacha20")) {
      RecordedTraffic t = RecordedTraffic.load(fixture);
      for (int k = 0; k < t.randoms().size(); k++) {
        long[] end = new long[1];
        TlsStream s = h.open(t, k, end);
        h.derive(t, s);
        assertFalse(s.fullyKeyed(), "open: traffic may follow");
        h.hangUp(s, end[0]);
        assertTrue(s.fullyKeyed(), fixture + " " + k + ": " + s.missingLabels());
        connections++;
      }
    }
    assertTrue(connections >= 4, connections + " connections");
    assertEquals(0, h.matcher.waitingSecrets(), "nothing left to prove");
    assertTrue(h.matcher.summary().contains(3 * connections + " not needed"), "both traffic secrets and the exporter: "
        + h.matcher.summary());
    assertEquals(0, h.matcher.counters().droppedByCap());
  }

  @Test
  void trafficSecretsThatComeAfterTheirConnectionEndedAreNotNeededEither() {
    // The packets are often drained before the secrets: the reset is read before the traffic secrets
    HandshakesOnly h = new HandshakesOnly();
    RecordedTraffic t = RecordedTraffic.load("tls13-aes128-gcm");
    for (int k = 0; k < 2; k++) {
      long[] end = new long[1];
      TlsStream s = h.open(t, k, end);
      h.derive(t, s, TlsLabel.SERVER_HANDSHAKE_TRAFFIC_SECRET, TlsLabel.CLIENT_HANDSHAKE_TRAFFIC_SECRET);
      h.hangUp(s, end[0]);
      assertTrue(s.fullyKeyed());
      h.derive(t, s, TlsLabel.SERVER_TRAFFIC_SECRET_0, TlsLabel.EXPORTER_SECRET, TlsLabel.CLIENT_TRAFFIC_SECRET_0);
    }
    assertEquals(0, h.matcher.waitingSecrets());
    assertTrue(h.matcher.summary().contains("6 not needed"), h.matcher.summary());
  }

  @Test
  void aTrafficSecretAnotherOpenConnectionMayOwnStaysInThePool() {
    // One process, two handshakes interleaved: A's traffic secrets come after B's handshake secrets,
    // so while B is open they may be B's (nginx workers interleave like this).
    HandshakesOnly h = new HandshakesOnly();
    RecordedTraffic t = RecordedTraffic.load("tls13-aes128-gcm");
    long[] endA = new long[1];
    long[] endB = new long[1];
    TlsStream a = h.open(t, 0, endA);
    TlsStream b = h.open(t, 1, endB);
    TlsLabel[] handshake = {TlsLabel.SERVER_HANDSHAKE_TRAFFIC_SECRET, TlsLabel.CLIENT_HANDSHAKE_TRAFFIC_SECRET};
    TlsLabel[] traffic = {TlsLabel.SERVER_TRAFFIC_SECRET_0, TlsLabel.EXPORTER_SECRET, TlsLabel.CLIENT_TRAFFIC_SECRET_0};
    h.derive(t, a, handshake);
    h.derive(t, b, handshake);
    h.derive(t, a, traffic);
    h.derive(t, b, traffic);
    h.hangUp(a, endA[0]);
    assertTrue(a.fullyKeyed());
    assertEquals(6, h.matcher.waitingSecrets(), "A's and B's traffic secrets: B may still need either");
    h.hangUp(b, endB[0]);
    assertEquals(0, h.matcher.waitingSecrets());
    assertTrue(h.matcher.summary().contains("6 not needed"), h.matcher.summary());
  }

  /** The events, from process {@code pid}, derived one microsecond apart from {@code bootNanos} on. */
  private static List<TlsSecret> stamped(List<TlsSecret> events, int pid, long bootNanos) {
    List<TlsSecret> out = new ArrayList<>();
    for (TlsSecret e : events) {
      out.add(new TlsSecret(bootNanos, pid, e.tid(), e.comm(), e.socket(), e.clientRandom(), e.label(), e.secret()));
      bootNanos += 1_000;
    }
    return out;
  }

  @Test
  void theSameConnectionCapturedTwiceGetsItsLinesTwice() {
    RecordedTraffic t = RecordedTraffic.load("tls13-chacha20");
    Replay r = new Replay(t);
    TlsStream twin = new TlsStream();
    for (RecordedTraffic.Segment s : t.segments) {
      if (s.payload().length > 0) {
        twin.onSegment(s.side(), s.seq(), java.nio.ByteBuffer.wrap(s.payload()), 0, s.payload().length);
      }
    }
    r.accept(r.matcher.onRecords(twin, r.now));
    r.packets().secrets(clientSecrets(t, t.randoms().get(0)));
    assertEquals(new TreeSet<>(t.keyLog), new TreeSet<>(r.keyedLines(0)));
    assertEquals(new TreeSet<>(t.keyLog), new TreeSet<>(r.lines.get(twin)));
  }

  @Test
  void closedStreamsAreForgotten() {
    RecordedTraffic t = RecordedTraffic.load("tls13-chacha20");
    Replay r = new Replay(t).packets();
    r.matcher.onStreamClosed(r.streams[0]);
    r.secrets(clientSecrets(t, t.randoms().get(0)));
    assertTrue(r.allLines.isEmpty());
    r.accept(r.matcher.onRecords(r.streams[0], r.now)); // late calls for a closed stream do nothing
    assertTrue(r.allLines.isEmpty());
  }

  @Test
  void summaryNamesWhatHappened() {
    Replay r = new Replay(RecordedTraffic.load("tls13-chacha20")).packets();
    r.secrets(clientSecrets(r.traffic, r.traffic.randoms().get(0)));
    String summary = r.matcher.summary();
    assertTrue(summary.startsWith("4 secrets keyed by trial decryption ("), summary);
    assertTrue(summary.contains("1 exporter by thread") && summary.contains("1 TLS streams fully keyed"), summary);
  }
}

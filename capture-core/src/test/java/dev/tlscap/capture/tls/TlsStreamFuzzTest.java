// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.capture.tls;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.tlscap.capture.tls.TlsStream.Side;
import dev.tlscap.capture.tls.TlsStream.Verdict;
import dev.tlscap.secrets.TlsLabel;
import dev.tlscap.secrets.TlsSecret;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Timeout;

/**
 * Coverage-guided fuzzing (Jazzer) of what the capture pipeline does with captured TCP payloads
 * and traced secrets: {@link TlsStream} (TCP reassembly, record and hello parsing, trial
 * decryption) and the {@link SecretMatcher} it feeds.
 *
 * <p>Each input is a program the {@link FuzzedDataProvider} spells out, played over the recorded
 * connections of one fixture ({@link RecordedTraffic}, the seed material): it feeds the recorded
 * segments of either direction in order or out of order, split, retransmitted, overlapping, with
 * bytes overwritten or garbage inserted, dropped, or replaced by the fuzzer's own bytes at any
 * sequence number; it sends SYNs and FINs, the fixture's secrets (with or without client random,
 * from any thread) and secrets of its own to the matcher, verifies, expires and closes streams.
 * When the input runs out, the rest of the recording is fed in order, so short inputs are whole,
 * mostly valid connections.
 *
 * <p>Checked after every step: nothing escapes, no "internal error" shows in {@link
 * TlsStream#problem()} (TlsStream catches its own bugs so the pipeline survives them: here they are
 * findings), memory stays within the class's bound. Checked at the end: every line the matcher keyed
 * without a client random is a line of the fixture's key log, each label at most once per stream;
 * and when the program only reordered, split or repeated the recording, every secret of each
 * connection verifies ({@link Verdict#MATCH}).
 *
 * <p>Fuzzing mode and its duration: the {@code fuzz} surefire execution in the parent pom.
 * Crashes found so far are plain tests in {@link TlsStreamFuzzRegressionTest}.
 */
class TlsStreamFuzzTest {
  static final List<RecordedTraffic> FIXTURES = RecordedTraffic.ALL.stream().map(RecordedTraffic::load).toList();
  private static final TlsLabel[] LABELS = TlsLabel.values();
  private static final int MAX_OPS = 400;

  @FuzzTest(maxDuration = "40s")
  @Timeout(10) // per input, as libFuzzer's -timeout
  void anyTrafficAndSecrets(FuzzedDataProvider data) {
    new Program(FIXTURES.get(data.consumeInt(0, FIXTURES.size() - 1)), data).run();
  }

  /**
   * Replays inputs (crash files) and prints what each did, segment by segment, to turn a finding
   * into a plain test ({@link TlsStreamFuzzRegressionTest}): {@code java -cp <test classpath>:<jazzer
   * bootstrap> dev.tlscap.capture.tls.TlsStreamFuzzTest target/jazzer/crash-...}, where the test
   * classpath comes from {@code mvn -pl capture-core dependency:build-classpath
   * -Dmdep.includeScope=test} plus target/classes and target/test-classes, and the Jazzer bootstrap
   * is {@code com/code_intelligence/jazzer/runtime/jazzer_bootstrap.jar} unzipped from the jazzer jar.
   */
  public static void main(String[] files) throws Exception {
    TRACE = true;
    for (String file : files) {
      System.err.println("== " + file);
      try (var data = com.code_intelligence.jazzer.driver.FuzzedDataProviderImpl.withJavaData(
          java.nio.file.Files.readAllBytes(java.nio.file.Path.of(file)))) {
        RecordedTraffic t = FIXTURES.get(data.consumeInt(0, FIXTURES.size() - 1));
        System.err.println("fixture " + t.name);
        new Program(t, data).run();
        System.err.println("passes");
      } catch (Throwable e) {
        e.printStackTrace();
      }
    }
  }

  static boolean TRACE;

  static void trace(String what) {
    if (TRACE) {
      System.err.println(what);
    }
  }

  /** One input played out; {@link #run} throws on a finding. */
  static final class Program implements MatcherListener {
    final RecordedTraffic t;
    final FuzzedDataProvider data;
    final Connection[] connections;
    final SecretMatcher matcher;
    long now = 1_000_000_000L;

    Program(RecordedTraffic t, FuzzedDataProvider data) {
      this.t = t;
      this.data = data;
      this.connections = new Connection[Math.min(t.connections, 2)];
      for (int i = 0; i < connections.length; i++) {
        connections[i] = new Connection(t, i);
      }
      long ttl = data.consumeBoolean() ? SecretMatcher.DEFAULT_TTL_NANOS : 1_000_000L + data.consumeInt(0, 1 << 24);
      this.matcher = new SecretMatcher(ttl, data.consumeBoolean() ? 10_000 : 1 + data.consumeInt(0, 7));
    }

    void run() {
      for (int op = 0; op < MAX_OPS && data.remainingBytes() > 0; op++) {
        now += data.consumeInt(0, 2_000_000);
        Connection c = connections[data.consumeInt(0, connections.length - 1)];
        Side side = data.consumeBoolean() ? Side.CLIENT : Side.SERVER;
        switch (data.consumeInt(0, 13)) {
          case 0 -> c.deliverNext(side, this);
          case 1 -> c.deliverNextSplit(side, data.consumeInt(1, 1500), data.consumeBoolean(), this);
          case 2 -> c.holdNext(side);
          case 3 -> c.deliverHeld(data.consumeInt(0, 15), this);
          case 4 -> c.retransmit(side, data.consumeInt(0, 1 << 16), data.consumeInt(1, 2000), this);
          case 5 -> c.deliverNextOverwritten(side, data.consumeInt(0, 2000), data.consumeBytes(8), this);
          case 6 -> c.insertGarbage(side, data.consumeBytes(data.consumeInt(0, 64)), this);
          case 7 -> c.raw(side, data.consumeInt(-70_000, 70_000), data.consumeBoolean(),
              data.consumeBytes(data.consumeInt(0, 4096)), this);
          case 8 -> c.dropNext(side);
          case 9 -> c.syn(side, data.consumeBoolean() ? -1 : data.consumeLong(), this);
          case 10 -> c.fin(side, this);
          case 11 -> secret(data.consumeBoolean());
          case 12 -> verify(c);
          default -> {
            if (data.consumeBoolean()) {
              now += data.consumeLong(0, 30_000_000_000L);
              matcher.expire(now);
            } else {
              matcher.onStreamClosed(c.stream);
              c.closed = true;
            }
          }
        }
      }
      for (Connection c : connections) {
        c.finish(this);
      }
      check();
    }

    /** A secret to the matcher: one of the fixture's, or the fuzzer's own. */
    void secret(boolean fromKeyLog) {
      int pid = data.consumeInt(1, 3);
      int tid = pid + data.consumeInt(0, 2);
      boolean withRandom = data.consumeBoolean();
      TlsSecret event;
      if (fromKeyLog && !t.keyLog.isEmpty()) {
        String line = t.keyLog.get(data.consumeInt(0, t.keyLog.size() - 1));
        byte[] random = withRandom ? HexFormat.of().parseHex(RecordedTraffic.randomHex(line)) : null;
        event = new TlsSecret(0, pid, tid, "fixture", null, random, RecordedTraffic.label(line),
            RecordedTraffic.secret(line));
      } else {
        TlsLabel label = LABELS[data.consumeInt(0, LABELS.length - 1)];
        byte[] random = withRandom ? data.consumeBytes(32) : null;
        if (random != null) {
          // Keyed by random unproven, as the pipeline does: the real secret can no longer be.
          for (Connection c : connections) {
            c.clean = false;
          }
        }
        byte[] secret = data.consumeBytes(data.consumeInt(0, 64));
        event = new TlsSecret(0, pid, tid, "fuzzer", null, random, label, secret);
      }
      trace("secret " + event + " " + HexFormat.of().formatHex(event.secret()));
      accept(matcher.onSecret(event, now));
      sane();
    }

    void verify(Connection c) {
      TlsLabel label = LABELS[data.consumeInt(0, LABELS.length - 1)];
      byte[] secret = data.consumeBoolean() || t.keyLog.isEmpty() ? data.consumeBytes(data.consumeInt(0, 64))
          : RecordedTraffic.secret(t.keyLog.get(data.consumeInt(0, t.keyLog.size() - 1)));
      int from = data.consumeInt(0, 8);
      trace("verify " + label + " " + HexFormat.of().formatHex(secret) + " from " + from + ": "
          + c.stream.verify(label, secret, from).verdict());
      sane();
    }

    /** After a segment: what the pipeline does next. */
    void afterSegment(Connection c, boolean news) {
      if (news && !c.closed) {
        accept(matcher.onRecords(c.stream, now));
      }
      sane();
    }

    void sane() {
      for (Connection c : connections) {
        TlsStreamHostileInputTest.assertSane(c.stream);
      }
    }

    void check() {
      Set<String> keyLog = new HashSet<>(t.keyLog);
      Set<String> labelAndSecret = new HashSet<>();
      for (String line : t.keyLog) {
        labelAndSecret.add(withoutRandom(line));
      }
      for (Connection c : connections) {
        for (String line : c.keyedLines) {
          // Proven by decryption (or sent with its random): a line of the key log, unless the fuzzer
          // sent that secret with that random itself. EXPORTER_SECRET follows its thread, not proof.
          // A ClientHello the fuzzer changed may carry another random (the line has the one on the
          // wire): then the secret must still be one of the key log's.
          if (line.startsWith("EXPORTER_SECRET ") || keyLog.contains(line) || fuzzerSentWithRandom.contains(line)) {
            continue;
          }
          assertTrue(c.clientCorrupted && labelAndSecret.contains(withoutRandom(line)),
              "keyed a line that is not the connection's: " + line);
        }
      }
      for (Connection c : connections) {
        c.checkAllSecretsMatchIfClean();
      }
    }

    final Set<String> fuzzerSentWithRandom = new HashSet<>();

    static String withoutRandom(String line) {
      String[] f = line.split(" ");
      return f[0] + " " + f[2];
    }

    @Override
    public void onKeyed(TlsStream stream, TlsLabel label, String keyLogLine, TlsSecret source) {
      trace("keyed " + keyLogLine);
      assertTrue(keyLogLine.startsWith(label.keyLogLabel() + " " + HexFormat.of().formatHex(stream.clientRandom()) + " "),
          keyLogLine);
      assertArrayEquals(source.secret(), stream.keyedSecret(label), "the secret keyed is the line's");
      if (source.clientRandom() != null && "fuzzer".equals(source.comm())) {
        fuzzerSentWithRandom.add(keyLogLine);
      }
      for (Connection c : connections) {
        if (c.stream == stream) {
          assertTrue(c.labelsKeyed.add(label), label + " keyed twice to " + stream);
          c.keyedLines.add(keyLogLine);
        }
      }
    }

    @Override
    public void onKeyedAgain(TlsStream stream, TlsLabel label, TlsSecret source) {
      assertArrayEquals(source.secret(), stream.keyedSecret(label));
    }

    @Override
    public void onFullyKeyed(TlsStream stream) {
      assertTrue(stream.fullyKeyed() && stream.missingLabels().isEmpty(), stream.toString());
    }
  }

  /** One recorded connection and the stream the program feeds it into. */
  static final class Connection {
    final TlsStream stream = new TlsStream();
    final RecordedTraffic t;
    final int index;
    /** Per side: the recorded payloads in order, and the SYN's sequence number. */
    final List<List<RecordedTraffic.Segment>> recorded = List.of(new ArrayList<>(), new ArrayList<>());
    final long[] isn = {-1, -1};
    final int[] next = new int[2];
    /** Per side: bytes inserted so far (later recorded bytes move up by that much). */
    final long[] shift = new long[2];
    final List<Piece> held = new ArrayList<>();
    final List<Piece> sent = new ArrayList<>();
    final Set<TlsLabel> labelsKeyed = new HashSet<>();
    final List<String> keyedLines = new ArrayList<>();
    /** The client's bytes were changed (its ClientHello, and so the random, may differ). */
    boolean clientCorrupted;
    /** Per side: the stream knows where its data starts (a SYN, or the first bytes came first). */
    final boolean[] anchored = new boolean[2];
    /** Only reordered, split or repeated recorded bytes so far: every secret must verify at the end. */
    boolean clean = true;
    boolean closed;
    boolean clientSent;

    record Piece(Side side, long seq, byte[] bytes) {}

    Connection(RecordedTraffic t, int index) {
      this.t = t;
      this.index = index;
      for (RecordedTraffic.Segment s : t.segments) {
        if (s.connection() != index) {
          continue;
        }
        if (s.syn()) {
          isn[s.side().ordinal()] = s.seq();
        }
        if (s.payload().length > 0) {
          recorded.get(s.side().ordinal()).add(s);
        }
      }
    }

    void corrupted(Side side) {
      clean = false;
      clientCorrupted |= side == Side.CLIENT;
    }

    private RecordedTraffic.Segment takeNext(Side side) {
      int i = side.ordinal();
      return next[i] < recorded.get(i).size() ? recorded.get(i).get(next[i]++) : null;
    }

    private Piece pieceOf(RecordedTraffic.Segment s) {
      return new Piece(s.side(), s.seq() + shift[s.side().ordinal()], s.payload());
    }

    void deliver(Piece p, Program program) {
      int i = p.side.ordinal();
      if (p.side == Side.SERVER && !clientSent) {
        clean = false; // the server spoke first: NOT_TLS by design
      }
      clientSent |= p.side == Side.CLIENT;
      if (!anchored[i]) {
        // Without a SYN the first bytes set where the stream begins: bytes before them are lost.
        List<RecordedTraffic.Segment> r = recorded.get(i);
        anchored[i] = true;
        if (r.isEmpty() || p.seq != r.get(0).seq()) {
          corrupted(p.side);
        }
      }
      if (sent.size() < 64) {
        sent.add(p);
      }
      trace("connection " + index + " " + p.side + " seq " + (p.seq & 0xFFFFFFFFL) + " "
          + HexFormat.of().formatHex(p.bytes));
      program.afterSegment(this, stream.onSegment(p.side, p.seq & 0xFFFFFFFFL,
          ByteBuffer.wrap(p.bytes).asReadOnlyBuffer(), 0, p.bytes.length));
      trace("  -> " + stream);
    }

    void deliverNext(Side side, Program program) {
      RecordedTraffic.Segment s = takeNext(side);
      if (s != null) {
        deliver(pieceOf(s), program);
      }
    }

    /** The next segment in pieces of {@code size}, last piece first if {@code backwards}. */
    void deliverNextSplit(Side side, int size, boolean backwards, Program program) {
      RecordedTraffic.Segment s = takeNext(side);
      if (s == null) {
        return;
      }
      Piece whole = pieceOf(s);
      List<Piece> pieces = new ArrayList<>();
      for (int at = 0; at < whole.bytes.length; at += size) {
        pieces.add(new Piece(side, whole.seq + at, Arrays.copyOfRange(whole.bytes, at,
            Math.min(whole.bytes.length, at + size))));
      }
      if (backwards) {
        java.util.Collections.reverse(pieces);
      }
      for (Piece p : pieces) {
        deliver(p, program);
      }
    }

    void holdNext(Side side) {
      RecordedTraffic.Segment s = takeNext(side);
      if (s != null) {
        held.add(pieceOf(s));
      }
    }

    void deliverHeld(int which, Program program) {
      if (!held.isEmpty()) {
        deliver(held.remove(which % held.size()), program);
      }
    }

    /** Part of a piece sent before, again (a retransmission, maybe overlapping what followed). */
    void retransmit(Side side, int which, int length, Program program) {
      List<Piece> mine = sent.stream().filter(p -> p.side == side).toList();
      if (mine.isEmpty()) {
        return;
      }
      Piece p = mine.get(which % mine.size());
      int from = which % p.bytes.length;
      deliver(new Piece(side, p.seq + from, Arrays.copyOfRange(p.bytes, from, Math.min(p.bytes.length,
          from + length))), program);
    }

    void deliverNextOverwritten(Side side, int at, byte[] bytes, Program program) {
      RecordedTraffic.Segment s = takeNext(side);
      if (s == null) {
        return;
      }
      Piece p = pieceOf(s);
      byte[] b = p.bytes.clone();
      for (int k = 0; k < bytes.length && at + k < b.length; k++) {
        if (b[at + k] != bytes[k]) {
          b[at + k] = bytes[k];
          corrupted(side);
        }
      }
      deliver(new Piece(side, p.seq, b), program);
    }

    /** Garbage in the byte stream between two recorded segments. */
    void insertGarbage(Side side, byte[] garbage, Program program) {
      if (garbage.length == 0) {
        return;
      }
      int i = side.ordinal();
      long seq;
      if (next[i] < recorded.get(i).size()) {
        seq = recorded.get(i).get(next[i]).seq() + shift[i];
      } else if (next[i] > 0) {
        RecordedTraffic.Segment last = recorded.get(i).get(next[i] - 1);
        seq = last.seq() + shift[i] + last.payload().length;
      } else {
        return;
      }
      corrupted(side);
      deliver(new Piece(side, seq, garbage), program);
      shift[i] += garbage.length;
    }

    /** The fuzzer's own bytes at any sequence number near (or far from) the next recorded one. */
    void raw(Side side, int delta, boolean farAway, byte[] bytes, Program program) {
      if (bytes.length == 0) {
        return;
      }
      int i = side.ordinal();
      List<RecordedTraffic.Segment> r = recorded.get(i);
      long base = r.isEmpty() ? 1000 : next[i] < r.size() ? r.get(next[i]).seq() + shift[i]
          : r.get(r.size() - 1).seq() + shift[i] + r.get(r.size() - 1).payload().length;
      corrupted(side);
      deliver(new Piece(side, base + delta + (farAway ? 1L << 31 : 0), bytes), program);
    }

    void dropNext(Side side) {
      if (takeNext(side) != null) {
        corrupted(side);
      }
    }

    void syn(Side side, long fuzzedIsn, Program program) {
      int i = side.ordinal();
      long value = fuzzedIsn >= 0 || isn[i] < 0 ? fuzzedIsn : isn[i];
      if (value != isn[i] && !anchored[i]) {
        corrupted(side);
      }
      anchored[i] = true;
      trace("connection " + index + " SYN " + side + " " + value);
      stream.onSyn(side, value);
      program.sane();
    }

    void fin(Side side, Program program) {
      trace("connection " + index + " FIN " + side);
      stream.onFin(side);
      program.afterSegment(this, true);
    }

    /** The rest of the recording in order, what was held, then both FINs. */
    void finish(Program program) {
      for (Side side : Side.values()) {
        for (RecordedTraffic.Segment s = takeNext(side); s != null; s = takeNext(side)) {
          deliver(pieceOf(s), program);
        }
      }
      while (!held.isEmpty()) {
        deliver(held.remove(0), program);
      }
      fin(Side.CLIENT, program);
      fin(Side.SERVER, program);
    }

    void checkAllSecretsMatchIfClean() {
      if (!clean || stream.lost(Side.CLIENT) || stream.lost(Side.SERVER)) {
        return;
      }
      assertEquals(TlsStream.State.TLS, stream.state(), "recorded bytes, reordered: " + stream);
      List<String> lines = t.linesOf(stream.clientRandom());
      assertTrue(!lines.isEmpty(), stream.toString());
      for (String line : lines) {
        TlsLabel label = RecordedTraffic.label(line);
        byte[] mine = stream.keyedSecret(label);
        if (label != TlsLabel.EXPORTER_SECRET && (mine == null || labelKeyedFromKeyLog(line, mine))) {
          assertEquals(Verdict.MATCH, stream.verify(label, RecordedTraffic.secret(line)).verdict(),
              line + " on " + stream);
        }
      }
    }

    /** A label keyed from a secret the fuzzer sent with this random is not the key log's. */
    private static boolean labelKeyedFromKeyLog(String line, byte[] keyed) {
      return Arrays.equals(keyed, RecordedTraffic.secret(line));
    }
  }
}

// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.capture.tls;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tlscap.capture.tls.TlsStream.Verdict;
import dev.tlscap.secrets.TlsLabel;
import java.nio.ByteBuffer;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * What a verification attempt and the parsing cost, measured on the recorded connections (printed;
 * the bounds are loose so a busy machine does not fail them: the numbers are what to read).
 */
class TrialDecryptionCostTest {
  @Test
  void aVerificationAttemptCostsMicroseconds() throws Exception {
    // A wrong key ends in an AEADBadTagException, whose stack trace costs in proportion to the
    // stack's depth: measure here (JUnit: deep) and on a thread as shallow as an event loop's.
    measure("JUnit thread");
    Thread shallow = new Thread(() -> atDepth(30));
    shallow.start();
    shallow.join();
  }

  private static void atDepth(int frames) {
    if (frames > 0) {
      atDepth(frames - 1);
    } else {
      measure("thread 30 frames deep");
    }
  }

  private static void measure(String where) {
    StringBuilder report = new StringBuilder("trial decryption, per failed attempt, " + where + ":");
    for (String fixture : new String[] {"tls13-aes128-gcm", "tls13-aes256-gcm", "tls13-chacha20"}) {
      TlsStream s = new Replay(RecordedTraffic.load(fixture)).packets().streams[0];
      Random random = new Random(3);
      byte[] wrong = new byte[fixture.contains("256") ? 48 : 32];
      int n = 20_000;
      double best = Double.MAX_VALUE;
      for (int round = 0; round < 5; round++) {
        long before = s.trialDecryptions();
        long start = System.nanoTime();
        for (int i = 0; i < n; i++) {
          random.nextBytes(wrong);
          // The server's record 0 (EncryptedExtensions, 40 bytes or so) ...
          if (s.verify(TlsLabel.SERVER_HANDSHAKE_TRAFFIC_SECRET, wrong).verdict() != Verdict.NO_MATCH) {
            throw new AssertionError();
          }
        }
        long elapsed = System.nanoTime() - start;
        assertEquals(n, s.trialDecryptions() - before, "one record opened per attempt");
        best = Math.min(best, elapsed / 1e3 / n);
      }
      int recordLength = s.keptRecord(TlsStream.Side.SERVER, 0).length;
      report.append(String.format(" %s %.2f us (%d-byte record);", fixture, best, recordLength));
      assertTrue(best < 200, fixture + ": " + best + " us per attempt");
    }
    System.out.println(report);
  }

  @Test
  void followingAConnectionCostsLittlePerSegment() {
    RecordedTraffic t = RecordedTraffic.load("tls13-aes128-gcm");
    int rounds = 3000;
    long bytes = 0;
    long segments = 0;
    long start = 0;
    for (int round = -500; round < rounds; round++) {
      if (round == 0) {
        start = System.nanoTime();
      }
      TlsStream[] streams = {new TlsStream(), new TlsStream()};
      for (RecordedTraffic.Segment s : t.segments) {
        if (s.payload().length > 0) {
          streams[s.connection()].onSegment(s.side(), s.seq(), ByteBuffer.wrap(s.payload()), 0, s.payload().length);
          if (round >= 0) {
            bytes += s.payload().length;
            segments++;
          }
        }
      }
    }
    double perSegment = (System.nanoTime() - start) / 1e3 / segments;
    System.out.printf("following: %.2f us per segment (%d bytes per segment on average)%n", perSegment,
        bytes / segments);
    assertTrue(perSegment < 500, perSegment + " us per segment");
  }
}

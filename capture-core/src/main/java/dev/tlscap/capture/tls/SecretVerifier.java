// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.capture.tls;

import dev.tlscap.capture.tls.TlsStream.Side;
import dev.tlscap.capture.tls.TlsStream.State;
import dev.tlscap.capture.tls.TlsStream.Verdict;
import dev.tlscap.capture.tls.TrialDecryption.RecordKeys;
import dev.tlscap.capture.tls.TrialDecryption.Tls12Keys;
import dev.tlscap.secrets.TlsLabel;
import java.util.Arrays;

/**
 * Proves which secrets belong to one {@link TlsStream}: a secret is its connection's when it
 * opens (its AEAD tag verifies), as record 0 of its key, the kept record it protects first
 * ({@link TrialDecryption}). Once a TLS 1.3 handshake (or early) secret is keyed, it opens the
 * records after its first, as they come, to find exactly where the next key starts
 * ({@link KeyEpoch}, held by each {@link TlsDirection}); until then a later secret is tried on
 * every kept record that could be its first.
 *
 * <p>It reads the stream's hellos, state and keyed secrets and the directions' kept records;
 * what it learns is written to the directions' key epochs. Counts every record it opens
 * ({@link #trialDecryptions()}).
 *
 * <p>Not thread-safe: owned by its stream.
 */
final class SecretVerifier {
  /* Verdicts that opened no record. */
  private static final SecretProof MATCH = SecretProof.of(Verdict.MATCH);
  private static final SecretProof NO_MATCH = SecretProof.of(Verdict.NO_MATCH);
  private static final SecretProof NOT_YET = SecretProof.of(Verdict.NOT_YET);
  private static final SecretProof UNSUPPORTED = SecretProof.of(Verdict.UNSUPPORTED);

  private final TlsStream stream;
  private final TlsDirection client;
  private final TlsDirection server;
  private long trialDecryptions;
  /**
   * The client's handshake key opened its record 0: it sent no 0-RTT data, whatever its hello
   * offered (kept apart from the key epochs, which releasing a side forgets).
   */
  private boolean noEarlyData;

  SecretVerifier(TlsStream stream, TlsDirection client, TlsDirection server) {
    this.stream = stream;
    this.client = client;
    this.server = server;
  }

  /** Records opened so far by {@link #verify} and by following keyed secrets. */
  long trialDecryptions() {
    return trialDecryptions;
  }

  /** The client's handshake key opened its record 0: it sent no 0-RTT data. */
  boolean noEarlyData() {
    return noEarlyData;
  }

  /** {@link TlsStream#verify(TlsLabel, byte[], int)}, which catches what this throws. */
  SecretProof verify(TlsLabel label, byte[] secret, int fromRecord) {
    byte[] already = stream.keyedSecret(label);
    if (already != null) {
      return Arrays.equals(already, secret) ? MATCH : NO_MATCH;
    }
    State state = stream.state();
    if (state == State.NOT_TLS || label == TlsLabel.EXPORTER_SECRET) {
      return NO_MATCH;
    }
    ClientHello clientHello = stream.clientHello();
    if (clientHello == null || stream.serverHello() == null) {
      return state == State.UNDECIDED || state == State.TLS ? NOT_YET : NO_MATCH;
    }
    if (label == TlsLabel.CLIENT_RANDOM) {
      return SecretProof.of(verifyTls12(secret));
    }
    if (stream.version() != TlsStream.TLS_1_3) {
      return NO_MATCH;
    }
    CipherSuite suite = stream.suite();
    if (suite == null || !suite.aead().supported()) {
      return UNSUPPORTED;
    }
    if (secret.length != suite.hashLength()) {
      return NO_MATCH;
    }
    TlsDirection h = direction(TlsStream.sideOf(label));
    int single = -1;
    int from = 0;
    switch (label) {
      case SERVER_HANDSHAKE_TRAFFIC_SECRET -> single = 0;
      case CLIENT_EARLY_TRAFFIC_SECRET -> {
        if (!clientHello.offersEarlyData()) {
          return NO_MATCH;
        }
        single = 0;
      }
      case CLIENT_HANDSHAKE_TRAFFIC_SECRET -> {
        if (h.early != null && h.early.end >= 0) {
          single = h.early.end;
        } else if (!clientHello.offersEarlyData()) {
          single = 0;
        } else {
          from = h.early != null ? h.early.next : 0;
        }
      }
      case SERVER_TRAFFIC_SECRET_0, CLIENT_TRAFFIC_SECRET_0 -> {
        if (h.handshakeEpoch != null && h.handshakeEpoch.end >= 0) {
          single = h.handshakeEpoch.end;
        } else if (h.handshakeEpoch != null) {
          from = h.handshakeEpoch.next;
        } else {
          from = h.early != null ? h.early.next + 1 : 1;
        }
      }
      default -> {
        return NO_MATCH;
      }
    }
    int first = Math.max(single >= 0 ? single : from, fromRecord);
    int last = single >= 0 ? single : Integer.MAX_VALUE;
    TrialDecryption trial = TrialDecryption.forThisThread();
    RecordKeys keys = null;
    for (int i = first; i <= last && i < h.records; i++) {
      byte[] record = h.kept(i);
      if (record == null) {
        continue;
      }
      if (keys == null) {
        keys = trial.tls13Keys(suite, secret);
        if (keys == null) {
          return NO_MATCH;
        }
      }
      trialDecryptions++;
      if (trial.opensTls13(keys, record, 0)) {
        return SecretProof.opened(this, label, secret, keys, i);
      }
    }
    if (single >= 0 && h.records > single) {
      return NO_MATCH;
    }
    return h.canKeepMore() ? NOT_YET : NO_MATCH;
  }

  /** TLS 1.0-1.2 master secret: opens the first encrypted record (Finished) of either direction. */
  private Verdict verifyTls12(byte[] masterSecret) {
    if (stream.version() == TlsStream.TLS_1_3) {
      return Verdict.NO_MATCH;
    }
    CipherSuite suite = stream.suite();
    if (suite == null || !suite.aead().supported()) {
      return Verdict.UNSUPPORTED;
    }
    if (masterSecret.length != 48) {
      return Verdict.NO_MATCH;
    }
    TrialDecryption trial = TrialDecryption.forThisThread();
    Tls12Keys keys = null;
    boolean tried = false;
    for (TlsDirection h : new TlsDirection[] {client, server}) {
      byte[] record = h.records > 0 ? h.kept(0) : null;
      if (record == null) {
        continue;
      }
      if (keys == null) {
        keys = trial.tls12Keys(suite, masterSecret, stream.clientRandom(), stream.serverRandom());
        if (keys == null) {
          return Verdict.NO_MATCH;
        }
      }
      tried = true;
      trialDecryptions++;
      if (trial.opensTls12(h == client ? keys.client() : keys.server(), record, 0)) {
        return Verdict.MATCH;
      }
    }
    if (tried || client.records > 0 && server.records > 0) {
      return Verdict.NO_MATCH;
    }
    return client.canKeepMore() || server.canKeepMore() ? Verdict.NOT_YET : Verdict.NO_MATCH;
  }

  /**
   * {@code secret} is being keyed to the stream (not yet in its keyed secrets): a TLS 1.3 secret
   * that opens its first record tells where keys change; follows the records its key opens. Which
   * record that is comes from {@code proof} when this verifier made it for this label and secret
   * (see {@link SecretProof}); otherwise (null: joined by client random) it verifies here.
   */
  void keyed(TlsLabel label, byte[] secret, SecretProof proof) {
    CipherSuite suite = stream.suite();
    if (!label.isTls13() || label == TlsLabel.EXPORTER_SECRET || stream.version() != TlsStream.TLS_1_3
        || suite == null || !suite.aead().supported()) {
      return;
    }
    RecordKeys keys = proof != null ? proof.keysFor(this, label, secret) : null;
    if (keys == null) {
      proof = verify(label, secret, 0);
      keys = proof.keysFor(this, label, secret);
    }
    if (keys != null) {
      followKey(label, keys, proof.record());
    }
  }

  /** A key opens record {@code index} as its record 0: what that says about where keys change. */
  private void followKey(TlsLabel label, RecordKeys keys, int index) {
    switch (label) {
      case SERVER_HANDSHAKE_TRAFFIC_SECRET -> server.handshakeEpoch = new KeyEpoch(keys, index);
      case CLIENT_EARLY_TRAFFIC_SECRET -> client.early = new KeyEpoch(keys, index);
      case CLIENT_HANDSHAKE_TRAFFIC_SECRET -> {
        client.handshakeEpoch = new KeyEpoch(keys, index);
        noEarlyData |= index == 0;
        if (client.early != null && client.early.end < 0) {
          client.early.end = index;
        }
      }
      case SERVER_TRAFFIC_SECRET_0, CLIENT_TRAFFIC_SECRET_0 -> {
        TlsDirection h = direction(TlsStream.sideOf(label));
        if (h.handshakeEpoch != null && h.handshakeEpoch.end < 0) {
          h.handshakeEpoch.end = index;
        }
      }
      default -> { }
    }
    followEpochs(client);
    followEpochs(server);
  }

  /** Opens {@code h}'s records after a keyed handshake (or early) secret's first, to find where it ends. */
  void followEpochs(TlsDirection h) {
    follow(h, h.early);
    follow(h, h.handshakeEpoch);
  }

  /**
   * A direction's keys never come back once they changed: when the key opens its first record and
   * a later one, it opens every record between. So the records waiting are first looked at through
   * their last plaintext byte only (one cipher block: under the right key it always passes), up to
   * the first that fails, and only the last that passed is opened whole (a server's first flight
   * is four records: one open instead of four). Should that one not open (a wrong key passes the
   * byte 4 times in 256), record by record.
   */
  private void follow(TlsDirection h, KeyEpoch epoch) {
    if (epoch == null || epoch.end >= 0) {
      return;
    }
    TrialDecryption trial = TrialDecryption.forThisThread();
    int passed = epoch.next;
    boolean failed = false;
    byte[] last = null;
    while (passed < h.records) {
      byte[] record = h.kept(passed);
      if (record == null) {
        break; // not kept: where the key ends stays unknown
      }
      trialDecryptions++;
      if (!trial.mayOpenTls13(epoch.keys, record, passed - epoch.start)) {
        failed = true;
        break;
      }
      last = record;
      passed++;
    }
    if (last == null || trial.opensTls13(epoch.keys, last, passed - 1 - epoch.start, false)) {
      epoch.next = passed;
      if (failed) {
        epoch.end = passed;
      }
      return;
    }
    while (epoch.end < 0 && epoch.next < h.records) {
      byte[] record = h.kept(epoch.next);
      if (record == null) {
        return;
      }
      if (trial.opensTls13(epoch.keys, record, epoch.next - epoch.start)) {
        epoch.next++;
      } else {
        epoch.end = epoch.next;
      }
    }
  }

  private TlsDirection direction(Side side) {
    return side == Side.CLIENT ? client : server;
  }

  /** Where a keyed secret's records run in its direction: from {@code start} while its key opens them. */
  static final class KeyEpoch {
    final RecordKeys keys;
    final int start;
    /** The next record to try with this key. */
    int next;
    /** The first record this key does not open (the next key's record 0), or -1 while unknown. */
    int end = -1;

    KeyEpoch(RecordKeys keys, int start) {
      this.keys = keys;
      this.start = start;
      this.next = start + 1;
    }
  }
}

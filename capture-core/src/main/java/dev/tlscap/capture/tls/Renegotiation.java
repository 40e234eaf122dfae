// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.capture.tls;

import dev.tlscap.capture.tls.TlsStream.Side;
import dev.tlscap.capture.tls.TrialDecryption.RecordKeys;
import dev.tlscap.capture.tls.TrialDecryption.Tls12Keys;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * TLS 1.0-1.2 renegotiation (RFC 5246 7.4.1.1, RFC 5746) on a keyed stream: a new handshake inside
 * the encrypted connection, with a new client random and a new master secret (a new CLIENT_RANDOM
 * key log line). Its hellos are encrypted, so Wireshark finds the new line by the random it reads
 * from the decrypted ClientHello, and needs it before the ChangeCipherSpec that follows.
 *
 * <p>Once every secret of a TLS 1.2 stream with an AEAD suite is keyed, its directions go on reading
 * record headers (no record is kept: TLS 1.2 record headers carry the true content type). A
 * handshake record after a direction's Finished (its epoch's record 0) is a renegotiation message:
 * it is decrypted with the direction's current keys, and a ClientHello's random (the client) or a
 * ServerHello's random and suite (the server) are noted. A direction's ChangeCipherSpec starts its
 * next epoch: the keys of the renegotiation whose master secret was keyed since
 * ({@link #key}); derived when first needed (the secret usually comes a few milliseconds after the
 * ChangeCipherSpec). A direction whose keys are not known when it next needs them is read no
 * further; so is a stream after {@link #MAX_HANDSHAKES} handshakes.
 *
 * <p>Not thread-safe: owned by its stream.
 */
final class Renegotiation {
  /** Handshakes followed per connection, the first included (memory bound). */
  static final int MAX_HANDSHAKES = 16;
  private static final int CONTENT_CHANGE_CIPHER_SPEC = 20;
  private static final int CONTENT_HANDSHAKE = 22;
  private static final int HELLO_REQUEST = 0;

  /** One handshake: the first one (index 0) and each renegotiation. */
  private static final class Handshake {
    byte[] clientRandom;
    byte[] serverRandom;
    CipherSuite suite;
    byte[] masterSecret;
    Tls12Keys keys;
  }

  /** Where one direction is: which handshake's keys protect its records, from which record on. */
  private static final class Epoch {
    int handshake;
    int firstRecord;
    RecordKeys keys;
    /** Bytes of a handshake message cut at its record's end, to skip at the next one's start. */
    int skip;
    boolean stopped;
  }

  private final List<Handshake> handshakes = new ArrayList<>(2);
  private final Epoch client = new Epoch();
  private final Epoch server = new Epoch();
  private boolean helloRequested;

  /** Follows a keyed TLS 1.2 stream; null when its suite cannot be decrypted or its keys not derived. */
  static Renegotiation of(CipherSuite suite, byte[] masterSecret, byte[] clientRandom, byte[] serverRandom) {
    if (suite == null || !suite.aead().supported() || masterSecret == null) {
      return null;
    }
    Tls12Keys keys = TrialDecryption.forThisThread().tls12Keys(suite, masterSecret, clientRandom, serverRandom);
    if (keys == null) {
      return null;
    }
    Renegotiation r = new Renegotiation();
    Handshake first = new Handshake();
    first.clientRandom = clientRandom;
    first.serverRandom = serverRandom;
    first.suite = suite;
    first.masterSecret = masterSecret;
    first.keys = keys;
    r.handshakes.add(first);
    r.client.keys = keys.client();
    r.server.keys = keys.server();
    return r;
  }

  /** Renegotiations whose ClientHello was read (handshakes after the first). */
  int count() {
    return handshakes.size() - 1;
  }

  /** The client random of renegotiation {@code i} (0: the first renegotiation). */
  byte[] clientRandom(int i) {
    return handshakes.get(i + 1).clientRandom;
  }

  /** A renegotiation's ClientHello was read and its master secret is not keyed yet. */
  boolean waitingForSecret() {
    return count() > 0 && handshakes.get(handshakes.size() - 1).masterSecret == null;
  }

  /** The server asked for a renegotiation (HelloRequest) that the client did not start yet. */
  boolean requested() {
    return helloRequested;
  }

  /** Whether a direction is still read. */
  boolean follows(Side side) {
    return !epoch(side).stopped;
  }

  /** The master secret keyed for the renegotiation with {@code clientRandom}, or null. */
  byte[] secretOf(byte[] clientRandom) {
    Handshake h = find(clientRandom);
    return h != null ? h.masterSecret : null;
  }

  /** Keys a renegotiation's master secret; false when no renegotiation of this stream has that random. */
  boolean key(byte[] clientRandom, byte[] masterSecret) {
    Handshake h = find(clientRandom);
    if (h == null || h.masterSecret != null || masterSecret.length != 48) {
      return false;
    }
    h.masterSecret = masterSecret;
    return true;
  }

  private Handshake find(byte[] clientRandom) {
    for (int i = 1; i < handshakes.size(); i++) {
      if (Arrays.equals(handshakes.get(i).clientRandom, clientRandom)) {
        return handshakes.get(i);
      }
    }
    return null;
  }

  private Epoch epoch(Side side) {
    return side == Side.CLIENT ? client : server;
  }

  /**
   * Record {@code index} (counted from the direction's first record after its first
   * ChangeCipherSpec) of type {@code type} ended; {@code record} is the whole record when it is a
   * handshake record (kept for this), else null. Returns true when it taught something new (a
   * renegotiation's ClientHello).
   */
  boolean onRecord(Side side, int type, byte[] record, int index) {
    Epoch e = epoch(side);
    if (e.stopped) {
      return false;
    }
    if (type == CONTENT_CHANGE_CIPHER_SPEC) {
      // The next record is the new handshake's Finished, its epoch's record 0.
      e.handshake++;
      e.firstRecord = index + 1;
      e.keys = null;
      e.skip = 0;
      if (e.handshake >= handshakes.size()) {
        e.stopped = true; // a ChangeCipherSpec without a hello read: nothing to follow it with
      }
      return false;
    }
    int seq = index - e.firstRecord;
    if (type != CONTENT_HANDSHAKE || seq == 0 || record == null) {
      return false; // application data, alerts, and each epoch's Finished
    }
    if (e.keys == null && !deriveKeys(side, e)) {
      e.stopped = true;
      return false;
    }
    TrialDecryption trial = TrialDecryption.forThisThread();
    int plaintext = record.length - 5 - e.keys.suite().aead().tls12ExplicitNonceLength - CipherSuite.TAG_LENGTH;
    if (!trial.opensTls12(e.keys, record, seq)) {
      e.stopped = true; // not the keys this record is under: lost track
      return false;
    }
    return messages(side, e, trial.lastPlaintext(Math.max(0, plaintext)));
  }

  private boolean deriveKeys(Side side, Epoch e) {
    Handshake h = handshakes.get(e.handshake);
    if (h.keys == null) {
      if (h.masterSecret == null || h.serverRandom == null || h.suite == null) {
        return false;
      }
      h.keys = TrialDecryption.forThisThread().tls12Keys(h.suite, h.masterSecret, h.clientRandom, h.serverRandom);
      if (h.keys == null) {
        return false;
      }
    }
    e.keys = side == Side.CLIENT ? h.keys.client() : h.keys.server();
    return true;
  }

  /** RFC 5246 7.4: Handshake { msg_type (1), length (3), body }; reads the hellos' randoms. */
  private boolean messages(Side side, Epoch e, byte[] p) {
    int at = Math.min(e.skip, p.length);
    e.skip -= at;
    boolean learnt = false;
    while (at + 4 <= p.length) {
      int type = p[at] & 0xFF;
      int length = (p[at + 1] & 0xFF) << 16 | (p[at + 2] & 0xFF) << 8 | (p[at + 3] & 0xFF);
      int end = at + 4 + length;
      if (end > p.length) {
        e.skip = end - p.length;
        break;
      }
      try {
        if (side == Side.CLIENT && type == ClientHello.TYPE) {
          learnt |= clientHello(ClientHello.parse(p, at + 4, length));
        } else if (side == Side.SERVER && type == ServerHello.TYPE) {
          serverHello(ServerHello.parse(p, at + 4, length));
        } else if (side == Side.SERVER && type == HELLO_REQUEST) {
          helloRequested = true;
        }
      } catch (TlsFormatException malformed) {
        e.stopped = true;
        return learnt;
      }
      at = end;
    }
    return learnt;
  }

  private boolean clientHello(ClientHello hello) {
    helloRequested = false;
    if (handshakes.size() >= MAX_HANDSHAKES) {
      client.stopped = true;
      server.stopped = true;
      return false;
    }
    Handshake h = new Handshake();
    h.clientRandom = hello.random();
    handshakes.add(h);
    return true;
  }

  private void serverHello(ServerHello hello) {
    Handshake h = handshakes.get(handshakes.size() - 1);
    if (handshakes.size() == 1 || h.serverRandom != null) {
      return; // no renegotiation ClientHello read for it
    }
    h.serverRandom = hello.random();
    h.suite = CipherSuite.of(hello.cipherSuite(), false);
  }
}

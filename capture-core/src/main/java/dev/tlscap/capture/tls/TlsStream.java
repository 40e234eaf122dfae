// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.capture.tls;

import dev.tlscap.secrets.TlsLabel;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.HexFormat;
import java.util.Set;

/**
 * The TLS of one TCP connection, both directions, followed from its captured segments far enough
 * to prove which TLS secrets belong to it.
 *
 * <p>Each direction ({@link TlsDirection}) rebuilds its byte stream ({@link TcpReassembly}), splits
 * it into TLS records (RFC 8446 5.1: 1-byte type, 2-byte version, 2-byte length), reads its hello
 * (the ClientHello; the ServerHello, through a HelloRetryRequest), and keeps its first few
 * encrypted records ({@link #DEFAULT_MAX_KEPT_RECORDS}, each at most 2^14 + 2048 bytes). {@link #verify}
 * then says whether a secret opens the record it would protect as that key's record 0, which is
 * what ties a secret that arrived without its client random to this connection.
 *
 * <p>Where records are, per direction, counted from 0 among the encrypted ones (TLS 1.3: type 23
 * records; TLS 1.2: every record after the direction's ChangeCipherSpec):
 * <ul>
 *   <li>server: handshake key from record 0 (EncryptedExtensions ... Finished, one or more
 *       records), then SERVER_TRAFFIC_SECRET_0 from the first record after those;
 *   <li>client: with 0-RTT the early key from record 0, then the handshake key (Finished), then
 *       CLIENT_TRAFFIC_SECRET_0.
 * </ul>
 * Once a handshake (or early) secret is keyed, the stream opens the following records with it to
 * find exactly where the next key starts; until then a later secret is tried on every kept record
 * that could be its first.
 *
 * <p>Errors: nothing is thrown for any input. What went wrong shows in {@link #state()} and
 * {@link #problem()}: a client whose first bytes are no ClientHello is {@link State#NOT_TLS}; broken
 * framing after that is {@link State#MALFORMED}; a TCP gap that did not fill is {@link State#LOST}.
 * The records kept before a problem can still be verified.
 *
 * <p>Memory per stream is bounded: at most {@code maxKeptRecords} records per direction, a hello
 * of at most {@link #MAX_HELLO_LENGTH} bytes while it is incomplete, 64 KiB of out-of-order
 * segments per direction. Kept records are dropped as soon as their direction's secrets are keyed.
 *
 * <p>Not thread-safe: one thread (the capture event loop) feeds and verifies.
 */
public final class TlsStream {
  /** Which end of the connection sent a segment: the client sends the ClientHello. */
  public enum Side { CLIENT, SERVER }

  /** {@link Side#values()} once: the matcher walks both sides for every batch of records (C1 clones the array each call). */
  static final Side[] SIDES = Side.values();

  /** What the stream found so far. */
  public enum State {
    /** Not enough client bytes yet to know (the ClientHello is incomplete). */
    UNDECIDED,
    /** The ClientHello was read: {@link #clientRandom()} is known. Being followed. */
    TLS,
    /**
     * Not a TLS connection tlscap can follow: the client's first bytes are no TLS ClientHello (or
     * the server spoke first). Terminal: further segments are ignored.
     */
    NOT_TLS,
    /**
     * A TLS connection whose records or hellos then broke the format ({@link #problem()} says
     * where). The broken direction is followed no further; kept records can still be verified.
     */
    MALFORMED,
    /**
     * A TCP gap in one direction did not fill ({@link #lost(Side)}); that direction is followed no
     * further; kept records can still be verified.
     */
    LOST
  }

  /** What {@link #verify} found. */
  public enum Verdict {
    /** The secret opened (its AEAD tag verified) the record it protects first: it is this connection's. */
    MATCH,
    /** It is not this connection's secret (or can never be proven: the record it needs was not kept). */
    NO_MATCH,
    /** The records it needs have not been captured yet: try again when more came. */
    NOT_YET,
    /** The negotiated cipher suite cannot be checked with the JDK (AES-CCM, CBC suites). */
    UNSUPPORTED
  }

  public static final int TLS_1_2 = 0x0303;
  public static final int TLS_1_3 = 0x0304;
  /** How many encrypted records are kept per direction by default. */
  public static final int DEFAULT_MAX_KEPT_RECORDS = 6;
  /** RFC 5246 6.2.3: TLSCiphertext.length is at most 2^14 + 2048 (RFC 8446 5.2: 2^14 + 256). */
  static final int MAX_RECORD_LENGTH = (1 << 14) + 2048;
  /** RFC 8446 5.1: TLSPlaintext.length is at most 2^14. */
  static final int MAX_PLAINTEXT_LENGTH = 1 << 14;
  /** The largest ClientHello or ServerHello accepted (real ones have a few KiB). */
  public static final int MAX_HELLO_LENGTH = 32 * 1024;

  private final TlsDirection client;
  private final TlsDirection server;
  private final SecretVerifier verifier;
  private State state = State.UNDECIDED;
  private String problem;
  private ClientHello clientHello;
  private ServerHello serverHello;
  private boolean helloRetryRequest;
  private int version;
  /** The negotiated suite, when trial decryption knows it. */
  private CipherSuite suite;
  /** The secrets keyed to this stream, by {@link TlsLabel#code()}. */
  private final byte[][] keyed = new byte[8][];
  private boolean fullyKeyed;
  /**
   * {@link #readsOn()}, kept as it changes (keyed, a side stopped): asked for every packet of a keyed
   * connection, it then reads this object alone, not the two sides too.
   */
  private boolean readsOn;
  /** TLS 1.2, fully keyed: the renegotiations being followed, or null (TLS 1.3, not keyed, not decryptable). */
  private Renegotiation renegotiation;
  /** Set when a segment taught something a {@link SecretMatcher} should look at. */
  private boolean news;

  /** The matcher's bookkeeping for this stream (package-private, one matcher per stream). */
  StreamEntry matcherEntry;

  /** A stream keeping {@link #DEFAULT_MAX_KEPT_RECORDS} encrypted records per direction. */
  public TlsStream() {
    this(DEFAULT_MAX_KEPT_RECORDS);
  }

  /** A stream keeping at most {@code maxKeptRecords} (1 to 64) encrypted records per direction. */
  public TlsStream(int maxKeptRecords) {
    if (maxKeptRecords < 1 || maxKeptRecords > 64) {
      throw new IllegalArgumentException("maxKeptRecords must be 1 to 64, not " + maxKeptRecords);
    }
    this.client = new TlsDirection(this, Side.CLIENT, maxKeptRecords);
    this.server = new TlsDirection(this, Side.SERVER, maxKeptRecords);
    this.verifier = new SecretVerifier(this, client, server);
  }

  // ------------------------------------------------------------------ feeding

  /**
   * Optional: the SYN of {@code from} was seen with this sequence number, so data starts right
   * after it even when the first data segments arrive out of order.
   */
  public void onSyn(Side from, long initialSequence) {
    if (from != null) {
      half(from).tcp.start(initialSequence);
    }
  }

  /**
   * Optional: {@code from} sent its FIN. Once its data up to the FIN is in, no more records come
   * from that side, so a secret its records do not prove is NO_MATCH instead of NOT_YET.
   */
  public void onFin(Side from) {
    if (from != null) {
      half(from).finished = true;
    }
  }

  /**
   * {@link #onFin(Side)} with the FIN's sequence number: once every byte before it is in, the side
   * is known to have ended, and a traffic secret it sent no record under is not needed.
   */
  public void onFin(Side from, long finSequence) {
    if (from == null) {
      return;
    }
    TlsDirection h = half(from);
    h.finished = true;
    h.endSequence = finSequence;
    h.endKnown = true;
    releaseWhatIsKeyed();
  }

  /**
   * Optional: {@code from} reset the connection at {@code sequence}. The other program takes none of
   * the other side's later bytes: both sides have ended (the sender once its bytes before the reset
   * are in, the other side as far as it got).
   */
  public void onReset(Side from, long sequence) {
    if (from == null) {
      return;
    }
    onFin(from, sequence);
    TlsDirection other = half(from == Side.CLIENT ? Side.SERVER : Side.CLIENT);
    other.finished = true;
    other.endKnown = true;
    other.endSequence = Long.MIN_VALUE; // no sequence: ended where its bytes end
    releaseWhatIsKeyed();
  }

  /**
   * One TCP segment's payload: {@code length} bytes at {@code offset} of {@code data} (absolute
   * positions; the buffer's position and limit are not changed; it may be read-only or direct and
   * is not used after the call). Segments may come out of order or twice.
   *
   * @param tcpSeq the segment's TCP sequence number (0 to 2^32-1)
   * @return true when the stream learnt something a {@link SecretMatcher} should see (the
   *     ClientHello, the ServerHello, a new encrypted record): call
   *     {@link SecretMatcher#onRecords} then
   */
  public boolean onSegment(Side from, long tcpSeq, ByteBuffer data, int offset, int length) {
    if (state == State.NOT_TLS || from == null || data == null || length <= 0 || offset < 0
        || offset > data.limit() - length) {
      return false;
    }
    TlsDirection h = half(from);
    if (h.stopped) {
      return false;
    }
    news = false;
    if (h == server && clientHello == null && !client.sentAny) {
      notTls("the server spoke first");
      return true;
    }
    h.sentAny = true;
    try {
      h.tcp.accept(tcpSeq, data, offset, length, h);
      if (h.tcp.lost() && !h.stopped) {
        h.stop();
        if (state == State.UNDECIDED || state == State.TLS) {
          state = State.LOST;
          problem = h.name + " stream lost: a gap in its TCP sequence was not filled";
        }
        news = true;
      }
    } catch (RuntimeException e) {
      // A bug, not the input's fault; the input must still never make the pipeline fail.
      fail(h, "internal error: " + e);
    }
    return news;
  }

  /**
   * For fuzzing and tests: a stream fed {@code segments}, alternately from the client and the
   * server (client first), each side's segments one after the other. Never throws.
   */
  public static TlsStream feed(byte[]... segments) {
    TlsStream stream = new TlsStream();
    long[] seq = {1000, 5000};
    for (int i = 0; i < segments.length; i++) {
      byte[] s = segments[i];
      if (s == null) {
        continue;
      }
      int side = i & 1;
      stream.onSegment(side == 0 ? Side.CLIENT : Side.SERVER, seq[side] & 0xFFFFFFFFL, ByteBuffer.wrap(s), 0,
          s.length);
      seq[side] += s.length;
    }
    return stream;
  }

  /**
   * For fuzzing and tests: the ClientHello in bytes a client sent first (TLS records, as on the
   * wire), or null when they do not start with a complete, well-formed one. Never throws.
   */
  public static ClientHello parseClientHello(byte[] clientBytes) {
    return feed(clientBytes).clientHello;
  }

  // ------------------------------------------------------------------ what it found

  public State state() {
    return state;
  }

  /** What went wrong (for NOT_TLS, MALFORMED and LOST), or null. */
  public String problem() {
    return problem;
  }

  /** The ClientHello, or null before it was read. */
  public ClientHello clientHello() {
    return clientHello;
  }

  /** The 32-byte client random (do not modify), or null before the ClientHello was read. */
  public byte[] clientRandom() {
    return clientHello != null ? clientHello.random() : null;
  }

  /** The server name the client asked for (SNI), or null. */
  public String serverName() {
    return clientHello != null ? clientHello.serverName() : null;
  }

  /** The server random, or null before the ServerHello was read. */
  public byte[] serverRandom() {
    return serverHello != null ? serverHello.random() : null;
  }

  /** The ServerHello (not a HelloRetryRequest), or null before it was read. */
  ServerHello serverHello() {
    return serverHello;
  }

  /** The negotiated suite when trial decryption knows it, else null. */
  CipherSuite suite() {
    return suite;
  }

  /** The negotiated version ({@link #TLS_1_3}, {@link #TLS_1_2}...), 0 before the ServerHello. */
  public int version() {
    return version;
  }

  /** The negotiated cipher suite (IANA number), 0 before the ServerHello. */
  public int cipherSuite() {
    return serverHello != null ? serverHello.cipherSuite() : 0;
  }

  /** The server answered the first ClientHello with a HelloRetryRequest. */
  public boolean helloRetryRequest() {
    return helloRetryRequest;
  }

  /** A TCP gap in this direction did not fill. */
  public boolean lost(Side side) {
    return half(side).tcp.lost();
  }

  /** Encrypted records seen so far from {@code side} (kept or not). */
  public int records(Side side) {
    return half(side).records;
  }

  /**
   * TLS 1.3: the index (among {@link #records}) of {@code side}'s first record under its traffic
   * secret, as found while keying; -1 when unknown (not keyed, or the side sent none).
   */
  int applicationStart(Side side) {
    TlsDirection h = half(side);
    return h.handshakeEpoch != null && h.handshakeEpoch.end >= 0 ? h.handshakeEpoch.end : h.applicationStart;
  }

  /** Records opened so far by {@link #verify} and by following keyed secrets. */
  public long trialDecryptions() {
    return verifier.trialDecryptions();
  }

  /**
   * The secrets Wireshark needs to decrypt this connection: TLS 1.3, the four traffic secrets,
   * and CLIENT_EARLY_TRAFFIC_SECRET while 0-RTT data may be there (the client offered it and its
   * handshake key does not open its record 0); TLS 1.2 and older, CLIENT_RANDOM. Before the
   * ServerHello, a keyed secret tells the version (a master secret exists only below TLS 1.3, the
   * others only in it); without one, the set for the highest version the client offers. Empty
   * before the ClientHello.
   */
  public Set<TlsLabel> neededLabels() {
    EnumSet<TlsLabel> needed = EnumSet.noneOf(TlsLabel.class);
    if (clientHello == null) {
      return needed;
    }
    boolean tls13 = serverHello != null ? version == TLS_1_3
        : keyed[TlsLabel.CLIENT_RANDOM.code()] == null && (clientHello.offersTls13() || keyedAnyTls13());
    if (!tls13) {
      needed.add(TlsLabel.CLIENT_RANDOM);
      return needed;
    }
    needed.add(TlsLabel.CLIENT_HANDSHAKE_TRAFFIC_SECRET);
    needed.add(TlsLabel.SERVER_HANDSHAKE_TRAFFIC_SECRET);
    if (!client.endedInHandshake()) {
      needed.add(TlsLabel.CLIENT_TRAFFIC_SECRET_0);
    }
    if (!server.endedInHandshake()) {
      needed.add(TlsLabel.SERVER_TRAFFIC_SECRET_0);
    }
    if (earlyDataPossible()) {
      needed.add(TlsLabel.CLIENT_EARLY_TRAFFIC_SECRET);
    }
    return needed;
  }

  /** {@link #neededLabels()} not keyed yet. */
  public Set<TlsLabel> missingLabels() {
    Set<TlsLabel> missing = neededLabels();
    for (java.util.Iterator<TlsLabel> i = missing.iterator(); i.hasNext(); ) {
      if (keyed[i.next().code()] != null) {
        i.remove();
      }
    }
    return missing;
  }

  /**
   * The ClientHello was read and every needed secret is keyed. The stream keeps no record; it
   * follows nothing more, except that a TLS 1.2 stream reads on for renegotiations
   * ({@link #renegotiating()}).
   */
  public boolean fullyKeyed() {
    return fullyKeyed;
  }

  /**
   * Fully keyed and still reading its records: a TLS 1.2 stream following renegotiations (any
   * other keyed stream has stopped both directions: feeding it would cost for nothing).
   */
  public boolean readsOn() {
    return readsOn;
  }

  /** A side stopped, or the stream became fully keyed. */
  void updateReadsOn() {
    readsOn = fullyKeyed && !(client.stopped && server.stopped);
  }

  /**
   * TLS 1.2 renegotiation: a new handshake inside this keyed connection started (its encrypted
   * ClientHello was read) and its master secret is not keyed yet; its client random is
   * {@link #renegotiationRandom} {@code (renegotiations() - 1)}. The connection's next records
   * need that secret.
   */
  public boolean renegotiating() {
    return renegotiation != null && renegotiation.waitingForSecret();
  }

  /** Renegotiations whose ClientHello was read (each with a client random and a master secret of its own). */
  public int renegotiations() {
    return renegotiation != null ? renegotiation.count() : 0;
  }

  /** The client random of renegotiation {@code i} (0 to {@link #renegotiations()} - 1). */
  public byte[] renegotiationRandom(int i) {
    return renegotiation.clientRandom(i);
  }

  /** Its renegotiations (the matcher keys their secrets there), or null when it follows none. */
  Renegotiation renegotiation() {
    return renegotiation;
  }

  /** The secret keyed to this stream for {@code label} (do not modify), or null. */
  public byte[] keyedSecret(TlsLabel label) {
    return keyed[label.code()];
  }

  private boolean keyedAnyTls13() {
    for (TlsLabel l : TlsLabel.values()) {
      if (l.isTls13() && keyed[l.code()] != null) {
        return true;
      }
    }
    return false;
  }

  private boolean earlyDataPossible() {
    return clientHello.offersEarlyData() && !verifier.noEarlyData();
  }

  @Override
  public String toString() {
    StringBuilder s = new StringBuilder("TlsStream[").append(state);
    if (version != 0) {
      s.append(version == TLS_1_3 ? " TLS 1.3" : version == TLS_1_2 ? " TLS 1.2" : String.format(" 0x%04x", version))
          .append(String.format(" suite 0x%04x", cipherSuite()));
    }
    if (clientHello != null) {
      if (clientHello.serverName() != null) {
        s.append(' ').append(clientHello.serverName());
      }
      s.append(" random ").append(HexFormat.of().formatHex(clientHello.random(), 0, 8)).append("...");
    }
    if (problem != null) {
      s.append(": ").append(problem);
    }
    return s.append(']').toString();
  }

  // ------------------------------------------------------------------ verifying

  /**
   * Whether {@code secret} is this connection's {@code label} secret: it must open, as record 0 of
   * its key, the record it protects first (see the class comment for which). Tries every kept
   * record that could be that one. The secret must have the suite's hash length (TLS 1.3) or 48
   * bytes (CLIENT_RANDOM, TLS 1.2 AEAD suites, checked on each direction's Finished).
   * EXPORTER_SECRET protects no record: always NO_MATCH. A label already keyed gives MATCH for the
   * same secret and NO_MATCH for another, without decrypting. Never throws.
   *
   * @return the {@link SecretProof#verdict() verdict}; for a MATCH that opened a record also which
   *     one, so that keying the secret with this proof ({@code keyed}) does not decrypt again
   */
  public SecretProof verify(TlsLabel label, byte[] secret) {
    return verify(label, secret, 0);
  }

  /**
   * {@link #verify(TlsLabel, byte[])} trying only records numbered {@code fromRecord} or later in
   * the label's direction (the earlier ones already failed with this secret); for the matcher.
   */
  SecretProof verify(TlsLabel label, byte[] secret, int fromRecord) {
    if (label == null || secret == null) {
      return SecretProof.of(Verdict.NO_MATCH);
    }
    try {
      return verifier.verify(label, secret, fromRecord);
    } catch (RuntimeException e) {
      if (problem == null) {
        problem = "internal error verifying " + label + ": " + e;
      }
      return SecretProof.of(Verdict.NO_MATCH);
    }
  }

  /**
   * The matcher keyed {@code secret} to this stream (proven by {@link #verify}, or joined by client
   * random). Remembers it, follows the records it opens to learn where the next key starts, and
   * drops kept records no secret needs any more.
   *
   * @param proof what {@link #verify} on this stream found for this label and secret, or null when
   *     it was not proven here by trial (joined by client random): then the record it opens is
   *     looked for again. Nothing is remembered between verify and this call but what proof holds.
   */
  void keyed(TlsLabel label, byte[] secret, SecretProof proof) {
    if (keyed[label.code()] != null) {
      return;
    }
    try {
      verifier.keyed(label, secret, proof);
    } catch (RuntimeException e) {
      if (problem == null) {
        problem = "internal error keying " + label + ": " + e;
      }
    }
    keyed[label.code()] = secret;
    releaseWhatIsKeyed();
  }

  private void releaseWhatIsKeyed() {
    if (clientHello == null || fullyKeyed) {
      return;
    }
    Set<TlsLabel> missing = missingLabels();
    if (missing.isEmpty()) {
      fullyKeyed = true;
      updateReadsOn();
      watchRenegotiation();
      return;
    }
    boolean clientNeeds = false;
    boolean serverNeeds = false;
    for (TlsLabel l : missing) {
      Side s = sideOf(l);
      clientNeeds |= s != Side.SERVER;
      serverNeeds |= s != Side.CLIENT;
    }
    if (serverHello != null && !clientNeeds) {
      client.release();
    }
    if (serverHello != null && !serverNeeds) {
      server.release();
    }
  }

  /** Which direction's records a secret protects; null for both (CLIENT_RANDOM) or none (EXPORTER). */
  static Side sideOf(TlsLabel label) {
    return switch (label) {
      case CLIENT_EARLY_TRAFFIC_SECRET, CLIENT_HANDSHAKE_TRAFFIC_SECRET, CLIENT_TRAFFIC_SECRET_0 -> Side.CLIENT;
      case SERVER_HANDSHAKE_TRAFFIC_SECRET, SERVER_TRAFFIC_SECRET_0 -> Side.SERVER;
      default -> null;
    };
  }

  /** Encrypted records of {@code side} a secret can be tried on (0 until the suite is known). */
  int recordsReady(Side side) {
    return serverHello != null ? half(side).records : 0;
  }

  /** The ServerHello was read (the matcher's cue that secrets can be tried). */
  boolean negotiated() {
    return serverHello != null;
  }

  /** For tests: the kept record {@code index} of {@code side}, or null. */
  byte[] keptRecord(Side side, int index) {
    return half(side).kept(index);
  }

  /**
   * The stream is followed no further (its connection left the capture's table): what it buffered
   * goes (kept records, hello buffers, out-of-order segments); what it learnt stays.
   */
  public void discard() {
    client.release();
    server.release();
  }

  /** Bytes this stream holds (kept records, hello buffers, out-of-order segments), for the capture's memory bound. */
  public long memoryBytes() {
    return heldBytes();
  }

  /** For tests: bytes held by this stream (kept records, hello buffers, out-of-order segments). */
  long heldBytes() {
    return client.heldBytes() + server.heldBytes();
  }

  // ------------------------------------------------------------------ parsing

  private TlsDirection half(Side side) {
    return side == Side.CLIENT ? client : server;
  }

  void notTls(String reason) {
    state = State.NOT_TLS;
    problem = reason;
    client.stop();
    server.stop();
    news = true;
  }

  void fail(TlsDirection h, String message) {
    h.stop();
    news = true;
    if (clientHello == null) {
      notTls(h.name + ": " + message);
      return;
    }
    if (state == State.UNDECIDED || state == State.TLS) {
      state = State.MALFORMED;
      problem = h.name + ": " + message;
    }
  }

  void onClientHello(ClientHello hello) {
    clientHello = hello;
    state = State.TLS;
    news = true;
  }

  /**
   * The ClientHello that answers a HelloRetryRequest. RFC 8446 4.1.2 wants the first one's random in
   * it, but servers do not check; the keys, the peers' key logs and Wireshark go by this one's, so
   * a client that changes it must not leave the stream under the first one's (its lines would
   * decrypt nothing). The early data offer stays the first hello's: 0-RTT records followed it.
   */
  void onRetryClientHello(ClientHello hello) {
    if (!Arrays.equals(hello.random(), clientHello.random())) {
      clientHello = new ClientHello(hello.legacyVersion(), hello.random(), hello.sessionId(), hello.serverName(),
          hello.supportedVersions(), hello.alpn(), clientHello.offersEarlyData());
      news = true;
    }
  }

  void onServerHello(ServerHello hello) throws TlsFormatException {
    int v = hello.version();
    if (v < 0x0300 || v > TLS_1_3) {
      throw new TlsFormatException(String.format("ServerHello chose version 0x%04x", v));
    }
    if (hello.helloRetryRequest()) {
      helloRetryRequest = true;
      return;
    }
    serverHello = hello;
    version = v;
    suite = CipherSuite.of(hello.cipherSuite(), v == TLS_1_3);
    news = true;
    if (fullyKeyed) {
      watchRenegotiation(); // keyed before its ServerHello
    } else {
      releaseWhatIsKeyed(); // a CLIENT_RANDOM keyed before the ServerHello may be all a TLS 1.2 stream needs
    }
  }

  /**
   * Fully keyed: a TLS 1.2 stream reads on for renegotiations (its ServerHello first, when the
   * master secret came before it); any other stream is followed no further.
   */
  private void watchRenegotiation() {
    if (serverHello == null && !clientHello.offersTls13()) {
      client.watchRenegotiation(); // the ServerHello comes back here
      server.watchRenegotiation();
      return;
    }
    if (serverHello != null && version != TLS_1_3 && renegotiation == null) {
      renegotiation = Renegotiation.of(suite, keyed[TlsLabel.CLIENT_RANDOM.code()], clientRandom(), serverRandom());
    }
    if (renegotiation != null) {
      client.watchRenegotiation();
      server.watchRenegotiation();
    } else {
      client.release();
      server.release();
    }
  }

  /**
   * A fully keyed TLS 1.2 direction completed record {@code index} of type {@code type}
   * ({@code record}: the whole record for handshake records, else null).
   */
  void onWatchedRecord(TlsDirection h, int type, byte[] record, int index) {
    if (renegotiation == null) {
      h.stop(); // (encrypted records before the ServerHello: not TLS 1.2)
      return;
    }
    try {
      news |= renegotiation.onRecord(h.side, type, record, index);
    } catch (RuntimeException e) {
      fail(h, "internal error following a renegotiation: " + e);
      return;
    }
    if (!renegotiation.follows(h.side)) {
      h.stop();
    }
  }

  /** The direction completed an encrypted record (kept or not). */
  void onEncryptedRecord(TlsDirection h) {
    news = true;
    verifier.followEpochs(h);
  }
}

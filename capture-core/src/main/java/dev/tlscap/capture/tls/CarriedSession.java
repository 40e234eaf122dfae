// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.capture.tls;

import dev.tlscap.capture.tls.TlsStream.Side;
import dev.tlscap.capture.tls.TrialDecryption.RecordKeys;
import dev.tlscap.secrets.TlsLabel;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A keyed TLS connection followed on after its handshake so that it decrypts in every rotated file,
 * not only in the one that holds its handshake.
 *
 * <p>Wireshark decrypts a TLS stream only after its ClientHello and ServerHello (TLS 1.3: its
 * encrypted handshake up to each side's Finished, where it switches to the traffic keys), and it
 * numbers each direction's records from 0 under each key, advancing only on a record that
 * authenticates: the AEAD nonce (TLS 1.3, ChaCha20 in TLS 1.2) or the additional data (TLS 1.2 GCM)
 * depend on that number. So a later file gets a {@link Prologue} per connection: the handshake's
 * bytes again (kept here, at most {@link #MAX_HANDSHAKE_BYTES}), then per direction TLS 1.3
 * KeyUpdate records for the key updates seen, then as many empty records, sealed with the real
 * traffic keys, as the real stream sent under its current key, then the bytes of the record in
 * progress. Wireshark then reads the file's first real record with the right key and number.
 *
 * <p>What it follows, per direction, from the first byte the connection sent: TCP bytes in order
 * (a gap, a segment cut by the snap length: {@link #lost}), TLS record headers (a record's body is
 * not read, except records short enough to be a TLS 1.3 KeyUpdate, which are opened with the current
 * key to see whether they are one). Not thread-safe; one per connection.
 */
public final class CarriedSession {
  /** The handshake bytes kept for replay, both directions (a server certificate chain is a few KiB). */
  public static final int MAX_HANDSHAKE_BYTES = 64 * 1024;
  /** A record this short may be a TLS 1.3 KeyUpdate (22 bytes unpadded): opened to see. */
  static final int KEY_UPDATE_CANDIDATE_LENGTH = 64;
  /** The largest synthetic packet payload a prologue makes. */
  static final int MAX_PIECE = 16 * 1024;

  /** One payload of a prologue, in order: {@code synthetic} sealed records, or else real bytes sent again. */
  public record Piece(Side side, byte[] bytes, boolean synthetic) {}

  /**
   * What a new file needs for this connection: the pieces in order, and where each direction's real
   * stream goes on ({@code clientNext}, {@code serverNext}: the TCP sequence number of its next byte;
   * the pieces of a side end just there). {@code failure} says why there is none, else null.
   */
  public record Prologue(List<Piece> pieces, long clientNext, long serverNext, long syntheticRecords,
      String failure) {
    public static Prologue failed(String why) {
      return new Prologue(List.of(), 0, 0, 0, why);
    }
  }

  /** Bytes fed before the connection was keyed (an {@link #unkeyed()} session), in order, or null. */
  private record Early(Side side, long seq, byte[] bytes) {}

  private final CipherSuite suite;
  private final Half client;
  private final Half server;
  private final List<Early> early;
  private int earlyBytes;
  private final List<Piece> handshake = new ArrayList<>();
  private int handshakeBytes;
  /** Why this connection cannot be carried into later files, or null. */
  private String notCarried;

  private CarriedSession(TlsStream stream, String notCarried) {
    this.early = null;
    this.suite = stream.suite();
    this.notCarried = notCarried;
    this.client = new Half(Side.CLIENT);
    this.server = new Half(Side.SERVER);
  }

  private CarriedSession() {
    this.early = new ArrayList<>();
    this.suite = null;
    this.client = new Half(Side.CLIENT);
    this.server = new Half(Side.SERVER);
  }

  /**
   * A connection written before it was keyed, which may be keyed later: its segments are only kept
   * (at most {@link #MAX_HANDSHAKE_BYTES}) until {@link #of(TlsStream, CarriedSession)} follows them.
   */
  public static CarriedSession unkeyed() {
    return new CarriedSession();
  }

  /** False for an {@link #unkeyed()} session. */
  public boolean keyed() {
    return early == null;
  }

  /**
   * {@link #of(TlsStream)}, fed first what {@code before} (an {@link #unkeyed()} session, or null)
   * kept of the connection.
   */
  public static CarriedSession of(TlsStream stream, CarriedSession before) {
    CarriedSession c = of(stream);
    if (before != null && !before.keyed()) {
      if (before.notCarried != null) {
        c.notCarried = before.notCarried;
      }
      for (Early e : before.early) {
        c.onSegment(e.side(), e.seq(), ByteBuffer.wrap(e.bytes()), 0, e.bytes().length);
      }
    }
    return c;
  }

  /**
   * Starts following a fully keyed stream. Feed it the connection's segments from its first
   * (the ClientHello) on; {@link #notCarried()} says at once when it cannot be carried.
   */
  public static CarriedSession of(TlsStream stream) {
    CipherSuite suite = stream.suite();
    int version = stream.version();
    if (version != TlsStream.TLS_1_3 && version != TlsStream.TLS_1_2) {
      return new CarriedSession(stream, version == 0 ? "keyed before its ServerHello was seen"
          : String.format("TLS version 0x%04x", version));
    }
    if (suite == null || !suite.aead().supported()) {
      return new CarriedSession(stream, String.format("cipher suite 0x%04x (tlscap seals AES-GCM and"
          + " ChaCha20-Poly1305 records only)", stream.cipherSuite()));
    }
    if (stream.renegotiations() > 0) {
      return new CarriedSession(stream, "a TLS 1.2 renegotiation");
    }
    CarriedSession c = new CarriedSession(stream, null);
    TrialDecryption trial = TrialDecryption.forThisThread();
    if (version == TlsStream.TLS_1_3) {
      c.client.start(stream.applicationStart(Side.CLIENT), stream.keyedSecret(TlsLabel.CLIENT_TRAFFIC_SECRET_0));
      c.server.start(stream.applicationStart(Side.SERVER), stream.keyedSecret(TlsLabel.SERVER_TRAFFIC_SECRET_0));
    } else {
      TrialDecryption.Tls12Keys keys = trial.tls12Keys(suite, stream.keyedSecret(TlsLabel.CLIENT_RANDOM),
          stream.clientRandom(), stream.serverRandom());
      if (keys == null) {
        c.notCarried = "its TLS 1.2 keys could not be derived";
        return c;
      }
      c.client.keys = keys.client();
      c.server.keys = keys.server();
      c.client.applicationStart = 1; // record 0 is its Finished
      c.server.applicationStart = 1;
    }
    return c;
  }

  /** Why the connection cannot be carried into later files (for every file), or null. */
  public String notCarried() {
    return notCarried;
  }

  /** Why a direction was lost (a gap, a cut, a record that did not open), as "client stream lost: ...", or null. */
  public String lost() {
    Half h = client.lost != null ? client : server.lost != null ? server : null; // asked per packet: no allocation
    return h != null ? h.name + " stream lost: " + h.lost : null;
  }

  /** Bytes held: the handshake kept for replay and the records in progress. */
  public long memoryBytes() {
    return handshakeBytes + (early != null ? earlyBytes : 0) + client.partial.length + server.partial.length
        + client.tcp.waitingBytes() + server.tcp.waitingBytes();
  }

  /** {@code side} sent a segment that the capture cut short (snap length): its stream is lost. */
  public void truncated(Side side) {
    if (early != null) {
      notCarried = side.name().toLowerCase(java.util.Locale.ROOT) + " stream lost: a packet cut by the snap length";
      return;
    }
    half(side).lose("a packet cut by the snap length");
  }

  /**
   * One TCP segment's payload, in capture order, both directions (retransmitted bytes are skipped;
   * bytes past a gap lose the direction). Absolute reads; the buffer is not kept.
   */
  public void onSegment(Side side, long tcpSeq, ByteBuffer data, int offset, int length) {
    if (early != null && notCarried == null && length > 0) {
      earlyBytes += length;
      if (earlyBytes > MAX_HANDSHAKE_BYTES) {
        notCarried = "more than " + MAX_HANDSHAKE_BYTES / 1024 + " KiB before it was keyed";
        early.clear();
        earlyBytes = 0;
        return;
      }
      byte[] bytes = new byte[length];
      data.get(offset, bytes);
      early.add(new Early(side, tcpSeq, bytes));
      return;
    }
    if (notCarried == null && length > 0) {
      half(side).segment((int) tcpSeq, data, offset, length);
    }
  }

  /**
   * The prologue a new file needs for this connection now, with at most {@code maxRecords}
   * synthetic records; a failure (and no pieces) when it cannot be made.
   */
  public Prologue prologue(long maxRecords) {
    if (early != null) {
      return Prologue.failed("not keyed");
    }
    if (notCarried != null) {
      return Prologue.failed(notCarried);
    }
    String lost = lost();
    if (lost != null) {
      return Prologue.failed(lost);
    }
    if (client.tcp.waitingBytes() > 0 || server.tcp.waitingBytes() > 0) {
      return Prologue.failed("a gap in its TCP sequence at the file boundary");
    }
    long records = client.syntheticRecords() + server.syntheticRecords();
    if (records > maxRecords) {
      return Prologue.failed(records + " records to align, more than " + maxRecords);
    }
    List<Piece> pieces = new ArrayList<>(handshake);
    for (Half h : new Half[] {client, server}) {
      if (!h.seal(pieces)) {
        return Prologue.failed("the JDK could not seal its records");
      }
      h.verifyNext = h.inApplication;
      if (h.partialFill > 0) {
        pieces.add(new Piece(h.side, Arrays.copyOf(h.partial, h.partialFill), false));
      }
    }
    return new Prologue(pieces, client.next & 0xFFFFFFFFL, server.next & 0xFFFFFFFFL, records, null);
  }

  private Half half(Side side) {
    return side == Side.CLIENT ? client : server;
  }

  private void keepHandshake(Side side, ByteBuffer data, int offset, int length) {
    if (length <= 0 || notCarried != null) {
      return;
    }
    handshakeBytes += length;
    if (handshakeBytes > MAX_HANDSHAKE_BYTES) {
      notCarried = "a handshake of more than " + MAX_HANDSHAKE_BYTES / 1024 + " KiB";
      handshake.clear();
      handshakeBytes = 0;
      return;
    }
    byte[] bytes = new byte[length];
    data.get(offset, bytes);
    handshake.add(new Piece(side, bytes, false));
  }

  /** One direction: where its stream is, where its records are, under which key. */
  private final class Half implements TcpReassembly.Receiver {
    final Side side;
    final TcpReassembly tcp = new TcpReassembly();
    final String name;
    String lost;
    boolean started;
    /** The next expected TCP sequence number (mod 2^32). */
    int next;
    /** The index of its first record under the traffic key (TLS 1.3: after its Finished; TLS 1.2: 1). */
    int applicationStart = -1;
    /** Encrypted records begun before the traffic key's first. */
    int encryptedBefore;
    boolean inApplication;
    /** TLS 1.2: its ChangeCipherSpec was read: every later record is encrypted. */
    boolean tls12Encrypted;
    /** TLS 1.3: the traffic secret of generation 0 and of the current generation, and its keys. */
    byte[] secret0;
    byte[] secret;
    int generation;
    RecordKeys keys;
    /** Records completed under the current key (TLS 1.2: after the Finished). */
    long records;
    /** A prologue was made: the next record must open with the current key at its number. */
    boolean verifyNext;
    final byte[] header = new byte[5];
    int headerFill;
    int bodyLeft;
    int type;
    /** The record in progress (traffic key phase), from its header on, when it spans segments. */
    byte[] partial = new byte[0];
    int partialFill;

    Half(Side side) {
      this.side = side;
      this.name = side == Side.CLIENT ? "client" : "server";
    }

    void start(int applicationStart, byte[] trafficSecret) {
      this.applicationStart = applicationStart;
      this.secret0 = trafficSecret;
      this.secret = trafficSecret;
      this.keys = trafficSecret != null ? TrialDecryption.forThisThread().tls13Keys(suite, trafficSecret) : null;
    }

    void lose(String why) {
      if (lost == null) {
        lost = why;
        partial = new byte[0];
        partialFill = 0;
        tcp.clear();
      }
    }

    void segment(int seq, ByteBuffer data, int offset, int length) {
      if (lost != null) {
        return;
      }
      if (!started) {
        started = true;
        next = seq;
      }
      // out of order (a segment lost on its way and sent again) waits, bounded, for the gap to fill
      tcp.accept(seq & 0xFFFFFFFFL, data, offset, length, this);
      if (tcp.lost()) {
        lose("a gap in its TCP sequence that did not fill");
      }
    }

    /** The direction's next bytes, in order (from {@link #tcp}). */
    @Override
    public void receive(ByteBuffer data, int offset, int length) {
      if (lost != null) {
        return;
      }
      next += length;
      int end = offset + length;
      boolean handshakeSegment = !inApplication;
      int handshakeEnd = end;
      int recordFrom = headerFill > 0 ? -1 : offset; // -1: the record in progress began in an earlier segment
      int at = offset;
      while (at < end) {
        if (headerFill < 5) {
          if (headerFill == 0) {
            recordFrom = at;
          }
          header[headerFill++] = data.get(at++);
          if (headerFill < 5) {
            continue;
          }
          boolean wasInApplication = inApplication;
          if (!startRecord(recordFrom < 0)) {
            return;
          }
          if (inApplication && !wasInApplication) {
            handshakeEnd = recordFrom; // the traffic key's first record begins here: before it, handshake
          }
          if (bodyLeft == 0) {
            endRecord(data, offset, recordFrom, at);
          }
          continue;
        }
        int n = Math.min(bodyLeft, end - at);
        at += n;
        bodyLeft -= n;
        if (bodyLeft == 0) {
          endRecord(data, offset, recordFrom, at);
        }
        if (lost != null) {
          return;
        }
      }
      if (handshakeSegment) {
        keepHandshake(side, data, offset, handshakeEnd - offset);
      }
      if (inApplication && headerFill > 0) {
        int from = recordFrom >= 0 ? recordFrom : offset;
        appendPartial(data, from, end - from);
      }
    }

    /** A record header is complete ({@code begunEarlier}: in an earlier segment); false when it is no TLS record. */
    private boolean startRecord(boolean begunEarlier) {
      type = header[0] & 0xFF;
      bodyLeft = (header[3] & 0xFF) << 8 | (header[4] & 0xFF);
      if (type < 20 || type > 24 || header[1] != 3 || bodyLeft > TlsStream.MAX_RECORD_LENGTH) {
        lose("a malformed TLS record header");
        return false;
      }
      boolean encrypted = suite.tls13() ? type == RecordSealer.CONTENT_APPLICATION_DATA : tls12Encrypted;
      if (encrypted && !inApplication) {
        if (applicationStart >= 0 && encryptedBefore == applicationStart) {
          if (begunEarlier) {
            lose("its first record under the traffic key began in a header split across segments");
            return false;
          }
          inApplication = true;
        } else {
          encryptedBefore++;
        }
      }
      return true;
    }

    /** A record ended at {@code recordEnd} (it began at {@code recordFrom} of this segment, or -1: earlier). */
    private void endRecord(ByteBuffer data, int segmentStart, int recordFrom, int recordEnd) {
      headerFill = 0;
      boolean encrypted = suite.tls13() ? type == RecordSealer.CONTENT_APPLICATION_DATA : tls12Encrypted;
      if (!inApplication) {
        tls12Encrypted |= !suite.tls13() && type == 20;
      } else if (encrypted) {
        boolean keyUpdateCandidate = suite.tls13() && keys != null
            && ((header[3] & 0xFF) << 8 | (header[4] & 0xFF)) <= KEY_UPDATE_CANDIDATE_LENGTH;
        if (keyUpdateCandidate || verifyNext) {
          opened(record(data, segmentStart, recordFrom, recordEnd), keyUpdateCandidate);
        } else {
          records++;
        }
      }
      partialFill = 0;
    }

    /** The whole record just completed: its bytes from earlier segments, then this segment's. */
    private byte[] record(ByteBuffer data, int segmentStart, int recordFrom, int recordEnd) {
      int from = recordFrom >= 0 ? recordFrom : segmentStart;
      int earlier = recordFrom >= 0 ? 0 : partialFill;
      byte[] r = Arrays.copyOf(partial, earlier + recordEnd - from);
      data.get(from, r, earlier, recordEnd - from);
      return r;
    }

    /**
     * A record opened with the current key at its number: the first after a prologue must open
     * (else a key change was missed, and the files from here on cannot be aligned: lost); a short
     * TLS 1.3 one that is a KeyUpdate moves the direction to the next key.
     */
    private void opened(byte[] record, boolean keyUpdateCandidate) {
      TrialDecryption trial = TrialDecryption.forThisThread();
      boolean opens = keys != null && (suite.tls13() ? trial.opensTls13(keys, record, records)
          : trial.opensTls12(keys, record, records + 1)); // TLS 1.2: record 0 was its Finished
      if (verifyNext) {
        verifyNext = false;
        if (!opens) {
          lose("a record its traffic key did not open (a key change tlscap did not see)");
          return;
        }
      }
      records++;
      if (!opens || !keyUpdateCandidate) {
        return;
      }
      byte[] p = trial.lastPlaintext(record.length - 5 - CipherSuite.TAG_LENGTH);
      int last = p.length - 1;
      while (last >= 0 && p[last] == 0) {
        last--;
      }
      if (last >= 4 && p[last] == RecordSealer.CONTENT_HANDSHAKE && p[0] == 24) {
        byte[] nextSecret = RecordSealer.forThisThread().nextTrafficSecret(suite, secret);
        RecordKeys nextKeys = nextSecret != null ? trial.tls13Keys(suite, nextSecret) : null;
        if (nextKeys == null) {
          lose("its next traffic key could not be derived");
          return;
        }
        secret = nextSecret;
        keys = nextKeys;
        generation++;
        records = 0;
      }
    }

    private void appendPartial(ByteBuffer data, int from, int length) {
      if (partialFill + length > partial.length) {
        partial = Arrays.copyOf(partial, Math.max(partialFill + length, Math.min(2 * partial.length + 256,
            5 + TlsStream.MAX_RECORD_LENGTH)));
      }
      data.get(from, partial, partialFill, length);
      partialFill += length;
    }

    long syntheticRecords() {
      if (!inApplication) {
        return 0;
      }
      return generation + records;
    }

    /** Appends this side's KeyUpdate and empty records; false when the JDK could not seal them. */
    boolean seal(List<Piece> pieces) {
      long n = syntheticRecords();
      if (n == 0) {
        return true;
      }
      RecordSealer sealer = RecordSealer.forThisThread();
      TrialDecryption trial = TrialDecryption.forThisThread();
      int empty = RecordSealer.emptyRecordLength(suite);
      byte[] buffer = new byte[(int) Math.min(MAX_PIECE, n * Math.max(empty, RecordSealer.TLS13_KEY_UPDATE_RECORD))];
      int fill = 0;
      byte[] s = secret0;
      for (int g = 0; g < generation; g++) { // TLS 1.3: walk Wireshark through the key updates
        if (fill + RecordSealer.TLS13_KEY_UPDATE_RECORD > buffer.length) {
          pieces.add(new Piece(side, Arrays.copyOf(buffer, fill), true));
          fill = 0;
        }
        int r = sealer.sealKeyUpdate(trial.tls13Keys(suite, s), 0, buffer, fill);
        if (r < 0) {
          return false;
        }
        fill += r;
        s = sealer.nextTrafficSecret(suite, s);
      }
      long first = suite.tls13() ? 0 : 1; // TLS 1.2: record 0 is the Finished, in the replayed handshake
      for (long seq = first; seq < first + records; ) {
        int run = (int) Math.min((buffer.length - fill) / empty, first + records - seq);
        if (run == 0) {
          pieces.add(new Piece(side, Arrays.copyOf(buffer, fill), true));
          fill = 0;
          continue;
        }
        int r = sealer.sealEmptyRun(keys, seq, run, buffer, fill);
        if (r < 0) {
          return false;
        }
        fill += r;
        seq += run;
      }
      if (fill > 0) {
        pieces.add(new Piece(side, Arrays.copyOf(buffer, fill), true));
      }
      return true;
    }
  }
}

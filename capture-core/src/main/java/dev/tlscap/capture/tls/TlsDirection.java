// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.capture.tls;

import dev.tlscap.capture.tls.TlsStream.Side;
import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * One direction of a {@link TlsStream}: its byte stream rebuilt from TCP segments
 * ({@link TcpReassembly}), split into TLS records (RFC 8446 5.1: 1-byte type, 2-byte version,
 * 2-byte length), its hello (ClientHello or ServerHello, which may span records) reassembled and
 * handed to the stream, and its first encrypted records kept, numbered from 0, for trial
 * decryption. It also holds where its keyed handshake (and early) secrets' records run
 * ({@link SecretVerifier.KeyEpoch}), which the verifier follows as records come.
 *
 * <p>What the direction learns and what goes wrong it reports to its stream, which owns the
 * connection's state; it reads the stream's hellos to know how to read its records (TLS 1.2:
 * records after a ChangeCipherSpec are encrypted). Errors in the input are
 * {@link TlsFormatException}s, caught here and reported as {@link TlsStream#fail}.
 *
 * <p>Not thread-safe: owned by its stream.
 */
final class TlsDirection implements TcpReassembly.Receiver {
  private static final int CONTENT_CHANGE_CIPHER_SPEC = 20;
  private static final int CONTENT_HANDSHAKE = 22;
  private static final int CONTENT_APPLICATION_DATA = 23;
  private static final int CONTENT_HEARTBEAT = 24;

  /* What the bytes of the current record are read for. */
  private static final int SKIP = 0;
  private static final int HANDSHAKE = 1;
  private static final int ENCRYPTED = 2;

  private final TlsStream stream;
  private final int maxKeptRecords;
  final Side side;
  final String name;
  final TcpReassembly tcp = new TcpReassembly();
  /** Followed no further: broken, lost, or every secret it needs is keyed. */
  boolean stopped;
  /** The side sent its FIN. */
  boolean finished;
  /** The side's end is known: {@link #endSequence}, its FIN's or reset's sequence number, or Long.MIN_VALUE: none. */
  boolean endKnown;
  long endSequence;
  /** A segment with data came from this side. */
  boolean sentAny;
  /** TLS 1.3: the side ended with every record it sent under its handshake key (see endedInHandshake). */
  private boolean endedInHandshake;

  private final byte[] header = new byte[5];
  private int headerFill;
  private int bodyLength;
  private int bodyFill;
  private int mode;
  private byte[] keeping;

  /** The hello being reassembled (it may span records), null once read. */
  private byte[] hello;
  private int helloFill;
  private boolean helloDone;
  /** The client: the hello being read answers a HelloRetryRequest (the second ClientHello). */
  private boolean retryHello;
  /** TLS 1.2: this side sent its ChangeCipherSpec; every later record is encrypted. */
  private boolean tls12Encrypted;

  /** Encrypted records numbered from 0; only the first maxKeptRecords kept. */
  int records;
  private byte[][] kept;
  private boolean released;
  /**
   * TLS 1.2, every secret keyed: record headers are still read, and handshake records handed to
   * the stream's {@link Renegotiation} (nothing else is kept).
   */
  private boolean watching;

  /** Where the keyed early secret's records run (the client), or null. */
  SecretVerifier.KeyEpoch early;
  /** Where the keyed handshake secret's records run, or null. */
  SecretVerifier.KeyEpoch handshakeEpoch;
  /** TLS 1.3: the index of its first record under its traffic secret, once known (kept after release); else -1. */
  int applicationStart = -1;

  TlsDirection(TlsStream stream, Side side, int maxKeptRecords) {
    this.stream = stream;
    this.side = side;
    this.name = side == Side.CLIENT ? "client" : "server";
    this.maxKeptRecords = maxKeptRecords;
  }

  /** The kept encrypted record {@code index} (header included), or null when it was not kept. */
  byte[] kept(int index) {
    return kept != null && index >= 0 && index < kept.length ? kept[index] : null;
  }

  /** A record was begun and not completed. */
  boolean partialRecord() {
    return headerFill > 0;
  }

  /** New encrypted records of this side may still be kept. */
  boolean canKeepMore() {
    return !stopped && !released && !(finished && tcp.waitingBytes() == 0) && records < maxKeptRecords;
  }

  /**
   * TLS 1.3: this side finished, all its bytes are in, and its handshake key opened every record
   * it sent: no record is protected by its traffic secret (a client that hangs up right after its
   * Finished, as {@code openssl s_time} does), so that secret is not needed, and cannot be proven.
   */
  boolean endedInHandshake() {
    if (!endedInHandshake) { // decided once: releasing the side forgets its epochs
      endedInHandshake = endKnown && (endSequence == Long.MIN_VALUE ? tcp.waitingBytes() == 0 && !tcp.lost()
          : tcp.reached(endSequence)) && handshakeEpoch != null && handshakeEpoch.end < 0
          && handshakeEpoch.next >= records && !partialRecord();
    }
    return endedInHandshake;
  }

  /** Follows this side no further: what is buffered for reading is dropped; kept records stay. */
  void stop() {
    stopped = true;
    stream.updateReadsOn();
    hello = null;
    keeping = null;
    tcp.clear();
  }

  /** Every secret this side needs is keyed: drops its kept records and key epochs too. */
  void release() {
    forgetRecords();
    stop();
  }

  /** Every secret is keyed (TLS 1.2): drops what {@link #release} drops but goes on reading record headers. */
  void watchRenegotiation() {
    forgetRecords();
    watching = !stopped;
  }

  private void forgetRecords() {
    if (handshakeEpoch != null && handshakeEpoch.end >= 0) {
      applicationStart = handshakeEpoch.end;
    }
    released = true;
    kept = null;
    keeping = null;
    early = null;
    handshakeEpoch = null;
  }

  long heldBytes() {
    long n = (hello != null ? hello.length : 0) + (keeping != null ? keeping.length : 0) + tcp.waitingBytes();
    if (kept != null) {
      for (byte[] r : kept) {
        n += r != null ? r.length : 0;
      }
    }
    return n;
  }

  @Override
  public void receive(ByteBuffer data, int offset, int length) {
    try {
      while (length > 0 && !stopped) {
        if (headerFill < 5) {
          header[headerFill++] = data.get(offset++);
          length--;
          if (side == Side.CLIENT && stream.clientHello() == null && !checkClientStart()) {
            return;
          }
          if (headerFill == 5) {
            startRecord();
          }
          continue;
        }
        int n = Math.min(bodyLength - bodyFill, length);
        if (mode == ENCRYPTED && keeping != null) {
          data.get(offset, keeping, 5 + bodyFill, n);
        } else if (mode == HANDSHAKE) {
          appendHello(data, offset, n);
        }
        bodyFill += n;
        offset += n;
        length -= n;
        if (mode == HANDSHAKE) {
          parseHello();
        }
        if (bodyFill == bodyLength && !stopped) {
          endRecord();
        }
      }
    } catch (TlsFormatException e) {
      stream.fail(this, e.getMessage());
    }
  }

  /** The client's first record headers, byte by byte: HTTP and friends are NOT_TLS at once. */
  private boolean checkClientStart() {
    int b = header[headerFill - 1] & 0xFF;
    String wrong = switch (headerFill) {
      case 1 -> b == CONTENT_HANDSHAKE ? null : String.format("first byte 0x%02x is not a TLS handshake record", b);
      case 2 -> b == 3 ? null : String.format("record version major %d is not 3", b);
      case 3 -> b <= 4 ? null : String.format("record version 3.%d is not TLS", b);
      case 5 -> {
        int length = (header[3] & 0xFF) << 8 | b;
        yield length > 0 && length <= TlsStream.MAX_PLAINTEXT_LENGTH ? null
            : "ClientHello record of " + length + " bytes";
      }
      default -> null;
    };
    if (wrong != null) {
      stream.notTls("client: " + wrong);
      return false;
    }
    return true;
  }

  private void startRecord() throws TlsFormatException {
    int type = header[0] & 0xFF;
    int major = header[1] & 0xFF;
    int minor = header[2] & 0xFF;
    bodyLength = (header[3] & 0xFF) << 8 | (header[4] & 0xFF);
    bodyFill = 0;
    if (type < CONTENT_CHANGE_CIPHER_SPEC || type > CONTENT_HEARTBEAT || major != 3 || minor > 4) {
      throw new TlsFormatException(String.format("record header %02x %02x %02x is not TLS (record %d)", type, major,
          minor, records));
    }
    if (bodyLength > TlsStream.MAX_RECORD_LENGTH) {
      throw new TlsFormatException("record of " + bodyLength + " bytes (at most 2^14 + 2048)");
    }
    mode = modeOf(type);
    if (mode == ENCRYPTED) {
      if (!released && records < maxKeptRecords || watching && type == CONTENT_HANDSHAKE) {
        keeping = new byte[5 + bodyLength];
        System.arraycopy(header, 0, keeping, 0, 5);
      } else {
        keeping = null;
      }
    }
    if (bodyLength == 0) {
      endRecord();
    }
  }

  private int modeOf(int type) throws TlsFormatException {
    ServerHello serverHello = stream.serverHello();
    if (side == Side.CLIENT) {
      if (stream.clientHello() == null) {
        if (type != CONTENT_HANDSHAKE) {
          throw new TlsFormatException("record type " + type + " inside the ClientHello");
        }
        return HANDSHAKE;
      }
      if (type == CONTENT_HANDSHAKE && stream.helloRetryRequest() && serverHello == null) {
        // RFC 8446 4.1.4: the ClientHello that answers the HelloRetryRequest.
        if (!retryHello) {
          retryHello = true;
          helloDone = false;
          hello = null;
          helloFill = 0;
        }
        if (!helloDone) {
          return HANDSHAKE;
        }
      }
    } else {
      // (Server bytes while the ClientHello is incomplete: client bytes were lost or come late.)
      if (serverHello == null) {
        if (type == CONTENT_APPLICATION_DATA) {
          throw new TlsFormatException("encrypted record before the ServerHello");
        }
        return type == CONTENT_HANDSHAKE && !helloDone ? HANDSHAKE : SKIP;
      }
    }
    boolean tls12 = serverHello != null && stream.version() != TlsStream.TLS_1_3;
    if (tls12) {
      // RFC 5246 7.1: records after a side's ChangeCipherSpec are protected, whatever their type.
      if (tls12Encrypted) {
        return ENCRYPTED;
      }
      if (type == CONTENT_CHANGE_CIPHER_SPEC) {
        tls12Encrypted = true;
      }
      return SKIP;
    }
    // TLS 1.3 (or the client before the ServerHello): RFC 8446 5.2, every protected record is
    // application_data; ChangeCipherSpec (D.4 compatibility) and plaintext alerts are skipped.
    return type == CONTENT_APPLICATION_DATA ? ENCRYPTED : SKIP;
  }

  private void endRecord() {
    if (mode == ENCRYPTED && watching) {
      byte[] record = keeping;
      keeping = null;
      stream.onWatchedRecord(this, header[0] & 0xFF, record, records++);
    } else if (mode == ENCRYPTED) {
      if (keeping != null) {
        if (kept == null) {
          kept = new byte[maxKeptRecords][];
        }
        kept[records] = keeping;
        keeping = null;
      }
      records++;
      stream.onEncryptedRecord(this);
    }
    headerFill = 0;
    mode = SKIP;
  }

  private void appendHello(ByteBuffer data, int offset, int n) throws TlsFormatException {
    int max = TlsStream.MAX_HELLO_LENGTH + 4;
    if (hello == null) {
      hello = new byte[Math.max(512, Math.min(n + 64, max))];
      helloFill = 0;
    }
    if (helloFill + n > hello.length) {
      if (helloFill + n > max) {
        throw new TlsFormatException("hello longer than " + TlsStream.MAX_HELLO_LENGTH + " bytes");
      }
      hello = Arrays.copyOf(hello, Math.min(Math.max(hello.length * 2, helloFill + n), max));
    }
    data.get(offset, hello, helloFill, n);
    helloFill += n;
  }

  /** RFC 8446 4: Handshake { msg_type (1), length (3), body }; messages may span records. */
  private void parseHello() throws TlsFormatException {
    while (!helloDone && helloFill >= 1 && !stopped) {
      int type = hello[0] & 0xFF;
      int expected = side == Side.CLIENT ? ClientHello.TYPE : ServerHello.TYPE;
      if (type != expected) {
        throw new TlsFormatException("handshake message type " + type + " where a "
            + (side == Side.CLIENT ? "ClientHello" : "ServerHello") + " belongs");
      }
      if (helloFill < 4) {
        return;
      }
      int length = (hello[1] & 0xFF) << 16 | (hello[2] & 0xFF) << 8 | (hello[3] & 0xFF);
      if (length > TlsStream.MAX_HELLO_LENGTH) {
        throw new TlsFormatException("hello of " + length + " bytes (at most " + TlsStream.MAX_HELLO_LENGTH + ")");
      }
      if (helloFill < 4 + length) {
        return;
      }
      if (side == Side.CLIENT) {
        ClientHello parsed = ClientHello.parse(hello, 4, length);
        if (stream.clientHello() == null) {
          stream.onClientHello(parsed);
        } else {
          stream.onRetryClientHello(parsed);
        }
        helloDone = true;
      } else {
        stream.onServerHello(ServerHello.parse(hello, 4, length));
        helloDone = stream.serverHello() != null; // after a HelloRetryRequest the real ServerHello follows
      }
      if (stopped) {
        // Secrets keyed before the hello (by client random) were all this side needed: the hello
        // released it, buffer and all.
        return;
      }
      int rest = helloFill - 4 - length;
      System.arraycopy(hello, 4 + length, hello, 0, rest);
      helloFill = rest;
    }
    if (helloDone) {
      hello = null; // what follows the hello in its record is not needed
      mode = SKIP;
    }
  }
}

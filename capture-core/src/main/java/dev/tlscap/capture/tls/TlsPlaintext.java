// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.capture.tls;

import dev.tlscap.capture.tls.TrialDecryption.RecordKeys;
import dev.tlscap.capture.tls.TrialDecryption.Tls12Keys;
import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * One TCP connection's application data in the clear, for {@code --text}: rebuilds each
 * direction's byte stream from captured segments, splits it into TLS records, reads the handshake
 * (ClientHello, ServerHello; TLS 1.3's encrypted handshake for its Finished and KeyUpdate messages)
 * and opens every protected record with the keys of the connection's key log lines, as Wireshark
 * does with a file's Decryption Secrets Blocks: TLS 1.3 (early data, handshake, traffic secrets and
 * their updates) and TLS 1.2 with AEAD suites (GCM, ChaCha20-Poly1305).
 *
 * <p>A connection that does not start with a TLS handshake record is passed on as it is (plain
 * HTTP shows as HTTP). A connection that cannot be opened is reported once to
 * {@link Listener#undecryptable} with the reason (no secrets, a suite tlscap cannot open, bytes
 * missing from the capture, a record that does not open) and nothing more of it is passed on.
 * Not thread-safe; one per connection.
 */
public final class TlsPlaintext {
  /** The secrets of the key log: {@code label} (e.g. CLIENT_TRAFFIC_SECRET_0) of {@code clientRandom}, or null. */
  public interface Keys {
    byte[] secret(String label, byte[] clientRandom);
  }

  /** What the connection carries. Called on the caller's thread, during {@link #segment}. */
  public interface Listener {
    /** The handshake is done: {@code description} e.g. "TLS 1.3 TLS_AES_256_GCM_SHA384, ALPN h2, SNI example.com". */
    void handshake(String description, String alpn);

    /** Application data of one direction in order ({@code tls} false: a connection that is not TLS). */
    void data(boolean fromClient, boolean tls, byte[] bytes, int offset, int length);

    /** The connection cannot be read on (once): why, in a few words. */
    void undecryptable(String reason);
  }

  /** TLS 1.3 RFC 8446 B.3 / TLS 1.2 RFC 5246 7.4 handshake message types used here. */
  private static final int HS_CLIENT_HELLO = 1;
  private static final int HS_SERVER_HELLO = 2;
  private static final int HS_ENCRYPTED_EXTENSIONS = 8;
  private static final int HS_FINISHED = 20;
  private static final int HS_KEY_UPDATE = 24;
  private static final int CONTENT_CHANGE_CIPHER_SPEC = 20;
  private static final int CONTENT_ALERT = 21;
  private static final int CONTENT_HANDSHAKE = 22;
  private static final int CONTENT_APPLICATION_DATA = 23;
  /** RFC 8446 5.2: a protected record's body is at most 2^14 + 256 bytes; TLS 1.2 allows 2^14 + 2048. */
  static final int MAX_RECORD_BODY = (1 << 14) + 2048;
  /** Handshake messages kept while they arrive in pieces (a certificate chain is a few KiB). */
  static final int MAX_HANDSHAKE_MESSAGE = 1 << 17;

  private enum Mode { UNKNOWN, TLS, PLAIN, FAILED }

  private final Keys keys;
  private final Listener listener;
  private final Side client = new Side(true);
  private final Side server = new Side(false);
  private Mode mode = Mode.UNKNOWN;
  private ClientHello hello;
  private ServerHello serverHello;
  private CipherSuite suite;
  private boolean tls13;
  private String alpn;
  private boolean handshakeReported;

  public TlsPlaintext(Keys keys, Listener listener) {
    this.keys = keys;
    this.listener = listener;
  }

  /** The SYN of a direction: its data starts one byte after {@code sequence}. */
  public void syn(boolean fromClient, long sequence) {
    side(fromClient).tcp.start(sequence);
  }

  /** One captured TCP segment's payload; {@code cut}: the snap length cut it (bytes are missing). */
  public void segment(boolean fromClient, long sequence, ByteBuffer data, int offset, int length, boolean cut) {
    if (mode == Mode.FAILED || length <= 0) {
      return;
    }
    Side s = side(fromClient);
    s.tcp.accept(sequence, data, offset, length, s);
    if (cut && mode != Mode.FAILED) {
      fail("a packet was cut by the snap length (-s)");
    } else if (s.tcp.lost() && mode != Mode.FAILED) {
      fail("bytes missing from the capture (" + (fromClient ? "client to server" : "server to client") + ")");
    }
  }

  /** True once the connection is known to be TLS. */
  public boolean isTls() {
    return mode == Mode.TLS || hello != null;
  }

  private Side side(boolean fromClient) {
    return fromClient ? client : server;
  }

  private void fail(String reason) {
    if (mode != Mode.FAILED) {
      mode = Mode.FAILED;
      client.tcp.clear();
      server.tcp.clear();
      listener.undecryptable(reason);
    }
  }

  /** One direction: TCP bytes -> records -> plaintext. */
  private final class Side implements TcpReassembly.Receiver {
    final boolean fromClient;
    final TcpReassembly tcp = new TcpReassembly();
    /** The record being assembled (header included). */
    byte[] record = new byte[5 + 512];
    int fill;
    /** Handshake messages in pieces. */
    byte[] handshake = new byte[0];
    int handshakeFill;
    /** Encrypted from the next record on (TLS 1.2 after ChangeCipherSpec, TLS 1.3 after ServerHello). */
    boolean encrypted;
    RecordKeys current;
    byte[] trafficSecret;
    long seq;
    /** TLS 1.3 client: try the early data key first (0-RTT), until a record does not open with it. */
    RecordKeys early;
    long earlySeq;
    /** TLS 1.3 client: 0-RTT records captured before the ServerHello that says how to open them. */
    final java.util.ArrayDeque<byte[]> beforeServerHello = new java.util.ArrayDeque<>();
    int beforeServerHelloBytes;

    Side(boolean fromClient) {
      this.fromClient = fromClient;
    }

    @Override
    public void receive(ByteBuffer data, int offset, int length) {
      if (mode == Mode.UNKNOWN) {
        if (!fromClient || data.get(offset) != CONTENT_HANDSHAKE) {
          mode = Mode.PLAIN;
        } else {
          mode = Mode.TLS;
        }
      }
      if (mode == Mode.PLAIN) {
        byte[] copy = new byte[length];
        data.get(offset, copy, 0, length);
        listener.data(fromClient, false, copy, 0, length);
        return;
      }
      int at = offset;
      int end = offset + length;
      while (at < end && mode == Mode.TLS) {
        if (fill < 5) {
          int n = Math.min(5 - fill, end - at);
          data.get(at, record, fill, n);
          fill += n;
          at += n;
          if (fill < 5) {
            return;
          }
          int bodyLength = ((record[3] & 0xFF) << 8) | (record[4] & 0xFF);
          int type = record[0] & 0xFF;
          if (type < CONTENT_CHANGE_CIPHER_SPEC || type > 24 || record[1] != 3 || bodyLength > MAX_RECORD_BODY) {
            fail("not a TLS record at this point (" + (fromClient ? "client" : "server")
                + "); the connection started before the capture or is not TLS");
            return;
          }
          if (record.length < 5 + bodyLength) {
            record = Arrays.copyOf(record, 5 + Math.max(bodyLength, 2 * record.length));
          }
        }
        int total = 5 + (((record[3] & 0xFF) << 8) | (record[4] & 0xFF));
        int n = Math.min(total - fill, end - at);
        data.get(at, record, fill, n);
        fill += n;
        at += n;
        if (fill == total) {
          fill = 0;
          onRecord(record[0] & 0xFF, Arrays.copyOf(record, total));
        }
      }
    }

    private void onRecord(int type, byte[] rec) {
      if (type == CONTENT_CHANGE_CIPHER_SPEC) {
        if (!tls13 && serverHello != null) {
          encrypted = true; // RFC 5246 7.1: the next record of this direction is protected
          seq = 0;
          current = null;
        }
        return; // TLS 1.3: a compatibility record (RFC 8446 D.4), never protected
      }
      if (!encrypted) {
        if (type == CONTENT_HANDSHAKE) {
          handshakeBytes(rec, 5, rec.length - 5);
        } else if (type == CONTENT_APPLICATION_DATA && fromClient && hello != null && hello.offersEarlyData()
            && serverHello == null && beforeServerHelloBytes + rec.length <= MAX_HANDSHAKE_MESSAGE) {
          beforeServerHello.add(rec); // 0-RTT data (RFC 8446 2.3): opened once the ServerHello says TLS 1.3
          beforeServerHelloBytes += rec.length;
        } else if (type == CONTENT_APPLICATION_DATA) {
          fail(hello == null ? "its handshake is not in the capture (it started before)" : "application data before the handshake ended");
        }
        return;
      }
      if (current == null && !key()) {
        return;
      }
      TrialDecryption trial = TrialDecryption.forThisThread();
      int innerType = type;
      byte[] plain;
      if (tls13) {
        if (early != null) {
          if (trial.opensTls13(early, rec, earlySeq, false)) {
            earlySeq++;
            plain = trial.lastPlaintext(rec.length - 5 - CipherSuite.TAG_LENGTH);
            int end = plain.length;
            while (end > 0 && plain[end - 1] == 0) {
              end--;
            }
            if (end > 0 && plain[end - 1] == CONTENT_APPLICATION_DATA) {
              listener.data(true, true, plain, 0, end - 1);
            }
            return; // EndOfEarlyData (a handshake message) needs nothing
          }
          early = null; // the first record that does not open with it: the handshake key's
        }
        if (type != CONTENT_APPLICATION_DATA || !trial.opensTls13(current, rec, seq, false)) {
          fail("a " + (fromClient ? "client" : "server") + " record does not open with the key log's secrets"
              + " (record " + seq + " of its key)");
          return;
        }
        seq++;
        plain = trial.lastPlaintext(rec.length - 5 - CipherSuite.TAG_LENGTH);
        int end = plain.length;
        while (end > 0 && plain[end - 1] == 0) {
          end--; // RFC 8446 5.4: zero padding after the real content type
        }
        if (end == 0) {
          fail("a TLS 1.3 record without a content type");
          return;
        }
        innerType = plain[end - 1] & 0xFF;
        plain = end - 1 == plain.length ? plain : Arrays.copyOf(plain, end - 1);
      } else {
        RecordKeys k = current;
        if (!trial.opensTls12(k, rec, seq)) {
          fail("a " + (fromClient ? "client" : "server") + " record does not open with the key log's secrets"
              + " (record " + seq + ")");
          return;
        }
        seq++;
        plain = trial.lastPlaintext(rec.length - 5 - suite.aead().tls12ExplicitNonceLength - CipherSuite.TAG_LENGTH);
      }
      switch (innerType) {
        case CONTENT_APPLICATION_DATA -> {
          reportHandshake();
          listener.data(fromClient, true, plain, 0, plain.length);
        }
        case CONTENT_HANDSHAKE -> handshakeBytes(plain, 0, plain.length);
        case CONTENT_ALERT -> { }
        default -> { }
      }
    }

    /** The keys this direction's protected records need now; false (and failed) when the key log lacks them. */
    private boolean key() {
      if (suite == null) {
        fail(serverHello == null ? "protected records before a ServerHello" : String.format(
            "cipher suite 0x%04x: --text opens AEAD suites (AES-GCM, ChaCha20-Poly1305); Wireshark reads the file",
            serverHello.cipherSuite()));
        return false;
      }
      TrialDecryption trial = TrialDecryption.forThisThread();
      if (tls13) {
        String label = fromClient ? "CLIENT_HANDSHAKE_TRAFFIC_SECRET" : "SERVER_HANDSHAKE_TRAFFIC_SECRET";
        byte[] secret = keys.secret(label, hello.random());
        if (secret == null) {
          fail("no secrets: no " + label + " for its client random");
          return false;
        }
        current = trial.tls13Keys(suite, secret);
        seq = 0;
        if (fromClient && hello.offersEarlyData()) {
          byte[] e = keys.secret("CLIENT_EARLY_TRAFFIC_SECRET", hello.random());
          early = e != null ? trial.tls13Keys(suite, e) : null;
        }
      } else {
        byte[] master = keys.secret("CLIENT_RANDOM", hello.random());
        if (master == null) {
          fail("no secrets: no CLIENT_RANDOM line for its client random");
          return false;
        }
        Tls12Keys both = trial.tls12Keys(suite, master, hello.random(), serverHello.random());
        current = both == null ? null : fromClient ? both.client() : both.server();
      }
      if (current == null) {
        fail("the key log's secret does not fit cipher suite " + String.format("0x%04x", suite.code()));
        return false;
      }
      return true;
    }

    private void handshakeBytes(byte[] b, int offset, int length) {
      if (handshakeFill + length > MAX_HANDSHAKE_MESSAGE) {
        fail("a handshake message larger than " + MAX_HANDSHAKE_MESSAGE + " bytes");
        return;
      }
      if (handshake.length < handshakeFill + length) {
        handshake = Arrays.copyOf(handshake, Math.max(handshakeFill + length, 2 * handshake.length));
      }
      System.arraycopy(b, offset, handshake, handshakeFill, length);
      handshakeFill += length;
      int at = 0;
      while (handshakeFill - at >= 4 && mode == Mode.TLS) {
        int type = handshake[at] & 0xFF;
        int len = ((handshake[at + 1] & 0xFF) << 16) | ((handshake[at + 2] & 0xFF) << 8) | (handshake[at + 3] & 0xFF);
        if (len > MAX_HANDSHAKE_MESSAGE) {
          fail("a handshake message of " + len + " bytes");
          return;
        }
        if (handshakeFill - at < 4 + len) {
          break;
        }
        onHandshake(type, handshake, at + 4, len);
        at += 4 + len;
      }
      System.arraycopy(handshake, at, handshake, 0, handshakeFill - at);
      handshakeFill -= at;
    }

    private void onHandshake(int type, byte[] b, int offset, int length) {
      try {
        if (type == HS_CLIENT_HELLO && fromClient && !encrypted) {
          hello = ClientHello.parse(b, offset, length);
        } else if (type == HS_SERVER_HELLO && !fromClient && !encrypted) {
          ServerHello sh = ServerHello.parse(b, offset, length);
          if (sh.helloRetryRequest()) {
            return; // a second ClientHello follows (RFC 8446 4.1.4)
          }
          serverHello = sh;
          alpn = sh.alpn();
          tls13 = sh.version() == TlsStream.TLS_1_3;
          suite = CipherSuite.of(sh.cipherSuite(), tls13);
          if (suite != null && !suite.aead().supported()) {
            suite = null;
          }
          if (hello == null) {
            fail("its ClientHello is not in the capture");
            return;
          }
          if (tls13) {
            client.encrypted = true; // everything after the ServerHello is protected (RFC 8446 2)
            server.encrypted = true;
          }
          while (!client.beforeServerHello.isEmpty() && mode == Mode.TLS) {
            byte[] r = client.beforeServerHello.poll();
            if (tls13) {
              client.onRecord(CONTENT_APPLICATION_DATA, r);
            } else {
              fail("application data before the handshake ended");
            }
          }
        } else if (type == HS_ENCRYPTED_EXTENSIONS && tls13) {
          alpn = EncryptedExtensions.alpn(b, offset, length);
        } else if (type == HS_FINISHED && tls13 && trafficSecret == null) {
          // RFC 8446 7.1: after its Finished, each side sends under its traffic secret 0
          String label = fromClient ? "CLIENT_TRAFFIC_SECRET_0" : "SERVER_TRAFFIC_SECRET_0";
          byte[] secret = keys.secret(label, hello.random());
          if (secret == null) {
            fail("no secrets: no " + label + " for its client random");
            return;
          }
          trafficSecret = secret;
          current = TrialDecryption.forThisThread().tls13Keys(suite, secret);
          seq = 0;
          if (!fromClient) {
            reportHandshake();
          }
        } else if (type == HS_KEY_UPDATE && tls13 && trafficSecret != null) {
          trafficSecret = RecordSealer.forThisThread().nextTrafficSecret(suite, trafficSecret);
          current = trafficSecret == null ? null : TrialDecryption.forThisThread().tls13Keys(suite, trafficSecret);
          seq = 0;
          if (current == null) {
            fail("a KeyUpdate tlscap cannot follow");
          }
        } else if (type == HS_FINISHED && !tls13 && !fromClient) {
          reportHandshake();
        }
      } catch (TlsFormatException e) {
        fail("a malformed handshake: " + e.getMessage());
      }
    }
  }

  private void reportHandshake() {
    if (handshakeReported || serverHello == null || hello == null) {
      return;
    }
    handshakeReported = true;
    String version = switch (serverHello.version()) {
      case TlsStream.TLS_1_3 -> "TLS 1.3";
      case TlsStream.TLS_1_2 -> "TLS 1.2";
      default -> String.format("TLS 0x%04x", serverHello.version());
    };
    String name = CipherSuiteNames.name(serverHello.cipherSuite());
    StringBuilder d = new StringBuilder(version).append(' ').append(name);
    if (alpn != null) {
      d.append(", ALPN ").append(alpn);
    }
    if (hello.serverName() != null) {
      d.append(", SNI ").append(hello.serverName());
    }
    listener.handshake(d.toString(), alpn);
  }

  /** RFC 8446 4.3.1 EncryptedExtensions: the ALPN protocol the server chose (RFC 7301 3.1), or null. */
  static final class EncryptedExtensions {
    static String alpn(byte[] b, int offset, int length) throws TlsFormatException {
      HandshakeCursor c = new HandshakeCursor(b, offset, length, "EncryptedExtensions");
      HandshakeCursor extensions = c.vector16();
      while (extensions.remaining() > 0) {
        int type = extensions.u16();
        HandshakeCursor e = extensions.vector16();
        if (type == ClientHello.EXT_ALPN) {
          HandshakeCursor list = e.vector16();
          HandshakeCursor name = list.vector8();
          return new String(name.bytes(name.remaining()), java.nio.charset.StandardCharsets.US_ASCII);
        }
      }
      return null;
    }
  }
}

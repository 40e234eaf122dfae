// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.capture.text;

import dev.tlscap.capture.tls.TlsPlaintext;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import java.util.function.Consumer;

/**
 * One connection's application data made into {@link TextMessage}s: HTTP/1.x ({@link Http1}),
 * HTTP/2 ({@link Http2}) or, for anything else, each chunk as it came (a TLS record's plaintext, a
 * TCP segment). The protocol is decided on the first bytes: the HTTP/2 client preface (or ALPN
 * "h2"), an HTTP/1 request or status line. Not thread-safe; one per connection.
 */
public final class Conversation implements TlsPlaintext.Listener {
  /** What every message of the connection shares: its number, its ends, the time now. */
  public interface Context {
    long connection();

    /** The end that sends when {@code fromClient}, with its process as known now. */
    TextMessage.Endpoint end(boolean fromClient);

    /** The capture time of the packet being read. */
    long nowNanos();
  }

  private static final byte[] HTTP2_PREFACE = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII);

  /** How {@link TlsPlaintext} starts the reason of a connection whose secrets are missing. */
  private static final String NO_SECRETS = "no secrets: ";

  private final Context context;
  private final Consumer<TextMessage> out;
  private final int max;
  private final TextBudget budget;
  private boolean tls;
  private String alpn;
  private Protocol protocol;
  private boolean undecryptable;

  /** The application protocol of a connection. */
  interface Protocol {
    void data(boolean fromClient, byte[] bytes, int offset, int length);

    /** The connection ended: emits what is pending. */
    void close();
  }

  public Conversation(Context context, int maxBytes, TextBudget budget, Consumer<TextMessage> out) {
    this.context = context;
    this.max = maxBytes;
    this.budget = budget;
    this.out = out;
  }

  public boolean undecryptable() {
    return undecryptable;
  }

  void emit(boolean fromClient, String protocolName, String kind, int stream, String firstLine,
      java.util.List<TextMessage.Header> headers, Body body, String note, long timeNanos) {
    byte[] bytes = body == null ? null : body.bytes();
    long length = body == null ? 0 : body.length();
    String bodyNote = body == null ? null : body.note();
    String allNotes = note == null ? bodyNote : bodyNote == null ? note : note + "; " + bodyNote;
    out.accept(new TextMessage(timeNanos, context.connection(), context.end(fromClient), context.end(!fromClient),
        fromClient, protocolName, kind, stream, firstLine, headers, bytes, length, allNotes));
    if (body != null) {
      body.release();
    }
  }

  /** One chunk of data as it came (capped), under {@code protocolName}, with {@code note}. */
  void emitChunk(boolean fromClient, String protocolName, byte[] bytes, int offset, int length, String note) {
    Body body = body(null);
    body.add(Unpooled.wrappedBuffer(bytes, offset, length));
    emit(fromClient, protocolName, "data", 0, null, null, body, note, now());
  }

  /** A new body, capped at {@code --text-max} and held within the budget; {@code encoding}: its content coding. */
  Body body(String encoding) {
    return new Body(max, encoding, budget);
  }

  long now() {
    return context.nowNanos();
  }

  int max() {
    return max;
  }

  @Override
  public void handshake(String description, String alpn) {
    this.alpn = alpn;
    this.tls = true;
    emit(false, "TLS", "handshake", 0, null, null, null, description, now());
  }

  @Override
  public void data(boolean fromClient, boolean tls, byte[] bytes, int offset, int length) {
    if (length <= 0) {
      return;
    }
    this.tls |= tls;
    if (protocol == null) {
      protocol = choose(fromClient, bytes, offset, length);
    }
    protocol.data(fromClient, bytes, offset, length);
  }

  private Protocol choose(boolean fromClient, byte[] b, int offset, int length) {
    if ("h2".equals(alpn) || fromClient && startsWith(b, offset, length, HTTP2_PREFACE)
        || !fromClient && tls && startsWithSettings(b, offset, length)) {
      return new Http2(this);
    }
    if (fromClient ? looksLikeRequestLine(b, offset, length) : startsWith(b, offset, length, "HTTP/1.".getBytes(StandardCharsets.US_ASCII))) {
      return new Http1(this);
    }
    return new Raw();
  }

  /** RFC 9113 3.4: a server's preface is a SETTINGS frame (type 4, no flags, stream 0), often before the client's. */
  static boolean startsWithSettings(byte[] b, int offset, int length) {
    return length >= 9 && b[offset + 3] == 4 && b[offset + 4] == 0 && b[offset + 5] == 0 && b[offset + 6] == 0
        && b[offset + 7] == 0 && b[offset + 8] == 0 && ((b[offset + 2] & 0xFF) % 6 == 0) && b[offset] == 0;
  }

  /** "GET /x", "POST /y", "OPTIONS *": a token of capitals, a space, a target. */
  static boolean looksLikeRequestLine(byte[] b, int offset, int length) {
    int i = 0;
    while (i < length && i < 16 && b[offset + i] >= 'A' && b[offset + i] <= 'Z') {
      i++;
    }
    return i >= 3 && i < length - 1 && b[offset + i] == ' ' && b[offset + i + 1] > ' ';
  }

  private static boolean startsWith(byte[] b, int offset, int length, byte[] prefix) {
    int n = Math.min(length, prefix.length);
    for (int i = 0; i < n; i++) {
      if (b[offset + i] != prefix[i]) {
        return false;
      }
    }
    return n > 0;
  }

  /** Protocol name for data tlscap does not parse. */
  String rawName() {
    return tls ? "TLS" : "TCP";
  }

  @Override
  public void undecryptable(String reason) {
    if (!undecryptable) {
      undecryptable = true;
      boolean noSecrets = reason.startsWith(NO_SECRETS);
      emit(true, "TLS", noSecrets ? "no secrets" : "not decrypted", 0, null, null, null,
          noSecrets ? reason.substring(NO_SECRETS.length()) : reason, now());
    }
  }

  /** The connection ended (FIN, RST, the end of the file, or tlscap stopping). */
  public void close() {
    if (protocol != null) {
      protocol.close();
    }
  }

  /** Each chunk as it came: a hex dump or text, capped. */
  private final class Raw implements Protocol {
    @Override
    public void data(boolean fromClient, byte[] bytes, int offset, int length) {
      if (!tls) {
        return; // plain TCP that is not HTTP (ssh, a database...): not what --text is for
      }
      emitChunk(fromClient, rawName(), bytes, offset, length, null);
    }

    @Override
    public void close() {
    }
  }
}

// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.capture.text;

import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;

/**
 * {@code --text} for a person: each message under a header line (time, each end with its process
 * when known, protocol, what it is, its size), then the message as text (HTTP as on the wire) or,
 * for bytes that are not text, a hex dump (Netty's {@link ByteBufUtil#prettyHexDump}). Buffered:
 * {@link #flush} hands whole messages on.
 */
public final class HumanText implements TextOutput {
  private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("HH:mm:ss.SSSSSS")
      .withZone(ZoneId.systemDefault());

  private static final java.util.Set<String> IN_FIRST_LINE = java.util.Set.of(":method", ":path", ":status");

  private final PrintStream out;

  public HumanText(OutputStream out) {
    this.out = new PrintStream(new java.io.BufferedOutputStream(out, 1 << 16), false, StandardCharsets.UTF_8);
  }

  @Override
  public void message(TextMessage m) {
    StringBuilder b = new StringBuilder(256);
    b.append(TIME.format(Instant.ofEpochSecond(0, m.timeNanos()))).append(' ')
        .append(m.from().describe()).append(" -> ").append(m.to().describe())
        .append("  #").append(m.connection()).append(' ').append(m.protocol());
    if (m.stream() > 0) {
      b.append(" stream ").append(m.stream());
    }
    b.append(' ').append(m.kind());
    if (m.body() != null) {
      b.append(", ").append(m.bodyBytes() >= 0 ? m.bodyBytes() + " bytes" : "more than " + m.body().length + " bytes");
    }
    if (m.note() != null) {
      b.append(" (").append(m.note()).append(')');
    }
    b.append('\n');
    if (m.firstLine() != null) {
      b.append(m.firstLine()).append('\n');
    }
    if (m.headers() != null) {
      for (TextMessage.Header h : m.headers()) {
        if (m.firstLine() != null && IN_FIRST_LINE.contains(h.name())) {
          continue; // HTTP/2 pseudo-headers already shown as the request or status line
        }
        b.append(h.name()).append(": ").append(h.value()).append('\n');
      }
    }
    if (m.body() != null && m.body().length > 0) {
      if (m.headers() != null) {
        b.append('\n');
      }
      appendBody(b, m.body());
      if (m.truncated()) {
        b.append("[... ").append(m.bodyBytes() >= 0 ? (m.bodyBytes() - m.body().length) + " more bytes" : "more")
            .append(" not shown: --text-max]\n");
      }
    }
    b.append('\n');
    out.print(b);
  }

  @Override
  public void flush() {
    out.flush();
    if (out.checkError()) {
      throw new java.io.UncheckedIOException(new java.io.IOException("standard output is closed"));
    }
  }

  /** Text as it is (a last newline added); other bytes as a hex dump. */
  static void appendBody(StringBuilder b, byte[] body) {
    if (Bodies.isText(body)) {
      String s = new String(body, StandardCharsets.UTF_8);
      b.append(s);
      if (!s.endsWith("\n")) {
        b.append('\n');
      }
    } else {
      b.append(ByteBufUtil.prettyHexDump(Unpooled.wrappedBuffer(body))).append('\n');
    }
  }

  @Override
  public void close() {
    out.flush();
  }
}

// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.capture.text;

import com.fasterxml.jackson.core.JsonEncoding;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;

/**
 * {@code --text-format json}: one JSON object per message and line (JSON Lines), written with
 * Jackson's streaming generator. Fields: {@code time} (RFC 3339, UTC,
 * nanoseconds), {@code connection}, {@code src}/{@code dst} ({@code ip}, {@code port}, and
 * {@code pid}/{@code comm} when known), {@code direction} ("client-to-server" or
 * "server-to-client"), {@code protocol}, {@code kind}, {@code stream} (HTTP/2), {@code line},
 * {@code headers} (a list of {@code [name, value]}), {@code body} (a string when the bytes are
 * UTF-8 text, else {@code body_base64}), {@code body_bytes}, {@code truncated}, {@code note}.
 * Buffered: {@link #flush} hands whole lines on.
 */
public final class JsonText implements TextOutput {
  private final OutputStream out;
  private final JsonGenerator json;

  public JsonText(OutputStream out) {
    this.out = new java.io.BufferedOutputStream(out, 1 << 16);
    try {
      this.json = new JsonFactory().createGenerator(this.out, JsonEncoding.UTF8)
          .disable(JsonGenerator.Feature.AUTO_CLOSE_TARGET)
          .disable(JsonGenerator.Feature.FLUSH_PASSED_TO_STREAM); // flush() hands lines on, not each message
      this.json.setRootValueSeparator(null); // one object per line: the newline separates
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @Override
  public void message(TextMessage m) {
    try {
      json.writeStartObject();
      json.writeStringField("time", Instant.ofEpochSecond(0, m.timeNanos()).toString());
      json.writeNumberField("connection", m.connection());
      endpoint("src", m.from());
      endpoint("dst", m.to());
      json.writeStringField("direction", m.fromClient() ? "client-to-server" : "server-to-client");
      json.writeStringField("protocol", m.protocol());
      json.writeStringField("kind", m.kind());
      if (m.stream() > 0) {
        json.writeNumberField("stream", m.stream());
      }
      if (m.firstLine() != null) {
        json.writeStringField("line", m.firstLine());
      }
      if (m.headers() != null) {
        json.writeArrayFieldStart("headers");
        for (TextMessage.Header h : m.headers()) {
          json.writeStartArray();
          json.writeString(h.name());
          json.writeString(h.value());
          json.writeEndArray();
        }
        json.writeEndArray();
      }
      if (m.body() != null) {
        if (Bodies.isText(m.body())) {
          json.writeStringField("body", new String(m.body(), StandardCharsets.UTF_8));
        } else {
          json.writeFieldName("body_base64");
          json.writeBinary(m.body());
        }
        if (m.bodyBytes() >= 0) {
          json.writeNumberField("body_bytes", m.bodyBytes());
        }
        json.writeBooleanField("truncated", m.truncated());
      }
      if (m.note() != null) {
        json.writeStringField("note", m.note());
      }
      json.writeEndObject();
      json.flush(); // into the buffered stream, so the newline goes after it
      out.write('\n');
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write --text output: " + e.getMessage(), e);
    }
  }

  private void endpoint(String name, TextMessage.Endpoint e) throws IOException {
    json.writeObjectFieldStart(name);
    json.writeStringField("ip", e.address());
    json.writeNumberField("port", e.port());
    if (e.pid() > 0) {
      json.writeNumberField("pid", e.pid());
      json.writeStringField("comm", e.command());
    }
    json.writeEndObject();
  }

  @Override
  public void flush() {
    try {
      out.flush();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write --text output: " + e.getMessage(), e);
    }
  }

  @Override
  public void close() {
    try {
      json.flush();
      out.flush();
    } catch (IOException ignored) {
      // the output is gone (a closed pipe): nothing more to say
    }
  }
}

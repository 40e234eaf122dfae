// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.capture.text;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpRequestDecoder;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseDecoder;
import io.netty.handler.codec.http.LastHttpContent;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * HTTP/1.x of one connection, parsed by Netty's HTTP decoders (one per direction, each in an
 * {@link EmbeddedChannel}): a message per request and response, its body capped and inflated. A
 * response to HEAD has no body whatever its headers say (the requests' methods are queued for the
 * response decoder, as Netty's client codec does). Bytes that are not HTTP end the parsing of that
 * direction: from there on they are shown as they come.
 */
final class Http1 implements Conversation.Protocol {
  private final Conversation c;
  private final Direction requests;
  private final Direction responses;
  private final ArrayDeque<String> methods = new ArrayDeque<>();

  Http1(Conversation c) {
    this.c = c;
    HttpDecoderConfig config = new HttpDecoderConfig().setMaxInitialLineLength(16 * 1024)
        .setMaxHeaderSize(64 * 1024).setMaxChunkSize(16 * 1024).setValidateHeaders(false);
    this.requests = new Direction(true, new EmbeddedChannel(new HttpRequestDecoder(config)));
    this.responses = new Direction(false, new EmbeddedChannel(new HttpResponseDecoder(config) {
      @Override
      protected boolean isContentAlwaysEmpty(HttpMessage msg) {
        if (msg instanceof HttpResponse r && r.status().code() >= 200) {
          String method = methods.poll();
          if ("HEAD".equals(method)) {
            return true;
          }
        }
        return super.isContentAlwaysEmpty(msg);
      }
    }));
  }

  @Override
  public void data(boolean fromClient, byte[] bytes, int offset, int length) {
    (fromClient ? requests : responses).data(bytes, offset, length);
  }

  @Override
  public void close() {
    requests.close();
    responses.close();
  }

  private final class Direction {
    final boolean fromClient;
    final EmbeddedChannel decoder;
    boolean notHttp;
    String firstLine;
    List<TextMessage.Header> headers;
    Body body;
    String version = "HTTP/1.1";
    long time;

    Direction(boolean fromClient, EmbeddedChannel decoder) {
      this.fromClient = fromClient;
      this.decoder = decoder;
    }

    void data(byte[] bytes, int offset, int length) {
      if (notHttp) {
        raw(bytes, offset, length);
        return;
      }
      decoder.writeInbound(Unpooled.copiedBuffer(bytes, offset, length));
      drain();
    }

    private void raw(byte[] bytes, int offset, int length) {
      c.emitChunk(fromClient, "TCP", bytes, offset, length, "not HTTP");
    }

    private void drain() {
      Object o;
      while ((o = decoder.readInbound()) != null) {
        HttpObject h = (HttpObject) o;
        try {
          if (h.decoderResult().isFailure()) {
            if (firstLine != null) {
              emit("incomplete: " + h.decoderResult().cause().getMessage());
            }
            notHttp = true;
            c.emit(fromClient, version, "data", 0, null, null, null,
                "not HTTP from here on: " + h.decoderResult().cause().getMessage(), c.now());
            decoder.finishAndReleaseAll();
            return;
          }
          if (h instanceof HttpMessage m) {
            start(m);
          }
          if (h instanceof HttpContent content && body != null) {
            body.add(content.content());
            if (h instanceof LastHttpContent last) {
              for (Map.Entry<String, String> t : last.trailingHeaders()) {
                headers.add(new TextMessage.Header(t.getKey(), t.getValue()));
              }
              emit(null);
            }
          }
        } finally {
          io.netty.util.ReferenceCountUtil.release(o);
        }
      }
    }

    private void start(HttpMessage m) {
      time = c.now();
      version = m.protocolVersion().text();
      if (m instanceof HttpRequest r) {
        firstLine = r.method().name() + " " + r.uri() + " " + r.protocolVersion().text();
        methods.add(r.method().name());
      } else if (m instanceof HttpResponse r) {
        firstLine = r.protocolVersion().text() + " " + r.status().code() + " " + r.status().reasonPhrase();
      }
      headers = new ArrayList<>();
      for (Map.Entry<String, String> e : m.headers()) {
        headers.add(new TextMessage.Header(e.getKey(), e.getValue()));
      }
      body = c.body(m.headers().get(HttpHeaderNames.CONTENT_ENCODING));
    }

    private void emit(String note) {
      body.finish();
      c.emit(fromClient, version, fromClient ? "request" : "response", 0, firstLine, headers,
          body.isEmpty() ? null : body, note, time);
      firstLine = null;
      headers = null;
      body = null;
    }

    void close() {
      if (!notHttp) {
        decoder.finish(); // a body that ends with the connection (no length, not chunked) ends here
        drain();
        decoder.finishAndReleaseAll();
      }
      if (firstLine != null) {
        emit("incomplete: the connection ended");
      }
    }
  }
}

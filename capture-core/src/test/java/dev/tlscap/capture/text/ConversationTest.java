// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.capture.text;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http2.DefaultHttp2FrameWriter;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.Http2CodecUtil;
import io.netty.handler.codec.http2.Http2Headers;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;

/** What {@link Conversation} makes of HTTP/1.x and HTTP/2 bytes (decrypted application data), and its bounds. */
class ConversationTest {
  final List<TextMessage> messages = new ArrayList<>();
  final Conversation.Context context = new Conversation.Context() {
    @Override
    public long connection() {
      return 7;
    }

    @Override
    public TextMessage.Endpoint end(boolean fromClient) {
      return fromClient ? new TextMessage.Endpoint("10.0.0.1", 50000, 42, "curl")
          : new TextMessage.Endpoint("10.0.0.2", 443, 0, null);
    }

    @Override
    public long nowNanos() {
      return 1_000_000_000L;
    }
  };

  Conversation conversation(int max, TextBudget budget) {
    return new Conversation(context, max, budget, messages::add);
  }

  static void send(Conversation c, boolean fromClient, byte[] b) {
    c.data(fromClient, true, b, 0, b.length);
  }

  static byte[] ascii(String s) {
    return s.getBytes(StandardCharsets.US_ASCII);
  }

  static byte[] gzip(String s) throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (GZIPOutputStream z = new GZIPOutputStream(out)) {
      z.write(s.getBytes(StandardCharsets.UTF_8));
    }
    return out.toByteArray();
  }

  @Test
  void http1RequestsAndResponsesWithHeadChunkedAndGzip() throws Exception {
    Conversation c = conversation(4096, new TextBudget(1 << 20));
    send(c, true, ascii("HEAD /h HTTP/1.1\r\nHost: x\r\n\r\nGET /g HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\n\r\n"));
    byte[] body = gzip("hello, inflated");
    ByteArrayOutputStream r = new ByteArrayOutputStream();
    // the HEAD response announces a length but has no body: the next response follows at once
    r.write(ascii("HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n"));
    r.write(ascii("HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n"));
    r.write(ascii(Integer.toHexString(5) + "\r\n"));
    r.write(body, 0, 5);
    r.write(ascii("\r\n" + Integer.toHexString(body.length - 5) + "\r\n"));
    r.write(body, 5, body.length - 5);
    r.write(ascii("\r\n0\r\n\r\n"));
    byte[] all = r.toByteArray();
    for (int i = 0; i < all.length; i += 7) { // in small pieces, as records may cut it
      c.data(false, true, all, i, Math.min(7, all.length - i));
    }
    c.close();
    assertEquals(4, messages.size(), messages.toString());
    assertEquals("HEAD /h HTTP/1.1", messages.get(0).firstLine());
    assertEquals("GET /g HTTP/1.1", messages.get(1).firstLine());
    assertEquals("curl", messages.get(1).from().command());
    assertEquals("HTTP/1.1 200 OK", messages.get(2).firstLine());
    assertNull(messages.get(2).body(), "no body after HEAD");
    assertEquals("hello, inflated", new String(messages.get(3).body(), StandardCharsets.UTF_8));
    assertEquals("gzip, " + body.length + " bytes as sent, shown inflated", messages.get(3).note());
  }

  @Test
  void http2HeadersAndDataPerStream() throws Exception {
    Conversation c = conversation(4096, new TextBudget(1 << 20));
    H2 client = new H2();
    client.out.writeBytes(Http2CodecUtil.connectionPrefaceBuf());
    client.headers(1, new DefaultHttp2Headers().method("POST").path("/upload").scheme("https").authority("x")
        .add("x-test", "yes"), false);
    client.data(1, ascii("part one, "), false);
    client.data(1, ascii("part two"), true);
    send(c, true, client.bytes());
    H2 server = new H2();
    server.headers(1, new DefaultHttp2Headers().status("201").add("content-encoding", "gzip"), false);
    server.data(1, gzip("created"), true);
    send(c, false, server.bytes());
    c.close();
    assertEquals(2, messages.size(), messages.toString());
    TextMessage request = messages.get(0);
    assertEquals("POST /upload HTTP/2", request.firstLine());
    assertEquals(1, request.stream());
    assertTrue(request.headers().contains(new TextMessage.Header("x-test", "yes")), request.headers().toString());
    assertEquals("part one, part two", new String(request.body(), StandardCharsets.UTF_8));
    assertEquals("HTTP/2 201", messages.get(1).firstLine());
    assertEquals("created", new String(messages.get(1).body(), StandardCharsets.UTF_8));
  }

  @Test
  void openStreamsAndHeldBodiesAreBounded() throws Exception {
    TextBudget budget = new TextBudget(64 * 1024);
    Conversation c = conversation(4096, budget);
    H2 client = new H2();
    client.out.writeBytes(Http2CodecUtil.connectionPrefaceBuf());
    int streams = Http2.MAX_OPEN_STREAMS + 44;
    byte[] chunk = new byte[1000];
    java.util.Arrays.fill(chunk, (byte) 'a');
    for (int i = 0; i < streams; i++) {
      int id = 1 + 2 * i;
      client.headers(id, new DefaultHttp2Headers().method("POST").path("/s" + id).scheme("https").authority("x"), false);
      client.data(id, chunk, false); // never ends
    }
    send(c, true, client.bytes());
    assertEquals(44, messages.size(), "the oldest streams shown as they are, to keep 256 open");
    assertEquals("incomplete: more than 256 streams open at once", messages.get(0).note());
    assertTrue(budget.held() <= 64 * 1024, "bodies still arriving hold at most the budget: " + budget.held());
    assertTrue(budget.refused() > 0);
    c.close();
    assertEquals(streams, messages.size());
    assertEquals(0, budget.held(), "shown bodies give their bytes back");
    assertTrue(messages.stream().anyMatch(m -> m.note() != null && m.note().contains("MiB of bodies still arriving")));
  }

  /** HTTP/2 frames as a peer writes them (Netty's frame writer and HPACK encoder). */
  static final class H2 {
    final EmbeddedChannel channel = new EmbeddedChannel(new ChannelOutboundHandlerAdapter());
    final ChannelHandlerContext ctx = channel.pipeline().firstContext();
    final DefaultHttp2FrameWriter writer = new DefaultHttp2FrameWriter();
    final ByteBuf out = Unpooled.buffer();

    void headers(int stream, Http2Headers headers, boolean end) {
      writer.writeHeaders(ctx, stream, headers, 0, end, ctx.newPromise());
      collect();
    }

    void data(int stream, byte[] data, boolean end) {
      writer.writeData(ctx, stream, Unpooled.wrappedBuffer(data), 0, end, ctx.newPromise());
      collect();
    }

    private void collect() {
      channel.flush();
      ByteBuf b;
      while ((b = channel.readOutbound()) != null) {
        out.writeBytes(b);
        b.release();
      }
    }

    byte[] bytes() {
      byte[] b = new byte[out.readableBytes()];
      out.readBytes(b);
      return b;
    }
  }
}

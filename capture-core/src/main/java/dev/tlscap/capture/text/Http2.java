// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.capture.text;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http2.DefaultHttp2FrameReader;
import io.netty.handler.codec.http2.DefaultHttp2HeadersDecoder;
import io.netty.handler.codec.http2.Http2CodecUtil;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2Exception;
import io.netty.handler.codec.http2.Http2FrameAdapter;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2Settings;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * HTTP/2 of one connection, read with Netty's frame reader and HPACK decoder (one per direction;
 * each direction's HPACK state is its own): per stream, a request or response message made of its
 * HEADERS and DATA frames up to END_STREAM (the body capped and inflated); SETTINGS, RST_STREAM and
 * GOAWAY as one-line messages. Frames that do not parse end the parsing of that direction.
 */
final class Http2 implements Conversation.Protocol {
  static final int MAX_FRAME = 1 << 20;
  /** Streams of one direction whose message is still arriving; more close the oldest as incomplete. */
  static final int MAX_OPEN_STREAMS = 256;
  private static final int PREFACE_LENGTH = Http2CodecUtil.connectionPrefaceBuf().readableBytes();

  private final Conversation c;
  private final Direction client;
  private final Direction server;
  /** The reader hands frames to its listener with a context; it allocates header blocks from it. */
  private final EmbeddedChannel channel = new EmbeddedChannel(new ChannelInboundHandlerAdapter());
  private final ChannelHandlerContext ctx = channel.pipeline().firstContext();

  Http2(Conversation c) {
    this.c = c;
    this.client = new Direction(true);
    this.server = new Direction(false);
  }

  @Override
  public void data(boolean fromClient, byte[] bytes, int offset, int length) {
    (fromClient ? client : server).data(bytes, offset, length);
  }

  @Override
  public void close() {
    client.close();
    server.close();
    channel.finishAndReleaseAll();
  }

  /** A message being read: a stream's headers and body. */
  private static final class Message {
    final long time;
    String firstLine;
    final List<TextMessage.Header> headers = new ArrayList<>();
    Body body;

    Message(long time) {
      this.time = time;
    }
  }

  private final class Direction extends Http2FrameAdapter {
    final boolean fromClient;
    final DefaultHttp2FrameReader reader;
    final ByteBuf in = Unpooled.buffer();
    int prefaceLeft;
    boolean broken;
    final Map<Integer, Message> open = new LinkedHashMap<>();

    Direction(boolean fromClient) {
      this.fromClient = fromClient;
      this.prefaceLeft = fromClient ? PREFACE_LENGTH : 0;
      DefaultHttp2HeadersDecoder headers = new DefaultHttp2HeadersDecoder(false);
      DefaultHttp2FrameReader r = new DefaultHttp2FrameReader(headers);
      try {
        // Frames up to 1 MiB (peers send 16 KiB unless told more; a larger one, or a hostile length,
        // ends the parsing of the direction rather than holding megabytes); any HPACK table size.
        r.maxFrameSize(MAX_FRAME);
        headers.maxHeaderTableSize(Http2CodecUtil.MAX_HEADER_TABLE_SIZE);
        headers.maxHeaderListSize(64L << 20, 64L << 20);
      } catch (Http2Exception e) {
        throw new IllegalStateException(e);
      }
      this.reader = r;
    }

    void data(byte[] bytes, int offset, int length) {
      if (broken) {
        c.emitChunk(fromClient, "HTTP/2", bytes, offset, length, "not HTTP/2 frames");
        return;
      }
      int skip = Math.min(prefaceLeft, length);
      prefaceLeft -= skip;
      in.writeBytes(bytes, offset + skip, length - skip);
      try {
        reader.readFrame(ctx, in, this);
      } catch (Http2Exception | RuntimeException e) {
        broken = true;
        c.emit(fromClient, "HTTP/2", "data", 0, null, null, null, "HTTP/2 frames do not parse from here on: "
            + e.getMessage(), c.now());
        in.clear();
      }
      in.discardSomeReadBytes();
    }

    @Override
    public void onHeadersRead(ChannelHandlerContext ctx, int streamId, Http2Headers headers, int padding,
        boolean endOfStream) {
      Message m = open.get(streamId);
      if (m == null) {
        m = new Message(c.now());
        room();
        open.put(streamId, m);
        CharSequence method = headers.method();
        CharSequence status = headers.status();
        if (method != null) {
          m.firstLine = method + " " + (headers.path() != null ? headers.path() : "") + " HTTP/2";
        } else if (status != null) {
          m.firstLine = "HTTP/2 " + status;
        }
        CharSequence encoding = headers.get("content-encoding");
        m.body = c.body(encoding == null ? null : encoding.toString());
      }
      for (Map.Entry<CharSequence, CharSequence> h : headers) {
        m.headers.add(new TextMessage.Header(h.getKey().toString(), h.getValue().toString()));
      }
      if (endOfStream) {
        end(streamId, null);
      }
    }

    @Override
    public void onHeadersRead(ChannelHandlerContext ctx, int streamId, Http2Headers headers, int streamDependency,
        short weight, boolean exclusive, int padding, boolean endOfStream) {
      onHeadersRead(ctx, streamId, headers, padding, endOfStream);
    }

    @Override
    public int onDataRead(ChannelHandlerContext ctx, int streamId, ByteBuf data, int padding, boolean endOfStream) {
      if (!open.containsKey(streamId)) {
        room();
      }
      Message m = open.computeIfAbsent(streamId, id -> {
        Message fresh = new Message(c.now());
        fresh.body = c.body(null);
        return fresh;
      });
      m.body.add(data);
      if (endOfStream) {
        end(streamId, null);
      }
      return data.readableBytes() + padding;
    }

    /** At most {@link #MAX_OPEN_STREAMS} messages arriving: the oldest stream's is shown as it is. */
    private void room() {
      if (open.size() >= MAX_OPEN_STREAMS) {
        end(open.keySet().iterator().next(), "incomplete: more than " + MAX_OPEN_STREAMS + " streams open at once");
      }
    }

    private void end(int streamId, String note) {
      Message m = open.remove(streamId);
      if (m == null) {
        return;
      }
      m.body.finish();
      String kind = m.firstLine == null ? "data" : fromClient ? "request" : "response";
      c.emit(fromClient, "HTTP/2", kind, streamId, m.firstLine, m.headers.isEmpty() ? null : m.headers,
          m.body.isEmpty() ? null : m.body, note, m.time);
    }

    @Override
    public void onSettingsRead(ChannelHandlerContext ctx, Http2Settings settings) {
      StringBuilder b = new StringBuilder();
      for (Map.Entry<Character, Long> s : new java.util.TreeMap<>(settings).entrySet()) {
        b.append(b.length() == 0 ? "" : ", ").append(settingName(s.getKey())).append('=').append(s.getValue());
      }
      c.emit(fromClient, "HTTP/2", "settings", 0, null, null, null, b.length() == 0 ? "none" : b.toString(), c.now());
    }

    @Override
    public void onRstStreamRead(ChannelHandlerContext ctx, int streamId, long errorCode) {
      end(streamId, "ended by RST_STREAM");
      c.emit(fromClient, "HTTP/2", "rst_stream", streamId, null, null, null, errorName(errorCode), c.now());
    }

    @Override
    public void onGoAwayRead(ChannelHandlerContext ctx, int lastStreamId, long errorCode, ByteBuf debugData) {
      String debug = debugData.isReadable() ? ", " + debugData.toString(StandardCharsets.UTF_8) : "";
      c.emit(fromClient, "HTTP/2", "goaway", 0, null, null, null,
          "last stream " + lastStreamId + ", " + errorName(errorCode) + debug, c.now());
    }

    void close() {
      for (Integer id : new ArrayList<>(open.keySet())) {
        end(id, "incomplete: the connection ended");
      }
      in.release();
      reader.close();
    }
  }

  private static String errorName(long code) {
    Http2Error e = Http2Error.valueOf(code);
    return e != null ? e.name() : "error " + code;
  }

  /** RFC 9113 6.5.2. */
  private static String settingName(char id) {
    return switch (id) {
      case 1 -> "header_table_size";
      case 2 -> "enable_push";
      case 3 -> "max_concurrent_streams";
      case 4 -> "initial_window_size";
      case 5 -> "max_frame_size";
      case 6 -> "max_header_list_size";
      case 8 -> "enable_connect_protocol";
      default -> "setting_" + (int) id;
    };
  }
}

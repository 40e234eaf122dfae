// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.capture;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import io.netty.handler.ssl.util.InsecureTrustManagerFactory;
import java.io.File;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * A Netty HTTPS peer on BoringSSL (netty-tcnative-boringssl-static: BoringSSL linked into a JNI
 * library the JVM extracts and loads at run time), for {@link NettyBoringSslIT}. Run as its own JVM:
 * <pre>
 *   NettyTlsPeer server CERT KEY        prints "listening PORT", answers every GET with its path
 *   NettyTlsPeer client PORT TLS PATH   one GET over TLSv1.2 or TLSv1.3, prints "status CODE BODY"
 * </pre>
 */
public final class NettyTlsPeer {
  private NettyTlsPeer() {}

  public static void main(String[] args) throws Exception {
    if (!OpenSsl.isAvailable()) {
      throw new IllegalStateException("netty-tcnative is not available: " + OpenSsl.unavailabilityCause());
    }
    System.out.println("provider " + OpenSsl.versionString());
    EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    try {
      if (args[0].equals("server")) {
        server(group, new File(args[1]), new File(args[2]));
      } else {
        client(group, Integer.parseInt(args[1]), args[2], args[3]);
      }
    } finally {
      group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
    }
  }

  private static void server(EventLoopGroup group, File cert, File key) throws Exception {
    SslContext ssl = SslContextBuilder.forServer(cert, key).sslProvider(SslProvider.OPENSSL).build();
    Channel channel = new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
        .childHandler(new ChannelInitializer<SocketChannel>() {
          @Override
          protected void initChannel(SocketChannel ch) {
            ch.pipeline().addLast(ssl.newHandler(ch.alloc()), new HttpServerCodec(), new HttpObjectAggregator(1 << 16),
                new SimpleChannelInboundHandler<FullHttpRequest>() {
                  @Override
                  protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest request) {
                    byte[] body = ("hello from netty " + request.uri() + "\n").getBytes(StandardCharsets.US_ASCII);
                    FullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK,
                        Unpooled.wrappedBuffer(body));
                    response.headers().set(HttpHeaderNames.CONTENT_LENGTH, body.length);
                    response.headers().set(HttpHeaderNames.CONNECTION, "close");
                    ctx.writeAndFlush(response).addListener(ChannelFutureListener.CLOSE);
                  }
                });
          }
        }).bind("127.0.0.1", 0).sync().channel();
    System.out.println("listening " + ((java.net.InetSocketAddress) channel.localAddress()).getPort());
    channel.closeFuture().sync();
  }

  private static void client(EventLoopGroup group, int port, String tls, String path) throws Exception {
    SslContext ssl = SslContextBuilder.forClient().sslProvider(SslProvider.OPENSSL)
        .trustManager(InsecureTrustManagerFactory.INSTANCE).protocols(tls).build();
    CompletableFuture<String> answer = new CompletableFuture<>();
    Channel channel = new Bootstrap().group(group).channel(NioSocketChannel.class)
        .handler(new ChannelInitializer<SocketChannel>() {
          @Override
          protected void initChannel(SocketChannel ch) {
            ch.pipeline().addLast(ssl.newHandler(ch.alloc(), "127.0.0.1", port), new HttpClientCodec(),
                new HttpObjectAggregator(1 << 20), new SimpleChannelInboundHandler<FullHttpResponse>() {
                  @Override
                  protected void channelRead0(ChannelHandlerContext ctx, FullHttpResponse response) {
                    answer.complete(response.status().code() + " " + response.content().toString(StandardCharsets.UTF_8)
                        .lines().findFirst().orElse(""));
                    ctx.close();
                  }
                });
          }
        }).connect("127.0.0.1", port).sync().channel();
    FullHttpRequest request = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, path);
    request.headers().set(HttpHeaderNames.HOST, "127.0.0.1");
    request.headers().set(HttpHeaderNames.CONNECTION, "close");
    channel.writeAndFlush(request);
    System.out.println("status " + answer.get(20, TimeUnit.SECONDS));
    channel.closeFuture().sync();
  }
}

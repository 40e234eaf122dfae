// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.capture;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tlscap.testing.Command;
import dev.tlscap.testing.OpenSslServer;
import dev.tlscap.testing.Requirements;
import dev.tlscap.testing.Tcpdump;
import dev.tlscap.testing.Tshark;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLEngineResult;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.CleanupMode;
import org.junit.jupiter.api.io.TempDir;

/**
 * End to end: what a hostile or broken peer sends on the wire while tlscap captures. Truncated
 * records, garbage after a valid ClientHello, a ClientHello in one-byte segments, plain HTTP and
 * random bytes on the TLS server's port, a reset in the middle of a handshake, all over real TCP
 * on lo next to a well-formed curl connection. tlscap must exit 0 without a stack trace, write
 * every packet (tcpdump alongside counts them per connection), count the TLS sessions it released
 * without their secrets and the connections that only looked like TLS, and still decrypt the
 * well-formed connections (tshark, no key file).
 */
@Tag("e2e")
class MalformedTlsIT {
  /** Kept when the test fails (its path is in the failure message), for the reader of the CI log. */
  @TempDir(cleanup = CleanupMode.ON_SUCCESS) Path dir;


  @BeforeAll
  static void machine() {
    Requirements.requireRoot();
    Requirements.requireCommand("tshark", "tshark");
    Requirements.requireCommand("tcpdump", "tcpdump");
    Requirements.requireCommand("curl", "curl");
    Requirements.requireCommand("openssl", "openssl");
  }

  @Test
  void hostilePeersNextToAWellFormedConnection() throws Exception {
    try (OpenSslServer server = OpenSslServer.start(dir); Sink sink = new Sink()) {
      Path out = dir.resolve("malformed.pcapng");
      Path reference = dir.resolve("tcpdump.pcap");
      String filter = "tcp port " + server.port() + " or tcp port " + sink.port();
      /** Client port of each hostile connection, by what it did. */
      Map<String, Integer> connections = new LinkedHashMap<>();
      String stderr = "";
      try (Tcpdump tcpdump = Tcpdump.start(reference, "lo", null, filter)) {
        // --hold 30: no session is released by the clock during the test, only by its secrets or the stop.
        try (TlscapProcess tlscap = TlscapProcess.start(dir, "-q", "-i", "lo", "-w", out.toString(), "--hold", "30",
            "tcp", "port", Integer.toString(server.port()), "or", "tcp", "port", Integer.toString(sink.port()))) {
          byte[] hello = clientHello();

          // Looks like TLS, never completes a ClientHello: the record announces more than comes.
          connections.put("truncated ClientHello", send(sink.port(), Arrays.copyOf(hello, hello.length / 2)));
          // A complete ClientHello, then bytes that are no TLS record.
          connections.put("garbage after ClientHello", send(sink.port(),
              concat(clientHello(), "GARBAGE \u0000\u00ff NOT A RECORD\r\n".getBytes(StandardCharsets.ISO_8859_1))));
          // A complete ClientHello, then an application data record cut short by the close.
          connections.put("truncated record", send(sink.port(),
              concat(clientHello(), new byte[] {23, 3, 3, 0x10, 0}, new byte[300])));
          // Plain HTTP, random bytes, and random bytes that start like a TLS handshake record, all to s_server.
          connections.put("HTTP to the TLS port", send(server.port(),
              "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n".getBytes(StandardCharsets.US_ASCII)));
          Random random = new Random(7);
          byte[] noise = new byte[2000];
          random.nextBytes(noise);
          noise[0] = 0x01;
          connections.put("random bytes", send(server.port(), noise));
          byte[] tlsLike = noise.clone();
          System.arraycopy(new byte[] {22, 3, 1, 0x10, 0, 1}, 0, tlsLike, 0, 6);
          connections.put("random bytes that start like TLS", send(server.port(), tlsLike));
          // A real handshake reset by the client once the server's flight is in (SO_LINGER 0).
          connections.put("reset mid-handshake", resetMidHandshake(server.port()));
          // A real TLS 1.3 client (the JDK's) whose ClientHello leaves in one-byte segments.
          Trickle split = new Trickle(server.port());
          connections.put("ClientHello in one-byte segments", split.localPort);
          String page = split.get("/split-path");
          assertTrue(page.contains("s_server"), page);
          // The well-formed connection, at the same time as all that.
          String curl = Command.run(Duration.ofSeconds(60), "curl", "-sS", "-k", "--max-time", "20", "--tlsv1.3",
              server.url() + "curl-path").check().stdout();
          assertTrue(curl.contains("s_server"), curl);

          Thread.sleep(500); // the last ACKs and FINs
          assertEquals(0, tlscap.interrupt(), tlscap.stderr());
          stderr = tlscap.stderr() + "\n(files in " + dir + ")";
        }
        tcpdump.stop();
      }

      assertFalse(stderr.contains("Exception") || stderr.contains("\tat ") || stderr.contains("internal error"),
          "no stack trace, no internal error:\n" + stderr);

      // Every packet: per connection, and in all, as many as tcpdump saw.
      for (Map.Entry<String, Integer> c : connections.entrySet()) {
        String byPort = "tcp.port == " + c.getValue();
        int expected = Tshark.packetCount(reference, byPort);
        assertTrue(expected >= 3, c.getKey() + ": tcpdump saw " + expected + " packets");
        assertEquals(expected, Tshark.packetCount(out, byPort), c.getKey() + ": packets in tlscap's file");
        System.out.println(c.getKey() + ": " + expected + " packets, all in the file");
      }
      System.out.println(stderr);
      assertEquals(Tshark.packetCount(reference), Tshark.packetCount(out), "every packet\n" + stderr);

      // The well-formed connections decrypt with no key file.
      List<String> uris = Tshark.column(out, "http.request", "http.request.uri");
      assertTrue(uris.containsAll(List.of("/split-path", "/curl-path")), "decrypted: " + uris + "\n" + stderr);
      String helloSegments = Tshark.column(out, "tls.handshake.type == 1 && tcp.srcport == "
          + connections.get("ClientHello in one-byte segments"), "tcp.segment.count").get(0);
      assertTrue(Integer.parseInt(helloSegments) >= 200, "the ClientHello came in " + helloSegments + " segments");

      // The summary counts what was released without secrets, and what only looked like TLS.
      Matcher released = Pattern.compile("(\\d+) packets of (\\d+) TLS sessions released without all their secrets")
          .matcher(stderr);
      assertTrue(released.find(), stderr);
      assertEquals(3, Integer.parseInt(released.group(2)), "sessions released without secrets:\n" + stderr);
      assertEquals(heldPackets(reference, connections, "garbage after ClientHello", "truncated record",
          "reset mid-handshake"), Integer.parseInt(released.group(1)), "their packets, all held to the stop:\n" + stderr);
      Matcher notTls = Pattern.compile("(\\d+) packets of (\\d+) connections that began like TLS but were not")
          .matcher(stderr);
      assertTrue(notTls.find(), stderr);
      assertEquals(2, Integer.parseInt(notTls.group(2)), "the truncated ClientHello and the TLS-like noise:\n" + stderr);
      // The truncated ClientHello is held to the stop; the noise is let go at its first packet.
      assertEquals(heldPackets(reference, connections, "truncated ClientHello") + 1, Integer.parseInt(notTls.group(1)),
          stderr);
      Matcher sessions = Pattern.compile("(\\d+) TLS sessions, (\\d+) with secrets").matcher(stderr);
      assertTrue(sessions.find(), stderr);
      assertEquals(List.of("5", "2"), List.of(sessions.group(1), sessions.group(2)),
          "garbage, truncated record, reset; one-byte ClientHello and curl decrypt:\n" + stderr);
    }
  }

  /**
   * Packets tcpdump saw of the named connections from their first with payload on: what tlscap
   * holds back (the handshake before it is written at once).
   */
  private static int heldPackets(Path file, Map<String, Integer> connections, String... names) {
    int n = 0;
    for (String name : names) {
      String byPort = "tcp.port == " + connections.get(name);
      String first = Tshark.column(file, byPort + " && tcp.len > 0", "frame.number").get(0);
      n += Tshark.packetCount(file, byPort + " && frame.number >= " + first);
    }
    return n;
  }

  /** A ClientHello record as the JDK's TLS client sends it (TLS 1.3 and 1.2 offered), fresh random. */
  static byte[] clientHello() throws Exception {
    SSLEngine engine = trustAll().createSSLEngine("localhost", 443);
    engine.setUseClientMode(true);
    engine.beginHandshake();
    ByteBuffer out = ByteBuffer.allocate(engine.getSession().getPacketBufferSize());
    SSLEngineResult r = engine.wrap(ByteBuffer.allocate(0), out);
    assertEquals(SSLEngineResult.Status.OK, r.getStatus());
    out.flip();
    byte[] bytes = new byte[out.remaining()];
    out.get(bytes);
    assertEquals(22, bytes[0], "a handshake record");
    return bytes;
  }

  static SSLContext trustAll() throws Exception {
    SSLContext context = SSLContext.getInstance("TLS");
    context.init(null, new TrustManager[] {new X509TrustManager() {
      @Override
      public void checkClientTrusted(X509Certificate[] chain, String authType) {}

      @Override
      public void checkServerTrusted(X509Certificate[] chain, String authType) {}

      @Override
      public X509Certificate[] getAcceptedIssuers() {
        return new X509Certificate[0];
      }
    }}, new SecureRandom());
    return context;
  }

  static byte[] concat(byte[]... parts) {
    int n = 0;
    for (byte[] p : parts) {
      n += p.length;
    }
    ByteBuffer b = ByteBuffer.allocate(n);
    for (byte[] p : parts) {
      b.put(p);
    }
    return b.array();
  }

  /** Connects to 127.0.0.1:port, writes {@code bytes}, half-closes, reads until the peer closes. */
  static int send(int port, byte[] bytes) throws IOException {
    try (Socket s = new Socket(InetAddress.getLoopbackAddress(), port)) {
      s.setSoTimeout(5000);
      s.getOutputStream().write(bytes);
      s.getOutputStream().flush();
      s.shutdownOutput();
      drain(s.getInputStream());
      return s.getLocalPort();
    }
  }

  private static void drain(InputStream in) throws IOException {
    byte[] buf = new byte[4096];
    try {
      while (in.read(buf) >= 0) {
        // the peer's answer (an alert, an HTTP error) is not the point
      }
    } catch (SocketTimeoutException | java.net.SocketException ignored) {
      // a peer that keeps the connection open or resets it
    }
  }

  /** Sends a ClientHello to s_server, reads its first flight, then resets the connection. */
  static int resetMidHandshake(int port) throws Exception {
    Socket s = new Socket(InetAddress.getLoopbackAddress(), port);
    s.setSoTimeout(5000);
    s.getOutputStream().write(clientHello());
    s.getOutputStream().flush();
    byte[] buf = new byte[16384];
    int got = 0;
    long deadline = System.nanoTime() + 5_000_000_000L;
    while (got < 500 && System.nanoTime() < deadline) { // the ServerHello and some encrypted handshake
      int n = s.getInputStream().read(buf, got, buf.length - got);
      if (n < 0) {
        break;
      }
      got += n;
    }
    assertTrue(got >= 500, "s_server answered the ClientHello with " + got + " bytes");
    int local = s.getLocalPort();
    s.setSoLinger(true, 0);
    s.close(); // RST
    return local;
  }

  /**
   * A JDK TLS client over a TCP connection (TCP_NODELAY) whose first write, the ClientHello record,
   * leaves in one-byte segments a millisecond apart after its first 6 bytes (tshark 4.0 only
   * recognizes TLS on a port that is not 443 when a segment holds a whole record header).
   */
  static final class Trickle {
    final Socket plain;
    final int localPort;

    Trickle(int port) throws IOException {
      plain = new TrickleSocket();
      plain.setTcpNoDelay(true);
      plain.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 5000);
      plain.setSoTimeout(10_000);
      localPort = plain.getLocalPort();
    }

    /** GET {@code path} over TLS (s_server -www answers and closes). */
    String get(String path) throws Exception {
      try (SSLSocket tls = (SSLSocket) trustAll().getSocketFactory().createSocket(plain, "localhost",
          plain.getPort(), true)) {
        tls.setEnabledProtocols(new String[] {"TLSv1.3"});
        tls.startHandshake();
        tls.getOutputStream().write(("GET " + path + " HTTP/1.0\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
        tls.getOutputStream().flush();
        return new String(tls.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
      }
    }
  }

  private static final class TrickleSocket extends Socket {
    private OutputStream trickle;

    @Override
    public synchronized OutputStream getOutputStream() throws IOException {
      if (trickle == null) {
        OutputStream real = super.getOutputStream();
        trickle = new OutputStream() {
          private boolean first = true;

          @Override
          public void write(int b) throws IOException {
            write(new byte[] {(byte) b}, 0, 1);
          }

          @Override
          public void write(byte[] b, int off, int len) throws IOException {
            if (!first || len <= 6) {
              real.write(b, off, len);
              return;
            }
            first = false;
            real.write(b, off, 6);
            for (int i = 6; i < len; i++) {
              real.write(b, off + i, 1);
              try {
                Thread.sleep(1);
              } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException(e);
              }
            }
          }

          @Override
          public void flush() throws IOException {
            real.flush();
          }
        };
      }
      return trickle;
    }
  }

  /** A TCP server on 127.0.0.1 that reads whatever comes until the client closes. */
  static final class Sink implements AutoCloseable {
    private final ServerSocket socket;
    private final Thread thread;

    Sink() throws IOException {
      socket = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
      thread = new Thread(() -> {
        while (!socket.isClosed()) {
          try (Socket s = socket.accept()) {
            s.setSoTimeout(5000);
            drain(s.getInputStream());
          } catch (IOException e) {
            // closed: the test is over
          }
        }
      }, "sink");
      thread.setDaemon(true);
      thread.start();
    }

    int port() {
      return socket.getLocalPort();
    }

    @Override
    public void close() throws Exception {
      socket.close();
      thread.join(5000);
    }
  }
}

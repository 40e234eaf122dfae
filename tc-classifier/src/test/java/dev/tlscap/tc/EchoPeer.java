// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.tc;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;

/**
 * Echo servers for test traffic: UDP datagrams and TCP bytes come back as they were sent. Run inside
 * a network namespace as {@code EchoPeer PORT} (UDP and TCP on PORT, all addresses; prints
 * {@code ready}), or in the test JVM with {@link #start(int)}.
 */
public final class EchoPeer implements AutoCloseable {
  private final DatagramSocket udp;
  private final ServerSocket tcp;

  private EchoPeer(int port) throws IOException {
    udp = new DatagramSocket(null);
    udp.setReuseAddress(true);
    udp.bind(new InetSocketAddress(port));
    tcp = new ServerSocket();
    tcp.setReuseAddress(true);
    tcp.bind(new InetSocketAddress(port));
    Thread u = new Thread(this::udpLoop, "echo-udp");
    u.setDaemon(true);
    u.start();
    Thread t = new Thread(this::tcpLoop, "echo-tcp");
    t.setDaemon(true);
    t.start();
  }

  /** Starts UDP and TCP echo on {@code port} (0: any free port; see {@link #port()}). */
  static EchoPeer start(int port) {
    try {
      return new EchoPeer(port);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** A port free for both UDP and TCP right now. */
  static int freePort() {
    for (int i = 0; i < 100; i++) {
      try (DatagramSocket u = new DatagramSocket(0)) {
        int port = u.getLocalPort();
        try (ServerSocket s = new ServerSocket(port)) {
          return s.getLocalPort();
        } catch (IOException e) {
          // taken for TCP: try another
        }
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
    throw new AssertionError("no free port");
  }

  int port() {
    return udp.getLocalPort();
  }

  private void udpLoop() {
    byte[] buffer = new byte[65536];
    while (!udp.isClosed()) {
      try {
        DatagramPacket p = new DatagramPacket(buffer, buffer.length);
        udp.receive(p);
        udp.send(new DatagramPacket(p.getData(), p.getOffset(), p.getLength(), p.getSocketAddress()));
      } catch (IOException e) {
        // closed
      }
    }
  }

  private void tcpLoop() {
    while (!tcp.isClosed()) {
      try {
        Socket s = tcp.accept();
        Thread t = new Thread(() -> echo(s), "echo-tcp-conn");
        t.setDaemon(true);
        t.start();
      } catch (IOException e) {
        // closed
      }
    }
  }

  private static void echo(Socket s) {
    try (s; InputStream in = s.getInputStream(); OutputStream out = s.getOutputStream()) {
      byte[] buffer = new byte[1 << 20];
      int n;
      while ((n = in.read(buffer)) > 0) {
        out.write(buffer, 0, n);
      }
    } catch (IOException e) {
      // the client went away
    }
  }

  @Override
  public void close() {
    udp.close();
    try {
      tcp.close();
    } catch (IOException e) {
      // closing anyway
    }
  }

  public static void main(String[] args) throws Exception {
    try (EchoPeer peer = new EchoPeer(Integer.parseInt(args[0]))) {
      System.out.println("ready " + peer.port());
      System.out.flush();
      Thread.sleep(Long.MAX_VALUE);
    }
  }
}

// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.tc;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.util.Arrays;
import java.util.Random;

/** Test traffic towards an {@link EchoPeer}: strictly request/response, so both captures see one order. */
final class Traffic {
  private Traffic() {}

  static InetAddress address(String literal) {
    try {
      return InetAddress.getByName(literal);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Sends one datagram of each size and waits for its echo (retrying once per size on a loss). */
  static void udpPingPong(String host, int port, int... sizes) {
    Random random = new Random(port);
    try (DatagramSocket s = new DatagramSocket()) {
      s.setSoTimeout(2000);
      InetSocketAddress to = new InetSocketAddress(address(host), port);
      byte[] reply = new byte[65536];
      for (int size : sizes) {
        byte[] payload = new byte[size];
        random.nextBytes(payload);
        s.send(new DatagramPacket(payload, size, to));
        DatagramPacket p = new DatagramPacket(reply, reply.length);
        try {
          s.receive(p);
        } catch (SocketTimeoutException e) {
          throw new AssertionError("no echo of a " + size + "-byte datagram from " + to);
        }
        if (p.getLength() != size || !Arrays.equals(payload, 0, size, reply, 0, size)) {
          throw new AssertionError("wrong echo from " + to);
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Sends datagrams nobody answers. */
  static void udpSend(String host, int port, int count, int size) {
    try (DatagramSocket s = new DatagramSocket()) {
      InetSocketAddress to = new InetSocketAddress(address(host), port);
      for (int i = 0; i < count; i++) {
        s.send(new DatagramPacket(new byte[size], size, to));
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * One TCP connection: small messages back and forth, then {@code bulkBytes} in one write (big
   * GSO packets on lo and veth) echoed back, then an orderly close.
   */
  static void tcpSession(String host, int port, int messages, int bulkBytes) {
    Random random = new Random(port * 31L);
    try (Socket s = new Socket()) {
      s.setTcpNoDelay(true);
      s.setSoTimeout(10_000);
      s.connect(new InetSocketAddress(address(host), port), 5000);
      OutputStream out = s.getOutputStream();
      InputStream in = s.getInputStream();
      for (int i = 0; i < messages; i++) {
        byte[] m = new byte[10 + i * 100];
        random.nextBytes(m);
        out.write(m);
        readFully(in, m.length);
      }
      if (bulkBytes > 0) {
        byte[] bulk = new byte[bulkBytes];
        random.nextBytes(bulk);
        Thread writer = new Thread(() -> {
          try {
            out.write(bulk);
          } catch (IOException e) {
            // the read below fails then
          }
        });
        writer.start();
        readFully(in, bulkBytes);
        writer.join();
      }
      s.shutdownOutput();
      while (in.read() >= 0) {
        // until the peer closes too
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  private static void readFully(InputStream in, int n) throws IOException {
    byte[] b = new byte[Math.min(n, 1 << 20)];
    int left = n;
    while (left > 0) {
      int r = in.read(b, 0, Math.min(b.length, left));
      if (r < 0) {
        throw new IOException("the peer closed early");
      }
      left -= r;
    }
  }
}

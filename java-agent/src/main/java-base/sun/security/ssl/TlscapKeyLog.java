// SPDX-License-Identifier: Apache-2.0
package sun.security.ssl;

import java.io.IOException;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.Collections;
import java.util.HexFormat;
import java.util.Map;
import java.util.WeakHashMap;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * What JSSE's patched methods call: turns each secret into an NSS key log line and hands it to
 * tlscap. The agent defines it in JSSE's own package (java.base, the bootstrap class loader), so
 * the advice inlined into JSSE calls it like its neighbours and it reads the client random by
 * name ({@code HandshakeContext.clientHelloRandom.randomBytes}, the same in JDK 17 to 25): no
 * module edge, no reflection, nothing appended to the boot class path. Never throws into the handshake that called it and never blocks it: lines go
 * to a bounded queue that one daemon thread writes to tlscap's Unix socket; a full queue drops
 * the line and counts it ({@code # dropped N} reaches tlscap). With no tlscap (never connected,
 * stopped, killed), every hook returns at its first read of {@link #sender}.
 *
 * <p>Lines: {@code LABEL <client random hex> <secret hex>}, or {@code # unreadable LABEL} when the
 * secret's bytes or its client random could not be read (a provider that keeps keys opaque).
 */
public final class TlscapKeyLog {
  private static final HexFormat HEX = HexFormat.of();
  /** Each SSLSecretDerivation's client random, taken when it is built (it has no handshake context later). */
  private static final Map<Object, byte[]> RANDOMS = Collections.synchronizedMap(new WeakHashMap<>());
  private static volatile Sender sender;
  private static boolean installed;

  private TlscapKeyLog() {
  }

  /** True once JSSE is patched (a later tlscap only connects). */
  public static synchronized boolean installed() {
    return installed;
  }

  public static synchronized void markInstalled() {
    installed = true;
  }

  /**
   * Sends the lines from now on to the tlscap listening at {@code socket} (a path in this process's
   * root), replacing an earlier one. {@code hello} is the first line.
   */
  public static synchronized void connect(String socket, String hello) throws IOException {
    Sender old = sender;
    if (old != null) {
      old.stop();
    }
    SocketChannel channel = SocketChannel.open(UnixDomainSocketAddress.of(socket));
    channel.configureBlocking(false);
    Sender next = new Sender(channel);
    next.offer(hello);
    Thread thread = new Thread(next, "tlscap-keylog");
    thread.setDaemon(true);
    sender = next;
    thread.start();
  }

  /** SSLSecretDerivation's constructor returned: remembers its handshake's client random. */
  public static void derivation(Object derivation, HandshakeContext context) {
    if (sender == null) {
      return;
    }
    try {
      byte[] random = random(context);
      if (random != null) {
        RANDOMS.put(derivation, random);
      }
    } catch (Throwable ignored) {
      // the handshake goes on; the secret is reported unreadable
    }
  }

  /** SSLSecretDerivation.deriveKey returned {@code key} for {@code algorithm} (TLS 1.3). */
  public static void secret(Object derivation, String algorithm, Object key) {
    Sender s = sender;
    if (s == null) {
      return;
    }
    try {
      String label = label(algorithm);
      if (label != null) {
        s.send(label, RANDOMS.get(derivation), key);
      }
    } catch (Throwable ignored) {
      // never into the handshake
    }
  }

  /** A TLS 1.0-1.2 connection derives its keys from {@code masterSecret} (full and resumed handshakes). */
  public static void masterSecret(HandshakeContext context, Object masterSecret) {
    Sender s = sender;
    if (s == null) {
      return;
    }
    try {
      s.send("CLIENT_RANDOM", random(context), masterSecret);
    } catch (Throwable ignored) {
      // never into the handshake
    }
  }

  /** The NSS key log label of a JSSE secret name, null for secrets a key log does not carry. */
  static String label(String algorithm) {
    switch (algorithm) {
      case "TlsClientHandshakeTrafficSecret":
        return "CLIENT_HANDSHAKE_TRAFFIC_SECRET";
      case "TlsServerHandshakeTrafficSecret":
        return "SERVER_HANDSHAKE_TRAFFIC_SECRET";
      case "TlsClientAppTrafficSecret":
        return "CLIENT_TRAFFIC_SECRET_0";
      case "TlsServerAppTrafficSecret":
        return "SERVER_TRAFFIC_SECRET_0";
      case "TlsExporterMasterSecret":
        return "EXPORTER_SECRET";
      default:
        return null;
    }
  }

  private static byte[] random(HandshakeContext context) {
    RandomCookie cookie = context != null ? context.clientHelloRandom : null;
    return cookie != null ? cookie.randomBytes.clone() : null;
  }

  /** Writes the lines to tlscap from its own thread; ends (and lets the hooks go idle) when tlscap is gone. */
  static final class Sender implements Runnable {
    private static final long STUCK_NANOS = TimeUnit.SECONDS.toNanos(10);
    private final SocketChannel channel;
    private final ArrayBlockingQueue<String> queue = new ArrayBlockingQueue<>(8192);
    private final AtomicLong dropped = new AtomicLong();
    private volatile boolean stopped;

    Sender(SocketChannel channel) {
      this.channel = channel;
    }

    void send(String label, byte[] random, Object key) {
      byte[] secret = key instanceof javax.crypto.SecretKey ? ((javax.crypto.SecretKey) key).getEncoded() : null;
      if (random == null || secret == null) {
        offer("# unreadable " + label);
      } else {
        offer(label + ' ' + HEX.formatHex(random) + ' ' + HEX.formatHex(secret));
      }
    }

    void offer(String line) {
      if (!queue.offer(line)) {
        dropped.incrementAndGet();
      }
    }

    void stop() {
      stopped = true;
    }

    @Override
    public void run() {
      ByteBuffer probe = ByteBuffer.allocate(64);
      try {
        while (!stopped) {
          long lost = dropped.getAndSet(0);
          if (lost > 0) {
            write("# dropped " + lost);
          }
          String line = queue.poll(1, TimeUnit.SECONDS);
          if (line != null) {
            write(line);
          } else if (channel.read(probe.clear()) < 0) { // tlscap never writes: -1 means it is gone
            break;
          }
        }
      } catch (IOException | InterruptedException | RuntimeException e) {
        // tlscap stopped or was killed: stop sending, let the hooks go idle
      } finally {
        synchronized (TlscapKeyLog.class) {
          if (sender == this) {
            sender = null;
          }
        }
        queue.clear();
        try {
          channel.close();
        } catch (IOException ignored) {
          // closed either way
        }
      }
    }

    private void write(String line) throws IOException, InterruptedException {
      ByteBuffer bytes = ByteBuffer.wrap((line + '\n').getBytes(StandardCharsets.US_ASCII));
      long start = System.nanoTime();
      while (bytes.hasRemaining()) {
        if (channel.write(bytes) == 0) {
          if (System.nanoTime() - start > STUCK_NANOS) {
            throw new IOException("tlscap does not read");
          }
          Thread.sleep(1);
        }
      }
    }
  }
}

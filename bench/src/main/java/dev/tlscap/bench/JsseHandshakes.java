// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.bench;

import dev.tlscap.testing.TrustAll;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicLong;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;

/**
 * bench/java-tls.sh's JSSE client: one long-lived JVM (JIT warm, attachable) that does full TLS
 * handshakes (each session invalidated: no resumption) against {@code host:port} when told.
 * stdin: {@code run SECONDS CONCURRENCY PROTOCOL} -> stdout {@code handshakes N seconds S};
 * {@code quit}. Prints {@code ready} first.
 */
public final class JsseHandshakes {
  private JsseHandshakes() {
  }

  public static void main(String[] args) throws Exception {
    String host = args[0];
    int port = Integer.parseInt(args[1]);
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    System.out.println("ready");
    for (String line; (line = in.readLine()) != null && !line.equals("quit"); ) {
      String[] f = line.split(" ");
      double seconds = Double.parseDouble(f[1]);
      int concurrency = Integer.parseInt(f[2]);
      SSLContext tls = TrustAll.context(f[3]);
      AtomicLong done = new AtomicLong();
      AtomicLong failed = new AtomicLong();
      long start = System.nanoTime();
      long end = start + (long) (seconds * 1e9);
      Thread[] threads = new Thread[concurrency];
      for (int t = 0; t < concurrency; t++) {
        threads[t] = new Thread(() -> {
          while (System.nanoTime() < end) {
            try (SSLSocket s = (SSLSocket) tls.getSocketFactory().createSocket(host, port)) {
              s.setEnabledProtocols(new String[] {f[3]});
              s.startHandshake();
              s.getSession().invalidate();
              done.incrementAndGet();
            } catch (Exception e) {
              failed.incrementAndGet();
            }
          }
        });
        threads[t].start();
      }
      for (Thread t : threads) {
        t.join();
      }
      System.out.printf("handshakes %d seconds %.3f failed %d%n", done.get(), (System.nanoTime() - start) / 1e9,
          failed.get());
    }
  }
}

// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.samples;

import dev.tlscap.bpf.BpfException;
import dev.tlscap.pcapng.KeyLogFile;
import dev.tlscap.pcapng.KeyLogLine;
import dev.tlscap.secrets.TlsEventListener;
import dev.tlscap.secrets.TlsSecret;
import dev.tlscap.secrets.OpenSslSecretSource;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * tlscap's secret source as a library: an SSLKEYLOGFILE for every OpenSSL 3 program on the host,
 * with no environment variable and no restart of the programs. About forty lines of use:
 * {@link OpenSslSecretSource#open} attaches the uprobe, {@link OpenSslSecretSource#poll} drains the ring on
 * this thread, {@link KeyLogFile} writes the NSS key log (mode 0600, one line per secret).
 *
 * <pre>
 *   java -jar samples/target/keylogger.jar keys.txt [COMM]     # built by mvn package
 *   tcpdump -i any -w plain.pcap port 443 &amp;   # the packets, with any capture tool
 *   wireshark -o tls.keylog_file:keys.txt plain.pcap
 * </pre>
 *
 * A key log line needs the connection's client random, which no TLS 1.3 KDF call carries: so this
 * sample turns on socket tracing (a raw tracepoint on syscall exit that reads the random from the
 * ClientHello; it costs every syscall on the host, about 150 ns). tlscap.jar leaves it off: it
 * finds each secret's connection in the captured packets instead (trial decryption), and embeds the
 * secrets in the pcapng file. This sample is for programs that want only the keys.
 */
public final class KeyLogger implements AutoCloseable {
  private final OpenSslSecretSource source;
  private final KeyLogFile keyLog;
  private final AtomicBoolean running = new AtomicBoolean(true);
  private final CountDownLatch finished = new CountDownLatch(1);

  /** Traces every OpenSSL 3 program (or only those named {@code comm}); writes their secrets to {@code file}. */
  public KeyLogger(Path file, String comm) {
    OpenSslSecretSource.Options defaults = OpenSslSecretSource.Options.defaults();
    this.keyLog = KeyLogFile.open(file);
    try {
      this.source = OpenSslSecretSource.open(new OpenSslSecretSource.Options(0, comm, List.of(), defaults.ringBytes(),
          true, true), message -> System.err.println("keylogger: " + message));
    } catch (RuntimeException e) {
      keyLog.close();
      throw e;
    }
  }

  /** Drains the secrets until {@link #close()}; call on a thread of its own. */
  public void run() throws InterruptedException {
    TlsEventListener listener = new TlsEventListener() {
      @Override
      public void onSecret(TlsSecret event) {
        if (event.clientRandom() != null) {
          keyLog.write(new KeyLogLine(event.label().keyLogLabel(), event.clientRandom(), event.secret()));
        }
      }
    };
    try {
      while (running.get()) {
        source.poll(listener, OpenSslSecretSource.DRAIN_INTERVAL_MS);
        keyLog.flush();
      }
      source.drain(listener); // what arrived before close()
      keyLog.flush();
    } finally {
      finished.countDown();
    }
  }

  /** Lines written so far. */
  public long lines() {
    return keyLog.lines();
  }

  /** Stops {@link #run()}, waits for its last drain, detaches the uprobes and closes the file. */
  @Override
  public void close() throws InterruptedException {
    running.set(false);
    finished.await(5, TimeUnit.SECONDS);
    try {
      source.close();
    } finally {
      keyLog.close();
    }
  }

  public static void main(String[] args) throws InterruptedException {
    if (args.length < 1 || args.length > 2 || args[0].startsWith("-")) {
      System.err.println("usage: KeyLogger FILE [COMM]  (writes the TLS secrets of every OpenSSL 3 program, or of COMM, to FILE)");
      System.exit(2);
    }
    KeyLogger logger;
    try {
      logger = new KeyLogger(Path.of(args[0]), args.length > 1 ? args[1] : null);
    } catch (BpfException | UncheckedIOException | IllegalArgumentException e) {
      System.err.println("keylogger: " + e.getMessage());
      System.exit(1);
      return;
    }
    Thread main = Thread.currentThread();
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      try {
        logger.close();
        System.err.println("keylogger: " + logger.lines() + " lines written to " + args[0]);
      } catch (InterruptedException e) {
        main.interrupt();
      }
    }));
    System.err.println("keylogger: writing TLS secrets to " + args[0] + "; Ctrl-C stops");
    logger.run();
  }
}

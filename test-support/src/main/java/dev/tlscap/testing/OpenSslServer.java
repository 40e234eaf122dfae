// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * A real {@code openssl s_server -www} on 127.0.0.1/::1 with a throwaway self-signed certificate,
 * writing its own key log: the TLS peer of the end-to-end tests. Closing it kills it.
 */
public final class OpenSslServer implements AutoCloseable {
  private final Command.Background process;
  private final int port;
  private final Path keyLog;

  private OpenSslServer(Command.Background process, int port, Path keyLog) {
    this.process = process;
    this.port = port;
    this.keyLog = keyLog;
  }

  /** A key pair and self-signed certificate for CN=localhost in {@code dir} (cert.pem, key.pem). */
  public static Path certificate(Path dir) {
    Path cert = dir.resolve("cert.pem");
    if (!Files.exists(cert)) {
      Requirements.requireCommand("openssl", "openssl");
      Command.run(Duration.ofSeconds(60), "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
          "-keyout", dir.resolve("key.pem").toString(), "-out", cert.toString(), "-days", "2", "-subj", "/CN=localhost",
          "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1").check();
    }
    return cert;
  }

  /**
   * Starts {@code openssl s_server -www} in {@code dir} with extra arguments (e.g. "-tls1_2",
   * "-ciphersuites", "TLS_AES_256_GCM_SHA384"); {@code prefix} is prepended to the command line
   * (e.g. "unshare", "-m", ...) and may be empty.
   */
  public static OpenSslServer start(Path dir, List<String> prefix, String... extra) {
    certificate(dir);
    int port = freePort();
    Path keyLog = dir.resolve("server-" + port + ".keys");
    List<String> argv = new ArrayList<>(prefix);
    argv.addAll(List.of("openssl", "s_server", "-accept", Integer.toString(port), "-cert",
        dir.resolve("cert.pem").toString(), "-key", dir.resolve("key.pem").toString(), "-www", "-keylogfile",
        keyLog.toString()));
    argv.addAll(List.of(extra));
    Command.Background process = Command.Background.start(dir, java.util.Map.of(), argv.toArray(new String[0]));
    try {
      process.awaitOutput("ACCEPT", Duration.ofSeconds(20));
    } catch (AssertionError e) {
      process.close();
      throw e;
    }
    return new OpenSslServer(process, port, keyLog);
  }

  public static OpenSslServer start(Path dir, String... extra) {
    return start(dir, List.of(), extra);
  }

  public int port() {
    return port;
  }

  /** The pid of the openssl process (the last in a chain of exec'ing wrappers). */
  public long pid() {
    List<ProcessHandle> all = new ArrayList<>();
    all.add(process.process().toHandle());
    process.process().descendants().forEach(all::add);
    for (int i = all.size() - 1; i >= 0; i--) {
      if (all.get(i).info().command().orElse("").endsWith("openssl")) {
        return all.get(i).pid();
      }
    }
    return process.pid();
  }

  /** The lines the server wrote to its key log (comments dropped). */
  public List<String> keyLogLines() {
    return KeyLogs.read(keyLog);
  }

  public String url() {
    return "https://localhost:" + port + "/";
  }

  @Override
  public void close() {
    process.close();
  }

  /**
   * Waits until something accepts TCP connections on 127.0.0.1:{@code port} (a server started in
   * the background), up to 20 s; {@code what} names it in the failure. The probing connection just
   * closes.
   */
  public static void awaitListening(int port, String what) throws InterruptedException {
    long deadline = System.nanoTime() + 20_000_000_000L;
    while (true) {
      try (java.net.Socket s = new java.net.Socket("127.0.0.1", port)) {
        return;
      } catch (IOException e) {
        if (System.nanoTime() > deadline) {
          throw new AssertionError(what + " does not listen on " + port);
        }
        Thread.sleep(50);
      }
    }
  }

  /** A TCP port nothing listens on right now. */
  public static int freePort() {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}

// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * A real nginx (Debian's) serving HTTPS with HTTP/1.1 and HTTP/2 on a free port, with everything it
 * writes in a temporary directory; {@code /} answers a small fixed body. Closing it stops it.
 */
public final class Nginx implements AutoCloseable {
  /** The body nginx answers every request with. */
  public static final String BODY = "tlscap-nginx-body";
  /** The body under /gzip/, sent gzip-compressed to a client that accepts it. */
  public static final String GZIP_BODY = "tlscap-gzip-body ".repeat(20).strip();
  private final Command.Background process;
  private final int port;

  private Nginx(Command.Background process, int port) {
    this.process = process;
    this.port = port;
  }

  /** Starts nginx in {@code dir}; {@code prefix} (e.g. "ip", "netns", "exec", NAME) may be empty. */
  public static Nginx start(Path dir, List<String> prefix, String listen) {
    Requirements.requireCommand("nginx", "nginx-light");
    OpenSslServer.certificate(dir);
    int port = OpenSslServer.freePort();
    Path conf = dir.resolve("nginx-" + port + ".conf");
    String config = String.join("\n",
        "daemon off;", "master_process on;", "worker_processes 2;", "user root;",
        "pid " + dir.resolve("nginx-" + port + ".pid") + ";",
        "error_log " + dir.resolve("nginx-error.log") + " warn;",
        "events { worker_connections 1024; }",
        "http {",
        "  access_log off;",
        "  client_body_temp_path " + dir + "; proxy_temp_path " + dir + "; fastcgi_temp_path " + dir + ";",
        "  uwsgi_temp_path " + dir + "; scgi_temp_path " + dir + ";",
        "  server {",
        "    listen " + (listen == null ? "" : listen + ":") + port + " ssl http2;",
        "    ssl_protocols TLSv1.2 TLSv1.3;",
        "    ssl_certificate " + dir.resolve("cert.pem") + ";",
        "    ssl_certificate_key " + dir.resolve("key.pem") + ";",
        "    keepalive_timeout 5;",
        "    location / { default_type text/plain; return 200 '" + BODY + "'; }",
        "    location /gzip/ { gzip on; gzip_types text/plain; gzip_min_length 1; default_type text/plain;",
        "      return 200 '" + GZIP_BODY + "'; }",
        "  }",
        "}", "");
    try {
      Files.writeString(conf, config);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    List<String> argv = new java.util.ArrayList<>(prefix);
    argv.addAll(List.of("nginx", "-c", conf.toString(), "-e", dir.resolve("nginx-error.log").toString()));
    Command.Background process = Command.Background.start(dir, Map.of(), argv.toArray(new String[0]));
    long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
    while (!Files.exists(dir.resolve("nginx-" + port + ".pid"))) {
      if (!process.process().isAlive() || System.nanoTime() > deadline) {
        process.close();
        throw new AssertionError("nginx did not start: " + process.stderr() + readLog(dir));
      }
      Command.sleep(50);
    }
    Command.sleep(200);
    return new Nginx(process, port);
  }

  private static String readLog(Path dir) {
    try {
      return Files.readString(dir.resolve("nginx-error.log"));
    } catch (IOException e) {
      return "";
    }
  }

  public int port() {
    return port;
  }

  public long pid() {
    return process.pid();
  }

  @Override
  public void close() {
    process.close();
  }
}

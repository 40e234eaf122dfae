// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.capture;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tlscap.testing.Command;
import dev.tlscap.testing.OpenSslServer;
import dev.tlscap.testing.Requirements;
import dev.tlscap.testing.Tshark;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * End to end: a plain connection that turns to TLS after a few commands (SMTP STARTTLS, RFC 3207)
 * is followed from its ClientHello on; the commands sent inside TLS are read by tshark with no key
 * file. The client is {@code openssl s_client -starttls smtp}; the server a small Python SMTP server
 * (whose own secrets tlscap does not take: {@code --comm openssl}). PostgreSQL asks for TLS in its
 * own binary way (an 8-byte SSLRequest answered by one byte, "S"): a real server and {@code psql},
 * secrets from {@code psql} only.
 */
@Tag("e2e")
class StartTlsIT {
  @TempDir Path dir;

  @BeforeAll
  static void machine() {
    Requirements.requireRoot();
    Requirements.requireCommand("tshark", "tshark");
    Requirements.requireCommand("openssl", "openssl");
    Requirements.requireCommand("python3", "python3");
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"-tls1_3", "-tls1_2"})
  void smtpStartTlsDecryptsTheCommandsAfterTheUpgrade(String version) throws Exception {
    OpenSslServer.certificate(dir);
    Path script = dir.resolve("smtp.py");
    try (var in = StartTlsIT.class.getResourceAsStream("starttls_smtp_server.py")) {
      Files.copy(in, script);
    }
    Path portFile = dir.resolve("port");
    try (Command.Background server = Command.Background.start("python3", script.toString(), portFile.toString(),
        dir.resolve("cert.pem").toString(), dir.resolve("key.pem").toString())) {
      long deadline = System.nanoTime() + 10_000_000_000L;
      while (!Files.exists(portFile) && System.nanoTime() < deadline) {
        Thread.sleep(50);
      }
      String port = Files.readString(portFile).trim();
      Path out = dir.resolve("smtp.pcapng");
      try (TlscapProcess tlscap = TlscapProcess.start(dir, "-i", "lo", "-w", out.toString(), "--comm", "openssl",
          "port", port)) {
        Command.Result client = Command.sh(Duration.ofSeconds(30), "printf 'NOOP\\nMAIL FROM:<tlscap@example.org>\\nQUIT\\n'"
            + " | openssl s_client -starttls smtp -crlf -quiet " + version + " -connect 127.0.0.1:" + port);
        assertTrue(client.stdout().contains("221"), "the session went through: " + client.stdout() + client.stderr());
        assertEquals(0, tlscap.interrupt(), tlscap.stderr());
        assertTrue(tlscap.stderr().contains("1 TLS sessions, 1 with secrets (1 upgraded from plain"),
            tlscap.stderr());
      }
      List<String> commands = Tshark.run(out, "-d", "tcp.port==" + port + ",smtp", "-Y", "smtp.req.command", "-T",
          "fields", "-e", "smtp.req.command").check().stdout().lines().flatMap(l -> List.of(l.split(",")).stream())
          .toList();
      // tshark 4.0 shows STARTTLS as its first four letters
      assertTrue(commands.contains("EHLO") && commands.stream().anyMatch(c -> c.startsWith("STAR")),
          "the plain part: " + commands);
      assertTrue(commands.containsAll(List.of("NOOP", "MAIL", "QUIT")),
          "the commands inside TLS, decrypted with no key file: " + commands);
    }
  }

  @Test
  void postgresSslRequestDecryptsTheQuery() throws Exception {
    Path bin = Path.of("/usr/lib/postgresql/15/bin");
    Requirements.requireCommand("psql", "postgresql");
    Requirements.require(Files.isExecutable(bin.resolve("initdb")), bin.resolve("initdb") + " not found (apt-get install -y postgresql)");
    Path home = Files.createDirectories(dir.resolve("pg"));
    Command.run(Duration.ofSeconds(10), "chmod", "o+x", dir.toString()).check(); // the server's user gets through
    Command.run(Duration.ofSeconds(10), "chown", "postgres", home.toString()).check();
    Path data = home.resolve("data");
    Command.run(Duration.ofSeconds(60), "runuser", "-u", "postgres", "--", bin.resolve("initdb").toString(), "-D",
        data.toString(), "-A", "trust", "-U", "postgres").check();
    OpenSslServer.certificate(dir);
    Files.copy(dir.resolve("cert.pem"), data.resolve("server.crt"));
    Files.copy(dir.resolve("key.pem"), data.resolve("server.key"));
    Command.run(Duration.ofSeconds(10), "chown", "postgres", data.resolve("server.crt").toString(),
        data.resolve("server.key").toString()).check();
    Command.run(Duration.ofSeconds(10), "chmod", "600", data.resolve("server.key").toString()).check();
    int port = OpenSslServer.freePort();
    String pgCtl = bin.resolve("pg_ctl").toString();
    Command.run(Duration.ofSeconds(60), "runuser", "-u", "postgres", "--", pgCtl, "-D", data.toString(), "-o",
        "-p " + port + " -k " + home + " -c listen_addresses=127.0.0.1 -c ssl=on", "-l", home.resolve("log").toString(),
        "-w", "start").check();
    try {
      Path out = dir.resolve("pg.pcapng");
      try (TlscapProcess tlscap = TlscapProcess.start(dir, "-i", "lo", "-w", out.toString(), "--comm", "psql",
          "port", Integer.toString(port))) {
        Command.Result psql = Command.run(Duration.ofSeconds(30), "psql", "host=127.0.0.1 port=" + port
            + " user=postgres dbname=postgres sslmode=require", "-c", "select 'tlscap-marker-42'");
        assertTrue(psql.stdout().contains("tlscap-marker-42"), psql.stdout() + psql.stderr());
        assertEquals(0, tlscap.interrupt(), tlscap.stderr());
        assertTrue(tlscap.stderr().contains("1 TLS sessions, 1 with secrets (1 upgraded from plain"),
            tlscap.stderr());
      }
      List<String> queries = Tshark.run(out, "-d", "tcp.port==" + port + ",pgsql", "-Y", "pgsql.query", "-T", "fields",
          "-e", "pgsql.query").check().stdout().lines().toList();
      assertTrue(queries.contains("select 'tlscap-marker-42'"), "the query inside TLS, decrypted with no key file: "
          + queries);
    } finally {
      Command.run(Duration.ofSeconds(60), "runuser", "-u", "postgres", "--", pgCtl, "-D", data.toString(), "-m",
          "immediate", "stop");
    }
  }
}

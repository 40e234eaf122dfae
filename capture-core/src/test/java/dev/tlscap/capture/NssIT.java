// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.capture;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tlscap.testing.Command;
import dev.tlscap.testing.KeyLogs;
import dev.tlscap.testing.OpenSslServer;
import dev.tlscap.testing.Requirements;
import dev.tlscap.testing.Tshark;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * End to end with NSS (Debian's libnss3, traced with no flag and no offset: freebl's HMAC and PRF
 * functions found through FREEBL_GetVector's table): {@code tstclnt} against {@code openssl
 * s_server} and against {@code selfserv}, {@code selfserv} against curl, TLS 1.3 and 1.2. Secrets
 * come from the NSS program only ({@code --comm}). Debian builds NSS without SSLKEYLOGFILE, so the
 * reference key log is the OpenSSL server's of the same sessions: tlscap's lines, taken from NSS's
 * side, must be exactly those.
 */
@Tag("e2e")
class NssIT {
  @TempDir Path dir;

  @BeforeAll
  static void machine() {
    Requirements.requireRoot();
    Requirements.requireCommand("tstclnt", "libnss3-tools");
    Requirements.requireCommand("selfserv", "libnss3-tools");
    Requirements.requireCommand("certutil", "libnss3-tools");
    Requirements.requireCommand("tshark", "tshark");
    Requirements.requireCommand("openssl", "openssl");
    Requirements.requireCommand("curl", "curl");
  }

  /** NSS's name for exactly one TLS version ("1.3" or "1.2"): tstclnt's and selfserv's -V range. */
  private static String range(String version) {
    return "tls" + version + ":tls" + version;
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"1.3", "1.2"})
  void tstclntAgainstOpenSslKeysAreTheSessionsOwn(String version) throws Exception {
    try (OpenSslServer server = OpenSslServer.start(dir)) {
      Path tlscapKeys = clientAgainst(server.port(), version);
      List<String> reference = server.keyLogLines();
      assertEquals(version.equals("1.3") ? 10 : 2, reference.size(), "s_server's key log: " + reference);
      assertEquals(new TreeSet<>(reference), new TreeSet<>(KeyLogs.read(tlscapKeys)),
          "tlscap's key log lines, from tstclnt's NSS, are the sessions' own");
    }
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"1.3", "1.2"})
  void tstclntAgainstSelfserv(String version) throws Exception {
    int port = OpenSslServer.freePort();
    try (Command.Background server = selfserv(port)) {
      Path tlscapKeys = clientAgainst(port, version);
      assertEquals(version.equals("1.3") ? 10 : 2, KeyLogs.read(tlscapKeys).size(), "tlscap's key log");
    }
  }

  /** Two tstclnt requests to {@code port}, traced by their comm; the key log tlscap wrote. */
  private Path clientAgainst(int port, String version) throws Exception {
    Path db = database();
    Path out = dir.resolve("tstclnt.pcapng");
    Path tlscapKeys = dir.resolve("tlscap.keys");
    try (TlscapProcess tlscap = TlscapProcess.start(dir, "-i", "lo", "-w", out.toString(), "--keylog-file",
        tlscapKeys.toString(), "--comm", "tstclnt", "port", Integer.toString(port))) {
      assertTrue(tlscap.stderr().contains("libfreeblpriv3.so (NSS freebl)"), "NSS's freebl was found: " + tlscap.stderr());
      for (int i = 0; i < 2; i++) {
        // the request from a file (-A): from a pipe, tstclnt spins on the ended stdin until the server hangs up
        Path request = Files.writeString(dir.resolve("request-" + i), "GET /nss-" + i + " HTTP/1.0\r\n\r\n");
        Command.Result client = Command.run(Duration.ofSeconds(30), dir, Map.of(), "tstclnt", "-h", "127.0.0.1", "-p",
            Integer.toString(port), "-d", "sql:" + db, "-o", "-V", range(version), "-A", request.toString());
        assertTrue(client.stdout().contains("HTTP/1.0 200"), client.stdout() + client.stderr());
      }
      assertEquals(0, tlscap.interrupt(), tlscap.stderr());
      assertTrue(tlscap.stderr().contains("2 TLS sessions, 2 with secrets"), tlscap.stderr());
    }
    assertEquals(List.of("/nss-0", "/nss-1"), Tshark.column(out, "http.request", "http.request.uri"),
        "decrypted with no key file");
    assertEquals(version.equals("1.3"), Tshark.column(out, "tls.handshake.type == 2",
        "tls.handshake.extensions.supported_version").contains("0x0304"), "the ServerHello's version is " + version);
    return tlscapKeys;
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"1.3", "1.2"})
  void selfservAgainstCurl(String version) throws Exception {
    int port = OpenSslServer.freePort();
    try (Command.Background server = selfserv(port)) {
      TracedServer.answersCurl(dir, port, "selfserv", version);
    }
  }

  /** An NSS database (dir/nssdb) holding a self-signed certificate "server" for localhost. */
  private Path database() {
    Path db = dir.resolve("nssdb");
    if (Files.isDirectory(db)) {
      return db;
    }
    try {
      Files.createDirectories(db);
      Path noise = dir.resolve("noise");
      Files.write(noise, java.security.SecureRandom.getInstanceStrong().generateSeed(64));
      Command.run(Duration.ofSeconds(30), "certutil", "-N", "-d", "sql:" + db, "--empty-password").check();
      Command.run(Duration.ofSeconds(60), "certutil", "-S", "-d", "sql:" + db, "-n", "server", "-s", "CN=localhost",
          "-x", "-t", "CT,C,C", "-k", "rsa", "-g", "2048", "-z", noise.toString(), "-Z", "SHA256", "-8",
          "localhost", "-v", "12").check();
    } catch (java.io.IOException | java.security.GeneralSecurityException e) {
      throw new AssertionError("cannot make an NSS database: " + e, e);
    }
    return db;
  }

  /** selfserv (NSS) answering on {@code port} with the database's certificate, once it listens. */
  private Command.Background selfserv(int port) throws InterruptedException {
    Path db = database();
    Command.Background server = Command.Background.start("selfserv", "-d", "sql:" + db, "-n", "server", "-p",
        Integer.toString(port), "-V", "tls1.2:tls1.3");
    try {
      OpenSslServer.awaitListening(port, "selfserv");
    } catch (AssertionError | InterruptedException e) {
      server.close();
      throw e;
    }
    return server;
  }
}

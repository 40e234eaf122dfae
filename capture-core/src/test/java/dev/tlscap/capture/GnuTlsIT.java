// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.capture;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tlscap.testing.Command;
import dev.tlscap.testing.KeyLogs;
import dev.tlscap.testing.OpenSslServer;
import dev.tlscap.testing.Requirements;
import dev.tlscap.testing.Tshark;
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
 * End to end with GnuTLS (Debian's libgnutls30, traced with no flag and no offset: its TLS 1.3
 * secrets through Nettle's HKDF-Expand, its TLS 1.2 key block through _gnutls_prf_raw): wget and
 * gnutls-cli against {@code openssl s_server} and against {@code gnutls-serv}, gnutls-serv against
 * curl, TLS 1.3 and 1.2. Secrets come from the GnuTLS program only ({@code --comm}): the other end
 * is not traced, so nothing but GnuTLS keys the session. GnuTLS's own key log (SSLKEYLOGFILE) holds
 * exactly the lines tlscap wrote.
 */
@Tag("e2e")
class GnuTlsIT {
  @TempDir Path dir;

  @BeforeAll
  static void machine() {
    Requirements.requireRoot();
    Requirements.requireCommand("gnutls-cli", "gnutls-bin");
    Requirements.requireCommand("wget", "wget");
    Requirements.requireCommand("tshark", "tshark");
    Requirements.requireCommand("openssl", "openssl");
  }

  /** GnuTLS's priority string for exactly one TLS version ("1.3" or "1.2"). */
  private static String priority(String version) {
    return "NORMAL:-VERS-ALL:+VERS-TLS" + version;
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"1.3", "1.2"})
  void gnutlsCliAgainstOpenSslKeysAreItsOwnKeyLog(String version) throws Exception {
    try (OpenSslServer server = OpenSslServer.start(dir)) {
      clientAgainst(server.port(), version, "openssl");
    }
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"1.3", "1.2"})
  void gnutlsCliAgainstGnutlsServ(String version) throws Exception {
    int port = OpenSslServer.freePort();
    try (Command.Background server = gnutlsServ(port)) {
      clientAgainst(port, version, "gnutls-serv");
    }
  }

  private void clientAgainst(int port, String version, String peer) throws Exception {
    Path out = dir.resolve("gnutls-cli.pcapng");
    Path tlscapKeys = dir.resolve("tlscap.keys");
    Path clientKeys = dir.resolve("client.keys");
    try (TlscapProcess tlscap = TlscapProcess.start(dir, "-i", "lo", "-w", out.toString(), "--keylog-file",
        tlscapKeys.toString(), "--comm", "gnutls-cli", "port", Integer.toString(port))) {
      assertTrue(tlscap.stderr().contains("(GnuTLS, TLS 1.0-1.2)") && tlscap.stderr().contains("(Nettle: GnuTLS's TLS 1.3)"),
          "GnuTLS and its Nettle were found: " + tlscap.stderr());
      for (int i = 0; i < 2; i++) {
        Command.Result client = Command.run(Duration.ofSeconds(30), dir, Map.of("SSLKEYLOGFILE", clientKeys.toString()),
            "sh", "-c", "(printf 'GET /gnutls-" + i + " HTTP/1.0\\r\\n\\r\\n'; sleep 1) | gnutls-cli --insecure"
                + " --priority " + priority(version) + " --port " + port + " 127.0.0.1");
        assertTrue(client.stdout().contains("HTTP/1.0 200") && client.stdout().contains("TLS" + version),
            peer + ": " + client.stdout() + client.stderr());
      }
      assertEquals(0, tlscap.interrupt(), tlscap.stderr());
      assertTrue(tlscap.stderr().contains("2 TLS sessions, 2 with secrets"), tlscap.stderr());
    }
    List<String> own = KeyLogs.read(clientKeys);
    assertEquals(version.equals("1.3") ? 10 : 2, own.size(), "gnutls-cli's own key log: " + own);
    assertEquals(new TreeSet<>(own), new TreeSet<>(KeyLogs.read(tlscapKeys)), "tlscap's key log lines are GnuTLS's own");
    assertEquals(List.of("/gnutls-0", "/gnutls-1"), Tshark.column(out, "http.request", "http.request.uri"),
        "decrypted with no key file");
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"1_3", "1_2"})
  void wgetAgainstOpenSsl(String version) throws Exception {
    try (OpenSslServer server = OpenSslServer.start(dir)) {
      Path out = dir.resolve("wget.pcapng");
      Path tlscapKeys = dir.resolve("tlscap.keys");
      Path clientKeys = dir.resolve("wget.keys");
      try (TlscapProcess tlscap = TlscapProcess.start(dir, "-i", "lo", "-w", out.toString(), "--keylog-file",
          tlscapKeys.toString(), "--comm", "wget", "port", Integer.toString(server.port()))) {
        Command.run(Duration.ofSeconds(30), dir, Map.of("SSLKEYLOGFILE", clientKeys.toString()), "wget", "-q",
            "-O", "/dev/null", "--no-check-certificate", "--secure-protocol=TLSv" + version,
            "https://127.0.0.1:" + server.port() + "/from-wget").check();
        assertEquals(0, tlscap.interrupt(), tlscap.stderr());
        assertTrue(tlscap.stderr().contains("1 TLS sessions, 1 with secrets"), tlscap.stderr());
      }
      assertEquals(new TreeSet<>(KeyLogs.read(clientKeys)), new TreeSet<>(KeyLogs.read(tlscapKeys)),
          "tlscap's key log lines are wget's own");
      assertEquals(List.of("/from-wget"), Tshark.column(out, "http.request", "http.request.uri"));
    }
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"1.3", "1.2"})
  void gnutlsServAgainstCurl(String version) throws Exception {
    int port = OpenSslServer.freePort();
    try (Command.Background server = gnutlsServ(port)) {
      TracedServer.answersCurl(dir, port, "gnutls-serv", version);
    }
  }

  /** gnutls-serv answering HTTP on {@code port}, with the throwaway certificate, once it listens. */
  private Command.Background gnutlsServ(int port) throws InterruptedException {
    Path cert = OpenSslServer.certificate(dir);
    Command.Background server = Command.Background.start("gnutls-serv", "--http", "--port", Integer.toString(port),
        "--x509certfile", cert.toString(), "--x509keyfile", dir.resolve("key.pem").toString());
    try {
      OpenSslServer.awaitListening(port, "gnutls-serv");
    } catch (AssertionError | InterruptedException e) {
      server.close();
      throw e;
    }
    return server;
  }
}

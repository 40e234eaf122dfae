// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.secrets;

import dev.tlscap.pcapng.KeyLogFile;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tlscap.testing.CCompiler;
import dev.tlscap.testing.Command;
import dev.tlscap.testing.KeyLogs;
import dev.tlscap.testing.OpenSslServer;
import dev.tlscap.testing.Requirements;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Real programs, compared with their own key logs: curl (SSLKEYLOGFILE) against openssl s_server
 * (-keylogfile); every line they write must appear byte-identical in tlscap's key log file, with the
 * right process. The programs start after tlscap, as in real use.
 */
@Tag("kernel")
class TlsSecretsKernelTest {
  @TempDir static Path dir;

  @BeforeAll
  static void machine() {
    Requirements.requireRoot();
    Requirements.requireCommand("curl", "curl");
    Requirements.requireCommand("openssl", "openssl");
    OpenSslServer.certificate(dir);
  }

  private static SecretCollector collector(String name) {
    return new SecretCollector(withSockets(0, null, List.of(), true), dir.resolve(name + ".keys"));
  }

  /** Runs curl with SSLKEYLOGFILE and returns the lines it wrote. */
  private static List<String> curl(Path keyLog, String... arguments) {
    List<String> argv = new ArrayList<>(List.of("curl", "-sS", "-k", "-o", "/dev/null"));
    argv.addAll(List.of(arguments));
    Command.run(Duration.ofSeconds(60), null, Map.of("SSLKEYLOGFILE", keyLog.toString()), argv.toArray(new String[0]))
        .check();
    return KeyLogs.read(keyLog);
  }

  private static void assertContainsAll(List<String> expected, List<String> actual, String what) {
    List<String> missing = expected.stream().filter(l -> !actual.contains(l)).collect(Collectors.toList());
    assertTrue(missing.isEmpty(), () -> missing.size() + " of " + expected.size() + " " + what
        + " lines missing from tlscap's key log, e.g. " + missing.get(0) + "\ntlscap has " + actual.size() + " lines");
  }

  @ParameterizedTest(name = "TLS 1.3 {0}")
  @CsvSource({"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"})
  void everyTls13LineOfCurlAndTheServer(String suite) throws Exception {
    try (OpenSslServer server = OpenSslServer.start(dir, "-ciphersuites", suite);
        SecretCollector tlscap = collector("tls13-" + suite)) {
      List<String> curlLines = curl(dir.resolve("curl-" + suite + ".keys"), "--tlsv1.3", "--tls13-ciphers", suite,
          server.url());
      tlscap.finish();
      assertEquals(5, curlLines.size(), "curl wrote the 5 TLS 1.3 secrets: " + curlLines);
      assertContainsAll(curlLines, tlscap.keyLogLines(), "curl");
      assertContainsAll(server.keyLogLines(), tlscap.keyLogLines(), "s_server");
      assertContainsAll(server.keyLogLines(), tlscap.linesOf(server.pid()), "s_server (as its own pid)");
      assertEquals("rw-------", java.nio.file.attribute.PosixFilePermissions.toString(java.nio.file.Files.getPosixFilePermissions(tlscap.keyLogPath)), "the key log file is mode 0600");
    }
  }

  @ParameterizedTest(name = "TLS 1.2 {0}")
  @CsvSource({"ECDHE-RSA-AES256-GCM-SHA384", "ECDHE-RSA-AES128-SHA256"})
  void tls12IncludingCbcAndAResumedSession(String cipher) throws Exception {
    try (OpenSslServer server = OpenSslServer.start(dir, "-cipher", cipher);
        SecretCollector tlscap = collector("tls12-" + cipher)) {
      Path curlLog = dir.resolve("curl-" + cipher + ".keys");
      Path verbose = dir.resolve("curl-" + cipher + ".verbose");
      // Two URLs in one curl: s_server -www closes after each answer, so the second connection resumes.
      curl(curlLog, "--tlsv1.2", "--tls-max", "1.2", "--ciphers", cipher, "-v", "--stderr", verbose.toString(),
          server.url() + "a", server.url() + "b");
      tlscap.finish();
      List<String> curlLines = KeyLogs.read(curlLog);
      assertEquals(2, curlLines.size(), "one CLIENT_RANDOM per connection: " + curlLines);
      assertTrue(Files.readString(verbose).contains("SSL re-using session ID"), "the second connection resumed");
      assertEquals(curlLines.get(0).split(" ")[2], curlLines.get(1).split(" ")[2], "a resumption keeps the master secret");
      assertContainsAll(curlLines, tlscap.keyLogLines(), "curl");
      assertContainsAll(server.keyLogLines(), tlscap.linesOf(server.pid()), "s_server");
    }
  }

  @Test
  void resumedTls13Session() throws Exception {
    try (OpenSslServer server = OpenSslServer.start(dir); SecretCollector tlscap = collector("tls13-resumed")) {
      Path curlLog = dir.resolve("curl-resumed13.keys");
      Path verbose = dir.resolve("curl-resumed13.verbose");
      curl(curlLog, "--tlsv1.3", "-v", "--stderr", verbose.toString(), server.url() + "a", server.url() + "b");
      tlscap.finish();
      assertTrue(Files.readString(verbose).contains("SSL re-using session ID"), "the second connection resumed");
      List<String> curlLines = KeyLogs.read(curlLog);
      assertEquals(10, curlLines.size(), "two connections of 5 secrets: " + curlLines);
      assertContainsAll(curlLines, tlscap.keyLogLines(), "curl");
    }
  }

  @Test
  void concurrentConnectionsFromThreadsAndProcesses() throws Exception {
    try (OpenSslServer server = OpenSslServer.start(dir); SecretCollector tlscap = collector("concurrent")) {
      List<Command.Background> clients = new ArrayList<>();
      for (int p = 0; p < 6; p++) {
        List<String> argv = new ArrayList<>(List.of("curl", "-sS", "-k", "-o", "/dev/null", "--parallel",
            "--parallel-immediate", "--parallel-max", "4"));
        for (int u = 0; u < 4; u++) {
          argv.add(server.url() + "p" + p + "u" + u);
          argv.add("-o");
          argv.add("/dev/null");
        }
        clients.add(Command.Background.start(null, Map.of("SSLKEYLOGFILE", dir.resolve("conc-" + p + ".keys").toString()),
            argv.toArray(new String[0])));
      }
      for (Command.Background c : clients) {
        assertEquals(0, c.waitFor(Duration.ofSeconds(60)), c.stderr());
      }
      tlscap.finish();
      List<String> all = new ArrayList<>();
      for (int p = 0; p < 6; p++) {
        all.addAll(KeyLogs.read(dir.resolve("conc-" + p + ".keys")));
      }
      assertEquals(6 * 4 * 5, all.size(), "24 connections of 5 secrets");
      assertContainsAll(all, tlscap.keyLogLines(), "concurrent curl");
      assertContainsAll(server.keyLogLines(), tlscap.linesOf(server.pid()), "s_server");
    }
  }

  @Test
  void aStaticallyLinkedProgramGivenWithLibssl() throws Exception {
    Path client = dir.resolve("static_tls_client");
    CCompiler.compile(CCompiler.testSource("static_tls_client.c"), client, "-rdynamic",
        "/usr/lib/" + multiarch() + "/libssl.a", "/usr/lib/" + multiarch() + "/libcrypto.a", "-lpthread", "-ldl");
    assertFalse(Command.run(Duration.ofSeconds(10), "ldd", client.toString()).stdout().contains("libcrypto"),
        "the client does not use the shared libcrypto");
    OpenSslSecretSource.Options options = withSockets(0, null, List.of(client), false);
    try (OpenSslServer server = OpenSslServer.start(dir);
        SecretCollector tlscap = new SecretCollector(options, dir.resolve("static.keys"))) {
      assertEquals(1, tlscap.source.libraries().size());
      assertEquals(client, tlscap.source.libraries().get(0).path());
      Path own = dir.resolve("static-own.keys");
      Command.run(Duration.ofSeconds(60), client.toString(), Integer.toString(server.port()), own.toString(), "2")
          .check();
      Command.run(Duration.ofSeconds(60), client.toString(), Integer.toString(server.port()), own.toString(), "1",
          "tls1.2").check();
      tlscap.finish();
      List<String> expected = KeyLogs.read(own);
      assertEquals(2 * 5 + 1, expected.size(), "the program's own key log: " + expected);
      assertContainsAll(expected, tlscap.keyLogLines(), "static client");
    }
  }

  @Test
  void aServerInAnotherMountNamespaceWithItsOwnLibraryCopy() throws Exception {
    Requirements.requireCommand("unshare", "util-linux");
    Path system = Path.of("/usr/lib/" + multiarch() + "/libcrypto.so.3").toRealPath();
    Path copy = dir.resolve("container-libcrypto.so.3");
    Files.copy(system, copy, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    List<String> container = List.of("unshare", "--mount", "--propagation", "private", "sh", "-c",
        "mount --bind " + copy + " " + system + " && exec \"$0\" \"$@\"");
    // Started after tlscap: found by a rescan, as the pipeline does periodically.
    try (SecretCollector tlscap = collector("mountns"); OpenSslServer server = OpenSslServer.start(dir, container)) {
      long pid = server.pid();
      String maps = Files.readString(Path.of("/proc/" + pid + "/maps"));
      assertTrue(maps.contains("libcrypto.so.3"), maps);
      List<TlsLibrary> added = tlscap.source.scanProcess((int) pid);
      assertEquals(1, added.size(), "the copy is a new file: " + tlscap.messages);
      assertTrue(added.get(0).path().startsWith(Path.of("/proc/" + pid + "/root")), added.toString());
      assertTrue(tlscap.messages.stream().anyMatch(m -> m.contains("(pid " + pid + ")")), tlscap.messages.toString());
      curl(dir.resolve("curl-mountns.keys"), server.url());
      tlscap.finish();
      assertEquals(5, server.keyLogLines().size());
      assertContainsAll(server.keyLogLines(), tlscap.linesOf(pid), "the contained server");
    }
  }

  @Test
  void pidAndCommLimitWhatIsTraced() throws Exception {
    try (OpenSslServer server = OpenSslServer.start(dir)) {
      OpenSslSecretSource.Options byComm = withSockets(0, "openssl", List.of(), true);
      try (SecretCollector tlscap = new SecretCollector(byComm, dir.resolve("comm.keys"))) {
        curl(dir.resolve("curl-comm.keys"), server.url());
        tlscap.finish();
        assertFalse(tlscap.secrets.isEmpty());
        assertTrue(tlscap.secrets.stream().allMatch(e -> e.comm().equals("openssl")), tlscap.secrets.toString());
      }
      OpenSslSecretSource.Options byPid = withSockets((int) server.pid(), null, List.of(), true);
      try (SecretCollector tlscap = new SecretCollector(byPid, dir.resolve("pid.keys"))) {
        curl(dir.resolve("curl-pid.keys"), server.url());
        tlscap.finish();
        assertEquals(5, tlscap.secrets.size(), tlscap.secrets.toString());
        assertTrue(tlscap.secrets.stream().allMatch(e -> e.pid() == server.pid()));
      }
    }
  }

  @Test
  void eachSecretKnowsItsConnection() throws Exception {
    try (OpenSslServer server = OpenSslServer.start(dir); SecretCollector tlscap = collector("connection")) {
      curl(dir.resolve("curl-connection.keys"), "-4", server.url());
      tlscap.finish();
      List<TlsSecret> server13 = tlscap.secrets.stream().filter(e -> e.pid() == server.pid())
          .collect(Collectors.toList());
      assertEquals(5, server13.size());
      for (TlsSecret e : server13) {
        assertNotNull(e.socket(), e.toString());
        assertEquals(server.port(), e.socket().localPort());
        assertEquals("127.0.0.1", e.socket().remote().getHostAddress());
        assertEquals("openssl", e.comm());
      }
      ClientHelloEvent written = tlscap.hellos.stream().filter(ClientHelloEvent::written).findFirst().orElseThrow();
      assertEquals("curl", written.comm());
      assertEquals(server.port(), written.socket().remotePort());
      assertEquals(server13.get(0).socket().remotePort(), written.socket().localPort(), "the same connection");
    }
  }

  @Test
  void withoutSocketTracingTls12IsCompleteAndTls13SecretsCarryTheirProcess() throws Exception {
    try (OpenSslServer server = OpenSslServer.start(dir);
        SecretCollector tlscap = new SecretCollector(OpenSslSecretSource.Options.defaults(), dir.resolve("plain.keys"))) {
      List<String> tls13 = curl(dir.resolve("curl-plain13.keys"), "--tlsv1.3", server.url());
      List<String> tls12 = curl(dir.resolve("curl-plain12.keys"), "--tlsv1.2", "--tls-max", "1.2", server.url());
      tlscap.finish();
      assertContainsAll(tls12, tlscap.keyLogLines(), "TLS 1.2 curl");
      List<TlsSecret> curl13 = tlscap.secrets.stream()
          .filter(e -> e.comm().equals("curl") && e.label().isTls13()).collect(Collectors.toList());
      assertEquals(5, curl13.size(), curl13.toString());
      for (TlsSecret e : curl13) {
        assertEquals(null, e.clientRandom(), "the random comes from the packets in this mode");
        assertEquals(null, e.socket());
        String expected = tls13.stream().filter(l -> l.startsWith(e.label().keyLogLabel() + " ")).findFirst().orElseThrow();
        assertEquals(expected.split(" ")[2], java.util.HexFormat.of().formatHex(e.secret()), e.label() + " bytes");
      }
      assertTrue(tlscap.hellos.isEmpty(), "no socket tracing, no ClientHello events");
    }
  }

  @Test
  void badLibsslArgumentsFailWithOneLine() throws Exception {
    Path text = Files.writeString(dir.resolve("notes.txt"), "not a program\n");
    assertEquals("--libssl " + text + ": the file is not an ELF file",
        assertThrows(IllegalArgumentException.class, () -> open(text)).getMessage());
    Path missing = dir.resolve("nothing-here");
    assertEquals("--libssl " + missing + ": the file does not exist",
        assertThrows(IllegalArgumentException.class, () -> open(missing)).getMessage());
    Path noKdf = Path.of("/bin/true");
    String message = assertThrows(IllegalArgumentException.class, () -> open(noKdf)).getMessage();
    assertTrue(message.startsWith("--libssl /bin/true: it does not define EVP_KDF_derive"), message);
  }

  /** Options with socket tracing on: the kernel attaches each TLS 1.3 secret's client random itself. */
  static OpenSslSecretSource.Options withSockets(int pid, String comm, List<Path> libssl, boolean scanSystem) {
    return new OpenSslSecretSource.Options(pid, comm, libssl, 1 << 22, scanSystem, true);
  }

  private static void open(Path libssl) {
    OpenSslSecretSource.open(new OpenSslSecretSource.Options(0, null, List.of(libssl), 1 << 22, false, false), m -> { }).close();
  }

  static String multiarch() {
    return Command.run(Duration.ofSeconds(10), "gcc", "-print-multiarch").check().stdout().strip();
  }

}

// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.secrets.go;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tlscap.testing.Command;
import dev.tlscap.testing.KeyLogs;
import dev.tlscap.testing.Requirements;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The Go probe against Go's own key log: a Go server and client (src/test/go/tlspeer) built here,
 * plain and as a stripped PIE, TLS 1.3 and 1.2, HTTP/1.1 and HTTP/2. The probe's lines of each
 * process must be exactly (as a multiset: nothing missing, nothing twice) the lines that process
 * wrote through its KeyLogWriter; and with KeyLogWriter nil (the real case) exactly the lines its
 * peer wrote, since both ends of a connection log the same secrets.
 */
@Tag("kernel")
class GoTlsKernelTest {
  @TempDir static Path dir;

  @BeforeAll
  static void machine() {
    Requirements.requireRoot();
    GoPrograms.requireGo();
  }

  /** A tlspeer server in the background; its URL. */
  private record Server(Command.Background process, String url, Path keyLog) implements AutoCloseable {
    static Server start(Path binary, Path keyLog) {
      List<String> argv = new ArrayList<>(List.of(binary.toString(), "server"));
      if (keyLog != null) {
        argv.addAll(List.of("-keylog", keyLog.toString()));
      }
      Command.Background p = Command.Background.start(argv.toArray(new String[0]));
      p.awaitOutput("listening ", Duration.ofSeconds(20));
      String url = p.stdout().lines().filter(l -> l.startsWith("listening ")).findFirst().orElseThrow().substring(10);
      return new Server(p, url, keyLog);
    }

    long pid() {
      return process.pid();
    }

    @Override
    public void close() {
      process.close();
    }
  }

  private static void client(Path binary, String url, int n, int tls, boolean h2, Path keyLog) {
    List<String> argv = new ArrayList<>(List.of(binary.toString(), "client", "-url", url, "-n", "" + n, "-tls", "" + tls));
    if (h2) {
      argv.add("-h2");
    }
    if (keyLog != null) {
      argv.addAll(List.of("-keylog", keyLog.toString()));
    }
    String out = Command.run(Duration.ofMinutes(1), argv.toArray(new String[0])).check().stdout();
    assertTrue(out.startsWith("ok " + (h2 ? "HTTP/2.0" : "HTTP/1.1") + " " + n), "the client's answer: " + out);
  }

  private static void assertSameLines(List<String> expected, List<String> actual, String what) {
    assertEquals(expected.stream().sorted().toList(), actual.stream().sorted().toList(), what);
  }

  private static int linesPerConnection(int tls) {
    return tls == 13 ? 4 : 1; // TLS 1.3: handshake and traffic secrets of both sides; TLS 1.2: CLIENT_RANDOM
  }

  @ParameterizedTest(name = "{0} TLS 1.{1} h2={2}")
  @CsvSource({"plain,3,false", "plain,3,true", "plain,2,false", "plain,2,true", "stripped-pie,3,false",
      "stripped-pie,3,true", "stripped-pie,2,false", "stripped-pie,2,true"})
  void everyLineOfBothEndsWithTheirKeyLogWriters(String build, int minor, boolean h2) throws Exception {
    int tls = 10 + minor;
    Path binary = GoPrograms.tlspeer(dir, build.equals("plain") ? GoPrograms.PLAIN : GoPrograms.STRIPPED_PIE);
    String name = build + "-" + tls + (h2 ? "-h2" : "");
    Path serverLog = dir.resolve(name + "-server.keys");
    Path clientLog = dir.resolve(name + "-client.keys");
    int n = 3;
    try (GoSecretTracer tracer = new GoSecretTracer(0, null)) {
      GoTlsTarget target = tracer.attach(binary);
      try (Server server = Server.start(binary, serverLog)) {
        client(binary, server.url(), n, tls, h2, clientLog);
        Thread.sleep(200);
        tracer.drain();
        List<String> serverLines = KeyLogs.read(serverLog);
        List<String> clientLines = KeyLogs.read(clientLog);
        assertEquals(n * linesPerConnection(tls), clientLines.size(), "Go's client key log: " + clientLines);
        assertSameLines(serverLines, tracer.linesOf(server.pid()), "the server's lines (" + target + ")");
        assertSameLines(clientLines, tracer.linesNotOf(server.pid()), "the client's lines (" + target + ")");
        assertEquals(0, tracer.malformed());
        assertEquals(0, tracer.goUnreadable(), "writeKeyLog calls not understood");
        assertEquals(2L * n * linesPerConnection(tls), tracer.goKeyLogs(), "writeKeyLog calls counted once each");
      }
    }
  }

  @ParameterizedTest(name = "TLS 1.{0}")
  @CsvSource({"3", "2"})
  void withoutAKeyLogWriterAsInRealPrograms(int minor) throws Exception {
    int tls = 10 + minor;
    Path binary = GoPrograms.tlspeer(dir, GoPrograms.STRIPPED_PIE);
    try (GoSecretTracer tracer = new GoSecretTracer(0, null)) {
      tracer.attach(binary);
      // the server logs nothing itself: its secrets must be those the client logged
      Path clientLog = dir.resolve("nil-server-" + tls + ".keys");
      try (Server server = Server.start(binary, null)) {
        client(binary, server.url(), 2, tls, false, clientLog);
        Thread.sleep(200);
        tracer.drain();
        assertSameLines(KeyLogs.read(clientLog), tracer.linesOf(server.pid()), "the nil-writer server's lines");
      }
      // and the other way round
      tracer.secrets.clear();
      Path serverLog = dir.resolve("nil-client-" + tls + ".keys");
      try (Server server = Server.start(binary, serverLog)) {
        client(binary, server.url(), 2, tls, true, null);
        Thread.sleep(200);
        tracer.drain();
        List<String> serverLines = KeyLogs.read(serverLog);
        assertEquals(2 * linesPerConnection(tls), serverLines.size());
        assertSameLines(serverLines, tracer.linesNotOf(server.pid()), "the nil-writer client's lines");
      }
    }
  }

  @Test
  void aRunningGoProgramIsFoundOnceAndItsLaterProcessesAreTraced() throws Exception {
    Path binary = GoPrograms.tlspeer(dir, GoPrograms.STRIPPED_PIE);
    try (Server server = Server.start(binary, null); GoSecretTracer tracer = new GoSecretTracer(0, null)) {
      var found = tracer.source.scan();
      assertEquals(1, found.stream().filter(l -> l.path().toString().endsWith("/tlspeer-stripped-pie")).count(),
          "the scan finds the running server's binary: " + found + " " + tracer.messages);
      String version = GoPrograms.goVersion("go");
      int[] release = GoBuildInfo.release(version);
      String line = "TLS secrets from " + binary + " (pid " + server.pid() + ") (Go " + release[0] + "." + release[1]
          + ", crypto/tls)";
      assertTrue(tracer.messages.contains(line), "the message " + line + " in " + tracer.messages);
      assertEquals(List.of(), tracer.source.scanProcess((int) server.pid()), "a binary is traced once");
      assertEquals(List.of(), tracer.source.scan());
      Path clientLog = dir.resolve("scan-client.keys");
      client(binary, server.url(), 2, 13, false, clientLog); // a new process of the same file
      Thread.sleep(200);
      tracer.drain();
      assertSameLines(KeyLogs.read(clientLog), tracer.linesNotOf(server.pid()), "the client's lines");
      assertSameLines(KeyLogs.read(clientLog), tracer.linesOf(server.pid()), "the server (started before tlscap)");
      assertTrue(tracer.secrets.stream().allMatch(s -> s.library().equals(GoSecretSource.LIBRARY)));
    }
  }

  @Test
  void theCommFilterHoldsForGoToo() throws Exception {
    Path binary = GoPrograms.tlspeer(dir, GoPrograms.PLAIN);
    try (GoSecretTracer tracer = new GoSecretTracer(0, "curl")) {
      tracer.attach(binary);
      try (Server server = Server.start(binary, null)) {
        client(binary, server.url(), 1, 13, false, null);
        Thread.sleep(200);
        tracer.drain();
        assertEquals(List.of(), tracer.secrets, "no process named curl ran");
        assertEquals(0, tracer.goKeyLogs());
      }
    }
    try (GoSecretTracer tracer = new GoSecretTracer(0, "tlspeer-plain")) {
      tracer.attach(binary);
      try (Server server = Server.start(binary, null)) {
        client(binary, server.url(), 1, 13, false, null);
        Thread.sleep(200);
        tracer.drain();
        assertEquals(8, tracer.secrets.size(), "both ends are tlspeer-plain: " + tracer.secrets);
      }
    }
  }

  /** Other Go releases (TLSCAP_OTHER_GO, see GoPrograms): Go 1.15's stack ABI, Go 1.24. */
  @ParameterizedTest(name = "TLS 1.{0}")
  @CsvSource({"3", "2"})
  void otherGoReleases(int minor) throws Exception {
    int tls = 10 + minor;
    for (String go : GoPrograms.otherToolchains()) {
      String version = GoPrograms.goVersion(go);
      Path binary = GoPrograms.tlspeer(go, Files.createDirectories(dir.resolve(version)), GoPrograms.STRIPPED_PIE);
      Path serverLog = dir.resolve(version + "-server-" + tls + ".keys");
      Path clientLog = dir.resolve(version + "-client-" + tls + ".keys");
      try (GoSecretTracer tracer = new GoSecretTracer(0, null)) {
        GoTlsTarget target = tracer.attach(binary);
        try (Server server = Server.start(binary, serverLog)) {
          client(binary, server.url(), 3, tls, false, clientLog);
          Thread.sleep(200);
          tracer.drain();
          assertEquals(3 * linesPerConnection(tls), KeyLogs.read(clientLog).size(), version);
          assertSameLines(KeyLogs.read(serverLog), tracer.linesOf(server.pid()), version + " server (" + target + ")");
          assertSameLines(KeyLogs.read(clientLog), tracer.linesNotOf(server.pid()), version + " client");
          assertEquals(0, tracer.goUnreadable(), version);
        }
      }
    }
  }
}

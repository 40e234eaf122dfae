// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.capture;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tlscap.testing.Command;
import dev.tlscap.testing.OpenSslServer;
import dev.tlscap.testing.Requirements;
import dev.tlscap.testing.Tshark;
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
import org.junit.jupiter.params.provider.ValueSource;

/**
 * End to end with Go's crypto/tls, traced with no flag: programs built here from
 * bpf/src/test/go/tlspeer with Debian's Go. Secrets are taken from the Go side only ({@code --comm});
 * the other end is OpenSSL ({@code openssl s_server}, curl), whose secrets tlscap does not take.
 */
@Tag("e2e")
class GoIT {
  @TempDir Path dir;

  @BeforeAll
  static void machine() {
    Requirements.requireRoot();
    Requirements.requireCommand("go", "golang-go");
    Requirements.requireCommand("tshark", "tshark");
    Requirements.requireCommand("openssl", "openssl");
  }

  /** Builds tlspeer as {@code dir/name} (its process name) with {@code flags}. */
  static Path build(Path dir, String name, String... flags) {
    Path out = dir.resolve(name);
    List<String> argv = new ArrayList<>(List.of("go", "build", "-o", out.toString()));
    argv.addAll(List.of(flags));
    argv.add(".");
    Path source = Path.of(System.getenv().getOrDefault("TLSCAP_REPO", ".."), "bpf", "src", "test", "go", "tlspeer");
    Command.run(Duration.ofMinutes(3), source, Map.of("GOCACHE", dir.resolve("gocache").toString(), "GOFLAGS",
        "-mod=mod", "GO111MODULE", "off", "HOME", dir.toString()), argv.toArray(new String[0])).check();
    return out;
  }

  @ParameterizedTest(name = "TLS 1.{0}")
  @ValueSource(ints = {3, 2})
  void aStrippedGoClientStartedAfterListeningDecryptsFromItsFirstRequest(int minor) throws Exception {
    String name = "goclient1" + minor;
    Path client = build(dir, name, "-buildmode=pie", "-ldflags=-s -w");
    try (OpenSslServer server = OpenSslServer.start(dir)) {
      Path out = dir.resolve("go-client.pcapng");
      try (TlscapProcess tlscap = TlscapProcess.start(dir, "-i", "lo", "-w", out.toString(), "--comm", name,
          "port", Integer.toString(server.port()))) {
        Command.run(Duration.ofSeconds(60), client.toString(), "client", "-url",
            "https://127.0.0.1:" + server.port() + "/go-", "-n", "3", "-tls", "1" + minor).check();
        assertEquals(0, tlscap.interrupt(), tlscap.stderr());
        assertTrue(tlscap.stderr().contains("TLS secrets from " + client + " (pid "), tlscap.stderr());
        assertTrue(tlscap.stderr().contains("(Go 1."), tlscap.stderr());
        assertTrue(tlscap.stderr().contains("3 TLS sessions, 3 with secrets"), tlscap.stderr());
      }
      assertEquals(List.of("/go-0", "/go-1", "/go-2"), Tshark.column(out, "http.request", "http.request.uri"),
          "every request of a program traced as it started, with no key file");
      assertTrue(Tshark.column(out, "http.request", "frame.comment").stream().allMatch(c -> c.contains(name)));
    }
  }

  @Test
  void aGoServerOverHttp2AndHttp11() throws Exception {
    Path server = build(dir, "goserver", new String[0]);
    try (Command.Background go = Command.Background.start(server.toString(), "server")) {
      go.awaitOutput("listening ", Duration.ofSeconds(30));
      String url = go.stdout().lines().filter(l -> l.startsWith("listening ")).findFirst().orElseThrow()
          .substring("listening ".length()).trim();
      Path out = dir.resolve("go-server.pcapng");
      String port = url.replaceAll(".*:(\\d+)/$", "$1");
      try (TlscapProcess tlscap = TlscapProcess.start(dir, "-i", "lo", "-w", out.toString(), "--comm", "goserver",
          "port", port)) {
        Command.run(Duration.ofSeconds(30), "curl", "-sSk", "--http2", url + "h2-path").check();
        Command.run(Duration.ofSeconds(30), "curl", "-sSk", "--http1.1", url + "h1-path").check();
        assertEquals(0, tlscap.interrupt(), tlscap.stderr());
        assertTrue(tlscap.stderr().contains("2 TLS sessions, 2 with secrets"), tlscap.stderr());
      }
      assertEquals(List.of("/h1-path"), Tshark.column(out, "http.request", "http.request.uri"));
      assertEquals(List.of("/h2-path"), Tshark.column(out, "http2.headers.path", "http2.headers.path"));
    }
  }
}

// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.capture;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tlscap.testing.Command;
import dev.tlscap.testing.Nginx;
import dev.tlscap.testing.Requirements;
import dev.tlscap.testing.Tshark;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * End to end, {@code --text}: curl against nginx on lo, HTTP/1.1 and HTTP/2 over TLS 1.2 and 1.3,
 * printed live by tlscap and again from its file with {@code -r}; the requests it prints are the
 * ones the real tshark decrypts in the same file.
 */
@Tag("e2e")
class TextIT {
  @TempDir Path dir;

  @BeforeAll
  static void machine() {
    Requirements.requireRoot();
    Requirements.requireCommand("curl", "curl");
    Requirements.requireCommand("nginx", "nginx-light");
    Requirements.requireCommand("tshark", "tshark");
  }

  static String curl(String... args) {
    List<String> argv = new ArrayList<>(List.of("curl", "-sS", "-k", "--max-time", "20"));
    argv.addAll(List.of(args));
    return Command.run(Duration.ofSeconds(60), argv.toArray(new String[0])).check().stdout();
  }

  @Test
  void liveAndFromTheFileHttp11AndHttp2OverTls12And13() throws Exception {
    try (Nginx nginx = Nginx.start(dir, List.of(), "127.0.0.1")) {
      Path out = dir.resolve("text.pcapng");
      String url = "https://127.0.0.1:" + nginx.port();
      String stdout;
      try (TlscapProcess tlscap = TlscapProcess.start(dir, "-i", "lo", "--text", "--text-format", "json", "-w",
          out.toString(), "port", Integer.toString(nginx.port()))) {
        assertEquals(Nginx.BODY, curl("--http1.1", "--tlsv1.3", url + "/h1-tls13"));
        // a pipe gets each message as it is read, not when tlscap stops or a buffer fills
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (!tlscap.stdout().contains("tlscap-nginx-body") && System.nanoTime() < deadline) {
          Thread.sleep(50);
        }
        assertTrue(tlscap.stdout().contains("\"line\":\"GET /h1-tls13 HTTP/1.1\""), "live: " + tlscap.stdout());
        assertEquals(Nginx.BODY, curl("--http1.1", "--tlsv1.2", "--tls-max", "1.2", url + "/h1-tls12"));
        assertEquals(Nginx.BODY, curl("--http2", "--tlsv1.3", url + "/h2-tls13"));
        assertEquals(Nginx.BODY, curl("--http2", "--tlsv1.2", "--tls-max", "1.2", "-H", "X-Tlscap-Test: h2-header", url + "/h2-tls12"));
        assertEquals(Nginx.GZIP_BODY, curl("--http2", "--compressed", url + "/gzip/h2"));
        assertEquals(0, tlscap.interrupt(), tlscap.stderr());
        stdout = tlscap.stdout();
        assertTrue(tlscap.stderr().contains("5 TLS connections, 0 not decrypted"), tlscap.stderr());
      }
      List<JsonNode> all = TextReaderTest.messages(stdout);
      List<JsonNode> requests = kind(all, "request");
      assertEquals(List.of("GET /h1-tls13 HTTP/1.1", "GET /h1-tls12 HTTP/1.1", "GET /h2-tls13 HTTP/2",
          "GET /h2-tls12 HTTP/2", "GET /gzip/h2 HTTP/2"), requests.stream().map(m -> m.path("line").asText()).collect(Collectors.toList()));
      for (JsonNode r : requests) {
        assertEquals("curl", r.path("src").path("comm").asText(), "under the process that sent it: " + r);
        assertEquals("nginx", r.path("dst").path("comm").asText(), r.toString());
      }
      assertTrue(requests.get(3).path("headers").toString().contains("[\"x-tlscap-test\",\"h2-header\"]"),
          "a header, HPACK-decoded: " + requests.get(3));
      assertTrue(requests.get(1).path("headers").toString().contains("[\"User-Agent\",\"curl/"),
          "an HTTP/1.1 header: " + requests.get(1));
      List<JsonNode> responses = kind(all, "response");
      assertEquals(5, responses.size(), stdout);
      for (int i = 0; i < 4; i++) {
        assertEquals(Nginx.BODY, responses.get(i).path("body").asText(), responses.get(i).toString());
        assertEquals("nginx", responses.get(i).path("src").path("comm").asText());
      }
      assertEquals(Nginx.GZIP_BODY, responses.get(4).path("body").asText(), "inflated: " + responses.get(4));
      assertTrue(responses.get(4).path("note").asText().startsWith("gzip, "), responses.get(4).toString());
      Set<String> versions = kind(all, "handshake").stream().map(m -> m.path("note").asText().substring(0, 7))
          .collect(Collectors.toCollection(TreeSet::new));
      assertEquals(Set.of("TLS 1.2", "TLS 1.3"), versions);

      // the same requests are the ones tshark decrypts in the file
      Set<String> tshark = new TreeSet<>(Tshark.column(out, "http.request", "http.request.uri"));
      tshark.addAll(Tshark.column(out, "http2.headers.path", "http2.headers.path"));
      assertEquals(requests.stream().map(m -> m.path("line").asText().split(" ")[1]).collect(Collectors.toCollection(TreeSet::new)),
          tshark);

      // -r: the same from the file, as text, no capture
      Command.Result read = TlscapProcess.run(Duration.ofSeconds(60), "-r", out.toString(), "--text");
      assertEquals(0, read.exitCode(), read.stderr());
      for (JsonNode r : requests) {
        assertTrue(read.stdout().contains("\n" + r.path("line").asText() + "\n"), read.stdout());
      }
      assertTrue(read.stdout().matches("(?s).*curl\\[\\d+] 127\\.0\\.0\\.1:\\d+ -> nginx\\[\\d+] 127\\.0\\.0\\.1:"
          + nginx.port() + "  #\\d+ HTTP/2 stream 1 request\nGET /h2-tls12 HTTP/2\n.*"), read.stdout());
      assertTrue(read.stdout().contains("\n\n" + Nginx.GZIP_BODY + "\n"), read.stdout());
      assertTrue(read.stderr().contains("text: " + all.size() + " messages; 5 TLS connections, 0 not decrypted"), read.stderr());

      // -r needs no root: as nobody, on a copy it may read (the capture itself is 0600, root's)
      Requirements.requireCommand("setpriv", "util-linux");
      Path shared = Path.of("/tmp", "tlscap-text-" + ProcessHandle.current().pid() + ".pcapng");
      try {
        Files.copy(out, shared, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        Files.setPosixFilePermissions(shared, java.nio.file.attribute.PosixFilePermissions.fromString("rw-r--r--"));
        List<String> argv = new ArrayList<>(List.of("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
            "--inh-caps=-all", "--bounding-set=-all"));
        argv.addAll(TlscapProcess.command("-r", shared.toString(), "--text", "--text-format", "json"));
        Command.Result nobody = Command.run(Duration.ofSeconds(60), argv.toArray(new String[0]));
        assertEquals(0, nobody.exitCode(), nobody.stderr());
        assertEquals(stdout.lines().count(), nobody.stdout().lines().count(), "the same messages: " + nobody.stdout());
      } finally {
        Files.deleteIfExists(shared);
      }
    }
  }

  @Test
  void withoutSecretsEachConnectionIsListedAndNoFileIsWritten() throws Exception {
    try (Nginx nginx = Nginx.start(dir, List.of(), "127.0.0.1")) {
      String url = "https://127.0.0.1:" + nginx.port();
      String stdout;
      try (TlscapProcess tlscap = TlscapProcess.start(dir, "-i", "lo", "--text", "--comm", "no-such-program", "--hold",
          "0.5", "port", Integer.toString(nginx.port()))) {
        assertEquals(Nginx.BODY, curl("--http1.1", url + "/secret-path"));
        assertEquals(0, tlscap.interrupt(), tlscap.stderr());
        stdout = tlscap.stdout();
        assertTrue(tlscap.stderr().contains("1 TLS connections, 1 not decrypted (listed)"), tlscap.stderr());
      }
      assertTrue(stdout.matches("(?s)\\S+ 127\\.0\\.0\\.1:\\d+ -> 127\\.0\\.0\\.1:" + nginx.port()
          + "  #1 TLS no secrets \\(no (CLIENT|SERVER)_HANDSHAKE_TRAFFIC_SECRET for its client random\\)\n\n"), stdout);
      assertFalse(stdout.contains("secret-path"));
      try (var files = Files.list(dir)) {
        assertTrue(files.noneMatch(f -> f.toString().endsWith(".pcapng")), "--text alone writes no file");
      }
    }
  }

  private static List<JsonNode> kind(List<JsonNode> all, String kind) {
    return all.stream().filter(m -> m.path("kind").asText().equals(kind)).collect(Collectors.toList());
  }
}

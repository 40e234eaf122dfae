// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.capture;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tlscap.testing.Command;
import dev.tlscap.testing.Nginx;
import dev.tlscap.testing.OpenSslServer;
import dev.tlscap.testing.Requirements;
import dev.tlscap.testing.Tshark;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * End to end: one long-lived TLS connection through many rotated files, each file read alone by
 * the real tshark with no key file, decrypts the records it holds (tlscap replays the connection's
 * handshake and aligns Wireshark's record numbers at the start of each file).
 */
@Tag("e2e")
class RotationIT {
  private static final String SYNTHETIC = "frame.comment contains \"tlscap synthetic\"";
  @TempDir(cleanup = org.junit.jupiter.api.io.CleanupMode.ON_SUCCESS) Path dir;

  @BeforeAll
  static void machine() {
    Requirements.requireRoot();
    Requirements.requireCommand("tshark", "tshark");
    Requirements.requireCommand("mergecap", "tshark");
    Requirements.requireCommand("curl", "curl");
    Requirements.requireCommand("openssl", "openssl");
  }

  /** {@code n} URLs /req1 ... /reqN of {@code base}, fetched by one curl over one connection, {@code rate} a second. */
  private static Command.Result curlKeepAlive(String base, int n, String rate, String... options) {
    List<String> argv = new ArrayList<>(List.of("curl", "-sS", "-k", "--max-time", "60", "--rate", rate));
    argv.addAll(List.of(options));
    for (int i = 1; i <= n; i++) {
      argv.addAll(List.of(base + "req" + i, "-o", "/dev/null"));
    }
    return Command.run(Duration.ofSeconds(90), argv.toArray(new String[0])).check();
  }

  private static List<String> paths(int n) {
    return IntStream.rangeClosed(1, n).mapToObj(i -> "/req" + i).collect(Collectors.toList());
  }

  private List<Path> files(String prefix) throws Exception {
    try (Stream<Path> s = Files.list(dir)) {
      return s.filter(p -> p.getFileName().toString().startsWith(prefix + "-")).sorted().collect(Collectors.toList());
    }
  }

  /** The request paths tshark decrypts in each file read alone, file by file. */
  private static List<List<String>> requestsPerFile(List<Path> files, String field) {
    return files.stream().map(f -> Tshark.column(f, field, field)).collect(Collectors.toList());
  }

  @Test
  void http2KeepAliveConnectionDecryptsInEveryFileRotatedEverySecond() throws Exception {
    try (Nginx nginx = Nginx.start(dir, List.of(), "127.0.0.1")) {
      Path out = dir.resolve("h2.pcapng");
      String summary;
      try (TlscapProcess tlscap = TlscapProcess.start(dir, "-i", "lo", "-w", out.toString(), "-G", "1", "--comm",
          "curl", "port", Integer.toString(nginx.port()))) {
        curlKeepAlive("https://127.0.0.1:" + nginx.port() + "/", 12, "2/s", "--http2");
        Thread.sleep(1200);
        assertEquals(0, tlscap.interrupt(), tlscap.stderr());
        summary = tlscap.stderr();
      }
      List<Path> files = files("h2");
      List<List<String>> perFile = requestsPerFile(files, "http2.headers.path");
      assertEquals(paths(12), perFile.stream().flatMap(List::stream).collect(Collectors.toList()),
          "each file alone decrypts the requests it holds: " + perFile + "\n" + summary);
      assertTrue(perFile.stream().filter(r -> !r.isEmpty()).count() >= 5, "requests in 5 files or more: " + perFile);
      assertEquals(1, Tshark.packetCount(files.get(0), "tls.handshake.type == 1"), "one ClientHello, the real one");
      assertEquals(0, Tshark.packetCount(files.get(0), SYNTHETIC), "the first file holds the handshake itself");
      for (Path later : files.subList(1, files.size())) {
        if (Tshark.packetCount(later, "http2") == 0) {
          continue; // (the connection did not speak in it: no prologue)
        }
        assertEquals(1, Tshark.packetCount(later, "tls.handshake.type == 1 && " + SYNTHETIC),
            later + ": the handshake replayed, marked");
        assertEquals(0, Tshark.packetCount(later, "http2 && " + SYNTHETIC), later + ": no request replayed");
        assertTrue(Tshark.packetCount(later, "!(" + SYNTHETIC + ")") > 0, later.toString());
      }
      assertTrue(summary.contains("went on into a later file and was made to decrypt there"), summary);

      // all files merged: each request decrypts once; the synthetic packets show as retransmissions
      Path merged = dir.resolve("merged.pcapng");
      List<String> argv = new ArrayList<>(List.of("mergecap", "-w", merged.toString()));
      files.forEach(f -> argv.add(f.toString()));
      Command.run(Duration.ofSeconds(60), argv.toArray(new String[0])).check();
      assertEquals(paths(12), Tshark.column(merged, "http2.headers.path", "http2.headers.path"));
      int synthetic = Tshark.packetCount(merged, SYNTHETIC);
      assertTrue(synthetic > 0 && synthetic == Tshark.packetCount(merged, SYNTHETIC + " && tcp.analysis.retransmission"
          + " || " + SYNTHETIC + " && tcp.analysis.spurious_retransmission"), "synthetic packets in a merge: "
          + synthetic + " (all of them retransmissions to Wireshark)");
      // and how a user hides them: write the merge again without them
      Path clean = dir.resolve("clean.pcapng");
      Tshark.run(merged, "-Y", "!(" + SYNTHETIC + ")", "-w", clean.toString());
      assertEquals(0, Tshark.packetCount(clean, SYNTHETIC));
      assertEquals(paths(12), Tshark.column(clean, "http2.headers.path", "http2.headers.path"));
    }
  }

  @Test
  void sizeRotatedCompressedRingDecryptsInEachFileItKeeps() throws Exception {
    Requirements.requireCommand("nginx", "nginx-light");
    try (Nginx nginx = Nginx.start(dir, List.of(), "127.0.0.1")) {
      Path out = dir.resolve("ring.pcapng");
      try (TlscapProcess tlscap = TlscapProcess.start(dir, "-i", "lo", "-w", out.toString(), "-C", "2k", "-W", "3",
          "--compress", "gzip", "--comm", "curl", "port", Integer.toString(nginx.port()))) {
        curlKeepAlive("https://127.0.0.1:" + nginx.port() + "/", 16, "4/s", "--http2");
        assertEquals(0, tlscap.interrupt(), tlscap.stderr());
      }
      List<Path> files = files("ring");
      assertEquals(3, files.size(), "a ring of three: " + files);
      assertTrue(files.stream().allMatch(f -> f.toString().endsWith(".pcapng.gz")), files.toString());
      List<String> all = requestsPerFile(files, "http2.headers.path").stream().flatMap(List::stream)
          .collect(Collectors.toList());
      List<String> expected = paths(16).subList(16 - all.size(), 16);
      assertEquals(expected, all, "the last requests, each decrypted in the file that holds it");
      assertTrue(all.size() >= 3, all.toString());
    }
  }

  @ParameterizedTest
  @CsvSource({
      "--tlsv1.3, --tls13-ciphers, TLS_CHACHA20_POLY1305_SHA256, 0x1303",
      "--tlsv1.3, --tls13-ciphers, TLS_AES_128_GCM_SHA256, 0x1301",
      "--tls-max, --ciphers, ECDHE-RSA-AES128-GCM-SHA256, 0xc02f",
      "--tls-max, --ciphers, ECDHE-RSA-CHACHA20-POLY1305, 0xcca8"})
  void http11KeepAliveDecryptsInEveryFileWithEachAead(String version, String cipherOption, String cipher,
      String suite) throws Exception {
    try (Nginx nginx = Nginx.start(dir, List.of(), "127.0.0.1")) {
      Path out = dir.resolve("h1.pcapng");
      try (TlscapProcess tlscap = TlscapProcess.start(dir, "-i", "lo", "-w", out.toString(), "-G", "1", "--comm",
          "curl", "port", Integer.toString(nginx.port()))) {
        List<String> options = new ArrayList<>(List.of("--http1.1", version));
        if (version.equals("--tls-max")) {
          options.add("1.2");
        }
        options.addAll(List.of(cipherOption, cipher));
        curlKeepAlive("https://127.0.0.1:" + nginx.port() + "/", 8, "3/s", options.toArray(new String[0]));
        assertEquals(0, tlscap.interrupt(), tlscap.stderr());
      }
      List<Path> files = files("h1");
      assertEquals(List.of(suite), Tshark.column(files.get(0), "tls.handshake.type == 2", "tls.handshake.ciphersuite"));
      List<List<String>> perFile = requestsPerFile(files, "http.request.uri");
      assertEquals(paths(8), perFile.stream().flatMap(List::stream).collect(Collectors.toList()), perFile.toString());
      assertTrue(perFile.stream().filter(r -> !r.isEmpty()).count() >= 2, "requests in 2 files or more: " + perFile);
    }
  }

  @Test
  void tls13KeyUpdatesAreFollowedIntoLaterFiles() throws Exception {
    OpenSslServer.certificate(dir);
    int port = OpenSslServer.freePort();
    // the client runs as "kuclient": tlscap takes the secrets of its side only
    Path client = dir.resolve("kuclient");
    Files.copy(Path.of(Command.run(Duration.ofSeconds(5), "sh", "-c", "command -v openssl").check().stdout().trim()),
        client);
    client.toFile().setExecutable(true);
    String server = "sleep 60 | openssl s_server -accept " + port + " -tls1_3 -cert " + dir.resolve("cert.pem")
        + " -key " + dir.resolve("key.pem");
    try (Command.Background s = Command.Background.start(dir, Map.of(), "sh", "-c", server)) {
      s.awaitOutput("ACCEPT", Duration.ofSeconds(20));
      Path out = dir.resolve("ku.pcapng");
      String lines;
      try (TlscapProcess tlscap = TlscapProcess.start(dir, "-i", "lo", "-w", out.toString(), "-G", "1", "--comm",
          "kuclient", "port", Integer.toString(port))) {
        // 'k' asks s_client for a KeyUpdate, 'K' for one that the server answers with its own
        String script = "(for i in 1 2 3 4 5 6 7 8; do echo line$i; sleep 0.45; "
            + "case $i in 2) echo k; sleep 0.2;; 5) echo K; sleep 0.2;; esac; done) | " + client
            + " s_client -connect 127.0.0.1:" + port + " -tls1_3";
        Command.Result r = Command.run(Duration.ofSeconds(60), "sh", "-c", script);
        lines = r.stdout() + r.stderr();
        Thread.sleep(1200);
        assertEquals(0, tlscap.interrupt(), tlscap.stderr());
      }
      assertTrue(lines.contains("KEYUPDATE"), lines);
      List<Path> files = files("ku");
      List<List<String>> perFile = files.stream().map(f -> Tshark.fields(f, "data", "data.data").stream()
          .map(r -> new String(java.util.HexFormat.of().parseHex(r.get(0).replace(":", ""))).trim())
          .collect(Collectors.toList())).collect(Collectors.toList());
      List<String> expected = IntStream.rangeClosed(1, 8).mapToObj(i -> "line" + i).collect(Collectors.toList());
      assertEquals(expected, perFile.stream().flatMap(List::stream).collect(Collectors.toList()), perFile.toString());
      assertTrue(perFile.stream().filter(r -> !r.isEmpty()).count() >= 3, perFile.toString());
    }
  }
}

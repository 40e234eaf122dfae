// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.capture;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tlscap.pcapng.InterfaceStatisticsBlock;
import dev.tlscap.pcapng.PcapngBlock;
import dev.tlscap.pcapng.PcapngReader;
import dev.tlscap.testing.Command;
import dev.tlscap.testing.NetworkNamespace;
import dev.tlscap.testing.Nginx;
import dev.tlscap.testing.OpenSslServer;
import dev.tlscap.testing.Requirements;
import dev.tlscap.testing.Tshark;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * End to end: the real tlscap.jar captures real TLS clients and servers, and the real tshark reads
 * the plaintext from the file with no key file.
 */
@Tag("e2e")
class CaptureIT {
  @TempDir(cleanup = org.junit.jupiter.api.io.CleanupMode.ON_SUCCESS) Path dir; // kept when a test fails, for keepCaptures

  /** Keeps the captures of a failed test in target/failed-captures, for the CI log's reader. */
  @org.junit.jupiter.api.extension.RegisterExtension
  final org.junit.jupiter.api.extension.TestWatcher keepCaptures = new org.junit.jupiter.api.extension.TestWatcher() {
    @Override
    public void testFailed(org.junit.jupiter.api.extension.ExtensionContext context, Throwable cause) {
      Path keep = Path.of("target", "failed-captures", context.getRequiredTestMethod().getName());
      try (Stream<Path> files = Files.list(dir)) {
        Files.createDirectories(keep);
        for (Path f : files.filter(p -> p.getFileName().toString().contains("pcapng")).collect(Collectors.toList())) {
          Files.copy(f, keep.resolve(f.getFileName()), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        }
      } catch (java.io.IOException ignored) {
        // best effort: the assertion message says what failed
      }
    }
  };

  @BeforeAll
  static void machine() {
    Requirements.requireRoot();
    Requirements.requireCommand("tshark", "tshark");
    Requirements.requireCommand("curl", "curl");
    Requirements.requireCommand("openssl", "openssl");
  }

  static Command.Result curl(String... args) {
    List<String> argv = new ArrayList<>(List.of("curl", "-sS", "-k", "--max-time", "20"));
    argv.addAll(List.of(args));
    return Command.run(Duration.ofSeconds(60), argv.toArray(new String[0])).check();
  }

  @Test
  void curlTls13AndTls12AgainstOpensslServerDecryptWithNoKeyFile() throws Exception {
    try (OpenSslServer server = OpenSslServer.start(dir)) {
      Path out = dir.resolve("out.pcapng");
      Path keys = dir.resolve("keys.txt");
      try (TlscapProcess tlscap = TlscapProcess.start(dir, "-i", "lo", "-w", out.toString(), "--keylog-file",
          keys.toString(), "port", Integer.toString(server.port()))) {
        // java -jar relaunched itself (execv: the same process) in the JVM set for tlscap (JvmTuning)
        String jvm = Files.readString(Path.of("/proc", Long.toString(tlscap.process.pid()), "cmdline")).replace('\0', ' ');
        assertTrue(jvm.contains(" -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xmn24m -Xmx384m -Xms48m -Dtlscap.jvm=tuned -jar "), jvm);
        String page13 = curl("--tlsv1.3", server.url() + "tls13-path").stdout();
        String page12 = curl("--tlsv1.2", "--tls-max", "1.2", server.url() + "tls12-path").stdout();
        assertTrue(page13.contains("s_server") && page12.contains("s_server"), page13);
        assertEquals(0, tlscap.interrupt(), tlscap.stderr());
        assertTrue(tlscap.stderr().contains("2 TLS sessions, 2 with secrets"), tlscap.stderr());
      }
      List<String> uris = Tshark.column(out, "http.request", "http.request.uri");
      assertEquals(List.of("/tls13-path", "/tls12-path"), uris, "both requests decrypted without a key file");
      // s_server -www answers HTTP/1.0 without Content-Length: tshark shows the response once it stops
      // waiting for the body's end (the bodies themselves are checked with nginx below)
      String responses = Tshark.run(out, "-o", "http.desegment_body:FALSE", "-Y", "http.response", "-T", "fields",
          "-e", "http.response.code").check().stdout();
      assertEquals(List.of("200", "200"), responses.lines().collect(Collectors.toList()), "both responses decrypted");
      assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(out)));
      assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(keys)));
      assertTrue(Files.readString(keys).lines().count() >= 6, "5 TLS 1.3 lines and a CLIENT_RANDOM");
      List<PcapngBlock> blocks = PcapngReader.readAll(out);
      assertTrue(blocks.stream().anyMatch(b -> b instanceof InterfaceStatisticsBlock), "the file ends with an ISB");
      // Both ends on this host: each packet names both processes (README, build/demo)
      String bothEnds = "server: pid " + server.pid() + " openssl";
      List<String> comments = Tshark.column(out, "tcp.srcport == " + server.port() + " && tls", "frame.comment");
      assertTrue(comments.stream().anyMatch(c -> c.matches("client: pid \\d+ curl\\\\nserver: pid \\d+ openssl")
          && c.contains(bothEnds)), "server packets name both ends: " + comments);
      assertTrue(Tshark.column(out, "tcp.dstport == " + server.port() + " && tls", "frame.comment").stream()
          .anyMatch(c -> c.startsWith("client: pid ") && c.contains(bothEnds)), "client packets name both ends");
      assertTrue(Tshark.packetCount(out, "frame.comment contains \"curl\"") > 0, "filterable by process");
    }
  }

  @Test
  void nginxOverHttp11AndHttp2() throws Exception {
    Requirements.requireCommand("nginx", "nginx-light");
    try (Nginx nginx = Nginx.start(dir, List.of(), "127.0.0.1")) {
      Path out = dir.resolve("nginx.pcapng");
      String url = "https://127.0.0.1:" + nginx.port();
      try (TlscapProcess tlscap = TlscapProcess.start(dir, "-i", "lo", "-w", out.toString(), "port",
          Integer.toString(nginx.port()))) {
        assertEquals(Nginx.BODY, curl("--http1.1", url + "/h1-path").stdout());
        assertEquals(Nginx.BODY, curl("--http2", url + "/h2-path").stdout());
        assertEquals(0, tlscap.interrupt(), tlscap.stderr());
      }
      assertEquals(List.of("/h1-path"), Tshark.column(out, "http.request", "http.request.uri"));
      assertTrue(Tshark.column(out, "http2.headers.path", "http2.headers.path").contains("/h2-path"),
          "HTTP/2 decrypted");
      assertTrue(Tshark.column(out, "http.response", "http.file_data").contains(Nginx.BODY));
    }
  }

  @Test
  void twoHundredConcurrentConnectionsAllDecrypt() throws Exception {
    Requirements.requireCommand("nginx", "nginx-light");
    int connections = 200;
    try (Nginx nginx = Nginx.start(dir, List.of(), "127.0.0.1")) {
      Path out = dir.resolve("many.pcapng");
      try (TlscapProcess tlscap = TlscapProcess.start(dir, "-i", "lo", "-w", out.toString(), "port",
          Integer.toString(nginx.port()))) {
        List<String> argv = new ArrayList<>(List.of("curl", "-sS", "-k", "--http1.1", "--parallel", "--parallel-immediate",
            "--parallel-max", "100", "-H", "Connection: close"));
        for (int i = 0; i < connections; i++) {
          argv.addAll(List.of("https://127.0.0.1:" + nginx.port() + "/c" + i, "-o", "/dev/null"));
        }
        Command.run(Duration.ofSeconds(120), argv.toArray(new String[0])).check();
        assertEquals(0, tlscap.interrupt(), tlscap.stderr());
        assertTrue(tlscap.stderr().contains(connections + " TLS sessions, " + connections + " with secrets"),
            tlscap.stderr());
      }
      Set<String> uris = new HashSet<>(Tshark.column(out, "http.request", "http.request.uri"));
      assertEquals(connections, uris.size(), "every connection decrypted");
      assertEquals(connections, Tshark.packetCount(out, "tls.handshake.type == 2 && tls.handshake.extensions.supported_version == 0x0304"),
          "TLS 1.3, keyed by trial decryption");
      assertEquals(connections, Tshark.packetCount(out, "tls.handshake.type == 1"), "one ClientHello each");
    }
  }

  @Test
  void clientAndServerInTwoNamespacesAcrossAVethPair() throws Exception {
    try (NetworkNamespace ns = NetworkNamespace.create("tlscapit")) {
      NetworkNamespace.Veth veth = ns.addVeth("10.77.0.1/24", "10.77.0.2/24");
      List<String> inside = List.of("ip", "netns", "exec", ns.name());
      try (OpenSslServer server = OpenSslServer.start(dir, inside)) {
        Path out = dir.resolve("veth.pcapng");
        try (TlscapProcess tlscap = TlscapProcess.start(dir, "-i", veth.hostName(), "-w", out.toString())) {
          curl("--tlsv1.3", "https://" + veth.peerAddress() + ":" + server.port() + "/across-veth");
          assertEquals(0, tlscap.interrupt(), tlscap.stderr());
        }
        assertEquals(List.of("/across-veth"), Tshark.column(out, "http.request", "http.request.uri"));
      }
    }
  }

  @Test
  void rotationEveryFileDecryptsItsOwnConnectionsAndZstdFilesOpen() throws Exception {
    Requirements.requireCommand("zstd", "zstd");
    try (OpenSslServer server = OpenSslServer.start(dir)) {
      Path out = dir.resolve("rot.pcapng");
      int requests = 0;
      try (TlscapProcess tlscap = TlscapProcess.start(dir, "-i", "lo", "-w", out.toString(), "-G", "1", "--compress",
          "zstd", "port", Integer.toString(server.port()))) {
        long end = System.nanoTime() + Duration.ofMillis(4500).toNanos();
        while (System.nanoTime() < end) {
          curl("--tlsv1.3", server.url() + "r" + requests);
          requests++;
          Thread.sleep(150);
        }
        assertEquals(0, tlscap.interrupt(), tlscap.stderr());
      }
      List<Path> files;
      try (Stream<Path> s = Files.list(dir)) {
        files = s.filter(p -> p.getFileName().toString().startsWith("rot-")).sorted().collect(Collectors.toList());
      }
      assertTrue(files.size() >= 4, "about one file a second: " + files);
      assertTrue(files.stream().allMatch(p -> p.toString().endsWith(".pcapng.zst")), files.toString());
      int decrypted = 0;
      for (Path file : files) {
        // every connection whose ClientHello is in the file and whose request is too decrypts
        List<List<String>> rows = Tshark.fields(file, "tls.handshake.type == 1 || http.request", "tcp.stream",
            "http.request.uri");
        Set<String> hellos = rows.stream().filter(r -> r.get(1).isEmpty()).map(r -> r.get(0)).collect(Collectors.toSet());
        Set<String> readable = rows.stream().filter(r -> !r.get(1).isEmpty()).map(r -> r.get(0)).collect(Collectors.toSet());
        int requestsInFile = Tshark.packetCount(file, "tls.record.content_type == 23 && tcp.dstport == " + server.port());
        assertTrue(readable.containsAll(requestsInFile > 0 ? intersect(hellos, streamsWithRequests(file, server.port()))
            : Set.of()), file + ": hellos " + hellos + ", decrypted " + readable);
        decrypted += readable.size();
      }
      assertTrue(decrypted >= requests - files.size(), decrypted + " of " + requests + " requests decrypted in "
          + files.size() + " files (a connection cut by a rotation may not be)");
    }
  }

  private static Set<String> streamsWithRequests(Path file, int port) {
    return new HashSet<>(Tshark.column(file, "tls.record.content_type == 23 && tcp.dstport == " + port, "tcp.stream"));
  }

  private static Set<String> intersect(Set<String> a, Set<String> b) {
    Set<String> c = new HashSet<>(a);
    c.retainAll(b);
    return c;
  }

  @Test
  void aLiveStreamToTsharkDecryptsAsItArrives() throws Exception {
    try (OpenSslServer server = OpenSslServer.start(dir)) {
      String pipeline = String.join(" ", TlscapProcess.command("-q", "-i", "lo", "-w", "-", "port",
          Integer.toString(server.port()))) + " | tshark -l -r - -Y http.request -T fields -e http.request.uri";
      try (Command.Background live = Command.Background.start(dir, Map.of(), "bash", "-c", pipeline)) {
        live.awaitOutput("listening on", Duration.ofSeconds(60));
        curl("--tlsv1.3", server.url() + "live-path");
        live.awaitOutput("/live-path", Duration.ofSeconds(30)); // while tlscap still runs
        Command.run(Duration.ofSeconds(10), "pkill", "-INT", "-f", "tlscap.jar -q -i lo -w -");
        assertEquals(0, live.waitFor(Duration.ofSeconds(60)), live.stderr());
      }
    }
  }

  @Test
  void sigintDuringHeavyTrafficLeavesCompleteFilesAndCountsThatAddUp() throws Exception {
    Requirements.requireCommand("nginx", "nginx-light");
    try (Nginx nginx = Nginx.start(dir, List.of(), "127.0.0.1")) {
      Path out = dir.resolve("busy.pcapng");
      String url = "https://127.0.0.1:" + nginx.port() + "/busy";
      List<Command.Background> load = new ArrayList<>();
      TlscapProcess tlscap = TlscapProcess.start(dir, "-i", "lo", "-w", out.toString(), "-C", "1", "port",
          Integer.toString(nginx.port()));
      try {
        for (int i = 0; i < 4; i++) {
          load.add(Command.Background.start("bash", "-c",
              "while true; do curl -sk -o /dev/null -H 'Connection: close' " + url + "; done"));
        }
        Thread.sleep(3000);
        assertEquals(0, tlscap.interrupt(), tlscap.stderr());
      } finally {
        load.forEach(Command.Background::close);
        tlscap.close();
      }
      List<Path> files;
      try (Stream<Path> s = Files.list(dir)) {
        files = s.filter(p -> p.getFileName().toString().startsWith("busy")).sorted().collect(Collectors.toList());
      }
      assertFalse(files.isEmpty());
      long packets = 0;
      for (Path file : files) {
        packets += Tshark.packetCount(file); // fails if a file does not open
        assertTrue(PcapngReader.readAll(file).stream().anyMatch(b -> b instanceof InterfaceStatisticsBlock),
            file + " ends with its statistics");
      }
      String summary = tlscap.stderr();
      long reported = Long.parseLong(summary.replaceAll("(?s).*\\n(\\d+) packets captured.*", "$1"));
      // a session cut by a rotation goes on in the next file behind synthetic packets, counted apart
      long synthetic = summary.contains(" synthetic packets")
          ? Long.parseLong(summary.replaceAll("(?s).*\\((\\d+) synthetic packets.*", "$1")) : 0;
      assertEquals(reported + synthetic, packets, "the summary counts every packet in the files:\n" + summary);
    }
  }
}

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
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * End to end with BoringSSL linked statically into netty-tcnative's JNI library, which a JVM
 * extracts to a temporary file and loads when Netty first needs TLS, after tlscap started: nothing
 * is exported, the probes go to local {@code .symtab} symbols. A Netty HTTPS server
 * ({@link NettyTlsPeer}) against curl, and a Netty client against {@code openssl s_server}; secrets
 * from the JVMs only ({@code --comm java}: tlscap never traces itself).
 */
@Tag("e2e")
class NettyBoringSslIT {
  @TempDir Path dir;

  @BeforeAll
  static void machine() {
    Requirements.requireRoot();
    Requirements.requireCommand("tshark", "tshark");
    Requirements.requireCommand("curl", "curl");
    Requirements.requireCommand("openssl", "openssl");
  }

  private static List<String> peer(String... args) {
    List<String> argv = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-cp", System.getProperty("java.class.path"), NettyTlsPeer.class.getName()));
    argv.addAll(List.of(args));
    return argv;
  }

  @Test
  void aNettyServerOnBoringSslAgainstCurl() throws Exception {
    OpenSslServer.certificate(dir);
    Path out = dir.resolve("netty-server.pcapng");
    try (TlscapProcess tlscap = TlscapProcess.start(dir, "-i", "lo", "-w", out.toString(), "--comm", "java")) {
      try (Command.Background server = Command.Background.start(peer("server", dir.resolve("cert.pem").toString(),
          dir.resolve("key.pem").toString()).toArray(new String[0]))) {
        server.awaitOutput("listening ", Duration.ofSeconds(60));
        String port = server.stdout().lines().filter(l -> l.startsWith("listening ")).findFirst().orElseThrow()
            .substring("listening ".length()).trim();
        for (String version : List.of("1.3", "1.2")) {
          Command.Result curl = Command.run(Duration.ofSeconds(30), "curl", "-sSk", "--tlsv" + version, "--tls-max",
              version, "https://127.0.0.1:" + port + "/tls" + version);
          assertTrue(curl.stdout().contains("hello from netty /tls" + version), curl.stdout() + curl.stderr());
        }
      }
      assertEquals(0, tlscap.interrupt(), tlscap.stderr());
      assertTrue(tlscap.stderr().contains("netty_tcnative") && tlscap.stderr().contains("(BoringSSL)"), tlscap.stderr());
      assertTrue(tlscap.stderr().contains("2 TLS sessions, 2 with secrets"), tlscap.stderr());
    }
    assertEquals(List.of("/tls1.3", "/tls1.2"), Tshark.column(out, "http.request", "http.request.uri"),
        "decrypted with no key file");
  }

  @Test
  void aNettyClientOnBoringSslStartedAfterTlscap() throws Exception {
    try (OpenSslServer server = OpenSslServer.start(dir)) {
      Path out = dir.resolve("netty-client.pcapng");
      try (TlscapProcess tlscap = TlscapProcess.start(dir, "-i", "lo", "-w", out.toString(), "--comm", "java",
          "port", Integer.toString(server.port()))) {
        for (String tls : List.of("TLSv1.3", "TLSv1.2")) {
          Command.Result client = Command.run(Duration.ofSeconds(60), peer("client", Integer.toString(server.port()),
              tls, "/netty-" + tls).toArray(new String[0]));
          assertTrue(client.stdout().contains("status 200"), client.stdout() + client.stderr());
        }
        assertEquals(0, tlscap.interrupt(), tlscap.stderr());
        assertTrue(tlscap.stderr().contains("2 TLS sessions, 2 with secrets"), tlscap.stderr());
      }
      assertEquals(List.of("/netty-TLSv1.3", "/netty-TLSv1.2"), Tshark.column(out, "http.request", "http.request.uri"),
          "each JVM's first connection, decrypted with no key file");
    }
  }
}

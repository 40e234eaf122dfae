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
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.io.TempDir;

/**
 * End to end: programs started after tlscap printed "listening on" are traced with no flag. Node
 * (OpenSSL linked in, or the system's), Python (which maps libssl only when it imports {@code ssl},
 * here half a second after it started) and an OpenSSL program in a root of its own (another mount
 * namespace, a chroot with its own copy of libcrypto, as a container has). The server is
 * {@code openssl s_server}, whose secrets tlscap does not take ({@code --comm} of the client).
 */
@Tag("e2e")
class DiscoveryIT {
  @TempDir Path dir;

  @BeforeAll
  static void machine() {
    Requirements.requireRoot();
    Requirements.requireCommand("tshark", "tshark");
    Requirements.requireCommand("openssl", "openssl");
  }

  /** Runs {@code client} (a shell line; PORT replaced) against a fresh server; the request URIs tshark reads. */
  private List<String> capture(String comm, String client, String expectedLine) {
    try (OpenSslServer server = OpenSslServer.start(dir)) {
      Path out = dir.resolve(comm + ".pcapng");
      try (TlscapProcess tlscap = TlscapProcess.start(dir, "-i", "lo", "-w", out.toString(), "--comm", comm,
          "port", Integer.toString(server.port()))) {
        Command.Result result = Command.sh(Duration.ofSeconds(60), client.replace("PORT",
            Integer.toString(server.port())));
        assertTrue(result.stdout().contains("ok"), "the client got its answers: " + result.stdout() + result.stderr());
        assertEquals(0, tlscap.interrupt(), tlscap.stderr());
        assertTrue(tlscap.stderr().contains(expectedLine), tlscap.stderr());
      }
      return Tshark.column(out, "http.request", "http.request.uri");
    }
  }

  @Test
  void nodeStartedAfterListening() {
    Requirements.requireCommand("node", "nodejs");
    String script = "const https = require('https');"
        + " const get = (p, next) => https.get({host: '127.0.0.1', port: PORT, path: p, rejectUnauthorized: false,"
        + " agent: false}, r => { r.resume(); r.on('end', next); });"
        + " get('/node-0', () => get('/node-1', () => console.log('ok')));";
    List<String> uris = capture("node", "node -e \"" + script + "\"", "TLS sessions, 2 with secrets");
    assertEquals(List.of("/node-0", "/node-1"), uris, "every request of node, started after tlscap");
  }

  @Test
  void nodeRunningBeforeTlscapStarted() throws Exception {
    Requirements.requireCommand("node", "nodejs");
    try (OpenSslServer server = OpenSslServer.start(dir)) {
      // node waits for a file, then makes its request: it runs before tlscap and is found at its start
      Path go = dir.resolve("go");
      String script = "const fs = require('fs'); const https = require('https');"
          + " const t = setInterval(() => { if (!fs.existsSync('" + go + "')) return; clearInterval(t);"
          + " https.get({host: '127.0.0.1', port: " + server.port() + ", path: '/node-early', rejectUnauthorized: false},"
          + " r => { r.resume(); r.on('end', () => console.log('ok')); }); }, 50);";
      try (Command.Background node = Command.Background.start("node", "-e", script)) {
        Thread.sleep(500);
        Path out = dir.resolve("node-early.pcapng");
        try (TlscapProcess tlscap = TlscapProcess.start(dir, "-i", "lo", "-w", out.toString(), "--comm", "node",
            "port", Integer.toString(server.port()))) {
          Files.writeString(go, "");
          node.awaitOutput("ok", Duration.ofSeconds(30));
          assertEquals(0, tlscap.interrupt(), tlscap.stderr());
          assertTrue(tlscap.stderr().contains("1 TLS sessions, 1 with secrets"), tlscap.stderr());
        }
        assertEquals(List.of("/node-early"), Tshark.column(out, "http.request", "http.request.uri"));
      }
    }
  }

  @Test
  void pythonImportingSslHalfASecondAfterItStarted() {
    Requirements.requireCommand("python3", "python3");
    String script = "import time; time.sleep(0.5)\n"
        + "import ssl, urllib.request\n"
        + "ctx = ssl._create_unverified_context()\n"
        + "for i in range(2):\n"
        + "    urllib.request.urlopen('https://127.0.0.1:PORT/py-%d' % i, context=ctx).read()\n"
        + "print('ok')\n";
    List<String> uris = capture("python3", "python3 -c \"" + script + "\"", "TLS sessions, 2 with secrets");
    assertEquals(List.of("/py-0", "/py-1"), uris);
  }

  @Test
  void pythonImportingSslLateWithALibsslOfItsOwnEnvironment() throws Exception {
    Requirements.requireCommand("python3", "python3");
    // LD_LIBRARY_PATH: _ssl's libssl and libcrypto are copies no rescan of the library directories
    // sees. The import comes after the rescans of a started program (0.1 s and, before, 1 s); the
    // dlopen of _ssl, whose name says nothing of TLS, has its process looked at again 0.1 s later.
    Path system = Path.of("/usr/lib/x86_64-linux-gnu");
    Requirements.require(Files.exists(system.resolve("libssl.so.3")), system + "/libssl.so.3 (apt-get install libssl3)");
    Path lib = Files.createDirectory(dir.resolve("env-lib"));
    for (String library : new String[] {"libssl.so.3", "libcrypto.so.3"}) {
      Files.copy(system.resolve(library), lib.resolve(library));
    }
    String script = "import time; time.sleep(1.3)\n"
        + "import ssl, urllib.request\n"
        + "time.sleep(0.5)\n"
        + "ctx = ssl._create_unverified_context()\n"
        + "for i in range(2):\n"
        + "    urllib.request.urlopen('https://127.0.0.1:PORT/venv-%d' % i, context=ctx).read()\n"
        + "print('ok')\n";
    List<String> uris = capture("python3", "LD_LIBRARY_PATH=" + lib + " python3 -c \"" + script + "\"",
        lib.resolve("libcrypto.so.3") + " (pid ");
    assertEquals(List.of("/venv-0", "/venv-1"), uris, "both requests, from the environment's own libcrypto");
  }

  @Test
  void anOpenSslProgramInAChrootOfItsOwnInAnotherMountNamespace() throws Exception {
    Requirements.requireCommand("unshare", "util-linux");
    Path root = ProgramRoot.build(dir.resolve("root"), Path.of("/usr/bin/openssl"), "/usr/bin/rootedssl", Map.of(),
        library -> true);
    String request = "printf 'GET /rooted-%d HTTP/1.0\\r\\n\\r\\n'";
    String run = " | unshare -m chroot " + root + " /usr/bin/rootedssl s_client -quiet -connect 127.0.0.1:PORT";
    List<String> uris = capture("rootedssl", String.format(request, 0) + run + "; " + String.format(request, 1) + run
        + "; echo ok", "libcrypto.so.3 (pid ");
    assertEquals(List.of("/rooted-0", "/rooted-1"), uris,
        "a program with its own libcrypto, traced from its first handshake");
  }
}

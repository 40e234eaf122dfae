// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.capture;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tlscap.testing.Command;
import dev.tlscap.testing.Nginx;
import dev.tlscap.testing.Requirements;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * End to end, tlscap inside Wireshark: {@code --extcap-install} into a personal extcap folder (a
 * HOME of the test's own), the real tshark lists tlscap's interfaces and captures from one, and the
 * HTTP requests of curl against nginx show decrypted as they arrive.
 */
@Tag("e2e")
class ExtcapIT {
  @TempDir Path dir;

  @BeforeAll
  static void machine() {
    Requirements.requireRoot();
    Requirements.requireCommand("tshark", "tshark");
    Requirements.requireCommand("curl", "curl");
    Requirements.requireCommand("bpftool", "bpftool");
  }

  private Map<String, String> home() {
    return Map.of("HOME", dir.resolve("home").toString());
  }

  private Command.Result tlscap(String... args) {
    return Command.run(Duration.ofSeconds(60), dir, home(), TlscapProcess.command(args).toArray(new String[0]));
  }

  /** The BPF links of the host (tlscap's uprobes, exec tracepoint and TC links among them). */
  static long bpfLinks() {
    return Command.run(Duration.ofSeconds(10), "bpftool", "link", "show").stdout().lines()
        .filter(l -> l.matches("\\d+: .*")).count();
  }

  @Test
  void tsharkListsCapturesAndDecryptsLive() throws Exception {
    Files.createDirectories(dir.resolve("home"));
    Command.Result install = tlscap("--extcap-install");
    assertEquals(0, install.exitCode(), install.stderr());
    Path launcher = dir.resolve("home/.config/wireshark/extcap/tlscap"); // tshark 4.0's personal folder
    assertTrue(install.stdout().startsWith("tlscap: extcap launcher written to " + launcher + " (for Wireshark 4.0)"),
        install.stdout());
    assertEquals("rwxr-xr-x", PosixFilePermissions.toString(Files.getPosixFilePermissions(launcher)));

    String list = Command.run(Duration.ofSeconds(60), dir, home(), "tshark", "-D").check().stdout();
    assertTrue(list.contains(". tlscap-lo (tlscap: lo)") && list.contains(". tlscap-any (tlscap: any)"), list);

    assertEquals(List.of("dlt {number=1}{name=EN10MB}{display=Ethernet (TLS decrypted by its DSBs)}"),
        tlscap("--extcap-dlts", "--extcap-interface", "tlscap-lo").stdout().lines().toList());
    String config = tlscap("--extcap-config", "--extcap-interface", "tlscap-lo").stdout();
    assertTrue(config.contains("{call=--comm}") && config.contains("{call=--java}{display=") && config.contains("{type=boolflag}"),
        config);
    Command.Result badFilter = tlscap("--extcap-interface", "tlscap-lo", "--extcap-capture-filter", "port foo");
    assertEquals(1, badFilter.exitCode(), "Wireshark's filter check: not valid");
    assertEquals("the filter 'port foo' does not compile: unknown port 'foo'", badFilter.stdout().strip());
    assertEquals(0, tlscap("--extcap-interface", "tlscap-lo", "--extcap-capture-filter", "tcp port 443").exitCode());
    assertEquals(0, tlscap("--extcap-interface", "tlscap-lo", "--extcap-capture-filter", "not port 22 and greater 60").exitCode());
    Command.Result badInterface = tlscap("--capture", "--extcap-interface", "eth0", "--fifo", dir.resolve("f").toString());
    assertEquals(2, badInterface.exitCode());
    assertEquals("tlscap: --extcap-interface eth0: tlscap's interfaces are named tlscap-IFACE (see --extcap-interfaces)",
        badInterface.stderr().strip());

    Requirements.requireCommand("nginx", "nginx-light");
    long linksBefore = bpfLinks();
    try (Nginx nginx = Nginx.start(dir, List.of(), "127.0.0.1")) {
      String url = "https://127.0.0.1:" + nginx.port();
      List<String> argv = new ArrayList<>(List.of("tshark", "-i", "tlscap-lo", "-f", "port " + nginx.port(), "-a", "duration:20",
          "-l", "-Y", "http.request or http2.headers.path", "-T", "fields", "-e", "http.request.uri", "-e", "http2.headers.path"));
      try (Command.Background tshark = Command.Background.start(dir, home(), argv.toArray(new String[0]))) {
        // requests until the first shows decrypted in tshark's output (tlscap takes a second or two to start)
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        int tries = 0;
        while (!tshark.stdout().contains("/extcap-h1") && System.nanoTime() < deadline) {
          CaptureIT.curl("--http1.1", url + "/extcap-h1-" + tries++);
          Thread.sleep(500);
        }
        assertEquals(Nginx.BODY, CaptureIT.curl("--http2", url + "/extcap-h2").stdout());
        deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (!tshark.stdout().contains("/extcap-h2") && System.nanoTime() < deadline) {
          Thread.sleep(100);
        }
        String live = tshark.stdout();
        assertTrue(live.contains("/extcap-h1-") && live.contains("\t/extcap-h2"), "decrypted as it arrives: " + live
            + tshark.stderr());
        tshark.waitFor(Duration.ofSeconds(40));
        assertTrue(tshark.stderr().lines().noneMatch(l -> l.contains("tlscap: ") && !l.contains("Capturing on")),
            "nothing from tlscap but the capture (no 'listening on', no broken pipe): " + tshark.stderr());
      }
      long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
      while (bpfLinks() > linksBefore && System.nanoTime() < deadline) {
        Thread.sleep(100);
      }
      assertEquals(linksBefore, bpfLinks(), "no probe or TC link left behind once tshark stopped");
      assertEquals("", Command.run(Duration.ofSeconds(10), "pgrep", "-f", "--", "--extcap-interface tlscap-lo").stdout(),
          "tlscap ended with the capture");
    }
  }
}

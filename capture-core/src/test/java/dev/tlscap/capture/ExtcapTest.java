// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.capture;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class ExtcapTest {
  @Test
  void wiresharkVersions() {
    assertArrayEquals(new int[] {4, 0}, Extcap.parseVersion(
        "Running as user \"root\" and group \"root\". This could be dangerous.\nTShark (Wireshark) 4.0.17 (Git v4.0.17)\n"));
    assertArrayEquals(new int[] {4, 2}, Extcap.parseVersion("Wireshark 4.2.2 (Git v4.2.2 packaged as 4.2.2-1.1build3).\n"));
    assertNull(Extcap.parseVersion("bash: tshark: command not found"));
  }

  @Test
  void stderrOfACaptureCarriesOnlyTlscapsWarningsAndErrors() {
    ByteArrayOutputStream seen = new ByteArrayOutputStream();
    Extcap.Stderr filter = new Extcap.Stderr(new PrintStream(seen, true, StandardCharsets.UTF_8));
    PrintStream err = new PrintStream(filter, true, StandardCharsets.UTF_8);
    err.println("listening on lo; TLS secrets from 5 libraries");
    err.println("tlscap: cannot write /tmp/wireshark_extcap_x: the reader of the stream went away (Broken pipe)");
    err.println("54 packets captured, 0 dropped by the kernel");
    assertEquals("", seen.toString(StandardCharsets.UTF_8));
    assertEquals(0, filter.exitCode(1), "Wireshark stopped reading: the end of an extcap capture");
    err.println("tlscap: warning: no OpenSSL 3 library found yet");
    assertEquals("tlscap: warning: no OpenSSL 3 library found yet\n", seen.toString(StandardCharsets.UTF_8));
    assertEquals(1, filter.exitCode(1), "with an error of its own the exit code stays");
  }

  @Test
  void interfaceNames() {
    assertEquals("lo", Extcap.captureInterface("tlscap-lo"));
    assertEquals("any", Extcap.captureInterface("tlscap-any"));
    assertEquals("any", Extcap.hostInterfaces().get(0));
  }
}

// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Map;
import org.junit.jupiter.api.Test;

class InstallerTest {
  @Test
  void theSocketThenAHelloThatMayHoldCommas() {
    assertEquals(Map.of("socket", "/tmp/.tlscap-1-2.sock", "hello", "pid 2, a, b=c"),
        Installer.options("socket=/tmp/.tlscap-1-2.sock,hello=pid 2, a, b=c"));
    assertEquals(Map.of(), Installer.options(null));
    assertEquals(Map.of("socket", ""), Installer.options("socket="));
  }
}

// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.pcapng;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class KeyLogLineTest {
  static final String RANDOM = "03257e7c531a961b0fbf27ffab5bfe1a9064a1474bcd26aee8add8951f43bf4d";
  static final String SECRET = "c082b07b41a8a9ada434733755b0dfd4d1410fab81b2827db1b6b187a294751ae7ee8236945047b6f3efe037b396e465";

  @TempDir Path dir;

  @Test
  void parsesWellFormedLines() {
    KeyLogLine l = KeyLogLine.parse("CLIENT_TRAFFIC_SECRET_0 " + RANDOM + " " + SECRET + "\n");
    assertEquals("CLIENT_TRAFFIC_SECRET_0", l.label());
    assertEquals(RANDOM, l.clientRandomHex());
    assertEquals("CLIENT_TRAFFIC_SECRET_0 " + RANDOM + " " + SECRET, l.toString());
    assertEquals("CLIENT_TRAFFIC_SECRET_0 " + RANDOM + " " + SECRET + "\n",
        new String(l.lineBytes(), java.nio.charset.StandardCharsets.US_ASCII), "as a file holds it");
    assertEquals(RANDOM, KeyLogLine.parse("CLIENT_RANDOM " + RANDOM.toUpperCase() + " " + SECRET + "\r\n").clientRandomHex());
  }

  @Test
  void refusesMalformedLinesWithoutQuotingTheSecret() {
    String[][] cases = {
        {"CLIENT_RANDOM " + RANDOM, "three fields"},
        {"CLIENT_RANDOM  " + RANDOM + " " + SECRET, "three fields"},
        {"client_random " + RANDOM + " " + SECRET, "label must be upper-case"},
        {"CLIENT_RANDOM " + RANDOM.substring(2) + " " + SECRET, "client random must be exactly 64 hex digits, got 62"},
        {"CLIENT_RANDOM " + RANDOM.replace('a', 'g') + " " + SECRET, "not all hex digits"},
        {"CLIENT_RANDOM " + RANDOM + " " + SECRET + "0", "even number"},
        {"CLIENT_RANDOM " + RANDOM + " " + SECRET.replace('a', 'z'), "not all hex digits"},
        {"", "three fields"},
    };
    for (String[] c : cases) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> KeyLogLine.parse(c[0]), c[0]);
      assertTrue(e.getMessage().contains(c[1]), e.getMessage());
      assertFalse(e.getMessage().contains(SECRET.substring(0, 16)), "no secret in: " + e.getMessage());
    }
  }

  @Test
  void flowSecretsValidateAndIgnoreDuplicateLines() throws Exception {
    PcapngWriter w = PcapngWriter.builder().open(dir.resolve("k.pcapng"));
    FlowSecrets s = w.newFlowSecrets();
    s.add("SERVER_TRAFFIC_SECRET_0 " + RANDOM + " " + SECRET).add("SERVER_TRAFFIC_SECRET_0 " + RANDOM + " " + SECRET);
    assertEquals(1, s.lineCount());
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> s.addAll("# comment\nCLIENT_RANDOM " + RANDOM + " " + SECRET + "\nBROKEN line\n"));
    assertTrue(e.getMessage().startsWith("line 3: malformed key log line"), e.getMessage());
    assertEquals(2, s.lineCount());
    s.release();
    assertThrows(IllegalStateException.class, () -> s.add("CLIENT_RANDOM " + RANDOM + " " + SECRET));
    w.close();
  }
}

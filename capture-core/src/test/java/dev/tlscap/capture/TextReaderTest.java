// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.capture;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tlscap.capture.text.HumanText;
import dev.tlscap.capture.text.JsonText;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code tlscap -r FILE --text} on a capture tlscap made (curl against nginx on lo, both traced):
 * HTTP/1.1 over TLS 1.3, HTTP/2 over TLS 1.3, HTTP/1.1 over TLS 1.2 with a gzip body, HTTP/2 with a
 * gzip body. The file's own DSBs key it; without them every connection is listed as not decrypted.
 */
class TextReaderTest {
  static final Path FIXTURE = Path.of("src/test/resources/text/nginx-curl-h1-h2-gzip.pcapng");
  @TempDir Path dir;

  record Run(int exit, String out, String err) {}

  static Run read(Path file, boolean json, int max) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    TextTap tap = new TextTap(json ? new JsonText(out) : new HumanText(out), max);
    int exit = TextReader.run(file.toString(), tap, new PrintStream(err, true, StandardCharsets.UTF_8));
    return new Run(exit, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
  }

  static List<JsonNode> messages(String jsonLines) throws IOException {
    ObjectMapper mapper = new ObjectMapper();
    List<JsonNode> all = new ArrayList<>();
    for (String line : jsonLines.split("\n")) {
      all.add(mapper.readTree(line)); // every line one whole object
    }
    return all;
  }

  @Test
  void everyRequestAndResponseUnderItsProcess() throws IOException {
    Run run = read(FIXTURE, true, 4096);
    assertEquals(0, run.exit(), run.err());
    List<JsonNode> all = messages(run.out());
    List<String> requests = all.stream().filter(m -> m.path("kind").asText().equals("request"))
        .map(m -> m.path("line").asText()).collect(Collectors.toList());
    assertEquals(List.of("GET /h1-path HTTP/1.1", "GET /h2-path HTTP/2", "GET /gz HTTP/1.1", "POST /gz HTTP/2"), requests);
    for (JsonNode m : all) {
      String kind = m.path("kind").asText();
      if (kind.equals("request")) {
        assertEquals("curl", m.path("src").path("comm").asText(), m.toString());
        assertEquals("nginx", m.path("dst").path("comm").asText(), m.toString());
        assertEquals("client-to-server", m.path("direction").asText());
      } else if (kind.equals("response")) {
        assertEquals("nginx", m.path("src").path("comm").asText(), m.toString());
        assertTrue(m.path("src").path("pid").asInt() > 0);
      }
    }
    List<JsonNode> responses = all.stream().filter(m -> m.path("kind").asText().equals("response")).collect(Collectors.toList());
    assertEquals(4, responses.size(), run.out());
    assertEquals("tlscap-nginx-body", responses.get(0).path("body").asText());
    assertEquals("HTTP/1.1 200 OK", responses.get(0).path("line").asText());
    assertTrue(header(responses.get(0), "Content-Type").equals("text/plain"), "a header, as sent");
    assertEquals("tlscap-nginx-body", responses.get(1).path("body").asText(), "HTTP/2 DATA");
    assertEquals("HTTP/2 200", responses.get(1).path("line").asText());
    assertEquals("HTTP/2", responses.get(1).path("protocol").asText());
    assertEquals(1, responses.get(1).path("stream").asInt());
    for (JsonNode gz : List.of(responses.get(2), responses.get(3))) {
      assertEquals("gzipped-body-gzipped-body-gzipped-body", gz.path("body").asText(), "shown inflated: " + gz);
      assertTrue(gz.path("note").asText().startsWith("gzip, 36 bytes as sent"), gz.toString());
      assertEquals(38, gz.path("body_bytes").asInt());
    }
    List<String> handshakes = all.stream().filter(m -> m.path("kind").asText().equals("handshake"))
        .map(m -> m.path("note").asText()).collect(Collectors.toList());
    assertEquals(List.of("TLS 1.3 TLS_AES_256_GCM_SHA384, ALPN http/1.1", "TLS 1.3 TLS_AES_256_GCM_SHA384, ALPN h2",
        "TLS 1.2 TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, ALPN http/1.1", "TLS 1.3 TLS_AES_256_GCM_SHA384, ALPN h2"), handshakes);
    assertTrue(run.err().contains("text: " + all.size() + " messages; 4 TLS connections, 0 not decrypted"), run.err());
  }

  private static String header(JsonNode m, String name) {
    for (JsonNode h : m.path("headers")) {
      if (h.get(0).asText().equalsIgnoreCase(name)) {
        return h.get(1).asText();
      }
    }
    return null;
  }

  @Test
  void humanTextShowsTheMessagesAsOnTheWire() {
    Run run = read(FIXTURE, false, 4096);
    assertEquals(0, run.exit(), run.err());
    String out = run.out();
    assertTrue(out.matches("(?s).*curl\\[\\d+] 127\\.0\\.0\\.1:\\d+ -> nginx\\[\\d+] 127\\.0\\.0\\.1:9443  #1 HTTP/1\\.1 request\n"
        + "GET /h1-path HTTP/1\\.1\nHost: 127\\.0\\.0\\.1:9443\n.*"), out);
    assertTrue(out.contains("Content-Length: 17\nConnection: keep-alive\n\ntlscap-nginx-body\n"), out);
    assertTrue(out.contains("#2 HTTP/2 stream 1 request\nGET /h2-path HTTP/2\n:scheme: https\n"), out);
    assertFalse(out.contains(":method: GET"), "pseudo-headers already in the request line");
  }

  @Test
  void textMaxCapsEachBody() throws IOException {
    Run run = read(FIXTURE, true, 6);
    List<JsonNode> bodies = messages(run.out()).stream().filter(m -> m.has("body")).collect(Collectors.toList());
    assertFalse(bodies.isEmpty());
    for (JsonNode m : bodies) {
      assertTrue(m.path("body").asText().length() <= 6, m.toString());
      assertTrue(m.path("truncated").asBoolean(), m.toString());
    }
    String human = read(FIXTURE, false, 6).out();
    assertTrue(human.contains("tlscap\n[... 11 more bytes not shown: --text-max]\n"), human);
  }

  @Test
  void withoutItsSecretsEveryConnectionIsListed() throws IOException {
    Path stripped = dir.resolve("no-dsb.pcapng");
    Files.write(stripped, withoutBlocks(Files.readAllBytes(FIXTURE), 0x0000000A));
    Run run = read(stripped, true, 4096);
    assertEquals(0, run.exit(), run.err());
    List<JsonNode> all = messages(run.out());
    assertEquals(4, all.size(), run.out());
    for (JsonNode m : all) {
      assertEquals("no secrets", m.path("kind").asText());
      assertTrue(m.path("note").asText().matches("no (CLIENT|SERVER)_HANDSHAKE_TRAFFIC_SECRET for its client random"
          + "|no CLIENT_RANDOM line for its client random"), m.toString());
      assertEquals("curl", m.path("src").path("comm").asText());
    }
    assertTrue(run.err().contains("4 TLS connections, 4 not decrypted (listed)"), run.err());
  }

  @Test
  void aBrokenFileEndsWithOneLineAfterWhatItHeld() throws IOException {
    byte[] whole = Files.readAllBytes(FIXTURE);
    Path cut = dir.resolve("cut.pcapng");
    Files.write(cut, Arrays.copyOf(whole, whole.length - 700));
    Run run = read(cut, false, 4096);
    assertEquals(1, run.exit());
    assertTrue(run.out().contains("GET /h1-path HTTP/1.1"), "what came before is shown");
    assertEquals(1, run.err().lines().count(), run.err());
    assertTrue(run.err().startsWith("tlscap: " + cut + ": "), run.err());
  }

  @Test
  void notPcapngSaysWhatItIs() throws IOException {
    Path pcap = dir.resolve("old.pcap");
    Files.write(pcap, new byte[] {(byte) 0xd4, (byte) 0xc3, (byte) 0xb2, (byte) 0xa1, 2, 0, 4, 0});
    Run run = read(pcap, false, 4096);
    assertEquals(1, run.exit());
    assertTrue(run.err().startsWith("tlscap: -r " + pcap + ": a pcap file, without TLS secrets"), run.err());
    Run missing = read(dir.resolve("none.pcapng"), false, 4096);
    assertEquals("tlscap: -r " + dir.resolve("none.pcapng") + ": no such file\n", missing.err());
    assertEquals("", missing.out());
  }

  /** The file's bytes without the blocks of {@code type} (little-endian pcapng). */
  static byte[] withoutBlocks(byte[] file, int type) {
    ByteBuffer in = ByteBuffer.wrap(file).order(ByteOrder.LITTLE_ENDIAN);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    int at = 0;
    while (at < file.length) {
      int blockType = in.getInt(at);
      int length = in.getInt(at + 4);
      if (blockType != type) {
        out.write(file, at, length);
      }
      at += length;
    }
    return out.toByteArray();
  }
}

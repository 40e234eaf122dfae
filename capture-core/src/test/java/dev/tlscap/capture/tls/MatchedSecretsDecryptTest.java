// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.capture.tls;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.tlscap.pcapng.Direction;
import dev.tlscap.pcapng.FlowSecrets;
import dev.tlscap.pcapng.InterfaceDescription;
import dev.tlscap.pcapng.PcapngWriter;
import dev.tlscap.testing.Requirements;
import dev.tlscap.testing.Tshark;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.FieldSource;

/**
 * What the matcher keys is what Wireshark needs: each recorded fixture, written through the
 * pcapng writer with only the lines the matcher keyed (from secrets without client random) as
 * each flow's DSB, decrypts in the real tshark with no key file.
 */
class MatchedSecretsDecryptTest {
  static final List<String> FIXTURES = RecordedTraffic.ALL;
  @TempDir Path dir;

  @BeforeEach
  void needsTshark() {
    Requirements.requireCommand("tshark", "tshark");
  }

  @ParameterizedTest
  @FieldSource("FIXTURES")
  void theKeyedLinesDecryptTheConnectionInTshark(String fixture) throws Exception {
    RecordedTraffic t = RecordedTraffic.load(fixture);
    Replay r = new Replay(t);
    for (String random : t.randoms()) {
      r.secrets(SecretMatcherTest.clientSecrets(t, random));
    }
    r.packets();

    Path file = dir.resolve(fixture + ".pcapng");
    PcapngWriter w = PcapngWriter.builder().open(file);
    int lo = w.addInterface(new InterfaceDescription("lo", null, t.linkType, InterfaceDescription.DEFAULT_SNAP_LENGTH,
        null, null));
    FlowSecrets[] flows = new FlowSecrets[r.streams.length];
    for (int i = 0; i < flows.length; i++) {
      flows[i] = w.newFlowSecrets();
      r.keyedLines(i).forEach(flows[i]::add);
    }
    for (RecordedTraffic.Segment s : t.segments) {
      w.writePacket(lo, s.timestampNanos(), ByteBuffer.wrap(s.frame()), 0, s.frame().length, s.originalLength(),
          s.side() == TlsStream.Side.CLIENT ? Direction.OUTBOUND : Direction.INBOUND, null, 0, flows[s.connection()]);
    }
    w.close();

    List<String> uris = Tshark.fields(file, "http.request", "http.request.uri").stream().map(row -> row.get(0))
        .toList();
    assertEquals(Collections.nCopies(t.connections, "/hello.txt"), uris, "requests tshark decrypted");
  }
}

// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.pcapng;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tlscap.testing.Requirements;
import dev.tlscap.testing.Tshark;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The recorded TLS 1.3 and TLS 1.2 sessions, rewritten through the writer with their secrets as
 * DSBs, decrypt in tshark with no key file; a DSB after the packets does not (the check can fail).
 */
class TlsDecryptionTest {
  @TempDir Path dir;
  TlsFixture fixture;

  @BeforeEach
  void setUp() throws Exception {
    Requirements.requireCommand("tshark", "tshark");
    fixture = TlsFixture.load();
  }

  /** HTTP request URIs tshark decrypts, with every key log preference cleared. */
  static List<String> decryptedUris(Path file) {
    return Tshark.fields(file, "http.request", "http.request.uri").stream().map(r -> r.get(0)).toList();
  }

  @Test
  void flowSecretsWrittenBeforeThePacketsDecryptBothSessionsWithNoKeyFile() throws Exception {
    Path file = dir.resolve("tls.pcapng");
    PcapngWriter w = PcapngWriter.builder().open(file);
    int lo = w.addInterface(new InterfaceDescription("lo", null, fixture.linkType, 262144, "tcp port 44330", null));
    List<FlowSecrets> flows = new ArrayList<>();
    for (List<String> lines : fixture.keyLogByFlow) {
      FlowSecrets s = w.newFlowSecrets();
      lines.forEach(s::add);
      flows.add(s);
    }
    ProcessAnnotation curl = ProcessAnnotation.forProcess(4242, "curl");
    for (TlsFixture.Packet p : fixture.packets) {
      assertTrue(w.writePacket(lo, p.timestampNanos(), p.buffer(), 0, p.data().length, p.originalLength(),
          p.fromClient() ? Direction.OUTBOUND : Direction.INBOUND, curl, 4242, flows.get(p.flow())));
    }
    w.close();

    assertEquals(TlsFixture.URIS, decryptedUris(file));
    // One DSB per flow, each right before the flow's first packet, each with only its own lines.
    List<PcapngBlock> blocks = PcapngReader.readAll(file);
    List<Integer> dsbIndexes = new ArrayList<>();
    for (int i = 0; i < blocks.size(); i++) {
      if (blocks.get(i) instanceof DecryptionSecretsBlock) {
        dsbIndexes.add(i);
      }
    }
    assertEquals(2, dsbIndexes.size(), TestPackets.blockNames(file).toString());
    assertEquals(2, dsbIndexes.get(0), "the first flow's DSB comes right after SHB and IDB");
    DecryptionSecretsBlock first = (DecryptionSecretsBlock) blocks.get(dsbIndexes.get(0));
    assertEquals(DecryptionSecretsBlock.TLS_KEY_LOG, first.secretsType());
    assertEquals(String.join("\n", fixture.keyLogByFlow.get(0)) + "\n", first.keyLog());
    DecryptionSecretsBlock second = (DecryptionSecretsBlock) blocks.get(dsbIndexes.get(1));
    assertEquals(String.join("\n", fixture.keyLogByFlow.get(1)) + "\n", second.keyLog());
  }

  @Test
  void secretsAddedDuringTheHandshakeGoIntoAFollowUpDsbWithOnlyTheNewLines() throws Exception {
    // The pipeline learns TLS 1.3 secrets one by one; each new line must precede the packets it decrypts.
    Path file = dir.resolve("incremental.pcapng");
    PcapngWriter w = PcapngWriter.builder().open(file);
    int lo = w.addInterface(new InterfaceDescription("lo", null, fixture.linkType, 262144, null, null));
    FlowSecrets[] flows = {w.newFlowSecrets(), w.newFlowSecrets()};
    List<String> tls13 = fixture.keyLogByFlow.get(0);
    int serverHello = fixture.firstTlsRecord(0, false, 22);
    for (int i = 0; i < fixture.packets.size(); i++) {
      TlsFixture.Packet p = fixture.packets.get(i);
      if (i == serverHello) {
        tls13.stream().filter(l -> l.contains("HANDSHAKE")).forEach(flows[0]::add);
      }
      if (i == serverHello + 1) {
        tls13.forEach(flows[0]::add); // the rest; lines already there are ignored
      }
      if (p.flow() == 1 && flows[1].lineCount() == 0) {
        fixture.keyLogByFlow.get(1).forEach(flows[1]::add);
      }
      w.writePacket(lo, p.timestampNanos(), p.buffer(), 0, p.data().length, p.originalLength(),
          Direction.UNKNOWN, null, 0, flows[p.flow()]);
    }
    w.close();
    assertEquals(TlsFixture.URIS, decryptedUris(file));
    List<String> dsbs = PcapngReader.readAll(file).stream()
        .filter(b -> b instanceof DecryptionSecretsBlock).map(b -> ((DecryptionSecretsBlock) b).keyLog()).toList();
    assertEquals(3, dsbs.size());
    assertEquals(2, dsbs.get(0).lines().count(), "handshake secrets first");
    assertEquals(3, dsbs.get(1).lines().count(), "then only the 3 new lines, nothing repeated");
    assertTrue(dsbs.get(1).lines().noneMatch(l -> l.contains("HANDSHAKE")));
  }

  @Test
  void aDsbAfterThePacketsDecryptsNothing() throws Exception {
    Path file = dir.resolve("late.pcapng");
    PcapngWriter w = PcapngWriter.builder().open(file);
    int lo = w.addInterface(new InterfaceDescription("lo", null, fixture.linkType, 262144, null, null));
    for (TlsFixture.Packet p : fixture.packets) {
      w.writePacket(lo, p.timestampNanos(), p.buffer(), 0, p.data().length, p.originalLength(), Direction.UNKNOWN);
    }
    FlowSecrets all = w.newFlowSecrets().addAll(fixture.keyLog);
    assertTrue(w.writeSecrets(all));
    w.close();
    assertEquals(List.of("SHB", "IDB"), TestPackets.blockNames(file).subList(0, 2));
    assertTrue(TestPackets.blockNames(file).contains("DSB"));
    assertEquals(List.of(), decryptedUris(file), "a DSB after the packets must not decrypt them");
    assertEquals(2, Tshark.packetCount(file, "tls.handshake.type == 1"), "the TLS sessions are there");
  }
}

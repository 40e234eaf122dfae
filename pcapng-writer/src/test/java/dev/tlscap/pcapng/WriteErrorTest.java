// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.pcapng;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Errors a user can meet without root: a missing or vanished directory. */
class WriteErrorTest {
  @TempDir Path dir;

  @Test
  void aMissingDirectoryIsOneClearLine() {
    Path file = dir.resolve("nope/out.pcapng");
    PcapngWriteException e = assertThrows(PcapngWriteException.class, () -> PcapngWriter.builder().open(file));
    assertEquals("cannot create " + file + ": directory " + dir.resolve("nope")
        + " does not exist (it may have been removed; create it or choose another -w path)", e.getMessage());
    assertEquals(file, e.file());
  }

  @Test
  void aDirectoryThatVanishesStopsTheWriterAndKeepsCompletedFiles() throws Exception {
    Path sub = Files.createDirectory(dir.resolve("sub"));
    RecordingListener events = new RecordingListener();
    PcapngWriter w = PcapngWriter.builder().rotation(RotationPolicy.fromFlags("2k", null, null)).listener(events)
        .open(sub.resolve("v.pcapng"));
    int id = w.addInterface(InterfaceDescription.ethernet("eth0"));
    int i = 0;
    while (w.filesOpened() < 2) {
      assertTrue(w.writePacket(id, TestPackets.T0 + i, TestPackets.udp(100, 1, i), 0, 100, 100, Direction.INBOUND));
      i++;
    }
    Path moved = Files.move(sub, dir.resolve("moved")); // the -w directory is gone
    boolean accepted = true;
    for (int n = 0; n < 1000 && accepted; n++, i++) {
      accepted = w.writePacket(id, TestPackets.T0 + i, TestPackets.udp(100, 1, i), 0, 100, 100, Direction.INBOUND);
    }
    assertFalse(accepted, "the writer stops");
    assertEquals(1, events.failures.size(), events.failures.toString());
    assertEquals("cannot create " + sub.resolve("v-00003.pcapng") + ": directory " + sub
        + " does not exist (it may have been removed; create it or choose another -w path)", events.failures.get(0));
    assertEquals(events.failures.get(0), w.failure().orElseThrow().getMessage());
    assertFalse(w.writePacket(id, TestPackets.T0, TestPackets.udp(100, 1, 0), 0, 100, 100, Direction.INBOUND));
    assertFalse(w.tick(TestPackets.T0));
    w.close();
    assertEquals(1, events.failures.size(), "reported once");
    // The files completed before are intact where they went.
    assertEquals(2, TestPackets.files(moved).size());
    for (Path f : TestPackets.files(moved)) {
      assertEquals("ISB", TestPackets.blockNames(f).get(TestPackets.blockNames(f).size() - 1));
    }
  }
}

// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.pcapng;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class RotationPolicyTest {
  @Test
  void fileSizesFollowTcpdump() {
    assertEquals(100_000_000L, RotationPolicy.parseFileSize("100"));
    assertEquals(1_000_000L, RotationPolicy.parseFileSize("1"));
    assertEquals(512 * 1024L, RotationPolicy.parseFileSize("512k"));
    assertEquals(512 * 1024L, RotationPolicy.parseFileSize("512K"));
    assertEquals(3 * 1048576L, RotationPolicy.parseFileSize("3m"));
    assertEquals(2 * 1073741824L, RotationPolicy.parseFileSize("2G"));
    for (String bad : new String[] {"", " ", "0", "-1", "1.5", "10x", "k", "1kb", "99999999999999999999", "0x10", "１"}) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> RotationPolicy.parseFileSize(bad), bad);
      assertTrue(e.getMessage().startsWith("invalid file size '" + bad + "' for -C"), e.getMessage());
    }
  }

  @Test
  void secondsAndCounts() {
    assertEquals(3600, RotationPolicy.parseRotateSeconds("3600"));
    assertEquals(10, RotationPolicy.parseFileCount("10"));
    for (String bad : new String[] {"", "0", "-5", "1.5", "1s", "abc"}) {
      assertTrue(assertThrows(IllegalArgumentException.class, () -> RotationPolicy.parseRotateSeconds(bad))
          .getMessage().contains("for -G"));
      assertTrue(assertThrows(IllegalArgumentException.class, () -> RotationPolicy.parseFileCount(bad))
          .getMessage().contains("for -W"));
    }
    assertThrows(IllegalArgumentException.class, () -> RotationPolicy.parseFileCount("3000000000"));
  }

  @Test
  void combinationsAsTcpdumpDocumentsThem() {
    RotationPolicy none = RotationPolicy.fromFlags(null, null, null);
    assertFalse(none.rotates());
    RotationPolicy ring = RotationPolicy.fromFlags("1m", null, "4");
    assertTrue(ring.isRing());
    assertFalse(ring.stopsAfterFileCount());
    RotationPolicy ringAndTime = RotationPolicy.fromFlags("1m", "60", "4");
    assertTrue(ringAndTime.isRing());
    assertFalse(ringAndTime.stopsAfterFileCount());
    RotationPolicy stop = RotationPolicy.fromFlags(null, "60", "4");
    assertTrue(stop.stopsAfterFileCount());
    assertFalse(stop.isRing());
    assertEquals(60_000_000_000L, stop.rotateNanos());
    assertEquals("-C 1m -G 60 -W 4", ringAndTime.toString());
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> RotationPolicy.fromFlags(null, null, "3"));
    assertEquals("-W needs -C or -G: it limits the number of rotated files", e.getMessage());
  }

  @Test
  void fileNames() {
    CaptureFileNames single = CaptureFileNames.of(Path.of("/data/out.pcapng"), RotationPolicy.NONE);
    assertEquals(Path.of("/data/out.pcapng"), single.file(1));
    CaptureFileNames rotated = CaptureFileNames.of(Path.of("/data/out.pcapng"), RotationPolicy.fromFlags("100", null, null));
    assertEquals(Path.of("/data/out-00001.pcapng"), rotated.file(1));
    assertEquals(Path.of("/data/out-00042.pcapng"), rotated.file(42));
    assertEquals(Path.of("/data/out-123456.pcapng"), rotated.file(123456));
    assertEquals(Path.of("cap-00002.pcap"), CaptureFileNames.of(Path.of("cap.pcap"), RotationPolicy.fromFlags(null, "5", null)).file(2));
    assertEquals(Path.of("/tmp/capture-00003"), CaptureFileNames.of(Path.of("/tmp/capture"), RotationPolicy.fromFlags("1", null, null)).file(3));
    assertEquals(Path.of("/data/out-00001.pcapng.zst"), CaptureFileNames.compressed(rotated.file(1), Compression.ZSTD));
    assertEquals(Compression.GZIP, Compression.parse("gzip"));
    assertEquals(Compression.ZSTD, Compression.ofFileName(Path.of("a.pcapng.zst")));
    assertThrows(IllegalArgumentException.class, () -> Compression.parse("lz4"));
  }
}

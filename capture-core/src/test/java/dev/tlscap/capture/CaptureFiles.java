// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.capture;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tlscap.pcapng.EnhancedPacketBlock;
import dev.tlscap.pcapng.InterfaceDescriptionBlock;
import dev.tlscap.pcapng.InterfaceStatisticsBlock;
import dev.tlscap.pcapng.PcapngBlock;
import dev.tlscap.pcapng.PcapngFormatException;
import dev.tlscap.pcapng.PcapngReader;
import dev.tlscap.pcapng.SectionHeaderBlock;
import dev.tlscap.testing.Command;
import dev.tlscap.testing.Tshark;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * Reads the files a test's tlscap left, the way the fault tests judge them:
 *
 * <ul>
 *   <li><b>complete</b>: the reader reads it to its end, it ends with the Interface Statistics
 *       Blocks, a compressed file passes its compressor's own test ({@code zstd -t}, {@code gzip -t}),
 *       and tshark reads as many packets as it holds EPBs, with exit code 0;
 *   <li><b>readable to its last whole block</b> (the file being written when tlscap was killed): it
 *       starts with an SHB; the reader yields whole blocks and then either the end or a cut-off
 *       block ({@link PcapngFormatException#isTruncated()}, never a corrupt one); tshark prints the
 *       same packets, and fails only with "cut short" when the reader found the cut.
 * </ul>
 */
final class CaptureFiles {
  private CaptureFiles() {}

  /** What a file holds up to its last whole block. */
  record Contents(Path file, List<PcapngBlock> blocks, boolean cut) {
    List<EnhancedPacketBlock> packets() {
      return blocks.stream().filter(b -> b instanceof EnhancedPacketBlock).map(b -> (EnhancedPacketBlock) b).toList();
    }

    /** EPBs of interface {@code id}. */
    long packetsOn(int id) {
      return packets().stream().filter(p -> p.interfaceId() == id).count();
    }

    List<InterfaceStatisticsBlock> statistics() {
      return blocks.stream().filter(b -> b instanceof InterfaceStatisticsBlock).map(b -> (InterfaceStatisticsBlock) b)
          .toList();
    }

    /** The ISB of interface {@code id}; fails if there is none. */
    InterfaceStatisticsBlock statisticsOf(int id) {
      return statistics().stream().filter(s -> s.interfaceId() == id).findFirst()
          .orElseThrow(() -> new AssertionError(file + " has no ISB for interface " + id));
    }

    /** The id of the interface named {@code name} in this file. */
    int interfaceId(String name) {
      int id = 0;
      for (PcapngBlock b : blocks) {
        if (b instanceof InterfaceDescriptionBlock idb) {
          if (name.equals(idb.options().string(InterfaceDescriptionBlock.OPT_NAME).orElse(null))) {
            return id;
          }
          id++;
        }
      }
      throw new AssertionError(file + " has no interface " + name);
    }

    String lastBlockType() {
      return blocks.isEmpty() ? "none" : blocks.get(blocks.size() - 1).typeName();
    }
  }

  /** The pcapng files (compressed or not) in {@code dir} whose names start with {@code prefix}, sorted. */
  static List<Path> list(Path dir, String prefix) {
    try (Stream<Path> s = Files.list(dir)) {
      return s.filter(p -> p.getFileName().toString().startsWith(prefix))
          .filter(p -> p.getFileName().toString().matches(".*\\.pcapng(\\.zst|\\.gz|\\.xz)?")).sorted().toList();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Every file in {@code dir} whose name starts with {@code prefix}, sorted (temporary files included). */
  static List<Path> everything(Path dir, String prefix) {
    try (Stream<Path> s = Files.list(dir)) {
      return s.filter(p -> p.getFileName().toString().startsWith(prefix)).sorted().toList();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Reads whole blocks up to the end or to a cut-off block; fails on anything corrupt. */
  static Contents read(Path file) {
    List<PcapngBlock> blocks = new ArrayList<>();
    boolean cut = false;
    try (PcapngReader r = PcapngReader.open(file)) {
      for (PcapngBlock b = r.next(); b != null; b = r.next()) {
        blocks.add(b);
      }
    } catch (PcapngFormatException e) {
      assertTrue(e.isTruncated(), file + ": only a cut-off last block is acceptable: " + e.getMessage());
      cut = true;
    } catch (IOException e) {
      throw new AssertionError(file + " cannot be read: " + e, e);
    }
    return new Contents(file, blocks, cut);
  }

  /** Asserts that {@code file} is complete (see the class comment) and returns what it holds. */
  static Contents assertComplete(Path file) {
    String name = file.getFileName().toString();
    if (name.endsWith(".zst")) {
      Command.run(Duration.ofSeconds(60), "zstd", "-t", "-q", file.toString()).check();
    } else if (name.endsWith(".gz")) {
      Command.run(Duration.ofSeconds(60), "gzip", "-t", file.toString()).check();
    }
    Contents c = read(file);
    assertTrue(!c.cut(), file + " is cut short");
    assertTrue(!c.blocks().isEmpty() && c.blocks().get(0) instanceof SectionHeaderBlock, file + " starts with an SHB");
    assertEquals("ISB", c.lastBlockType(), file + " ends with its statistics");
    assertEquals(c.packets().size(), Tshark.packetCount(file), file + ": tshark reads every packet");
    return c;
  }

  /** Asserts that {@code file} is readable to its last whole block (see the class comment). */
  static Contents assertReadableToLastWholeBlock(Path file) {
    Contents c = read(file);
    assertTrue(!c.blocks().isEmpty() && c.blocks().get(0) instanceof SectionHeaderBlock,
        file + " starts with an SHB (" + sizeOf(file) + " bytes)");
    Command.Result r = Tshark.run(file, "-n", "-T", "fields", "-e", "frame.number");
    assertTrue(r.exitCode() == 0 || (r.exitCode() == 2 && r.stderr().contains("cut short")),
        file + ": tshark exit " + r.exitCode() + ": " + r.stderr());
    assertEquals(c.packets().size(), r.stdout().lines().count(), file + ": tshark reads the same packets");
    assertEquals(c.cut(), r.exitCode() != 0, file + ": the reader and tshark agree on whether it is cut");
    return c;
  }

  /**
   * tshark's values of {@code field} for the packets matching {@code filter}, with TLS decoded on
   * {@code tlsPorts} whatever the other port is: by port number alone tshark takes a connection from
   * client port 44322 for PCP's pmproxy and never sees its TLS.
   */
  static List<String> tlsColumn(Path file, String filter, String field, int... tlsPorts) {
    List<String> args = new ArrayList<>(List.of("-n"));
    for (int port : tlsPorts) {
      args.addAll(List.of("-d", "tcp.port==" + port + ",tls"));
    }
    args.addAll(List.of("-Y", filter, "-T", "fields", "-e", field));
    return Tshark.run(file, args.toArray(new String[0])).check().stdout().lines().toList();
  }

  static long sizeOf(Path file) {
    try {
      return Files.size(file);
    } catch (IOException e) {
      return -1;
    }
  }
}

// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.bench;

import dev.tlscap.pcapng.EnhancedPacketBlock;
import dev.tlscap.pcapng.InterfaceStatisticsBlock;
import dev.tlscap.pcapng.PcapngBlock;
import dev.tlscap.pcapng.PcapngFormatException;
import dev.tlscap.pcapng.PcapngReader;
import java.io.IOException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/**
 * bench/soak.sh's file check: reads each capture file given (compressed or not) with tlscap's own
 * reader and prints one line per file, then the totals of the last file's Interface Statistics
 * Blocks (the counters of the whole capture):
 *
 * <pre>
 * file out-00001.pcapng.zst packets 10234 complete
 * total files 12 packets 123456 received 123460 dropped 4 broken 0
 * </pre>
 *
 * A file is {@code complete} (read to its end, ending with ISBs), {@code no-statistics} (read to its
 * end without ISBs) or {@code broken: ...} (corrupt or cut short). Exit code 1 if any is broken.
 * Runs from the source with the shaded jar on the class path:
 * {@code java -cp tlscap.jar bench/src/main/java/dev/tlscap/bench/SoakFiles.java FILE...}.
 */
public final class SoakFiles {
  private SoakFiles() {}

  public static void main(String[] args) {
    long packets = 0;
    int broken = 0;
    Map<Integer, InterfaceStatisticsBlock> last = new HashMap<>();
    for (String name : args) {
      Path file = Path.of(name);
      long inFile = 0;
      String state;
      Map<Integer, InterfaceStatisticsBlock> statistics = new HashMap<>();
      PcapngBlock lastBlock = null;
      try (PcapngReader r = PcapngReader.open(file)) {
        for (PcapngBlock b = r.next(); b != null; b = r.next()) {
          if (b instanceof EnhancedPacketBlock) {
            inFile++;
          } else if (b instanceof InterfaceStatisticsBlock isb) {
            statistics.put(isb.interfaceId(), isb);
          }
          lastBlock = b;
        }
        state = lastBlock instanceof InterfaceStatisticsBlock ? "complete" : "no-statistics";
      } catch (PcapngFormatException e) {
        state = "broken: " + e.getMessage();
        broken++;
      } catch (IOException e) {
        state = "broken: cannot read: " + e.getMessage();
        broken++;
      }
      if (!statistics.isEmpty()) {
        last = statistics;
      }
      packets += inFile;
      System.out.println("file " + file.getFileName() + " packets " + inFile + " " + state);
    }
    long received = 0;
    long dropped = 0;
    for (InterfaceStatisticsBlock isb : last.values()) {
      received += isb.received().orElse(0);
      dropped += isb.droppedByInterface().orElse(0);
    }
    System.out.println("total files " + args.length + " packets " + packets + " received " + received + " dropped "
        + dropped + " broken " + broken);
    System.exit(broken == 0 ? 0 : 1);
  }
}

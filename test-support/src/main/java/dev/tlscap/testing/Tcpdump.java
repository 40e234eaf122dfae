// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.testing;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * The real {@code tcpdump -w}, run in the background for a test to compare its capture with: started
 * and waited for until it listens, stopped with SIGINT so it writes everything, read back as a
 * {@link PcapFile}. Nanosecond timestamps, no name resolution, {@code --immediate-mode} and
 * {@code -U} (each packet read and written at once: without them the last second of packets waits
 * in a TPACKET_V3 block that SIGINT discards). Closing kills it if it still runs. Not thread-safe.
 *
 * <pre>{@code
 * try (Tcpdump t = Tcpdump.start(dir.resolve("lo.pcap"), "lo", null, "udp port 9000")) {
 *   ... traffic ...
 *   PcapFile file = t.stop();
 * }
 * }</pre>
 */
public final class Tcpdump implements AutoCloseable {
  private final Command.Background process;
  private final Path file;

  private Tcpdump(Command.Background process, Path file) {
    this.process = process;
    this.file = file;
  }

  /**
   * Starts {@code tcpdump -i IFACE -w FILE [-Q DIRECTION] [-s SNAPLEN] FILTER} and waits until it
   * listens.
   *
   * @param direction {@code "in"}, {@code "out"} or null for both
   * @param extra more tcpdump arguments before the filter (e.g. {@code "-s", "100"})
   */
  public static Tcpdump start(Path file, String iface, String direction, String filter, String... extra) {
    Requirements.requireCommand("tcpdump", "tcpdump");
    List<String> argv = new ArrayList<>(List.of("tcpdump", "-i", iface, "-w", file.toString(), "-n", "-U",
        "--time-stamp-precision=nano", "--immediate-mode", "-B", "16384"));
    if (direction != null) {
      argv.add("-Q");
      argv.add(direction);
    }
    argv.addAll(List.of(extra));
    if (filter != null) {
      argv.add(filter);
    }
    Command.Background p = Command.Background.start(argv.toArray(new String[0]));
    try {
      p.awaitOutput("listening on", Duration.ofSeconds(30));
    } catch (AssertionError e) {
      p.close();
      throw e;
    }
    return new Tcpdump(p, file);
  }

  public long pid() {
    return process.pid();
  }

  /** tcpdump's stderr so far (its "N packets captured" lines after {@link #stop()}). */
  public String stderr() {
    return process.stderr();
  }

  /** Stops tcpdump with SIGINT, waits for it and reads its file. */
  public PcapFile stop() {
    process.signalAndWait(2, Duration.ofSeconds(30));
    return PcapFile.read(file);
  }

  @Override
  public void close() {
    process.close();
  }
}

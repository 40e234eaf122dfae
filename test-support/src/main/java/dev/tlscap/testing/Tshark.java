// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.testing;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Runs the real {@code tshark} on a capture file and returns what it printed, for tests that check
 * files the way a user would. Call {@link Requirements#requireCommand(String, String)
 * requireCommand("tshark", "tshark")} first.
 *
 * <p>Every method fails the test with tshark's exit code and stderr when tshark fails (the file is
 * not readable, a field name is wrong...), except {@link #run}, which returns the result as is.
 * Thread-safe (each call runs its own process).
 */
public final class Tshark {
  /** How long one tshark run may take. */
  public static final Duration TIMEOUT = Duration.ofMinutes(2);

  private Tshark() {}

  /**
   * The values of {@code fields} for each packet matching {@code displayFilter} (null: every
   * packet), one row per packet, one column per field. A field with several occurrences in a packet
   * gives them joined by {@code ,}; a missing field gives an empty string.
   *
   * <p>Example: {@code fields(file, "http", "http.request.uri")}.
   */
  public static List<List<String>> fields(Path file, String displayFilter, String... fields) {
    List<String> argv = new ArrayList<>(List.of("-n", "-T", "fields", "-E", "separator=/t", "-E", "quote=n",
        "-E", "occurrence=a", "-E", "aggregator=,"));
    if (displayFilter != null) {
      argv.add("-Y");
      argv.add(displayFilter);
    }
    for (String f : fields) {
      argv.add("-e");
      argv.add(f);
    }
    Command.Result r = run(file, argv.toArray(new String[0])).check();
    List<List<String>> rows = new ArrayList<>();
    String out = r.stdout();
    if (out.isEmpty()) {
      return rows;
    }
    String[] lines = out.split("\n", -1);
    // One line per packet, each ended by a newline: the piece after the last newline is empty.
    for (int i = 0; i < lines.length - 1; i++) {
      rows.add(Arrays.asList(lines[i].split("\t", -1)));
    }
    return rows;
  }

  /** One field's value per packet matching {@code displayFilter} (null: every packet). */
  public static List<String> column(Path file, String displayFilter, String field) {
    List<String> values = new ArrayList<>();
    for (List<String> row : fields(file, displayFilter, field)) {
      values.add(row.get(0));
    }
    return values;
  }

  /** The number of packets tshark reads from the file (matching {@code displayFilter}, null: all). */
  public static int packetCount(Path file, String displayFilter) {
    return fields(file, displayFilter, "frame.number").size();
  }

  /** The number of packets tshark reads from the file. */
  public static int packetCount(Path file) {
    return packetCount(file, null);
  }

  /**
   * Runs {@code tshark -r FILE ARGS...} and returns the result without judging it (for files that
   * are meant to be damaged: tshark exits 2 on a file cut short, after printing what it could read).
   */
  public static Command.Result run(Path file, String... args) {
    // Heuristic dissectors first (TLS has one): a client's ephemeral port that happens to be some
    // protocol's registered port (pmproxy 44322, EtherNet/IP 44818, ...) would otherwise decode that
    // connection as that protocol, and its TLS would stay unread.
    List<String> argv = new ArrayList<>(List.of("tshark", "-o", "tcp.try_heuristic_first:TRUE", "--disable-protocol",
        "pmproxy", "-r", file.toString()));
    argv.addAll(List.of(args));
    return Command.run(TIMEOUT, argv.toArray(new String[0]));
  }
}

// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.capture;

import dev.tlscap.testing.NetworkNamespace;
import dev.tlscap.testing.Requirements;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The kernel objects a tlscap run leaves or not, as root sees them with {@code bpftool} and
 * {@code tc}: its BPF programs (the TC classifier's {@code tlscap_ingress}/{@code tlscap_egress},
 * the uprobe {@code kdf_derive_entry}). Every attachment (TCX link, clsact filter, uprobe link)
 * holds a reference to its program, so a program of a run that is no longer loaded is attached
 * nowhere. Programs are compared by id, so other tlscap processes on the machine do not matter.
 */
final class KernelObjects {
  /** bpftool's line for a program: {@code "123: sched_cls  name tlscap_ingress  tag ..."}. */
  private static final Pattern PROGRAM = Pattern.compile("(?m)^(\\d+): \\S+\\s+name (\\S+)");

  private KernelObjects() {}

  static void require() {
    Requirements.requireCommand("bpftool", "bpftool");
    Requirements.requireCommand("tc", "iproute2");
  }

  /** tlscap's programs loaded now, id to name. */
  static Map<Integer, String> tlscapPrograms() {
    Map<Integer, String> programs = new TreeMap<>();
    Matcher m = PROGRAM.matcher(NetworkNamespace.output("bpftool", "prog", "show"));
    while (m.find()) {
      String name = m.group(2);
      if (name.startsWith("tlscap_") || name.startsWith("kdf_derive")) {
        programs.put(Integer.parseInt(m.group(1)), name);
      }
    }
    return programs;
  }

  /** The programs of {@code now} that were not in {@code before}: those of the run started in between. */
  static Map<Integer, String> newSince(Map<Integer, String> before, Map<Integer, String> now) {
    Map<Integer, String> added = new TreeMap<>(now);
    added.keySet().removeAll(before.keySet());
    return added;
  }

  /** Which of {@code programs} are still loaded. */
  static Map<Integer, String> stillLoaded(Map<Integer, String> programs) {
    Map<Integer, String> left = new TreeMap<>(tlscapPrograms());
    left.keySet().retainAll(programs.keySet());
    return left;
  }

  /** The TC filters on {@code dev}, ingress and egress, as {@code tc} lists them. */
  static String tcFilters(String dev) {
    return NetworkNamespace.output("tc", "filter", "show", "dev", dev, "ingress")
        + NetworkNamespace.output("tc", "filter", "show", "dev", dev, "egress");
  }

  static boolean hasClsact(String dev) {
    return NetworkNamespace.output("tc", "qdisc", "show", "dev", dev).contains("clsact");
  }

  /** The uprobes defined through tracefs (libbpf uses perf links instead: this stays as it was). */
  static String uprobeEvents() {
    for (String dir : new String[] {"/sys/kernel/tracing", "/sys/kernel/debug/tracing"}) {
      Path events = Path.of(dir, "uprobe_events");
      if (Files.isReadable(events)) {
        try {
          return Files.readString(events);
        } catch (IOException e) {
          return "";
        }
      }
    }
    return "";
  }
}

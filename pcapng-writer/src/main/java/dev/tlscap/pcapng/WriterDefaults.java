// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.pcapng;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;

/** Defaults of the {@link PcapngWriter.Builder}'s Section Header Block options. */
final class WriterDefaults {
  private WriterDefaults() {}

  /** tlscap's version from {@code version.properties}, or {@code "dev"}. */
  static String version() {
    try (InputStream in = PcapngWriter.class.getResourceAsStream("version.properties")) {
      if (in != null) {
        Properties p = new Properties();
        p.load(in);
        String v = p.getProperty("version", "");
        if (!v.isEmpty() && !v.startsWith("$")) {
          return v;
        }
      }
    } catch (IOException ignored) {
      // fall through to "dev"
    }
    return "dev";
  }

  /** {@code shb_hardware}: the CPU model and architecture. */
  static String describeHardware() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
        if (line.startsWith("model name")) {
          return line.substring(line.indexOf(':') + 1).trim() + " (" + System.getProperty("os.arch") + ")";
        }
      }
    } catch (IOException | RuntimeException ignored) {
      // not Linux, or no cpuinfo: the architecture alone
    }
    return System.getProperty("os.arch");
  }
}

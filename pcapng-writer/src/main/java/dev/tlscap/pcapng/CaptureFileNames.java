// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.pcapng;

import java.nio.file.Path;
import java.util.Objects;

/**
 * The names of the files of one capture, from the {@code -w} path.
 *
 * <p>Without rotation the capture is the {@code -w} file itself. With rotation every file gets a
 * five-digit sequence number (more digits past 99999) before the {@code .pcapng} or {@code .pcap}
 * extension, or at the end of a name without one: {@code -w /data/out.pcapng -C 100} writes
 * {@code /data/out-00001.pcapng}, {@code /data/out-00002.pcapng}, ... The number only grows, also in
 * a ring ({@code -W}), so names sort in capture order and a run never reuses a name; the ring
 * deletes the oldest numbers. Compression appends {@code .zst}, {@code .gz} or {@code .xz}.
 *
 * <p>Immutable and thread-safe.
 */
public final class CaptureFileNames {
  private final Path base;
  private final boolean numbered;
  private final String stem;
  private final String extension;

  private CaptureFileNames(Path base, boolean numbered) {
    this.base = base;
    this.numbered = numbered;
    String name = base.getFileName().toString();
    String ext = "";
    for (String candidate : new String[] {".pcapng", ".pcap"}) {
      if (name.endsWith(candidate) && name.length() > candidate.length()) {
        ext = candidate;
        break;
      }
    }
    this.stem = name.substring(0, name.length() - ext.length());
    this.extension = ext;
  }

  /** The names for a capture written to {@code base} under {@code policy}. */
  public static CaptureFileNames of(Path base, RotationPolicy policy) {
    Objects.requireNonNull(base, "base");
    if (base.getFileName() == null) {
      throw new IllegalArgumentException("'" + base + "' is not a file name");
    }
    return new CaptureFileNames(base, policy.rotates());
  }

  /** The name of the {@code sequence}-th file (counted from 1). */
  public Path file(int sequence) {
    if (sequence < 1) {
      throw new IllegalArgumentException("file sequence numbers start at 1, got " + sequence);
    }
    if (!numbered) {
      return base;
    }
    return base.resolveSibling(String.format("%s-%05d%s", stem, sequence, extension));
  }

  /** The name of a file once compressed. */
  public static Path compressed(Path file, Compression compression) {
    return file.resolveSibling(file.getFileName() + compression.extension());
  }

  /** The temporary name a file is compressed into before the rename to {@link #compressed}. */
  static Path compressing(Path file, Compression compression) {
    return file.resolveSibling(file.getFileName() + compression.extension() + ".tmp");
  }
}

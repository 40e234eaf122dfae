// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.pcapng;

import java.util.concurrent.TimeUnit;

/**
 * When the writer starts a new file, after tcpdump's {@code -C}, {@code -G} and {@code -W} flags.
 *
 * <ul>
 *   <li>{@code -C size}: before writing a packet, if the current file is already larger than
 *       {@code size} bytes, start a new one (tcpdump's rule; a file exceeds the size by at most one
 *       packet and its closing statistics). A file always holds at least one packet.
 *   <li>{@code -G seconds}: start a new file when the current one has been open that long, checked
 *       on every packet and on {@link PcapngWriter#tick(long)}, so idle captures rotate too.
 *   <li>{@code -W count} with {@code -C} (with or without {@code -G}): a ring of {@code count}
 *       files; opening a new file deletes the oldest (and its compressed form).
 *   <li>{@code -W count} with {@code -G} alone: stop after {@code count} files; the writer then
 *       reports {@link PcapngWriter#isCaptureComplete()} and refuses further packets.
 * </ul>
 *
 * <p>Immutable and thread-safe. The {@code parse...} methods throw {@link IllegalArgumentException}
 * with a message fit for the command line.
 *
 * @param fileSizeLimit {@code -C} in bytes, 0 for none
 * @param rotateSeconds {@code -G} in seconds, 0 for none
 * @param fileCount {@code -W}, 0 for none
 */
public record RotationPolicy(long fileSizeLimit, long rotateSeconds, int fileCount) {
  /** No rotation: one file. */
  public static final RotationPolicy NONE = new RotationPolicy(0, 0, 0);

  public RotationPolicy {
    if (fileSizeLimit < 0 || rotateSeconds < 0 || fileCount < 0) {
      throw new IllegalArgumentException("rotation values must not be negative");
    }
    if (rotateSeconds > TimeUnit.NANOSECONDS.toSeconds(Long.MAX_VALUE / 2)) {
      throw new IllegalArgumentException("-G " + rotateSeconds + " is too large");
    }
    if (fileCount > 0 && fileSizeLimit == 0 && rotateSeconds == 0) {
      throw new IllegalArgumentException("-W needs -C or -G: it limits the number of rotated files");
    }
  }

  /**
   * The policy for tcpdump-style flag values; each may be null (flag not given).
   *
   * @throws IllegalArgumentException for a bad value or {@code -W} without {@code -C}/{@code -G}
   */
  public static RotationPolicy fromFlags(String fileSize, String rotateSeconds, String fileCount) {
    return new RotationPolicy(
        fileSize == null ? 0 : parseFileSize(fileSize),
        rotateSeconds == null ? 0 : parseRotateSeconds(rotateSeconds),
        fileCount == null ? 0 : parseFileCount(fileCount));
  }

  /**
   * Parses {@code -C}: a positive whole number of millions of bytes (1,000,000), or with a suffix
   * k/K (1024 bytes), m/M (1048576) or g/G (1073741824), as in tcpdump(1). Returns bytes.
   */
  public static long parseFileSize(String value) {
    String v = value == null ? "" : value.trim();
    long unit = 1_000_000L;
    String digits = v;
    if (!v.isEmpty()) {
      switch (v.charAt(v.length() - 1)) {
        case 'k':
        case 'K':
          unit = 1L << 10;
          break;
        case 'm':
        case 'M':
          unit = 1L << 20;
          break;
        case 'g':
        case 'G':
          unit = 1L << 30;
          break;
        default:
          unit = 1_000_000L;
      }
      if (unit != 1_000_000L) {
        digits = v.substring(0, v.length() - 1);
      }
    }
    long n = positive(digits);
    if (n <= 0 || n > Long.MAX_VALUE / unit) {
      throw new IllegalArgumentException("invalid file size '" + value + "' for -C: expected a positive whole number"
          + " of millions of bytes, or one with a k, m or g suffix (KiB, MiB, GiB), e.g. -C 100 or -C 512k");
    }
    return n * unit;
  }

  /** Parses {@code -G}: a positive whole number of seconds. */
  public static long parseRotateSeconds(String value) {
    long n = positive(value == null ? "" : value.trim());
    if (n <= 0 || n > TimeUnit.NANOSECONDS.toSeconds(Long.MAX_VALUE / 2)) {
      throw new IllegalArgumentException("invalid rotation interval '" + value
          + "' for -G: expected a positive whole number of seconds, e.g. -G 3600");
    }
    return n;
  }

  /** Parses {@code -W}: a positive whole number of files. */
  public static int parseFileCount(String value) {
    long n = positive(value == null ? "" : value.trim());
    if (n <= 0 || n > Integer.MAX_VALUE) {
      throw new IllegalArgumentException("invalid file count '" + value
          + "' for -W: expected a positive whole number of files, e.g. -W 10");
    }
    return (int) n;
  }

  /** True when the capture may be split into several files (then the names carry a sequence number). */
  public boolean rotates() {
    return fileSizeLimit > 0 || rotateSeconds > 0;
  }

  /** True for {@code -C} with {@code -W}: a ring of {@link #fileCount} files, the oldest deleted. */
  public boolean isRing() {
    return fileCount > 0 && fileSizeLimit > 0;
  }

  /** True for {@code -G} with {@code -W} and no {@code -C}: the capture ends after {@link #fileCount} files. */
  public boolean stopsAfterFileCount() {
    return fileCount > 0 && fileSizeLimit == 0 && rotateSeconds > 0;
  }

  /** {@code -G} in nanoseconds, 0 for none. */
  public long rotateNanos() {
    return TimeUnit.SECONDS.toNanos(rotateSeconds);
  }

  /** The flags that give this policy, e.g. {@code "-C 1m -W 4"} (empty for {@link #NONE}). */
  @Override
  public String toString() {
    StringBuilder s = new StringBuilder();
    if (fileSizeLimit > 0) {
      s.append("-C ").append(fileSizeLimit % (1L << 20) == 0 ? (fileSizeLimit >> 20) + "m"
          : fileSizeLimit % 1_000_000 == 0 ? Long.toString(fileSizeLimit / 1_000_000)
          : fileSizeLimit % 1024 == 0 ? (fileSizeLimit >> 10) + "k" : fileSizeLimit + " bytes");
    }
    if (rotateSeconds > 0) {
      s.append(s.length() > 0 ? " " : "").append("-G ").append(rotateSeconds);
    }
    if (fileCount > 0) {
      s.append(s.length() > 0 ? " " : "").append("-W ").append(fileCount);
    }
    return s.toString();
  }

  /** The value if {@code s} is only ASCII digits (at most 18), else -1. */
  private static long positive(String s) {
    if (s.isEmpty() || s.length() > 18) {
      return -1;
    }
    for (int i = 0; i < s.length(); i++) {
      if (s.charAt(i) < '0' || s.charAt(i) > '9') {
        return -1;
      }
    }
    return Long.parseLong(s);
  }
}

// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.pcapng;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;
import java.util.Set;

/**
 * An NSS key log file ({@code --keylog-file}) as SSLKEYLOGFILE writes it: one line per secret,
 * created with mode 0600 because it holds secrets, appended to if it exists. An existing file that
 * others may read is made 0600 when this process owns it, and refused otherwise (it would expose the
 * secrets); a FIFO or character device (a key-log reader, {@code /dev/null}) is written as it is.
 * Lines are buffered
 * until {@link #flush()} (call it after each batch of events: one write per batch instead of one per
 * line cost 7% of the handshake rate less), so a crash loses at most the current batch. A line
 * already written recently (a client and a server on this host derive the same secrets) is written
 * once; the memory of written lines is bounded. Not thread-safe.
 */
public final class KeyLogFile implements AutoCloseable {
  private static final Set<PosixFilePermission> OWNER_ONLY = PosixFilePermissions.fromString("rw-------");

  private final Path path;
  private final FileChannel channel;
  /** Lines written recently, oldest first, for the duplicate check; bounded. */
  private final Set<String> written = java.util.Collections.newSetFromMap(
      new java.util.LinkedHashMap<String, Boolean>(1024, 0.75f, false) {
        private static final long serialVersionUID = 1L;

        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Boolean> eldest) {
          return size() > DUPLICATE_WINDOW;
        }
      });
  /** How many recent lines the duplicate check remembers. */
  static final int DUPLICATE_WINDOW = 65_536;
  private final StringBuilder pending = new StringBuilder();
  private long lines;

  private KeyLogFile(Path path, FileChannel channel) {
    this.path = path;
    this.channel = channel;
  }

  /**
   * Checks, creating and changing nothing, what {@link #open} would refuse: a directory, a missing or
   * unwritable directory, an unwritable file, a file others may read that this process does not own,
   * something that is neither a file, a FIFO nor a character device. Call it before anything else is
   * opened (a capture file), so a bad key log path fails first.
   *
   * @throws IllegalArgumentException with one line naming the cause and the fix
   */
  public static void check(Path path) {
    Path dir = path.toAbsolutePath().getParent();
    if (Files.isDirectory(path)) {
      throw new IllegalArgumentException("cannot write key log file " + path + ": it is a directory (give a file name)");
    }
    if (dir == null || !Files.isDirectory(dir)) {
      throw new IllegalArgumentException("cannot create key log file " + path + ": directory " + dir + " does not exist");
    }
    PosixFileAttributes attributes;
    try {
      attributes = Files.readAttributes(path, PosixFileAttributes.class);
    } catch (NoSuchFileException e) {
      if (!Files.isWritable(dir)) {
        throw new IllegalArgumentException("cannot create key log file " + path + ": directory " + dir + " is not writable");
      }
      return;
    } catch (IOException e) {
      throw new IllegalArgumentException("cannot write key log file " + path + ": " + e.getMessage());
    }
    if (!attributes.isRegularFile()) {
      if (!attributes.isOther() || !isFifoOrCharacterDevice(path)) {
        throw new IllegalArgumentException("cannot write key log file " + path
            + ": it is not a file, a FIFO or a character device");
      }
      return;
    }
    if (!Files.isWritable(path)) {
      throw new IllegalArgumentException("cannot write key log file " + path + ": permission denied");
    }
    if (!OWNER_ONLY.containsAll(attributes.permissions()) && !ownedByMe(path)) {
      throw new IllegalArgumentException("key log file " + path + " is mode "
          + PosixFilePermissions.toString(attributes.permissions()) + " and owned by " + attributes.owner().getName()
          + ": others could read the secrets; make it private (chmod 600) or give another file");
    }
  }

  /**
   * Opens (creates with mode 0600, or appends to) {@code path}, after {@link #check}; an existing file
   * others may read becomes mode 0600. Errors are one line with the fix.
   *
   * @throws IllegalArgumentException what {@link #check} refuses
   * @throws UncheckedIOException when opening fails all the same
   */
  public static KeyLogFile open(Path path) {
    check(path);
    FileChannel channel;
    try {
      channel = FileChannel.open(path,
          Set.of(StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.APPEND),
          PosixFilePermissions.asFileAttribute(OWNER_ONLY));
    } catch (NoSuchFileException e) {
      throw new UncheckedIOException("cannot create key log file " + path + ": its directory does not exist", e);
    } catch (java.nio.file.AccessDeniedException e) {
      throw new UncheckedIOException("cannot create key log file " + path + ": permission denied", e);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create key log file " + path + ": " + e.getMessage(), e);
    }
    try {
      if (Files.isRegularFile(path) && !OWNER_ONLY.containsAll(Files.getPosixFilePermissions(path))) {
        Files.setPosixFilePermissions(path, OWNER_ONLY); // before the first secret is written
      }
    } catch (IOException e) {
      try {
        channel.close();
      } catch (IOException ignored) {
        // refused anyway
      }
      throw new UncheckedIOException("cannot make key log file " + path + " private (chmod 600): " + e.getMessage(), e);
    }
    return new KeyLogFile(path, channel);
  }

  private static boolean ownedByMe(Path path) {
    try {
      // /proc/self belongs to the process's effective user (pure Java: this module has no native calls)
      return Files.getAttribute(path, "unix:uid").equals(Files.getAttribute(Path.of("/proc/self"), "unix:uid"));
    } catch (IOException | RuntimeException e) {
      return false;
    }
  }

  /** S_IFIFO or S_IFCHR in {@code st_mode}. */
  private static boolean isFifoOrCharacterDevice(Path path) {
    try {
      int type = ((Integer) Files.getAttribute(path, "unix:mode")) & 0170000;
      return type == 0010000 || type == 0020000;
    } catch (IOException | RuntimeException e) {
      return false;
    }
  }

  public Path path() {
    return path;
  }

  /**
   * Adds {@code line} unless it was written recently; returns true if added. It reaches the file at
   * the next {@link #flush()}.
   */
  public boolean write(KeyLogLine line) {
    return write(line.toString());
  }

  private boolean write(String line) {
    if (!written.add(line)) {
      return false;
    }
    pending.append(line).append('\n');
    lines++;
    return true;
  }

  /** Writes the lines added since the last flush, in one write. */
  public void flush() {
    if (pending.length() == 0) {
      return;
    }
    try {
      ByteBuffer bytes = ByteBuffer.wrap(pending.toString().getBytes(StandardCharsets.US_ASCII));
      pending.setLength(0);
      while (bytes.hasRemaining()) {
        channel.write(bytes);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write key log file " + path + ": " + e.getMessage(), e);
    }
  }

  /** Lines written so far. */
  public long lines() {
    return lines;
  }

  @Override
  public void close() {
    try {
      flush();
      channel.close();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot close key log file " + path, e);
    }
  }

  /** True when {@code path}'s permissions give nobody but the owner access. */
  static boolean privateMode(Path path) throws IOException {
    return Files.getPosixFilePermissions(path).equals(PosixFilePermissions.fromString("rw-------"));
  }
}

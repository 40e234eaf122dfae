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
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;
import java.util.Set;

/**
 * An NSS key log file ({@code --keylog-file}) as SSLKEYLOGFILE writes it: one line per secret,
 * created with mode 0600 because it holds secrets, appended to if it exists. Lines are buffered
 * until {@link #flush()} (call it after each batch of events: one write per batch instead of one per
 * line cost 7% of the handshake rate less), so a crash loses at most the current batch. A line
 * already written recently (a client and a server on this host derive the same secrets) is written
 * once; the memory of written lines is bounded. Not thread-safe.
 */
public final class KeyLogFile implements AutoCloseable {
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

  /** Opens (creates with mode 0600, or appends to) {@code path}; errors are one line with the fix. */
  public static KeyLogFile open(Path path) {
    try {
      FileChannel channel = FileChannel.open(path,
          Set.of(StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.APPEND),
          PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
      return new KeyLogFile(path, channel);
    } catch (NoSuchFileException e) {
      throw new UncheckedIOException("cannot create key log file " + path + ": its directory does not exist", e);
    } catch (java.nio.file.AccessDeniedException e) {
      throw new UncheckedIOException("cannot create key log file " + path + ": permission denied", e);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create key log file " + path + ": " + e.getMessage(), e);
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

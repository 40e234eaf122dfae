// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.pcapng;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayDeque;
import java.util.Set;
import java.util.function.Consumer;

/**
 * The life of a {@link PcapngWriter}'s files (not of a stream): numbering them
 * ({@link CaptureFileNames}), opening each as tcpdump does, deleting the oldest of a ring
 * ({@code -W}), and handing each completed file to the compressor or reporting it. Not thread-safe;
 * the compressor runs on its own thread.
 */
final class CaptureFiles {
  private final CaptureFileNames names;
  private final RotationPolicy rotation;
  private final CaptureFileListener listener;
  private final FileCompressor compressor;
  private final ArrayDeque<Path> ring = new ArrayDeque<>();

  private Path current;
  /** True when this writer created the current file (only then may it delete it). */
  private boolean created;

  CaptureFiles(Path base, RotationPolicy rotation, Compression compression, CaptureFileListener listener,
      Consumer<Path> beforeCompression) {
    this.names = CaptureFileNames.of(base, rotation);
    this.rotation = rotation;
    this.listener = listener;
    this.compressor = compression != Compression.NONE
        ? new FileCompressor(compression, listener, beforeCompression) : null;
  }

  /**
   * Checks, before anything is created, that {@code file} is a valid name for {@code rotation} and
   * that rotation and compression get a regular file (or none), not a FIFO or device.
   */
  static void checkTarget(Path file, RotationPolicy rotation, Compression compression) throws PcapngWriteException {
    CaptureFileNames.of(file, rotation); // validates the name
    OutputFileKind target;
    try {
      target = OutputFileKind.target(file);
    } catch (IOException e) {
      throw PcapngWriteException.of("create", file, e);
    }
    if (target.isStream() && (rotation.rotates() || compression != Compression.NONE)) {
      throw new IllegalArgumentException("rotation (-C/-G/-W) and compression need a regular file; " + file + " is "
          + target.description());
    }
  }

  /** The file being written, or null. */
  Path current() {
    return current;
  }

  /**
   * Makes room in the ring, then opens file number {@code number} and attaches {@code out} to it.
   *
   * @return the file opened
   * @throws CreateFailed if the file cannot be created (then {@link #current()} names it)
   */
  Path openNext(int number, BlockOutput out) throws IOException {
    Path next = names.file(number);
    while (rotation.isRing() && ring.size() >= rotation.fileCount()) {
      Path oldest = ring.removeFirst();
      if (compressor != null) {
        compressor.delete(oldest);
      } else {
        try {
          if (Files.deleteIfExists(oldest)) {
            listener.fileDeleted(oldest);
          }
        } catch (IOException e) {
          listener.warning(PcapngWriteException.of("delete old ring file", oldest, e).getMessage());
        }
      }
    }
    current = next;
    try {
      open(next, out);
    } catch (IOException e) {
      throw new CreateFailed(e);
    }
    return next;
  }

  /**
   * Opens {@code next} as tcpdump does, never unlinking what is not a regular file: a regular file
   * (a leftover of an earlier run) is replaced by a new one of mode 0600, never written through (it
   * may have other hard links); without rotation and compression a FIFO or character device is
   * written into as it is, and a symbolic link is followed (its target truncated and made 0600, or
   * created). Rotation and compression make and delete regular files: they refuse anything else.
   */
  private void open(Path next, BlockOutput out) throws IOException {
    boolean plain = !rotation.rotates() && compressor == null;
    OutputFileKind kind = OutputFileKind.of(next);
    created = false;
    if (kind == OutputFileKind.ABSENT || kind == OutputFileKind.REGULAR_FILE) {
      Files.deleteIfExists(next);
      FileChannel fresh = FileChannel.open(next, Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE),
          PcapngWriter.OWNER_ONLY);
      created = true;
      out.attach(fresh, true);
      return;
    }
    OutputFileKind target = kind == OutputFileKind.SYMBOLIC_LINK ? OutputFileKind.target(next) : kind;
    if (!plain && (target.isStream() || kind == OutputFileKind.SYMBOLIC_LINK)) {
      throw new FileSystemException(next.toString(), null, "it is " + kind.description()
          + "; rotation (-C, -G, -W) and compression write regular files of their own (remove it or choose another name)");
    }
    if (target.isStream()) {
      // a FIFO: waits for its reader, as tcpdump
      out.attach(FileChannel.open(next, StandardOpenOption.WRITE), false);
      return;
    }
    if (kind == OutputFileKind.SYMBOLIC_LINK
        && (target == OutputFileKind.ABSENT || target == OutputFileKind.REGULAR_FILE)) {
      FileChannel linked = FileChannel.open(next, Set.of(StandardOpenOption.CREATE, StandardOpenOption.WRITE,
          StandardOpenOption.TRUNCATE_EXISTING), PcapngWriter.OWNER_ONLY);
      try {
        Files.setPosixFilePermissions(next, PcapngWriter.OWNER_ONLY.value()); // it will hold secrets
      } catch (IOException e) {
        linked.close();
        throw e;
      }
      out.attach(linked, true);
      return;
    }
    throw new FileSystemException(next.toString(), null, "it is "
        + (kind == OutputFileKind.SYMBOLIC_LINK ? "a symbolic link to " + target.description() : kind.description()));
  }

  /**
   * Closes the current file ({@code out} flushed) and hands it to the compressor, or reports it
   * complete. If closing fails the file stays {@link #current()}.
   */
  void complete(BlockOutput out) throws IOException {
    Path done = current;
    long size = out.written();
    FileChannel closing = out.detach();
    current = null;
    try {
      closing.close();
    } catch (IOException e) {
      current = done;
      throw e;
    }
    if (rotation.isRing()) {
      ring.addLast(done);
    }
    if (compressor != null) {
      compressor.compress(done);
    } else {
      listener.fileCompleted(done, size);
    }
  }

  /**
   * Closes the current file after a write error (it ends on its last whole block); deletes it if not
   * even its header made it to disk (an empty file is no pcapng file: some readers take it for
   * another format). Nothing is current afterwards.
   */
  void abandon(BlockOutput out) {
    FileChannel file = out.detach();
    if (file != null) {
      try {
        file.close();
      } catch (IOException ignored) {
        // already failing; the file ends on its last whole block
      }
      if (out.written() == 0 && current != null && created) {
        try {
          Files.deleteIfExists(current);
        } catch (IOException ignored) {
          // the failure is reported; an empty file is all that remains
        }
      }
    }
    current = null;
  }

  /** Waits until the compressor has compressed every completed file (or was abandoned). */
  void finishCompression() {
    if (compressor != null) {
      compressor.finish();
    }
  }

  void abandonCompression() {
    if (compressor != null) {
      compressor.abandon();
    }
  }

  long filesNotCompressed() {
    return compressor == null ? 0 : compressor.filesNotCompressed();
  }

  /** Marks a failure to create a file (so the message says "cannot create"). */
  static final class CreateFailed extends IOException {
    private static final long serialVersionUID = 1L;
    final transient IOException original;

    CreateFailed(IOException original) {
      super(original.getMessage(), original);
      this.original = original;
    }
  }
}

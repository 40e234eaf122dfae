// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.pcapng;

import java.io.IOException;
import java.nio.file.Path;

/**
 * Writing a capture file failed. The message is one line for the user naming the file, the cause
 * and, where obvious, the fix, e.g. {@code "cannot write /data/out.pcapng: No space left on device
 * (free some space, or bound the capture with -C and -W)"}; the underlying exception is the cause.
 */
public final class PcapngWriteException extends IOException {
  private static final long serialVersionUID = 1L;

  private final transient Path file;

  PcapngWriteException(String message, Path file, Throwable cause) {
    super(message, cause);
    this.file = file;
  }

  /** The file being written or created (null for a stream). */
  public Path file() {
    return file;
  }

  /**
   * Builds the one-line message for an I/O failure.
   *
   * @param verb what was being done: "write", "create", "close"
   * @param file the file, or null for a stream
   */
  static PcapngWriteException of(String verb, Path file, IOException e) {
    String what = file == null ? "the output stream" : file.toString();
    String reason = describe(e, file);
    return new PcapngWriteException("cannot " + verb + " " + what + ": " + reason, file, e);
  }

  private static String describe(IOException e, Path file) {
    String msg = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    Path dir = file == null ? null : file.toAbsolutePath().getParent();
    if (e instanceof java.nio.file.NoSuchFileException) {
      return "directory " + dir + " does not exist (it may have been removed; create it or choose another -w path)";
    }
    if (e instanceof java.nio.file.AccessDeniedException) {
      return "permission denied (check the permissions of " + dir + ")";
    }
    if (e instanceof java.nio.file.FileSystemException fse && fse.getReason() != null) {
      msg = fse.getReason();
    }
    if (msg.contains("No space left on device")) {
      return "No space left on device (free some space, or bound the capture with -C and -W)";
    }
    if (msg.contains("Read-only file system")) {
      return "Read-only file system (choose a writable directory with -w)";
    }
    if (msg.contains("Disk quota exceeded")) {
      return "Disk quota exceeded (free some space, or bound the capture with -C and -W)";
    }
    if (msg.contains("Broken pipe")) {
      return "the reader of the stream went away (Broken pipe)";
    }
    if (file != null && dir != null && !java.nio.file.Files.isDirectory(dir)) {
      return msg + " (directory " + dir + " no longer exists)";
    }
    return msg;
  }
}

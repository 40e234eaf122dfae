// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.pcapng;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;

/**
 * What a {@code -w} path names, as {@code lstat(2)} or {@code stat(2)} sees it, and so how the
 * writer treats it (as tcpdump does): a regular file is replaced by a new one of mode 0600; a FIFO
 * or character device ({@code mkfifo f; wireshark -k -i f}, {@code /dev/null}, {@code /dev/stdout}) is
 * written into as it is, never unlinked, and allows no rotation or compression; a symbolic link is
 * followed, never replaced.
 */
public enum OutputFileKind {
  /** Nothing there yet. */
  ABSENT("nothing"),
  REGULAR_FILE("a regular file"),
  SYMBOLIC_LINK("a symbolic link"),
  FIFO("a FIFO"),
  CHARACTER_DEVICE("a character device"),
  DIRECTORY("a directory"),
  /** A block device or a socket: never written. */
  OTHER("neither a file, a FIFO nor a character device");

  private final String description;

  OutputFileKind(String description) {
    this.description = description;
  }

  /** What {@code path} itself is (a symbolic link is not followed). */
  public static OutputFileKind of(Path path) throws IOException {
    return classify(path, LinkOption.NOFOLLOW_LINKS);
  }

  /** What {@code path} leads to, following symbolic links ({@link #ABSENT} for a dangling link). */
  public static OutputFileKind target(Path path) throws IOException {
    return classify(path);
  }

  /** True for a FIFO or a character device: written as a stream, with no rotation or compression. */
  public boolean isStream() {
    return this == FIFO || this == CHARACTER_DEVICE;
  }

  /** "a FIFO", "a character device", ...: for messages. */
  public String description() {
    return description;
  }

  private static OutputFileKind classify(Path path, LinkOption... options) throws IOException {
    BasicFileAttributes a;
    try {
      a = Files.readAttributes(path, BasicFileAttributes.class, options);
    } catch (NoSuchFileException e) {
      return ABSENT;
    }
    if (a.isRegularFile()) {
      return REGULAR_FILE;
    }
    if (a.isSymbolicLink()) {
      return SYMBOLIC_LINK;
    }
    if (a.isDirectory()) {
      return DIRECTORY;
    }
    int type = ((Integer) Files.getAttribute(path, "unix:mode", options)) & 0170000; // S_IFMT
    if (type == 0010000) {
      return FIFO;
    }
    return type == 0020000 ? CHARACTER_DEVICE : OTHER;
  }
}

// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;

/** Reads NSS key log files (SSLKEYLOGFILE format) as tests compare them. */
public final class KeyLogs {
  private KeyLogs() {}

  /** The key lines of {@code file}, without comments and blank lines; empty if the file does not exist. */
  public static List<String> read(Path file) {
    if (!Files.exists(file)) {
      return List.of();
    }
    try {
      return Files.readAllLines(file).stream().map(String::strip).filter(l -> !l.isEmpty() && !l.startsWith("#"))
          .collect(Collectors.toList());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}

// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.capture;

import dev.tlscap.testing.Command;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.Map;
import java.util.function.Predicate;

/**
 * A directory to {@code chroot} into, as a container's root: one program and the libraries it
 * loads, copied (other files than the host's, as a container has its own).
 */
final class ProgramRoot {
  private ProgramRoot() {}

  /**
   * Copies {@code program} to {@code as} under {@code root}, and the libraries {@code ldd} names for
   * it (run with {@code lddEnv}) that {@code take} accepts, each at its own path; returns the root.
   */
  static Path build(Path root, Path program, String as, Map<String, String> lddEnv, Predicate<String> take) {
    copyInto(root, program, as);
    Command.Result ldd = Command.run(Duration.ofSeconds(10), root.getParent(), lddEnv, "ldd", program.toString()).check();
    for (String line : ldd.stdout().lines().toList()) {
      String path = line.contains("=>") ? line.split("=>")[1].trim().split(" ")[0] : line.trim().split(" ")[0];
      if (path.startsWith("/") && take.test(path)) {
        copyInto(root, Path.of(path), path);
      }
    }
    return root;
  }

  /** Copies {@code file} to the absolute path {@code as} under {@code root}. */
  static void copyInto(Path root, Path file, String as) {
    try {
      Path target = root.resolve(as.substring(1));
      Files.createDirectories(target.getParent());
      Files.copy(file, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.COPY_ATTRIBUTES);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}

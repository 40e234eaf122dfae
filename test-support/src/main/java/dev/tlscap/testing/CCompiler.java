// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.testing;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/** Builds the small C programs tests trace or probe with the system gcc. */
public final class CCompiler {
  private CCompiler() {}

  /** Compiles {@code source} into the executable {@code output} with extra gcc arguments (e.g. "-lbpf"). */
  public static Path compile(Path source, Path output, String... extraArguments) {
    Requirements.requireCommand("gcc", "gcc libc6-dev");
    List<String> argv = new ArrayList<>(List.of("gcc", "-O2", "-g", "-Wall", "-o", output.toString(), source.toString()));
    argv.addAll(List.of(extraArguments));
    Command.run(Duration.ofMinutes(2), argv.toArray(new String[0])).check();
    return output;
  }

  /** The source tree of the module under test ({@code src/test/c/NAME}), found from the working directory Maven sets. */
  public static Path testSource(String name) {
    return Path.of("src", "test", "c", name).toAbsolutePath();
  }
}

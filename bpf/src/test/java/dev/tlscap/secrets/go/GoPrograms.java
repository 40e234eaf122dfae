// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.secrets.go;

import dev.tlscap.testing.Command;
import dev.tlscap.testing.Requirements;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Builds the test's Go program (src/test/go/tlspeer: a crypto/tls server, client and handshake
 * loop, standard library only) with the system's Go (Debian's golang-go) or another toolchain.
 * Outside CI a missing {@code go} skips the test; in CI it fails it.
 */
public final class GoPrograms {
  /** How a binary is built; {@code flags} go to {@code go build}. */
  public record Build(String name, Map<String, String> env, String... flags) {}

  public static final Build PLAIN = new Build("plain", Map.of());
  public static final Build STRIPPED_PIE = new Build("stripped-pie", Map.of(), "-buildmode=pie", "-ldflags=-s -w");
  public static final Build PIE = new Build("pie", Map.of(), "-buildmode=pie");
  /** cgo off: a static executable. */
  public static final Build STATIC = new Build("static", Map.of("CGO_ENABLED", "0"));
  /** Linked by gcc: .gopclntab is merged into .data.rel.ro, no section of its own. */
  public static final Build EXTERNAL_PIE_STRIPPED = new Build("external-pie-stripped", Map.of(), "-buildmode=pie",
      "-ldflags=-linkmode=external -s -w");
  public static final Build EXTERNAL_PIE = new Build("external-pie", Map.of(), "-buildmode=pie", "-ldflags=-linkmode=external");

  private GoPrograms() {}

  /**
   * Other Go toolchains to test with, from the environment variable TLSCAP_OTHER_GO (paths of
   * {@code go} commands, separated by ':'), e.g. Debian bullseye's golang-1.15-go (stack ABI, the
   * Go 1.2-1.15 table) and trixie's golang-1.24-go (the Go 1.20+ table): {@code build/go-toolchains}
   * unpacks them and prints the value. Opt-in: unset, the test is skipped (in CI too); set to
   * something that is not a Go toolchain, it fails.
   */
  public static List<String> otherToolchains() {
    String value = System.getenv("TLSCAP_OTHER_GO");
    org.junit.jupiter.api.Assumptions.assumeTrue(value != null && !value.isBlank(),
        "TLSCAP_OTHER_GO is not set (build/go-toolchains prints a value for it)");
    List<String> found = new ArrayList<>();
    for (String go : value.split(":")) {
      if (!go.isBlank()) {
        if (!Files.isExecutable(Path.of(go))) {
          throw new AssertionError("TLSCAP_OTHER_GO names " + go + ", which is not an executable go command");
        }
        found.add(go);
      }
    }
    return found;
  }

  /** Skips (or, in CI, fails) unless {@code go} is on the PATH. */
  public static void requireGo() {
    Requirements.requireCommand("go", "golang-go");
  }

  /** The tlspeer sources (src/test/go/tlspeer), found from the working directory Maven sets. */
  static Path source() {
    return Path.of("src", "test", "go", "tlspeer").toAbsolutePath();
  }

  /** Builds tlspeer with the {@code go} on the PATH into {@code dir/tlspeer-NAME}. */
  public static Path tlspeer(Path dir, Build build) {
    return tlspeer("go", dir, build);
  }

  /** Builds tlspeer with toolchain {@code go} (a command or a path) into {@code dir/tlspeer-NAME}. */
  public static Path tlspeer(String go, Path dir, Build build) {
    Path out = dir.resolve("tlspeer-" + build.name());
    if (Files.isExecutable(out)) {
      return out;
    }
    List<String> argv = new ArrayList<>(List.of(go, "build", "-o", out.toString()));
    argv.addAll(List.of(build.flags()));
    argv.add(".");
    Map<String, String> env = new HashMap<>(build.env());
    env.put("GOFLAGS", "-mod=mod");
    env.put("GOPROXY", "off");
    env.put("GOTOOLCHAIN", "local");
    if (System.getenv("GOCACHE") == null && System.getenv("HOME") == null) {
      env.put("GOCACHE", dir.resolve("gocache").toString());
    }
    Command.run(Duration.ofMinutes(4), source(), env, argv.toArray(new String[0])).check();
    return out;
  }

  /** {@code go tool nm}'s address of {@code symbol} in an unstripped binary, or -1. */
  public static long nmAddress(String go, Path binary, String symbol) {
    String out = Command.run(Duration.ofMinutes(1), go, "tool", "nm", binary.toString()).check().stdout();
    for (String line : out.split("\n")) {
      String[] f = line.trim().split("\\s+", 3);
      if (f.length == 3 && f[2].equals(symbol)) {
        return Long.parseUnsignedLong(f[0], 16);
      }
    }
    return -1;
  }

  /** The output of {@code go version} for the toolchain, e.g. "go1.19.8". */
  public static String goVersion(String go) {
    String out = Command.run(Duration.ofMinutes(1), go, "version").check().stdout();
    return out.split("\\s+")[2];
  }

  static void writeString(Path file, String text) {
    try {
      Files.writeString(file, text);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}

// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.capture;

import dev.tlscap.testing.Command;
import dev.tlscap.testing.Requirements;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The real command, {@code java -jar target/tlscap.jar ...}, run as the user would, for the end-to-end
 * tests: started in the background, awaited until it prints {@code listening on}, stopped with a
 * signal.
 */
final class TlscapProcess implements AutoCloseable {
  final Command.Background process;

  private TlscapProcess(Command.Background process) {
    this.process = process;
  }

  static Path jar() {
    String repo = System.getenv().getOrDefault("TLSCAP_REPO", "..");
    Path jar = Path.of(repo, "target", "tlscap.jar").toAbsolutePath().normalize();
    if (!Files.exists(jar)) {
      throw new AssertionError(jar + " is missing: run 'mvn package' (the end-to-end tests run in 'mvn verify')");
    }
    return jar;
  }

  static List<String> command(String... args) {
    List<String> argv = new ArrayList<>(List.of(javaBinary(), "-jar", jar().toString()));
    argv.addAll(List.of(args));
    return argv;
  }

  private static String javaBinary() {
    return Path.of(System.getProperty("java.home"), "bin", "java").toString();
  }

  /** Starts tlscap and waits for its "listening on" line. */
  static TlscapProcess start(Path dir, String... args) {
    return start(dir, Map.of(), args);
  }

  /** As {@link #start(Path, String...)}, with extra environment variables (e.g. JAVA_TOOL_OPTIONS). */
  static TlscapProcess start(Path dir, Map<String, String> env, String... args) {
    Requirements.requireRoot();
    Command.Background p = Command.Background.start(dir, env, command(args).toArray(new String[0]));
    TlscapProcess t = new TlscapProcess(p);
    try {
      p.awaitOutput("listening on", Duration.ofSeconds(60));
    } catch (AssertionError e) {
      p.close();
      throw e;
    }
    return t;
  }

  /** Runs tlscap to completion (e.g. bad input) and returns its result. */
  static Command.Result run(Duration timeout, String... args) {
    return Command.run(timeout, command(args).toArray(new String[0]));
  }

  /** SIGINT, as Ctrl-C does; returns the exit code. */
  int interrupt() {
    return process.signalAndWait(2, Duration.ofSeconds(60));
  }

  /** SIGTERM, as scripts and service managers stop it; returns the exit code. */
  int terminate() {
    return process.signalAndWait(15, Duration.ofSeconds(60));
  }

  /** SIGKILL: no chance to finish anything; returns once the process is gone. */
  void kill9() {
    process.signalAndWait(9, Duration.ofSeconds(30));
  }

  long pid() {
    return process.pid();
  }

  boolean isAlive() {
    return process.process().isAlive();
  }

  String stderr() {
    return process.stderr();
  }

  /** What it printed on standard output so far ({@code --text}). */
  String stdout() {
    return process.stdout();
  }

  @Override
  public void close() {
    process.close();
  }
}

// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.testing;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** Runs real programs for tests: a command with a timeout and its output, or a background process. */
public final class Command {
  private Command() {}

  /** The outcome of a finished command. */
  public record Result(List<String> argv, int exitCode, String stdout, String stderr) {
    /** Throws with the command, exit code and stderr unless it exited 0. */
    public Result check() {
      if (exitCode != 0) {
        throw new AssertionError(
            "command failed (exit " + exitCode + "): " + String.join(" ", argv) + "\nstderr: " + stderr
                + "\nstdout: " + abbreviate(stdout));
      }
      return this;
    }

    private static String abbreviate(String s) {
      return s.length() > 4000 ? s.substring(0, 4000) + "..." : s;
    }
  }

  /** Runs {@code argv} to completion (killed after {@code timeout}) and returns its output. */
  public static Result run(Duration timeout, String... argv) {
    return run(timeout, null, Map.of(), argv);
  }

  /** Runs {@code argv} in {@code dir} (null: inherit) with extra environment variables. */
  public static Result run(Duration timeout, Path dir, Map<String, String> env, String... argv) {
    ProcessBuilder pb = new ProcessBuilder(argv);
    if (dir != null) {
      pb.directory(dir.toFile());
    }
    pb.environment().putAll(env);
    try {
      Process p = pb.start();
      p.getOutputStream().close();
      Drain out = new Drain(p.getInputStream());
      Drain err = new Drain(p.getErrorStream());
      if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        p.descendants().forEach(ProcessHandle::destroyForcibly);
        p.destroyForcibly();
        p.waitFor(5, TimeUnit.SECONDS);
        throw new AssertionError("command timed out after " + timeout + ": " + String.join(" ", argv)
            + "\nstderr so far: " + err.text());
      }
      out.join(); // the process ended: read its output to the end before returning it
      err.join();
      return new Result(List.of(argv), p.exitValue(), out.text(), err.text());
    } catch (IOException e) {
      throw new UncheckedIOException("cannot run " + String.join(" ", argv), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted while running " + String.join(" ", argv), e);
    }
  }

  /** Runs a shell snippet with {@code bash -c}. */
  public static Result sh(Duration timeout, String script) {
    return run(timeout, "bash", "-c", script);
  }

  /**
   * A process running in the background whose output is collected; closing it kills it and every
   * process it started.
   */
  public static final class Background implements AutoCloseable {
    private final Process process;
    private final Drain out;
    private final Drain err;
    private final List<String> argv;

    private Background(List<String> argv, Process process) {
      this.argv = argv;
      this.process = process;
      this.out = new Drain(process.getInputStream());
      this.err = new Drain(process.getErrorStream());
    }

    public static Background start(String... argv) {
      return start(null, Map.of(), argv);
    }

    public static Background start(Path dir, Map<String, String> env, String... argv) {
      ProcessBuilder pb = new ProcessBuilder(argv);
      if (dir != null) {
        pb.directory(dir.toFile());
      }
      pb.environment().putAll(env);
      try {
        return new Background(List.of(argv), pb.start());
      } catch (IOException e) {
        throw new UncheckedIOException("cannot start " + String.join(" ", argv), e);
      }
    }

    public Process process() {
      return process;
    }

    public long pid() {
      return process.pid();
    }

    public String stdout() {
      return out.text();
    }

    public String stderr() {
      return err.text();
    }

    /** Waits until stderr or stdout contains {@code text}; fails with the output if the process dies or time runs out. */
    public void awaitOutput(String text, Duration timeout) {
      long deadline = System.nanoTime() + timeout.toNanos();
      while (System.nanoTime() < deadline) {
        if (err.text().contains(text) || out.text().contains(text)) {
          return;
        }
        if (!process.isAlive() && !err.text().contains(text) && !out.text().contains(text)) {
          sleep(50); // let the drains catch the last bytes
          if (err.text().contains(text) || out.text().contains(text)) {
            return;
          }
          throw new AssertionError(String.join(" ", argv) + " exited (" + process.exitValue()
              + ") before printing '" + text + "'\nstderr: " + err.text() + "\nstdout: " + out.text());
        }
        sleep(20);
      }
      throw new AssertionError("no '" + text + "' from " + String.join(" ", argv) + " within " + timeout
          + "\nstderr: " + err.text() + "\nstdout: " + out.text());
    }

    /** Sends a signal by number (e.g. 2 for SIGINT, 15 for SIGTERM) and waits for the exit code. */
    public int signalAndWait(int signal, Duration timeout) {
      Command.run(Duration.ofSeconds(5), "kill", "-" + signal, Long.toString(process.pid()));
      return waitFor(timeout);
    }

    public int waitFor(Duration timeout) {
      try {
        if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
          throw new AssertionError(String.join(" ", argv) + " did not exit within " + timeout
              + "\nstderr: " + err.text());
        }
        out.join();
        err.join();
        return process.exitValue();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError(e);
      }
    }

    @Override
    public void close() {
      process.descendants().forEach(ProcessHandle::destroyForcibly);
      process.destroyForcibly();
      try {
        process.waitFor(5, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  /** Reads a stream on a daemon thread so a chatty child never blocks on a full pipe. */
  private static final class Drain {
    private final ByteArrayOutputStream buffer = new ByteArrayOutputStream();
    private final Thread thread;

    Drain(InputStream in) {
      thread = new Thread(() -> {
        byte[] chunk = new byte[8192];
        try (in) {
          int n;
          while ((n = in.read(chunk)) > 0) {
            synchronized (buffer) {
              buffer.write(chunk, 0, n);
            }
          }
        } catch (IOException ignored) {
          // the process went away; what was read so far is kept
        }
      }, "drain");
      thread.setDaemon(true);
      thread.start();
    }

    String text() {
      synchronized (buffer) {
        return buffer.toString(StandardCharsets.UTF_8);
      }
    }

    void join() throws InterruptedException {
      thread.join(5000);
    }
  }

  /** Convenience for building argv lists. */
  public static String[] argv(List<String> parts) {
    return new ArrayList<>(parts).toArray(new String[0]);
  }
}

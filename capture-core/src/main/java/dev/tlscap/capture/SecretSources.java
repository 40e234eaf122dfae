// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.capture;

import dev.tlscap.capture.jsse.JavaSecretSource;
import dev.tlscap.secrets.ExecWatcher;
import dev.tlscap.secrets.OpenSslSecretSource;
import dev.tlscap.secrets.SecretSource;
import dev.tlscap.secrets.TlsLibraryFinder;
import dev.tlscap.secrets.TlsSecret;
import dev.tlscap.secrets.go.GoSecretSource;
import dev.tlscap.secrets.go.GoTlsInspection;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * Every {@link SecretSource} of the capture (OpenSSL 3 and its kin, Go crypto/tls, JSSE with
 * {@code --java}) and the {@link ExecWatcher}
 * that shows them each program started later, so that programs are traced with no flag: at start,
 * the host's libraries and running programs; then every program as it starts (its executable at
 * once, the libraries it maps shortly after); and every 5 s a rescan for what appeared otherwise
 * (containers). {@code --libssl} files go to the source that can read them. Event-loop thread only.
 */
final class SecretSources implements AutoCloseable {
  /**
   * When a started program's libraries are looked at (ld.so maps them after exec; dlopen later):
   * once after 100 ms when the host C library's dlopen is watched and the program runs in tlscap's
   * root (a library it loads later is reported as it loads, and what that one links in is looked for
   * 100 ms later), again after 1 s otherwise (a container's C library, no dlopen probe). The rescan
   * every 5 s finds anything later.
   */
  static final long[] PROGRAM_RESCAN_MILLIS = {100, 1_000};

  private final List<SecretSource> sources = new ArrayList<>();
  private final ScheduledExecutorService loop;
  private ExecWatcher execWatcher;
  /** Processes that loaded a library with dlopen and whose maps are to be looked at shortly. */
  private final java.util.Set<Integer> librariesRescanPending = new java.util.HashSet<>();
  /** {@code --java}'s source, or null. */
  private JavaSecretSource java;

  private SecretSources(ScheduledExecutorService loop) {
    this.loop = loop;
  }

  /**
   * Opens the sources; {@code messages} gets one line per file traced and per warning. Throws with
   * the line to print when a source cannot start or a {@code --libssl} file cannot be traced.
   */
  static SecretSources open(CaptureConfig config, Consumer<String> messages, ScheduledExecutorService loop) {
    SecretSources all = new SecretSources(loop);
    try {
      List<Path> goBinaries = new ArrayList<>();
      List<Path> openssl = new ArrayList<>();
      for (Path file : config.libssl()) {
        (GoTlsInspection.of(file).kind() == GoTlsInspection.Kind.TRACEABLE ? goBinaries : openssl).add(file);
      }
      all.sources.add(OpenSslSecretSource.open(new OpenSslSecretSource.Options(config.pid(), config.comm(), openssl,
          config.secretRingBytes(), true, config.socketTracing()), messages));
      GoSecretSource go = GoSecretSource.open(new GoSecretSource.Options(config.pid(), config.comm(), goBinaries,
          Math.max(1 << 16, config.secretRingBytes() / 4), Path.of("/proc")), messages);
      all.sources.add(go);
      go.scan();
      if (config.java()) {
        JavaSecretSource java = JavaSecretSource.open(new JavaSecretSource.Options(config.pid(), config.comm(),
            Path.of("/proc")), messages);
        all.sources.add(java);
        all.java = java;
        java.scan();
      }
      try {
        all.execWatcher = ExecWatcher.open(config.pid(), config.comm());
      } catch (RuntimeException e) {
        messages.accept("warning: programs started later are found every 5 s only: " + Tlscap.oneLine(e));
      }
      return all;
    } catch (RuntimeException e) {
      all.close();
      throw e;
    }
  }

  /** The exec ring's fd (it wakes its reader), or -1 without an exec watcher. */
  int execRingFd() {
    return execWatcher != null ? execWatcher.fd() : -1;
  }

  private final ExecWatcher.Listener programs = new ExecWatcher.Listener() {
    @Override
    public void programStarted(int pid) {
      SecretSources.this.programStarted(pid);
    }

    @Override
    public void libraryOpened(int pid, String path) {
      SecretSources.this.libraryOpened(pid, path);
    }
  };

  /** Looks at the programs that started since the last call. */
  void drainPrograms() {
    if (execWatcher != null) {
      execWatcher.drain(programs);
    }
  }

  /**
   * A process loads a library with dlopen. One named like a TLS one (a JNI library that links
   * BoringSSL, extracted and loaded at run time) is traced now, while the dynamic linker maps it,
   * before it is used; whatever its name, what it links in is looked for in the maps shortly after.
   */
  private void libraryOpened(int pid, String path) {
    Path process = Path.of("/proc", Integer.toString(pid));
    // What it links in, once mapped: Python's _ssl module and the libssl of the program's own
    // environment (a virtualenv's, LD_LIBRARY_PATH). One look for a burst of loads.
    if (librariesRescanPending.add(pid)) {
      loop.schedule(() -> {
        librariesRescanPending.remove(pid);
        rescanLibraries(pid, process);
      }, PROGRAM_RESCAN_MILLIS[0], TimeUnit.MILLISECONDS);
    }
    Path name = Path.of(path).getFileName();
    if (name == null || !TlsLibraryFinder.mayHoldTls(name.toString())) {
      return;
    }
    Path file = path.startsWith("/") ? process.resolve("root").resolve(path.substring(1)) : process.resolve("cwd").resolve(path);
    for (SecretSource source : sources) {
      source.examine(file, "pid " + pid);
    }
  }

  /** Hands every secret collected since the last call to {@code sink}, after looking at the programs that started. */
  void drain(Consumer<TlsSecret> sink) {
    drainPrograms();
    for (SecretSource source : sources) {
      source.drain(sink);
    }
  }

  /** Looks for what is new on the host (every 5 s). */
  void scan() {
    for (SecretSource source : sources) {
      source.scan();
    }
  }

  /** All sources' counters, added up. */
  SecretSource.SecretCounters counters() {
    SecretSource.SecretCounters sum = SecretSource.SecretCounters.ZERO;
    for (SecretSource source : sources) {
      sum = sum.plus(source.counters());
    }
    return sum;
  }

  /**
   * A program started: each source looks at its executable now (a Go binary, OpenSSL linked in)
   * and, when it runs in another root (a container, a chroot), at the libraries there; and at the
   * libraries it maps once the dynamic linker (and a first dlopen) had time to load them.
   */
  private void programStarted(int pid) {
    Path process = Path.of("/proc", Integer.toString(pid));
    Path exe = executableOf(process);
    if (exe == null) {
      return; // done already (/bin/true and kin): nothing to look at, now or later
    }
    String origin = "pid " + pid;
    for (SecretSource source : sources) {
      source.scanRoot(pid); // first: a container's libcrypto is what its programs most likely use
      source.examine(exe, origin);
    }
    // an executable reached through /proc/PID/root runs in another root, with another C library
    boolean dlopenReported = execWatcher != null && execWatcher.watchesDlopen() && !exe.startsWith(process);
    int rescans = dlopenReported ? 1 : PROGRAM_RESCAN_MILLIS.length;
    Runnable rescan = () -> rescanLibraries(pid, process);
    for (int i = 0; i < rescans; i++) {
      loop.schedule(rescan, PROGRAM_RESCAN_MILLIS[i], TimeUnit.MILLISECONDS);
    }
  }

  /** The libraries a started process mapped since its executable was examined, if it still runs. */
  private void rescanLibraries(int pid, Path process) {
    if (!Files.exists(process)) {
      return; // one stat: most programs of an exec storm are gone by then
    }
    for (SecretSource source : sources) {
      source.scanLoadedLibraries(pid);
    }
  }

  /**
   * A process's executable: through its own root when that is not ours (containers), else its
   * path here (still valid when a short-lived process is gone before the attach); null when it is
   * gone. A readlink and a stat: an exec storm pays these for each of its programs.
   */
  private static Path executableOf(Path process) {
    try {
      Path target = Files.readSymbolicLink(process.resolve("exe"));
      if (TlsLibraryFinder.isOwnRoot(process.resolve("root"))) {
        return target;
      }
      return process.resolve("root").resolve(target.toString().substring(1));
    } catch (IOException | RuntimeException e) {
      return null;
    }
  }

  /** {@code --java}'s source, or null without it. */
  JavaSecretSource java() {
    return java;
  }

  /** Detaches everything; never throws. */
  @Override
  public void close() {
    if (execWatcher != null) {
      try {
        execWatcher.close();
      } catch (RuntimeException ignored) {
        // closing the others matters more
      }
    }
    for (SecretSource source : sources) {
      source.close();
    }
  }
}

// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.secrets.go;

import dev.tlscap.bpf.BpfException;
import dev.tlscap.bpf.BpfMap;
import dev.tlscap.bpf.BpfObject;
import dev.tlscap.bpf.Posix;
import dev.tlscap.bpf.RingBufferReader;
import dev.tlscap.secrets.SecretSource;
import dev.tlscap.secrets.TlsEventListener;
import dev.tlscap.secrets.TlsEventView;
import dev.tlscap.secrets.TlsLibrary;
import dev.tlscap.secrets.TlsLibraryFinder;
import dev.tlscap.secrets.TlsSecret;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * TLS secrets from Go programs (crypto/tls): a {@link SecretSource} that finds Go executables
 * (running processes' {@code /proc/PID/exe}, or files it is given), and puts {@link GoTlsProbe}'s
 * uprobe on {@code crypto/tls.(*Config).writeKeyLog} of each: one attach per file covers every
 * process of that binary, now and later, in containers too (through {@code /proc/PID/root}). Its
 * secrets come complete (client random included).
 *
 * <p>It loads its own instance of tls_secrets.bpf.o (only {@value GoTlsProbe#PROGRAM}; the OpenSSL
 * program and socket tracing are not loaded and their maps are shrunk to one entry), with its own
 * ring, counters and the same {@code --pid}/{@code --comm} filters. Each binary is inspected once
 * (by device and inode): a second exec of a known binary costs a stat.
 *
 * <p>Messages: {@code TLS secrets from /srv/app (Go 1.19, crypto/tls)} for each traced binary, and a
 * warning for a Go binary that uses crypto/tls but cannot be traced. Not thread-safe: one thread.
 */
public final class GoSecretSource implements SecretSource {
  /** The library family, as shown to users and in {@link TlsSecret#library()}. */
  public static final String LIBRARY = "Go crypto/tls";
  static final String OBJECT = "/bpf/tls_secrets.bpf.o";
  /** How often a consumer should drain the events (they arrive without wakeups). */
  public static final int DRAIN_INTERVAL_MS = 10;
  static final long BPF_RB_NO_WAKEUP = 1;
  /** struct tls_counters of tls_abi.h. */
  static final int COUNTER_SECRETS = 0;
  static final int COUNTER_RING_FULL = 16;
  /** Maps only the OpenSSL program and socket tracing use. */
  private static final String[] UNUSED_MAPS = {"pending_secrets", "thread_io", "socket_random"};

  /**
   * What to trace.
   *
   * @param pid only this process's secrets (0: every process)
   * @param comm only processes of this name (null: every process)
   * @param binaries Go binaries the user named; each must be traceable
   * @param ringBytes the event ring's size, a power of two (secrets are ~200 bytes; a handshake sends 2-4 per side)
   * @param proc where processes are listed ({@code /proc}; tests may point elsewhere)
   */
  public record Options(int pid, String comm, List<Path> binaries, int ringBytes, Path proc) {
    public Options {
      binaries = List.copyOf(binaries);
    }

    public static Options defaults() {
      return new Options(0, null, List.of(), 1 << 20, Path.of("/proc"));
    }
  }

  private final BpfObject object;
  private final RingBufferReader reader;
  private final BpfMap counters;
  private final Consumer<String> messages;
  private final Path proc;
  private final List<TlsLibrary> libraries = new ArrayList<>();
  /** device:inode of every file inspected, traced or not. */
  private final Map<String, GoTlsInspection.Kind> seen = new HashMap<>();
  private long malformed;

  private GoSecretSource(BpfObject object, Consumer<String> messages, Path proc) {
    this.object = object;
    this.messages = messages;
    this.proc = proc;
    this.reader = new RingBufferReader(object.map("events"));
    object.closeWith(reader);
    this.counters = object.map("counters");
  }

  /**
   * Loads the probe and traces the binaries named in {@code options}; throws
   * {@link IllegalArgumentException} (a named file that is not a traceable Go binary) or
   * {@link BpfException} with the line to print. Call {@link #scan()} to trace running programs.
   */
  public static GoSecretSource open(Options options, Consumer<String> messages) {
    List<GoTlsInspection> named = new ArrayList<>();
    for (Path file : options.binaries()) {
      GoTlsInspection inspection = GoTlsInspection.of(file);
      if (inspection.kind() != GoTlsInspection.Kind.TRACEABLE) {
        throw new IllegalArgumentException(file + ": " + switch (inspection.kind()) {
          case NOT_GO -> "not a Go program (or not readable)";
          case GO_WITHOUT_TLS -> "a Go program that does not use crypto/tls";
          default -> inspection.reason();
        });
      }
      named.add(inspection);
    }
    BpfObject object = BpfObject.open(GoSecretSource.class, OBJECT);
    try {
      object.setRodataU32("own_pid", Posix.processId());
      object.setRodataU64("submit_flags", BPF_RB_NO_WAKEUP);
      object.setRodataU32("target_pid", options.pid());
      byte[] comm = new byte[16];
      if (options.comm() != null) {
        byte[] name = options.comm().getBytes(StandardCharsets.UTF_8);
        System.arraycopy(name, 0, comm, 0, Math.min(15, name.length));
      }
      object.setRodata("target_comm", comm);
      object.setAutoload("kdf_derive_entry", false);
      object.setAutoload("tls_socket_io", false);
      object.setAutoload("bssl_hkdf_expand", false);
      object.setAutoload("bssl_tls1_prf", false);
      object.setAutoload("ossl11_ctrl", false);
      object.setAutoload("ossl11_derive", false);
      for (String map : UNUSED_MAPS) {
        object.setMaxEntries(map, 1);
      }
      object.setMaxEntries("events", options.ringBytes());
      object.load();
      GoSecretSource source = new GoSecretSource(object, messages, options.proc());
      for (GoTlsInspection inspection : named) {
        source.trace(inspection.target(), "named", true);
      }
      return source;
    } catch (RuntimeException e) {
      object.close();
      throw e;
    }
  }

  @Override
  public String library() {
    return LIBRARY;
  }

  /** Traces the executables of running processes not seen before. */
  @Override
  public List<TlsLibrary> scan() {
    List<TlsLibrary> added = new ArrayList<>();
    try (DirectoryStream<Path> processes = Files.newDirectoryStream(proc, TlsLibraryFinder::isProcess)) {
      for (Path process : processes) {
        scanProcess(process).ifPresent(added::add);
      }
    } catch (IOException e) {
      messages.accept("warning: cannot list processes in " + proc + ": " + e.getMessage());
    }
    return added;
  }

  /** Traces process {@code pid}'s executable, if it is a Go program with crypto/tls not seen before. */
  @Override
  public List<TlsLibrary> scanProcess(int pid) {
    return scanProcess(proc.resolve(Integer.toString(pid))).map(List::of).orElse(List.of());
  }

  /** A Go program is its executable, examined when it started: nothing more to look at. */
  @Override
  public List<TlsLibrary> scanLoadedLibraries(int pid) {
    return List.of();
  }

  private Optional<TlsLibrary> scanProcess(Path process) {
    String exe;
    try {
      exe = Files.readSymbolicLink(process.resolve("exe")).toString();
    } catch (IOException | RuntimeException e) {
      return Optional.empty(); // exited, a kernel thread, or not ours to read
    }
    if (!exe.startsWith("/") || exe.endsWith(" (deleted)")) {
      return Optional.empty();
    }
    // through /proc/PID/root the path resolves in the process's own mount namespace (containers)
    return examine(process.resolve("root").resolve(exe.substring(1)), "pid " + process.getFileName());
  }

  @Override
  public Optional<TlsLibrary> examine(Path file, String origin) {
    String id;
    try {
      id = identity(file);
    } catch (IOException e) {
      return Optional.empty();
    }
    if (seen.containsKey(id)) {
      return Optional.empty();
    }
    GoTlsInspection inspection = GoTlsInspection.of(file);
    seen.put(id, inspection.kind());
    if (inspection.kind() == GoTlsInspection.Kind.UNTRACEABLE) {
      messages.accept(GoTlsProbe.message(TlsLibraryFinder.display(file, origin), inspection));
    }
    if (inspection.kind() != GoTlsInspection.Kind.TRACEABLE) {
      return Optional.empty();
    }
    return trace(inspection.target(), origin, false);
  }

  /** Traces {@code target} (as inspected, or with another probe site: benchmarks). */
  Optional<TlsLibrary> trace(GoTlsTarget target, String origin, boolean mustWork) {
    try {
      String[] id = identity(target.path()).split(":");
      GoTlsProbe.attach(object, target);
      TlsLibrary library = new TlsLibrary(target.path(), Long.parseLong(id[0]), Long.parseLong(id[1]), null, origin,
          TlsLibrary.Kind.GO, java.util.Map.of());
      libraries.add(library);
      seen.put(id[0] + ":" + id[1], GoTlsInspection.Kind.TRACEABLE);
      messages.accept(GoTlsProbe.message(TlsLibraryFinder.display(target.path(), origin), target));
      return Optional.of(library);
    } catch (BpfException | IOException e) {
      if (mustWork) {
        throw e instanceof BpfException b ? b : new IllegalArgumentException(target.path() + ": " + e.getMessage());
      }
      messages.accept("warning: " + e.getMessage());
      return Optional.empty();
    }
  }

  @Override
  public List<TlsLibrary> libraries() {
    return Collections.unmodifiableList(libraries);
  }

  @Override
  public int drain(Consumer<TlsSecret> sink) {
    TlsEventListener listener = s -> sink.accept(new TlsSecret(s.bootTimeNanos(), s.pid(), s.tid(), s.comm(),
        s.socket(), s.clientRandom(), s.label(), s.secret(), LIBRARY));
    return reader.drain((data, at, length) -> {
      try {
        TlsEventView.dispatch(data, at, length, listener);
      } catch (TlsEventView.MalformedEventException e) {
        malformed++;
      }
    });
  }

  @Override
  public SecretCounters counters() {
    return new SecretCounters(counters.sumPerCpuU64(0, COUNTER_SECRETS), counters.sumPerCpuU64(0, COUNTER_RING_FULL),
        counters.sumPerCpuU64(0, GoTlsProbe.COUNTER_GO_UNREADABLE), malformed + reader.handlerFailures());
  }

  /** writeKeyLog calls the probe saw in traced processes (each should be one secret). */
  public long keyLogCalls() {
    return counters.sumPerCpuU64(0, GoTlsProbe.COUNTER_GO_KEY_LOGS);
  }

  @Override
  public void close() {
    try {
      object.close();
    } catch (RuntimeException e) {
      messages.accept("warning: " + e.getMessage());
    }
  }

  private static String identity(Path path) throws IOException {
    Map<String, Object> a = Files.readAttributes(path, "unix:dev,ino");
    return a.get("dev") + ":" + a.get("ino");
  }
}

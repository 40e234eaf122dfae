// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.secrets;

import dev.tlscap.bpf.BpfMap;
import dev.tlscap.bpf.BpfObject;
import dev.tlscap.bpf.Posix;
import dev.tlscap.bpf.RingBufferReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.function.IntConsumer;

/**
 * The programs that start (bpf/src/main/bpf/exec_watch.bpf.c: a raw tracepoint on
 * {@code sched_process_exec}), so that the capture can look at each new program for a TLS library to
 * trace (a Go binary, a program with OpenSSL linked in) while it starts, with no flag. The kernel
 * side costs one small ring record per exec and wakes a reader that waits on {@link #fd()} (epoll):
 * a new program is looked at within a fraction of a millisecond, before most of its TLS.
 *
 * <p>Lifecycle: {@link #open} (throws {@link dev.tlscap.bpf.BpfException} with the line to print) ->
 * {@link #drain} on one thread -> {@link #close()}. Not thread-safe.
 */
public final class ExecWatcher implements AutoCloseable {
  static final String OBJECT = "/bpf/exec_watch.bpf.o";
  /** {@code struct exec_event} of exec_abi.h (offsets checked by ExecAbiLayoutTest). */
  static final int SIZE = 32;
  static final int PID = 8;
  static final int KIND = 12;
  static final int COMM = 16;
  static final int COMM_LEN = 16;
  /** {@code struct exec_library_event}: the path after the same header. */
  static final int LIBRARY_SIZE = 272;
  static final int PATH = 16;
  static final int PATH_LEN = 256;
  /** {@code enum exec_event_kind}. */
  static final int KIND_EXEC = 0;
  static final int KIND_LIBRARY = 1;
  /** {@code struct exec_counters}: execs, ring_full, libraries. */
  static final int COUNTER_EXECS = 0;
  static final int COUNTER_RING_FULL = 8;
  static final int COUNTER_LIBRARIES = 16;

  /** What a process did that is worth a look: it started a program, or opened a library. */
  public interface Listener {
    void programStarted(int pid);

    /** {@code path} as the process named it (absolute, or relative to its working directory). */
    void libraryOpened(int pid, String path);
  }

  private final BpfObject object;
  private final RingBufferReader reader;
  private final BpfMap counters;
  /** The dlopen probe is attached to at least one C library here. */
  private boolean watchesDlopen;

  private ExecWatcher(BpfObject object) {
    this.object = object;
    this.reader = new RingBufferReader(object.map("execs"));
    object.closeWith(reader);
    this.counters = object.map("exec_stats");
  }

  /** Watches every exec (or only {@code pid}'s, or only programs named {@code comm}; null: any). */
  public static ExecWatcher open(int pid, String comm) {
    BpfObject object = BpfObject.open(ExecWatcher.class, OBJECT);
    try {
      object.setRodataU32("own_pid", Posix.processId());
      object.setRodataU32("target_pid", pid);
      byte[] name = new byte[COMM_LEN];
      if (comm != null) {
        byte[] b = comm.getBytes(StandardCharsets.UTF_8);
        System.arraycopy(b, 0, name, 0, Math.min(b.length, COMM_LEN - 1));
      }
      object.setRodata("target_comm", name);
      object.load();
      ExecWatcher watcher = new ExecWatcher(object);
      object.program("program_started").attachRawTracepoint("sched_process_exec");
      watcher.watchDlopen();
      return watcher;
    } catch (RuntimeException e) {
      object.close();
      throw e;
    }
  }

  /** The C libraries whose dlopen is watched: glibc's libc.so.6 (2.34+) and libdl.so.2 (older), where they define it. */
  static final List<Path> DLOPEN_LIBRARIES = List.of(Path.of("/lib/x86_64-linux-gnu/libc.so.6"),
      Path.of("/lib/x86_64-linux-gnu/libdl.so.2"), Path.of("/lib/aarch64-linux-gnu/libc.so.6"),
      Path.of("/lib/aarch64-linux-gnu/libdl.so.2"), Path.of("/lib64/libc.so.6"), Path.of("/lib64/libdl.so.2"));

  /** Attaches the dlopen probe to each C library here that defines dlopen (each file once). */
  private void watchDlopen() {
    java.util.Set<String> seen = new java.util.HashSet<>();
    for (Path library : DLOPEN_LIBRARIES) {
      try {
        Path real = library.toRealPath();
        dev.tlscap.bpf.ElfSymbols symbols = seen.add(real.toString())
            ? dev.tlscap.bpf.ElfSymbols.read(real, java.util.Set.of("dlopen"), dev.tlscap.bpf.ElfSymbols.Version.NEVER)
            : null;
        if (symbols == null || symbols.fileOffset("dlopen") < 0) {
          continue;
        }
        // by offset: glibc defines dlopen twice (two symbol versions, one address)
        long site = symbols.fileOffset("dlopen")
            + dev.tlscap.bpf.UprobeSite.entryOffset(symbols.code("dlopen"), System.getProperty("os.arch"));
        object.program("library_opened").attachUprobeAt(real, site, "dlopen", 0);
        watchesDlopen = true;
      } catch (java.io.IOException e) {
        // not on this distribution
      } catch (dev.tlscap.bpf.BpfException e) {
        // without it, a library loaded later is found by the rescans of its process (1 s, 5 s)
      }
    }
  }

  /**
   * Whether libraries loaded with the host C library's dlopen are reported ({@link Listener#libraryOpened});
   * where not, only the rescans of a started process find them.
   */
  public boolean watchesDlopen() {
    return watchesDlopen;
  }

  /** Hands the pid of every program that started since the last call to {@code started}; returns how many. */
  public int drain(IntConsumer started) {
    return drain(new Listener() {
      @Override
      public void programStarted(int pid) {
        started.accept(pid);
      }

      @Override
      public void libraryOpened(int pid, String path) {}
    });
  }

  /** Hands every program started and library opened since the last call to {@code listener}; returns how many. */
  public int drain(Listener listener) {
    return reader.drain((data, at, length) -> {
      if (length < SIZE) {
        return;
      }
      int pid = data.getInt(at + PID);
      int kind = data.getInt(at + KIND);
      if (kind == KIND_EXEC) {
        listener.programStarted(pid);
      } else if (kind == KIND_LIBRARY && length >= LIBRARY_SIZE) {
        int end = 0;
        while (end < PATH_LEN && data.get(at + PATH + end) != 0) {
          end++;
        }
        byte[] path = new byte[end];
        data.get(at + PATH, path);
        listener.libraryOpened(pid, new String(path, StandardCharsets.UTF_8));
      }
    });
  }

  /** The ring's fd: readable (epoll) when an exec was reported while the reader waited. */
  public int fd() {
    return reader.fd();
  }

  /** Programs started (that the filters let through) since open. */
  public long execs() {
    return counters.sumPerCpuU64(0, COUNTER_EXECS);
  }

  /** Execs not reported because the ring was full (their programs are found by the periodic scan). */
  public long lost() {
    return counters.sumPerCpuU64(0, COUNTER_RING_FULL);
  }

  @Override
  public void close() {
    object.close();
  }
}

// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.secrets;

import dev.tlscap.bpf.BpfMap;
import dev.tlscap.bpf.BpfObject;
import dev.tlscap.bpf.Posix;
import dev.tlscap.bpf.RingBufferReader;
import java.nio.charset.StandardCharsets;
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
  static final int COMM = 16;
  static final int COMM_LEN = 16;
  /** {@code struct exec_counters}: execs, ring_full. */
  static final int COUNTER_EXECS = 0;
  static final int COUNTER_RING_FULL = 8;

  private final BpfObject object;
  private final RingBufferReader reader;
  private final BpfMap counters;

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
      return watcher;
    } catch (RuntimeException e) {
      object.close();
      throw e;
    }
  }

  /** Hands the pid of every program that started since the last call to {@code started}; returns how many. */
  public int drain(IntConsumer started) {
    return reader.drain((data, at, length) -> {
      if (length >= SIZE) {
        started.accept(data.getInt(at + PID));
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

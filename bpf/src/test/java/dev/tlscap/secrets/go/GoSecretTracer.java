// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.secrets.go;

import dev.tlscap.bpf.BpfMap;
import dev.tlscap.bpf.BpfObject;
import dev.tlscap.bpf.Libc;
import dev.tlscap.bpf.RingBufferReader;
import dev.tlscap.secrets.TlsEventListener;
import dev.tlscap.secrets.TlsEventView;
import dev.tlscap.secrets.TlsSecretEvent;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The Go probe on its own, until the secret-source interface wires it in: loads tls_secrets.bpf.o
 * with the same read-only filters TlsSecretSource sets (no OpenSSL uprobe, no socket tracing),
 * attaches {@link GoTlsProbe} to the binaries given and decodes the ring with {@link TlsEventView}.
 * One thread.
 */
final class GoSecretTracer implements AutoCloseable {
  static final String OBJECT = "/bpf/tls_secrets.bpf.o";
  static final long BPF_RB_NO_WAKEUP = 1;

  private final BpfObject object;
  private final RingBufferReader reader;
  private final BpfMap counters;
  final List<TlsSecretEvent> secrets = new ArrayList<>();
  private long malformed;

  /** {@code pid} 0 and {@code comm} null: every process (but this one). */
  GoSecretTracer(int pid, String comm) {
    object = BpfObject.open(TlsSecretSource0.class, OBJECT);
    try {
      object.setRodataU32("own_pid", Libc.getpid());
      object.setRodataU64("submit_flags", BPF_RB_NO_WAKEUP);
      object.setRodataU32("target_pid", pid);
      byte[] name = new byte[16];
      if (comm != null) {
        byte[] raw = comm.getBytes(StandardCharsets.UTF_8);
        System.arraycopy(raw, 0, name, 0, Math.min(15, raw.length));
      }
      object.setRodata("target_comm", name);
      object.setAutoload("tls_socket_io", false);
      object.load();
      reader = new RingBufferReader(object.map("events"));
      object.closeWith(reader);
      counters = object.map("counters");
    } catch (RuntimeException e) {
      object.close();
      throw e;
    }
  }

  /** Inspects and traces {@code binary}; throws unless it is a traceable Go binary. */
  GoTlsTarget attach(Path binary) {
    GoTlsInspection inspection = GoTlsInspection.of(binary);
    if (inspection.kind() != GoTlsInspection.Kind.TRACEABLE) {
      throw new IllegalArgumentException(binary + ": " + inspection);
    }
    GoTlsProbe.attach(object, inspection.target());
    return inspection.target();
  }

  /** Decodes what is in the ring; returns how many secrets came. */
  int drain() {
    int before = secrets.size();
    TlsEventListener listener = secrets::add;
    reader.drain((data, at, length) -> {
      try {
        TlsEventView.dispatch(data, at, length, listener);
      } catch (TlsEventView.MalformedEventException e) {
        malformed++;
      }
    });
    return secrets.size() - before;
  }

  long malformed() {
    return malformed + reader.handlerFailures();
  }

  long goKeyLogs() {
    return counters.sumPerCpuU64(0, GoTlsProbe.COUNTER_GO_KEY_LOGS);
  }

  long goUnreadable() {
    return counters.sumPerCpuU64(0, GoTlsProbe.COUNTER_GO_UNREADABLE);
  }

  long ringFull() {
    return counters.sumPerCpuU64(0, 16); // struct tls_counters.ring_full
  }

  /** The key log lines of the secrets of process {@code pid}, in arrival order. */
  List<String> linesOf(long pid) {
    return secrets.stream().filter(e -> e.pid() == pid).map(TlsSecretEvent::keyLogLine).toList();
  }

  /** The key log lines of every other process. */
  List<String> linesNotOf(long pid) {
    return secrets.stream().filter(e -> e.pid() != pid).map(TlsSecretEvent::keyLogLine).toList();
  }

  @Override
  public void close() {
    object.close();
  }

  /** The anchor for the object's resource (it is in the bpf jar, next to TlsSecretSource). */
  private static final class TlsSecretSource0 {}
}

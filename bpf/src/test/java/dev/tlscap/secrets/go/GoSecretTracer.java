// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.secrets.go;

import dev.tlscap.pcapng.KeyLogLine;
import dev.tlscap.secrets.TlsSecret;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/** Test harness around {@link GoSecretSource}: traces the binaries given, keeps every secret and message. One thread. */
final class GoSecretTracer implements AutoCloseable {
  static final String OBJECT = GoSecretSource.OBJECT;

  final GoSecretSource source;
  final List<TlsSecret> secrets = new ArrayList<>();
  final List<String> messages = new CopyOnWriteArrayList<>();

  /** {@code pid} 0 and {@code comm} null: every process (but this one). */
  GoSecretTracer(int pid, String comm) {
    source = GoSecretSource.open(new GoSecretSource.Options(pid, comm, List.of(), 1 << 20, Path.of("/proc")),
        messages::add);
  }

  /** Inspects and traces {@code binary}; throws unless it is a traceable Go binary. */
  GoTlsTarget attach(Path binary) {
    GoTlsInspection inspection = GoTlsInspection.of(binary);
    if (inspection.kind() != GoTlsInspection.Kind.TRACEABLE || source.examine(binary, "test").isEmpty()) {
      throw new IllegalArgumentException(binary + ": " + inspection + "; messages " + messages);
    }
    return inspection.target();
  }

  /** Decodes what is in the ring; returns how many secrets came. */
  int drain() {
    int before = secrets.size();
    source.drain(secrets::add);
    return secrets.size() - before;
  }

  long malformed() {
    return source.counters().malformed();
  }

  long goKeyLogs() {
    return source.keyLogCalls();
  }

  long goUnreadable() {
    return source.counters().unreadable();
  }

  long ringFull() {
    return source.counters().lost();
  }

  static String line(TlsSecret s) {
    return new KeyLogLine(s.label().keyLogLabel(), s.clientRandom(), s.secret()).toString();
  }

  /** The key log lines of the secrets of process {@code pid}, in arrival order. */
  List<String> linesOf(long pid) {
    return secrets.stream().filter(e -> e.pid() == pid).map(GoSecretTracer::line).toList();
  }

  /** The key log lines of every other process. */
  List<String> linesNotOf(long pid) {
    return secrets.stream().filter(e -> e.pid() != pid).map(GoSecretTracer::line).toList();
  }

  @Override
  public void close() {
    source.close();
  }
}

// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.secrets.go;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The Go probe alone, for bench/go-tls.sh: traces the Go binaries named, drains the secrets every
 * 10 ms and, when stopped (SIGTERM/SIGINT), prints what it counted. {@code --entry} puts the probe on
 * the function's first instruction (single-stepped) instead of the stack check's jbe (emulated),
 * to price the placement.
 *
 * <pre>java -cp ... dev.tlscap.secrets.go.GoTlsProbeMain [--entry] [--comm NAME] BINARY...</pre>
 */
public final class GoTlsProbeMain {
  private GoTlsProbeMain() {}

  public static void main(String[] args) throws Exception {
    List<String> files = new java.util.ArrayList<>(List.of(args));
    boolean entry = files.remove("--entry");
    String comm = null;
    int at = files.indexOf("--comm");
    if (at >= 0) {
      comm = files.remove(at + 1);
      files.remove(at);
    }
    AtomicLong secrets = new AtomicLong();
    CountDownLatch stopped = new CountDownLatch(1);
    CountDownLatch done = new CountDownLatch(1);
    try (GoSecretSource source = GoSecretSource.open(
        new GoSecretSource.Options(0, comm, List.of(), 1 << 20, Path.of("/proc")), System.err::println)) {
      for (String file : files) {
        GoTlsInspection inspection = GoTlsInspection.of(Path.of(file));
        if (inspection.kind() != GoTlsInspection.Kind.TRACEABLE) {
          System.err.println("go-tls-probe: " + file + ": " + inspection);
          System.exit(1);
        }
        GoTlsTarget t = inspection.target();
        if (entry) {
          t = new GoTlsTarget(t.path(), t.goVersion(), t.functionAddress(), t.functionOffset(),
              new GoPrologue(0, t.prologue().abi(), false));
        }
        source.trace(t, "bench", true);
        System.err.println("go-tls-probe: tracing " + file + " at file offset 0x" + Long.toHexString(t.probeOffset())
            + " (cookie " + t.cookie() + ")");
      }
      if (files.isEmpty()) {
        System.err.println("go-tls-probe: tracing nothing (loaded, draining)");
      }
      Runtime.getRuntime().addShutdownHook(new Thread(() -> {
        stopped.countDown();
        try {
          done.await();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }));
      while (stopped.getCount() > 0) {
        source.drain(s -> secrets.incrementAndGet());
        Thread.sleep(GoSecretSource.DRAIN_INTERVAL_MS);
      }
      source.drain(s -> secrets.incrementAndGet());
      var c = source.counters();
      System.err.println("go-tls-probe: " + source.keyLogCalls() + " writeKeyLog calls, " + secrets.get() + " secrets, "
          + c.lost() + " lost, " + c.unreadable() + " unreadable, " + c.malformed() + " malformed");
    } finally {
      done.countDown();
    }
  }
}

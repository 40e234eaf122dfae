// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.capture.jsse;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * Without {@code --java}: notices when a TLS session that ended without secrets belongs to a JVM
 * on this host (its socket, by the two ports in /proc/net/tcp and tcp6, is held by a process that
 * maps libjvm.so), so that the summary can say once that {@code --java} would key such sessions.
 * Looks at one such session a second at most, {@link #MAX_CHECKS} in all (each look reads /proc:
 * about 20 ms with 200 processes). Event-loop thread only.
 */
public final class JavaHint {
  static final int MAX_CHECKS = 32;

  private final Path proc;
  private final int self = (int) ProcessHandle.current().pid();
  private int checks;
  private long lastCheckNanos;
  private String found;

  public JavaHint(Path proc) {
    this.proc = proc;
  }

  /** A TLS session between ports {@code portA} and {@code portB} was released without its secrets. */
  public void releasedWithoutSecrets(int portA, int portB) {
    long now = System.nanoTime();
    if (found != null || checks >= MAX_CHECKS || (checks > 0 && now - lastCheckNanos < 1_000_000_000L)) {
      return;
    }
    checks++;
    lastCheckNanos = now;
    List<JvmProcess> jvms = new ArrayList<>();
    for (int pid : JvmProcess.pids(proc)) {
      JvmProcess p = new JvmProcess(proc, pid);
      if (pid != self && p.isJvm()) {
        jvms.add(p);
      }
    }
    if (jvms.isEmpty()) {
      return;
    }
    List<String> sockets = socketInodes(portA, portB);
    for (JvmProcess jvm : jvms) {
      if (holdsAny(jvm, sockets)) {
        found = JvmProcess.display(jvm.pid(), jvm.comm());
        return;
      }
    }
  }

  /** The summary's line, or null when no JVM's session was seen without secrets. */
  public String summaryLine() {
    return found == null ? null : "TLS sessions of Java programs ended without secrets (" + found
        + " is a JVM; JSSE has no library to probe): run with --java to key them";
  }

  /** {@code socket:[inode]} of the TCP sockets between the two ports (either end local). */
  private List<String> socketInodes(int portA, int portB) {
    List<String> inodes = new ArrayList<>();
    for (String table : List.of("net/tcp", "net/tcp6")) {
      try (Stream<String> lines = Files.lines(proc.resolve(table), StandardCharsets.US_ASCII)) {
        lines.skip(1).forEach(line -> {
          String[] f = line.trim().split("\\s+");
          if (f.length > 9) {
            int local = port(f[1]);
            int remote = port(f[2]);
            if (((local == portA && remote == portB) || (local == portB && remote == portA)) && !f[9].equals("0")) {
              inodes.add("socket:[" + f[9] + "]");
            }
          }
        });
      } catch (IOException | UncheckedIOException | NumberFormatException e) {
        // no such table (no IPv6): the other one
      }
    }
    return inodes;
  }

  private static int port(String endpoint) {
    return Integer.parseInt(endpoint.substring(endpoint.indexOf(':') + 1), 16);
  }

  private static boolean holdsAny(JvmProcess jvm, List<String> sockets) {
    if (sockets.isEmpty()) {
      return false;
    }
    try (Stream<Path> fds = Files.list(jvm.dir().resolve("fd"))) {
      return fds.anyMatch(fd -> {
        try {
          return sockets.contains(Files.readSymbolicLink(fd).toString());
        } catch (IOException e) {
          return false;
        }
      });
    } catch (IOException | UncheckedIOException e) {
      return false;
    }
  }
}

// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.capture;

import dev.tlscap.pcapng.ProcessAnnotation;
import dev.tlscap.secrets.TlsLabel;
import dev.tlscap.secrets.TlsSecret;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Which process sent a TLS connection's packets, from the secrets keyed to it. With one process,
 * it is the local end and annotates every packet of the flow. With two (both ends on this host),
 * each annotates the packets its end sends; which end a process is comes from the order it derives
 * secrets in (measured with OpenSSL: a client derives SERVER_TRAFFIC_SECRET_0 before
 * CLIENT_HANDSHAKE_TRAFFIC_SECRET, a server the other way round) or, for TLS 1.2, from which side
 * derives its key block first (the client, in a full handshake).
 *
 * <p>A packet's annotation is its sender's pid and thread, with the comment
 * {@code "PID: 1234\nCmd: curl"} while one end is known, and {@code "client: pid 1234 curl\nserver:
 * pid 1200 openssl"} once both are; a process in a container adds its id and pod ({@link Containers}:
 * {@code "\nContainer: 3f2a1b4c5d6e\nPod: default/web-1"}, or {@code " [container 3f2a1b4c5d6e, pod
 * default/web-1]"} after its end). One-process annotations are shared per process id, two-process
 * ones per pid and comment (the connections between the same two processes share them: every packet
 * reads its annotation, and one shared by many connections stays in the cache); bounded caches of the
 * most recent 4096 each. Event-loop thread only.
 */
final class ProcessAttribution {
  static final int MAX_PROCESSES = 4096;

  /** What tlscap knows of a process: its annotation, and its container (null: a process of the host). */
  private record Known(ProcessAnnotation annotation, Containers.Container container) {}

  private final Map<Integer, Known> processes = mostRecent();

  /** Two-process annotations by {@code pid + ":" + comment}. */
  private final Map<String, ProcessAnnotation> bothEndsAnnotations = mostRecent();

  private final Containers containers;

  /** A map that keeps the {@link #MAX_PROCESSES} most recently used entries. */
  private static <K, V> Map<K, V> mostRecent() {
    return new LinkedHashMap<>(64, 0.75f, true) {
      private static final long serialVersionUID = 1L;

      @Override
      protected boolean removeEldestEntry(Map.Entry<K, V> eldest) {
        return size() > MAX_PROCESSES;
      }
    };
  }

  ProcessAttribution() {
    this(new Containers(java.nio.file.Path.of("/")));
  }

  ProcessAttribution(Containers containers) {
    this.containers = containers;
  }

  /** Notes that {@code source}'s process derived one of the flow's secrets. */
  void learn(FlowProcesses flow, TlsSecret source) {
    Known known = processes.get(source.pid());
    if (known == null) {
      known = known(source.pid(), source.comm());
      processes.put(source.pid(), known);
    }
    ProcessAnnotation process = known.annotation();
    FlowProcesses.Sender sender = new FlowProcesses.Sender(process, source.tid(), source.comm(), known.container());
    TlsLabel label = source.label();
    if (flow.first == null) {
      flow.first = sender;
    }
    if (flow.client != null || label == TlsLabel.EXPORTER_SECRET || label == TlsLabel.CLIENT_EARLY_TRAFFIC_SECRET) {
      return;
    }
    // The first of (CLIENT_HANDSHAKE, SERVER_TRAFFIC_0, CLIENT_RANDOM) a process delivers tells its end.
    boolean client;
    if (label == TlsLabel.SERVER_TRAFFIC_SECRET_0) {
      client = true;
    } else if (label == TlsLabel.CLIENT_HANDSHAKE_TRAFFIC_SECRET) {
      client = false;
    } else if (label == TlsLabel.CLIENT_RANDOM) {
      client = flow.firstWithRole == null;
    } else {
      return;
    }
    if (flow.firstWithRole == null) {
      flow.firstWithRole = sender;
      flow.firstWithRoleIsClient = client;
      return;
    }
    if (flow.firstWithRole.process() == process) {
      return; // the same process again (its later secrets)
    }
    boolean otherIsClient = flow.firstWithRoleIsClient;
    if (label == TlsLabel.CLIENT_RANDOM) {
      client = !otherIsClient;
    }
    if (client == otherIsClient) {
      return; // both claim the same end: no reliable split, keep annotating with the first
    }
    bothEnds(flow, client ? sender : flow.firstWithRole, client ? flow.firstWithRole : sender);
  }

  /**
   * {@code "PID: 1234\nCmd: curl"}, and for a process in a container {@code "\nContainer:
   * 3f2a1b4c5d6e"} and, when known, {@code "\nPod: default/web-1"}.
   */
  private Known known(int pid, String comm) {
    Containers.Container c = containers.of(pid);
    if (c == null) {
      return new Known(ProcessAnnotation.forProcess(pid, comm), null);
    }
    return new Known(ProcessAnnotation.of(pid, "PID: " + Integer.toUnsignedString(pid) + "\nCmd: " + comm
        + "\nContainer: " + c.shortId() + (c.pod() == null ? "" : "\nPod: " + c.pod())), c);
  }

  /** "client: pid 1234 curl", and " [container 3f2a1b4c5d6e, pod default/web-1]" for one in a container. */
  private static String end(String role, FlowProcesses.Sender s) {
    return role + ": pid " + Integer.toUnsignedString(s.process().pid()) + " " + s.comm()
        + (s.container() == null ? "" : " [" + s.container().describe() + "]");
  }

  /**
   * Both ends are processes of this host: each packet carries its sender's pid (and thread) and a
   * comment naming both ends, {@code "client: pid 1234 curl\nserver: pid 1200 openssl"}.
   */
  private void bothEnds(FlowProcesses flow, FlowProcesses.Sender client, FlowProcesses.Sender server) {
    String comment = end("client", client) + "\n" + end("server", server);
    flow.client = new FlowProcesses.Sender(bothEndsAnnotation(client.process().pid(), comment), client.tid(),
        client.comm(), client.container());
    flow.server = new FlowProcesses.Sender(bothEndsAnnotation(server.process().pid(), comment), server.tid(),
        server.comm(), server.container());
  }

  private ProcessAnnotation bothEndsAnnotation(int pid, String comment) {
    return bothEndsAnnotations.computeIfAbsent(Integer.toUnsignedString(pid) + ":" + comment, k -> ProcessAnnotation.of(pid, comment));
  }
}

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
 * pid 1200 openssl"} once both are. One-process annotations are shared per process id (a bounded
 * cache of the most recent 4096). Event-loop thread only.
 */
final class ProcessAttribution {
  static final int MAX_PROCESSES = 4096;

  private final Map<Integer, ProcessAnnotation> processes = new LinkedHashMap<>(64, 0.75f, true) {
    private static final long serialVersionUID = 1L;

    @Override
    protected boolean removeEldestEntry(Map.Entry<Integer, ProcessAnnotation> eldest) {
      return size() > MAX_PROCESSES;
    }
  };

  /** Notes that {@code source}'s process derived one of the flow's secrets. */
  void learn(FlowProcesses flow, TlsSecret source) {
    ProcessAnnotation process = processes.computeIfAbsent(source.pid(),
        pid -> ProcessAnnotation.forProcess(pid, source.comm()));
    FlowProcesses.Sender sender = new FlowProcesses.Sender(process, source.tid(), source.comm());
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
   * Both ends are processes of this host: each packet carries its sender's pid (and thread) and a
   * comment naming both ends, {@code "client: pid 1234 curl\nserver: pid 1200 openssl"}.
   */
  private static void bothEnds(FlowProcesses flow, FlowProcesses.Sender client, FlowProcesses.Sender server) {
    String comment = "client: pid " + Integer.toUnsignedString(client.process().pid()) + " " + client.comm()
        + "\nserver: pid " + Integer.toUnsignedString(server.process().pid()) + " " + server.comm();
    flow.client = new FlowProcesses.Sender(ProcessAnnotation.of(client.process().pid(), comment), client.tid(),
        client.comm());
    flow.server = new FlowProcesses.Sender(ProcessAnnotation.of(server.process().pid(), comment), server.tid(),
        server.comm());
  }
}

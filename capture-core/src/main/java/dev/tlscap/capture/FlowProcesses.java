// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.capture;

import dev.tlscap.pcapng.ProcessAnnotation;

/**
 * The processes at the ends of one TLS connection, as its secrets told them: one (the local end)
 * or two (client and server both on this host). Written by {@link ProcessAttribution}; read when
 * the flow's packets are written. Event-loop thread only.
 */
final class FlowProcesses {
  /**
   * A process and thread that annotate a packet.
   *
   * @param process the packet's annotation: this process, or both ends once both are known
   * @param comm the process's name
   * @param container the process's container, or null for a process of the host
   */
  record Sender(ProcessAnnotation process, int tid, String comm, Containers.Container container) {}

  /** Both ends, once known. */
  Sender client;
  Sender server;
  /** The first process seen in the flow's secrets: annotates every packet until both ends are known. */
  Sender first;
  /** The first process whose secrets told which end it is, and that end. */
  Sender firstWithRole;
  boolean firstWithRoleIsClient;

  /** The process to annotate a packet sent by the client ({@code fromClient}) or the server with, or null. */
  Sender sender(boolean fromClient) {
    Sender s = fromClient ? client : server;
    return s != null ? s : first;
  }

  boolean bothEndsKnown() {
    return client != null;
  }
}

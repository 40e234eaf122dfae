// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.capture;

import dev.tlscap.capture.tls.TlsStream;
import dev.tlscap.pcapng.FlowSecrets;
import dev.tlscap.pcapng.ProcessAnnotation;
import java.util.ArrayDeque;

/**
 * One TCP connection in the connection table: which side is the client, whether it carries TLS,
 * its packets held back until the secrets to read it are in, its key log for the writer, and the
 * processes at its ends. Owned by the event-loop thread.
 */
final class TcpFlow {
  enum State {
    /** No payload yet: packets are written at once. */
    NEW,
    /** The client's first bytes look like TLS but the ClientHello is not complete: held. */
    UNDECIDED,
    /** TLS whose secrets are not all in: held. */
    HELD,
    /** TLS with every secret Wireshark needs: written at once, DSB first. */
    KEYED,
    /** TLS released before all its secrets came (hold time or memory bound): written at once. */
    RELEASED,
    /** Not TLS (or joined mid-stream): written at once, not followed. */
    PLAIN
  }

  final FlowKey key;
  State state = State.NEW;
  /** Whether endpoint A of the key is the client (sent the SYN, or else the first payload). */
  boolean clientIsA;
  boolean clientKnown;
  /** Initial sequence numbers of endpoints A and B, from their SYNs. */
  long synA;
  long synB;
  boolean synSeenA;
  boolean synSeenB;
  TlsStream tls;
  FlowSecrets secrets;
  final ArrayDeque<HeldPacket> held = new ArrayDeque<>();
  long heldBytes;
  long holdStartedNanos;
  long lastSeenNanos;
  boolean closing;
  /** Captured on a loopback interface: both ends are processes of this host. */
  boolean onLoopback;
  /**
   * A file rotation came after this keyed session's handshake was written: its later records go to
   * a file without the handshake, where Wireshark cannot decrypt them (TLS 1.3 needs the record
   * numbers, TLS 1.2 the server random). Counted once, with its first payload after the rotation.
   */
  boolean cutByRotation;
  boolean countedAsCut;
  /** When every secret the flow needs was keyed (0: not yet). */
  long fullyKeyedNanos;
  /** Processes known from the flow's secrets: the one or two local ends. */
  ProcessAnnotation clientProcess;
  int clientTid;
  ProcessAnnotation serverProcess;
  int serverTid;
  /** The first process seen in the flow's secrets: annotates every packet until both ends are known. */
  ProcessAnnotation someProcess;
  int someTid;
  /** The first process whose secrets told which end it is, and that end. */
  ProcessAnnotation firstRoleProcess;
  int firstRoleTid;
  boolean firstRoleIsClient;

  TcpFlow(FlowKey key, long now) {
    this.key = key;
    this.lastSeenNanos = now;
  }

  boolean isHeld() {
    return state == State.UNDECIDED || state == State.HELD;
  }

  boolean isTls() {
    return tls != null;
  }

  /** The process to annotate a packet sent by the client ({@code fromClient}) or the server with. */
  ProcessAnnotation process(boolean fromClient) {
    ProcessAnnotation p = fromClient ? clientProcess : serverProcess;
    return p != null ? p : someProcess;
  }

  int thread(boolean fromClient) {
    ProcessAnnotation p = fromClient ? clientProcess : serverProcess;
    return p != null ? (fromClient ? clientTid : serverTid) : someTid;
  }

  @Override
  public String toString() {
    return key + " " + state;
  }
}

// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.capture;

import dev.tlscap.capture.tls.CarriedSession;
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
  /** In the table's list of held flows. */
  boolean inHeldList;
  long lastSeenNanos;
  /** When it last moved to the end of the table's order ({@link ConnectionTable#REORDER_NANOS}). */
  long movedNanos;
  /** Which ends sent a FIN (1: the client, 2: the server; an RST counts as both). */
  private int ends;
  /** Captured on a loopback interface: both ends are processes of this host. */
  boolean onLoopback;
  /** The link type of the interface it was captured on (to read its packets again). */
  int linkType;
  /** TLS began inside the plain connection (STARTTLS and kin), not with its first byte. */
  boolean upgraded;
  /** With rotation, once keyed: followed on so that it decrypts in later files too (see {@link CarryOver}), or null. */
  CarriedSession carry;
  /** Why it cannot be carried into later files, or null. */
  String notCarried;
  /** The number of the file its last packet went to (0: not followed for rotation). */
  long fileNumber;
  /** The number of the last file it got a prologue in (0: none). */
  long prologueFile;
  /** Headers of its packets from each side, for the synthetic packets of its prologues. */
  CarryOver.Template clientTemplate;
  CarryOver.Template serverTemplate;
  /**
   * Released without all its secrets, but its stream holds secrets that most likely are its own
   * (a quiet connection after its handshake): still followed, and held again when it speaks.
   */
  boolean followLate;
  /** It was released without all its secrets once, with this many packets (counted then). */
  boolean releasedIncomplete;
  int packetsReleasedIncomplete;
  /** Bytes its TLS stream's parser holds, as last counted by the table. */
  long parserBytes;
  /** When it was last released without all its secrets (0: never). */
  long releasedNanos;
  /**
   * Client payload segments of a plain connection still watched for a ClientHello (STARTTLS: SMTP,
   * IMAP, POP3, LDAP, PostgreSQL, MySQL upgrade a plain connection to TLS after a few exchanges).
   */
  int plainSegmentsWatched;
  /** It was released keyed once (counted then; a TLS 1.2 renegotiation holds it again). */
  boolean keyedOnce;
  /** When every secret the flow needs was keyed (0: not yet). */
  long fullyKeyedNanos;
  /** The processes at its ends, from its secrets (TLS flows only). */
  FlowProcesses processes;
  /**
   * The process (and thread) that annotates a packet from the client, and one from the server, or
   * null: what {@link FlowProcesses#sender} says, kept here ({@link #sendersChanged}) because every
   * packet of the connection asks, and the processes and their senders are two more objects to read.
   */
  ProcessAnnotation clientProcess;
  int clientTid;
  ProcessAnnotation serverProcess;
  int serverTid;
  /**
   * The connection its 4-tuple had before, still held for its secrets (a client got its port back
   * while they were on their way), or null: this one's packets wait behind it, since a file in which
   * the new connection's SYN comes before the old one's last packets shows neither whole.
   */
  TcpFlow behind;
  /** The new connection on its 4-tuple that waits behind this one (see {@link #behind}), or null. */
  TcpFlow successor;

  TcpFlow(FlowKey key, long now) {
    this.key = key;
    this.lastSeenNanos = now;
  }

  boolean isHeld() {
    return state == State.UNDECIDED || state == State.HELD;
  }

  /** Its packets are held: for its secrets, or behind the held connection its 4-tuple had before. */
  boolean waits() {
    return isHeld() || behind != null;
  }

  boolean isTls() {
    return tls != null;
  }

  /** The processes at its ends (made when first asked for). */
  FlowProcesses processes() {
    if (processes == null) {
      processes = new FlowProcesses();
    }
    return processes;
  }

  /** Its {@link #processes} learnt more: the senders of each direction again. */
  void sendersChanged() {
    FlowProcesses.Sender c = processes.sender(true);
    FlowProcesses.Sender s = processes.sender(false);
    clientProcess = c != null ? c.process() : null;
    clientTid = c != null ? c.tid() : 0;
    serverProcess = s != null ? s.process() : null;
    serverTid = s != null ? s.tid() : 0;
  }

  /** Notes a SYN from endpoint A ({@code fromA}) or B; a SYN without ACK names the client. */
  void onSyn(boolean fromA, long seq, boolean withAck) {
    if (!withAck) {
      clientIsA = fromA;
      clientKnown = true;
    }
    if (fromA) {
      synA = seq;
      synSeenA = true;
    } else {
      synB = seq;
      synSeenB = true;
    }
  }

  /**
   * Whether a SYN (without ACK) from A or B opens a new connection on this 4-tuple: one that is not
   * the retransmission of the SYN that opened this one (a new connection has a new initial sequence
   * number), or a SYN on a connection joined without its SYN.
   */
  boolean startsNewConnection(boolean fromA, long seq) {
    return fromA ? !synSeenA || synA != seq : !synSeenB || synB != seq;
  }

  /** Holds a packet back; returns its cost in bytes. */
  long hold(HeldPacket packet) {
    held.add(packet);
    long cost = packet.cost();
    heldBytes += cost;
    return cost;
  }

  @Override
  public String toString() {
    return key + " " + state;
  }

  /** A FIN ({@code reset}: an RST) came from the client or the server. */
  void sawEnd(boolean fromClient, boolean reset) {
    ends |= reset ? 3 : fromClient ? 1 : 2;
  }

  /** A FIN or RST was seen. */
  boolean closing() {
    return ends != 0;
  }

  /** A FIN from each end, or an RST: only the last ACK may still come. */
  boolean ended() {
    return ends == 3;
  }
}

// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.tc;

/**
 * Receives captured packets from {@link PacketCapture#drain(PacketHandler)}, on the draining thread.
 * The {@link PacketEvent} is one reused view over the ring buffer: read it (and copy what must
 * outlive the call, e.g. by writing it to the pcapng writer) during the call only.
 */
@FunctionalInterface
public interface PacketHandler {
  void onPacket(PacketEvent packet);
}

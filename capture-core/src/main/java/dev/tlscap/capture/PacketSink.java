// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.capture;

import dev.tlscap.pcapng.FlowSecrets;
import dev.tlscap.pcapng.KeyLogLine;
import dev.tlscap.pcapng.ProcessAnnotation;

/**
 * Where the {@link ConnectionTable} sends what it decided to keep: packets in the order they are
 * to be written (each TLS flow's DSB before its packets, by its {@link FlowSecrets}), and proven
 * secrets for the key log file. The capture's sink is the pcapng writer; tests record.
 */
interface PacketSink {
  /**
   * Writes {@code packet}, annotated with the process that sent it ({@code process}, or null when
   * unknown) and its thread ({@code tid}); when {@code secrets} has lines the current file lacks,
   * their DSB goes first.
   */
  void write(CapturedPacket packet, ProcessAnnotation process, int tid, FlowSecrets secrets);

  /** A new, empty key log for one TLS flow. */
  FlowSecrets newFlowSecrets();

  /** A secret tied to its client random (proven, or delivered with it): for the key log file. */
  void keyLogLine(KeyLogLine line);

  /**
   * Starts the next file now if rotation says so for a packet of {@code timestampNanos}; false when
   * nothing more can be written.
   */
  default boolean rotateIfDue(long timestampNanos) {
    return true;
  }

  /** The number of the file being written (1 for the first); it changes exactly when a new file starts. */
  default long fileNumber() {
    return 1;
  }

  /**
   * Writes a packet tlscap made (see {@link CarryOver}), with the comment {@code mark}; its flow's
   * DSB first when the file lacks lines of {@code secrets}.
   */
  default void writeSynthetic(int interfaceId, long timestampNanos, java.nio.ByteBuffer data, int offset, int length,
      dev.tlscap.pcapng.Direction direction, String mark, FlowSecrets secrets) {
  }
}

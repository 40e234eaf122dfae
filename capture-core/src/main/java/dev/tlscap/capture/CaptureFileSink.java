// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.capture;

import dev.tlscap.pcapng.FlowSecrets;
import dev.tlscap.pcapng.KeyLogLine;
import dev.tlscap.pcapng.PcapngWriter;
import dev.tlscap.pcapng.ProcessAnnotation;
import dev.tlscap.pcapng.KeyLogFile;
import dev.tlscap.pcapng.Direction;
import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * The capture's {@link PacketSink}: the pcapng writer (packets, with their flow's DSB first) and
 * the {@code --keylog-file}. Stops at {@code -c} packets; counts what was written per interface (for
 * the Interface Statistics Blocks) and what could not be. Event-loop thread only.
 */
final class CaptureFileSink implements PacketSink {
  private final PcapngWriter writer;
  private final KeyLogFile keyLog;
  private final CaptureStats stats;
  private final long packetLimit;
  private long[] written = new long[8];
  /** {@code --text}, or null; fed the packets and secrets as they are written. */
  private TextTap text;
  private java.util.function.IntUnaryOperator linkTypeOf;
  /** Why {@code --text} stopped (its output closed), or null. */
  private String textFailure;

  /** {@code keyLog} may be null (no {@code --keylog-file}). */
  CaptureFileSink(PcapngWriter writer, KeyLogFile keyLog, CaptureStats stats, long packetLimit) {
    this.writer = writer;
    this.keyLog = keyLog;
    this.stats = stats;
    this.packetLimit = packetLimit;
  }

  @Override
  public void write(CapturedPacket p, ProcessAnnotation process, int tid, FlowSecrets secrets) {
    if (stats.packetsWritten >= packetLimit) {
      return;
    }
    if (writer.writePacket(p.interfaceId, p.timestampNanos, p.data, p.offset, p.capturedLength, p.originalLength,
        p.direction, process, tid, secrets)) {
      stats.packetsWritten++;
      if (p.interfaceId >= written.length) {
        written = Arrays.copyOf(written, Math.max(p.interfaceId + 1, written.length * 2));
      }
      written[p.interfaceId]++;
      if (text != null) {
        try {
          text.packet(p.timestampNanos, linkTypeOf.applyAsInt(p.interfaceId), p.data, p.offset, p.capturedLength,
              process != null ? process.comment() : null);
        } catch (java.io.UncheckedIOException e) {
          textFailed(e);
        }
      }
    } else {
      stats.packetsNotWritten++;
    }
  }

  @Override
  public boolean rotateIfDue(long timestampNanos) {
    return writer.rotateIfDue(timestampNanos);
  }

  @Override
  public long fileNumber() {
    return writer.fileNumber();
  }

  @Override
  public void writeSynthetic(int interfaceId, long timestampNanos, ByteBuffer data, int offset, int length,
      Direction direction, String mark, FlowSecrets secrets) {
    writer.writeSynthetic(interfaceId, timestampNanos, data, offset, length, direction, mark, secrets);
  }

  @Override
  public FlowSecrets newFlowSecrets() {
    return writer.newFlowSecrets();
  }

  @Override
  public void keyLogLine(KeyLogLine line) {
    if (keyLog != null && keyLog.write(line)) {
      stats.keyLogLines++;
    }
    if (text != null) {
      text.secret(line.label(), line.clientRandom(), line.secret());
    }
  }

  /** Feeds {@code tap} what is written; {@code linkTypeOf} gives an interface's link type. */
  void text(TextTap tap, java.util.function.IntUnaryOperator linkTypeOf) {
    this.text = tap;
    this.linkTypeOf = linkTypeOf;
  }

  /** Hands {@code --text}'s messages to standard output (after each batch of packets). */
  void flushText() {
    if (text != null) {
      try {
        text.flush();
      } catch (java.io.UncheckedIOException e) {
        textFailed(e);
      }
    }
  }

  /** Why {@code --text} could not go on (standard output closed), or null. */
  String textFailure() {
    return textFailure;
  }

  private void textFailed(RuntimeException e) {
    textFailure = "--text output: " + Tlscap.oneLine(e);
    text = null;
  }

  /** Packets written for interface {@code id}. */
  long written(int id) {
    return id < written.length ? written[id] : 0;
  }
}

// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.tc;

import dev.tlscap.pcapng.Direction;
import dev.tlscap.pcapng.InterfaceDescription;
import dev.tlscap.pcapng.InterfaceStatistics;
import dev.tlscap.pcapng.PcapngWriter;
import java.nio.file.Path;

/**
 * Writes what a {@link PacketCapture} drains into a pcapng file, the way capture-core does it
 * (without TLS secrets): one IDB per {@link CaptureInterface} (same ids), an EPB per packet with its
 * direction, ISBs from the kernel's counters. For the tests that check files with tshark, and for
 * the flood benchmark. Allocates nothing per packet; one thread.
 */
final class PcapngSink implements PacketHandler, AutoCloseable {
  final PcapngWriter writer;
  private final PacketCapture capture;
  private int interfaces;
  long written;

  PcapngSink(PacketCapture capture, Path file) throws dev.tlscap.pcapng.PcapngWriteException {
    this.capture = capture;
    this.writer = PcapngWriter.builder()
        .statistics(id -> {
          InterfaceCounters c = capture.counters(id);
          return new InterfaceStatistics(c.received(), c.dropped(), -1, -1, null);
        })
        .open(file);
    addNewInterfaces();
  }

  /** Adds an IDB for every interface the capture has that the file does not have yet. */
  void addNewInterfaces() {
    var all = capture.interfaces();
    for (; interfaces < all.size(); interfaces++) {
      CaptureInterface i = all.get(interfaces);
      writer.addInterface(new InterfaceDescription(i.name(), i.description(), i.linkType().value(),
          capture.snapLength(), capture.filter().expression().isEmpty() ? null : capture.filter().expression(), null));
    }
  }

  @Override
  public void onPacket(PacketEvent p) {
    writer.writePacket(p.interfaceId(), p.timestampNanos(), p.data(), p.dataOffset(), p.capturedLength(),
        p.originalLength(), p.direction() == PacketDirection.INBOUND ? Direction.INBOUND : Direction.OUTBOUND);
    written++;
  }

  @Override
  public void close() {
    writer.close();
  }
}

// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.tc;

import dev.tlscap.bpf.BpfException;
import dev.tlscap.pcapng.PcapngWriteException;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * The capturing process of {@code bench/tc-flood.sh}: tlscap's packet path from the TC classifier
 * to a pcapng file, as the CLI runs it (one thread: poll the ring, write EPBs, tick once a second).
 *
 * <p>Drains on readiness and every {@link PacketCaptureOptions#DRAIN_INTERVAL_MILLIS} ms.
 * {@code FloodCapture -i IF -w FILE [--filter EXPR] [--ring BYTES] [--wakeup-ns N] [--wakeup-bytes N] [--discard] [--no-warm-up] [--snaplen N]}.
 * Prints {@code ready} once attached; on SIGTERM closes the file and prints one line
 * {@code received=N dropped=N written=N filtered=N}.
 */
public final class FloodCapture {
  private static volatile boolean stop;

  private FloodCapture() {}

  /**
   * Runs the packet path (PacketEvent reads, PcapngWriter.writePacket) on synthetic records into a
   * writer that discards its output, so the JIT compiles it before the capture starts instead of
   * during its first second (~0.1 s of CPU here; a 5 s flood otherwise pays it). What a CLI does
   * at startup; nothing reaches the capture file.
   */
  static void warmUp() throws PcapngWriteException {
    java.nio.ByteBuffer ring = java.nio.ByteBuffer.allocateDirect(4096).order(java.nio.ByteOrder.nativeOrder());
    ring.putLong(0, 1).putLong(8, 0).putInt(16, 1).putInt(20, 106).putInt(24, 106).putInt(28, PacketEvent.FLAG_INBOUND);
    java.nio.ByteBuffer view = ring.asReadOnlyBuffer().order(java.nio.ByteOrder.nativeOrder());
    PacketCapture.InterfaceTable table = new PacketCapture.InterfaceTable();
    table.put(1, 0);
    PacketEvent event = new PacketEvent(table);
    try (dev.tlscap.pcapng.PcapngWriter writer = dev.tlscap.pcapng.PcapngWriter.builder()
        .open(new java.nio.channels.WritableByteChannel() {
          @Override
          public int write(java.nio.ByteBuffer src) {
            int n = src.remaining();
            src.position(src.limit());
            return n;
          }

          @Override
          public boolean isOpen() {
            return true;
          }

          @Override
          public void close() {}
        })) {
      writer.addInterface(dev.tlscap.pcapng.InterfaceDescription.ethernet("warm-up"));
      for (int i = 0; i < 200_000; i++) {
        event.wrap(view, 0, 32 + 106, i);
        writer.writePacket(event.interfaceId(), event.timestampNanos(), event.data(), event.dataOffset(),
            event.capturedLength(), event.originalLength(), event.direction() == PacketDirection.INBOUND
                ? dev.tlscap.pcapng.Direction.INBOUND : dev.tlscap.pcapng.Direction.OUTBOUND);
      }
    }
  }

  public static void main(String[] args) throws Exception {
    PacketCaptureOptions.Builder options = PacketCaptureOptions.builder();
    Path file = null;
    boolean discard = false;
    boolean warmUp = true;
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "-i" -> options.iface(args[++i]);
        case "-w" -> file = Path.of(args[++i]);
        case "--filter" -> options.filter(PacketFilter.compile(args[++i]));
        case "--ring" -> options.ringBytes(Integer.parseInt(args[++i]));
        case "--wakeup-ns" -> options.wakeupIntervalNanos(Long.parseLong(args[++i]));
        case "--wakeup-bytes" -> options.wakeupBytes(Integer.parseInt(args[++i]));
        case "--snaplen" -> options.snapLength(Integer.parseInt(args[++i]));
        case "--mode" -> options.attachMode(AttachMode.parse(args[++i]));
        case "--discard" -> discard = true;
        case "--no-warm-up" -> warmUp = false;
        default -> throw new IllegalArgumentException("unknown argument " + args[i]);
      }
    }
    CountDownLatch closed = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      stop = true;
      try {
        closed.await(20, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }));
    if (warmUp) {
      warmUp();
    }
    try (PacketCapture capture = PacketCapture.open(options.build());
         PcapngSink sink = new PcapngSink(capture, file)) {
      System.out.println("ready " + capture.attachMode().name().toLowerCase());
      System.out.flush();
      long nextTick = System.nanoTime() + 1_000_000_000L;
      PacketHandler handler = discard ? p -> { } : sink;
      while (!stop) {
        capture.poll(handler, PacketCaptureOptions.DRAIN_INTERVAL_MILLIS);
        long now = System.nanoTime();
        if (now >= nextTick) {
          sink.writer.tick(System.currentTimeMillis() * 1_000_000L);
          capture.maintain();
          nextTick = now + 1_000_000_000L;
        }
      }
      while (capture.drain(sink) > 0) {
        // what is left in the ring
      }
      InterfaceCounters c = capture.totalCounters();
      System.out.println("received=" + c.received() + " dropped=" + c.dropped() + " written=" + sink.written
          + " filtered=" + c.filteredOut());
      System.out.flush();
    } catch (CaptureException | BpfException | PcapngWriteException e) {
      System.err.println("tlscap: " + e.getMessage());
      System.exit(1);
    } finally {
      closed.countDown();
    }
  }
}

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
 * <p>{@code FloodCapture -i IF -w FILE [--filter EXPR] [--ring BYTES] [--wakeup-ns N] [--wakeup-bytes N] [--snaplen N]}.
 * Prints {@code ready} once attached; on SIGTERM closes the file and prints one line
 * {@code received=N dropped=N written=N filtered=N}.
 */
public final class FloodCapture {
  private static volatile boolean stop;

  private FloodCapture() {}

  public static void main(String[] args) throws Exception {
    PacketCaptureOptions.Builder options = PacketCaptureOptions.builder();
    Path file = null;
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
    try (PacketCapture capture = PacketCapture.open(options.build());
         PcapngSink sink = new PcapngSink(capture, file)) {
      System.out.println("ready " + capture.attachMode().name().toLowerCase());
      System.out.flush();
      long nextTick = System.nanoTime() + 1_000_000_000L;
      while (!stop) {
        capture.poll(sink, 5);
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

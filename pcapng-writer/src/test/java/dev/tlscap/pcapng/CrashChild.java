// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.pcapng;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * A capture process for {@link CrashSafetyTest}: writes packets with rotation until killed. With
 * {@code term} it closes the writer on SIGTERM the way the CLI must: the shutdown hook asks the
 * writer's thread to close and waits for it.
 */
public final class CrashChild {
  private static volatile boolean stop;

  public static void main(String[] args) throws Exception {
    Path dir = Path.of(args[0]);
    boolean term = args[1].equals("term");
    CountDownLatch closed = new CountDownLatch(1);
    if (term) {
      Runtime.getRuntime().addShutdownHook(new Thread(() -> {
        stop = true;
        try {
          closed.await(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }));
    }
    PcapngWriter w = PcapngWriter.builder().rotation(RotationPolicy.fromFlags("256k", null, null))
        .bufferSize(64 << 10).open(dir.resolve("crash.pcapng"));
    int id = w.addInterface(InterfaceDescription.ethernet("eth0"));
    ProcessAnnotation process = ProcessAnnotation.forProcess((int) ProcessHandle.current().pid(), "crash-child");
    ByteBuffer packet = TestPackets.udp(333, 7, 0);
    boolean announced = false;
    for (int i = 0; !stop; i++) {
      w.writePacket(id, PcapngWriter.systemNanos(), packet, 0, 333, 333, Direction.OUTBOUND, process, 1, null);
      if (i % 50 == 0) {
        w.tick(PcapngWriter.systemNanos());
      }
      if (!announced && w.filesOpened() >= 3) {
        System.out.println("ROTATED");
        System.out.flush();
        announced = true;
      }
      if (i % 10 == 0) {
        Thread.sleep(1); // about 10000 packets a second: a dozen files a second
      }
    }
    w.close();
    closed.countDown();
    Thread.sleep(60_000);
  }
}

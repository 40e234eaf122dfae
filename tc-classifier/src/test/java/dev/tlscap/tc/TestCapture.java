// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.tc;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.function.Predicate;

/** A {@link PacketCapture} for a test: records every packet, notice and interface event. */
final class TestCapture implements AutoCloseable, CaptureListener {
  final List<CapturedPacket> packets = new ArrayList<>();
  final List<String> notices = Collections.synchronizedList(new ArrayList<>());
  final List<CaptureInterface> added = new ArrayList<>();
  final List<CaptureInterface> gone = new ArrayList<>();
  final PacketCapture capture;

  private TestCapture(PacketCaptureOptions.Builder options) {
    this.capture = PacketCapture.open(options.listener(this).build());
  }

  /** Opens a capture with a 64 MiB ring (room for all of a test's traffic without draining). */
  static TestCapture open(PacketCaptureOptions.Builder options) {
    return new TestCapture(options.ringBytes(64 << 20));
  }

  /** Opens a capture with the options as they are. */
  static TestCapture openAsIs(PacketCaptureOptions.Builder options) {
    return new TestCapture(options);
  }

  /** Lets the last packets of the traffic pass the kernel, then takes every record out of the ring. */
  List<CapturedPacket> drainAll() {
    sleep(300);
    while (capture.drain(p -> packets.add(CapturedPacket.of(p))) > 0) {
      // until the ring is empty
    }
    return packets;
  }

  List<CapturedPacket> on(CaptureInterface iface, PacketDirection direction) {
    return select(p -> p.ifindex() == iface.ifindex() && (direction == null || p.direction() == direction));
  }

  List<CapturedPacket> select(Predicate<CapturedPacket> which) {
    return packets.stream().filter(which).toList();
  }

  CaptureInterface iface(String name) {
    return capture.interfaces().stream().filter(i -> i.name().equals(name)).findFirst()
        .orElseThrow(() -> new AssertionError("no interface " + name + " in " + capture.interfaces()));
  }

  @Override
  public void interfaceAdded(CaptureInterface iface) {
    added.add(iface);
  }

  @Override
  public void interfaceGone(CaptureInterface iface) {
    gone.add(iface);
  }

  @Override
  public void notice(String line) {
    notices.add(line);
    System.err.println("notice: " + line);
  }

  @Override
  public void close() {
    capture.close();
  }

  static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }
}

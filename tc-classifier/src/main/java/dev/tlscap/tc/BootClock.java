// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.tc;

import com.sun.jna.Memory;
import dev.tlscap.bpf.Posix;

/**
 * Converts the classifier's timestamps (CLOCK_BOOTTIME, from {@code bpf_ktime_get_boot_ns}) to wall
 * clock time with one offset: {@code CLOCK_REALTIME - CLOCK_BOOTTIME}.
 *
 * <p>Why this clock: {@code bpf_ktime_get_boot_ns} is available to TC programs on every kernel with
 * BPF ring buffers, costs a few ns, and keeps counting during suspend, so the offset to wall time
 * only changes when the wall clock is set or slewed. {@code skb->tstamp} is not an option: at
 * ingress it is only set while someone asked for receive timestamps, and at egress it may hold a
 * departure time (EDT) in another clock.
 *
 * <p>The offset is measured as the narrowest of several {@code REALTIME, BOOTTIME, REALTIME} samples
 * (the boot reading is taken as the midpoint of the two wall readings), so one preemption between
 * the calls does not skew it. Not thread-safe; internal.
 */
final class BootClock {
  static final int SAMPLES = 9;
  private final Memory timespec = new Memory(16);

  /** Wall clock minus boot clock, in nanoseconds. */
  long measureOffset() {
    long bestWidth = Long.MAX_VALUE;
    long best = 0;
    for (int i = 0; i < SAMPLES; i++) {
      long wall1 = read(Posix.CLOCK_REALTIME);
      long boot = read(Posix.CLOCK_BOOTTIME);
      long wall2 = read(Posix.CLOCK_REALTIME);
      long width = wall2 - wall1;
      if (width >= 0 && width < bestWidth) {
        bestWidth = width;
        best = wall1 + width / 2 - boot;
      }
    }
    return best;
  }

  long read(int clock) {
    return Posix.clockNanos(clock, timespec);
  }

  /** The kernel's CLOCK_BOOTTIME now (what the classifier stamps packets with). */
  long bootNanos() {
    return read(Posix.CLOCK_BOOTTIME);
  }
}

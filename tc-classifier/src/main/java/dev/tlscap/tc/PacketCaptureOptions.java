// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.tc;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * What {@link PacketCapture#open} captures and how. Immutable; build with {@link #builder()}.
 *
 * @param interfaces interface names ({@code -i}, repeated); {@code "any"} = every interface that is up,
 *     and those that come up later
 * @param snapLength bytes kept per packet (tcpdump's {@code -s}; 0 = {@value #DEFAULT_SNAP_LENGTH})
 * @param maxPacketBytes the most packet bytes one ring record holds; longer packets are cut and marked
 *     (never dropped for size). Default {@value #DEFAULT_SNAP_LENGTH}; at most a quarter of the ring
 * @param filter the in-kernel filter
 * @param ringBytes the packet ring buffer's size: a power of two, at least 64 KiB
 * @param attachMode TCX links, clsact filters, or the best the kernel has
 * @param wakeupIntervalNanos a CPU wakes the consumer ({@link PacketCapture#fd()} becomes readable)
 *     for its first packet after this long without a wakeup: sparse traffic is seen at once. 0 with
 *     a {@code wakeupBytes}: never for time (a consumer whose own timer is often enough)
 * @param wakeupBytes a packet that lifts the unconsumed data in the ring past this many bytes wakes
 *     the consumer; -1: a sixteenth of the ring. With both 0, the kernel's adaptive wakeups (one
 *     each time the consumer has caught up: nearly one per packet in a flood, which costs the
 *     sending CPUs dearly, see the README). Between wakeups the consumer must drain on its own
 *     timer, every {@link #DRAIN_INTERVAL_MILLIS} ms or so
 * @param maxInterfaces how many interfaces the kernel keeps counters for
 * @param listener interfaces added or gone, and one-line notices
 */
public record PacketCaptureOptions(
    List<String> interfaces,
    int snapLength,
    int maxPacketBytes,
    PacketFilter filter,
    int ringBytes,
    AttachMode attachMode,
    long wakeupIntervalNanos,
    int wakeupBytes,
    int maxInterfaces,
    CaptureListener listener) {

  /** tcpdump's default and largest snap length. */
  public static final int DEFAULT_SNAP_LENGTH = 262144;
  public static final int DEFAULT_RING_BYTES = 8 << 20;
  /** A quiet CPU's first packet wakes the consumer; then at most 20 such wakeups per CPU per second. */
  public static final long DEFAULT_WAKEUP_INTERVAL_NANOS = 50_000_000;
  /** How often the consumer should drain when no wakeup came (an event-loop timer). */
  public static final int DRAIN_INTERVAL_MILLIS = 10;
  public static final int DEFAULT_MAX_INTERFACES = 256;
  /** The interface name that means every interface that is up. */
  public static final String ANY = "any";

  public PacketCaptureOptions {
    interfaces = List.copyOf(interfaces);
    Objects.requireNonNull(filter, "filter");
    Objects.requireNonNull(attachMode, "attachMode");
    Objects.requireNonNull(listener, "listener");
    if (interfaces.isEmpty()) {
      throw new CaptureException("no interface to capture on (use -i NAME, or -i any)");
    }
    if (snapLength == 0) {
      snapLength = DEFAULT_SNAP_LENGTH;
    }
    if (snapLength < 0 || snapLength > DEFAULT_SNAP_LENGTH) {
      throw new CaptureException("snap length " + snapLength + " is out of range (1-" + DEFAULT_SNAP_LENGTH
          + ", 0 for " + DEFAULT_SNAP_LENGTH + ")");
    }
    if (maxPacketBytes <= 0 || maxPacketBytes > DEFAULT_SNAP_LENGTH) {
      throw new CaptureException("the largest packet record " + maxPacketBytes + " is out of range (1-"
          + DEFAULT_SNAP_LENGTH + ")");
    }
    if (Integer.bitCount(ringBytes) != 1 || ringBytes < (64 << 10) || ringBytes > (512 << 20)) {
      throw new CaptureException("the packet ring buffer size " + ringBytes
          + " must be a power of two between 64 KiB and 512 MiB");
    }
    if (wakeupIntervalNanos < 0) {
      throw new CaptureException("the wakeup interval must not be negative");
    }
    if (wakeupBytes == -1) {
      wakeupBytes = ringBytes / 16;
    }
    if (wakeupBytes < 0 || wakeupBytes > ringBytes) {
      throw new CaptureException("the wakeup threshold " + wakeupBytes + " must be between 0 and the ring size");
    }
    if (maxInterfaces < 1) {
      throw new CaptureException("maxInterfaces must be at least 1");
    }
  }

  public static Builder builder() {
    return new Builder();
  }

  /** The packet bytes the kernel keeps per record: min(snap length, record limit, a quarter of the ring). */
  int effectivePacketBytes() {
    int ringQuarter = ringBytes / 4 - PacketEvent.SIZE - 8;
    return Math.min(snapLength, Math.min(maxPacketBytes, ringQuarter));
  }

  /** True when {@code -i any} was given. */
  boolean anyInterface() {
    return interfaces.contains(ANY);
  }

  /** Builds {@link PacketCaptureOptions}; not thread-safe. */
  public static final class Builder {
    private final List<String> interfaces = new ArrayList<>();
    private int snapLength = DEFAULT_SNAP_LENGTH;
    private int maxPacketBytes = DEFAULT_SNAP_LENGTH;
    private PacketFilter filter = PacketFilter.ALL;
    private int ringBytes = DEFAULT_RING_BYTES;
    private AttachMode attachMode = AttachMode.AUTO;
    private long wakeupIntervalNanos = DEFAULT_WAKEUP_INTERVAL_NANOS;
    private int wakeupBytes = -1;
    private int maxInterfaces = DEFAULT_MAX_INTERFACES;
    private CaptureListener listener = CaptureListener.STDERR;

    /** Adds an interface ({@code -i}); {@code "any"} for all that are up. */
    public Builder iface(String name) {
      interfaces.add(Objects.requireNonNull(name));
      return this;
    }

    public Builder interfaces(List<String> names) {
      interfaces.addAll(names);
      return this;
    }

    public Builder snapLength(int bytes) {
      snapLength = bytes;
      return this;
    }

    public Builder maxPacketBytes(int bytes) {
      maxPacketBytes = bytes;
      return this;
    }

    public Builder filter(PacketFilter value) {
      filter = value;
      return this;
    }

    public Builder ringBytes(int bytes) {
      ringBytes = bytes;
      return this;
    }

    public Builder attachMode(AttachMode mode) {
      attachMode = mode;
      return this;
    }

    public Builder wakeupIntervalNanos(long nanos) {
      wakeupIntervalNanos = nanos;
      return this;
    }

    /** -1: a sixteenth of the ring; 0 with a 0 interval: the kernel's adaptive wakeups. */
    public Builder wakeupBytes(int bytes) {
      wakeupBytes = bytes;
      return this;
    }

    public Builder maxInterfaces(int count) {
      maxInterfaces = count;
      return this;
    }

    public Builder listener(CaptureListener value) {
      listener = value;
      return this;
    }

    public PacketCaptureOptions build() {
      return new PacketCaptureOptions(interfaces, snapLength, maxPacketBytes, filter, ringBytes, attachMode,
          wakeupIntervalNanos, wakeupBytes, maxInterfaces, listener);
    }
  }
}

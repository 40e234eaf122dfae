// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.capture;

/**
 * A TCP connection's identity, the same for both directions: address family, the two endpoints
 * (each an IPv6 or IPv4 address as two longs, and a port), ordered so that endpoint A is the lower.
 *
 * <p>Mutable so that the packet path can look flows up without allocating ({@link #set} a probe
 * key, then {@link #copy()} it when a flow is created). Not thread-safe.
 */
final class FlowKey {
  int family;
  long aHigh;
  long aLow;
  int aPort;
  long bHigh;
  long bLow;
  int bPort;

  /** Sets the key from one packet's endpoints; returns true if the source is endpoint A. */
  boolean set(int family, long srcHigh, long srcLow, int srcPort, long dstHigh, long dstLow, int dstPort) {
    this.family = family;
    boolean sourceFirst = compare(srcHigh, srcLow, srcPort, dstHigh, dstLow, dstPort) <= 0;
    if (sourceFirst) {
      aHigh = srcHigh;
      aLow = srcLow;
      aPort = srcPort;
      bHigh = dstHigh;
      bLow = dstLow;
      bPort = dstPort;
    } else {
      aHigh = dstHigh;
      aLow = dstLow;
      aPort = dstPort;
      bHigh = srcHigh;
      bLow = srcLow;
      bPort = srcPort;
    }
    return sourceFirst;
  }

  private static int compare(long h1, long l1, int p1, long h2, long l2, int p2) {
    int c = Long.compareUnsigned(h1, h2);
    if (c == 0) {
      c = Long.compareUnsigned(l1, l2);
    }
    return c != 0 ? c : Integer.compare(p1, p2);
  }

  FlowKey copy() {
    FlowKey k = new FlowKey();
    k.family = family;
    k.aHigh = aHigh;
    k.aLow = aLow;
    k.aPort = aPort;
    k.bHigh = bHigh;
    k.bLow = bLow;
    k.bPort = bPort;
    return k;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof FlowKey k && family == k.family && aLow == k.aLow && bLow == k.bLow && aPort == k.aPort
        && bPort == k.bPort && aHigh == k.aHigh && bHigh == k.bHigh;
  }

  @Override
  public int hashCode() {
    long h = aLow * 0x9E3779B97F4A7C15L + bLow;
    h = h * 31 + aHigh + bHigh * 17;
    h = h * 31 + (aPort << 16 | bPort);
    return (int) (h ^ (h >>> 32));
  }

  @Override
  public String toString() {
    return endpoint(aHigh, aLow, aPort) + " <-> " + endpoint(bHigh, bLow, bPort);
  }

  private String endpoint(long high, long low, int port) {
    if (family == 4) {
      return ((low >>> 24) & 0xff) + "." + ((low >>> 16) & 0xff) + "." + ((low >>> 8) & 0xff) + "." + (low & 0xff)
          + ":" + port;
    }
    return "[" + Long.toHexString(high) + ":" + Long.toHexString(low) + "]:" + port;
  }
}

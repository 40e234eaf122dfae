// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.pcapng;

/**
 * The link types (LINKTYPE_* values of the tcpdump.org registry) the capture uses in an Interface
 * Description Block. Any other registered value may be passed as an int.
 */
public final class LinkType {
  private LinkType() {}

  /** LINKTYPE_NULL: BSD loopback. */
  public static final int NULL = 0;
  /** LINKTYPE_ETHERNET: Ethernet II; what TC sees on Linux Ethernet, veth and lo. */
  public static final int ETHERNET = 1;
  /** LINKTYPE_RAW: raw IPv4 or IPv6, no link header (e.g. tun, WireGuard). */
  public static final int RAW = 101;
  /** LINKTYPE_LINUX_SLL: Linux "cooked" capture v1. */
  public static final int LINUX_SLL = 113;
  /** LINKTYPE_LINUX_SLL2: Linux "cooked" capture v2. */
  public static final int LINUX_SLL2 = 276;
}

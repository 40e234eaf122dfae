// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.tc;

/**
 * The pcap link type (LINKTYPE_* of the tcpdump.org registry) of what TC hands the classifier on an
 * interface, chosen from the interface's ARPHRD type ({@code /sys/class/net/IF/type}).
 *
 * <p>At TC the packet data starts at the link-layer header the device builds: an Ethernet header on
 * Ethernet and veth, and on {@code lo} a zeroed Ethernet header (ARPHRD_LOOPBACK), so both are
 * {@link #ETHERNET}; devices without a link-layer header (tun, WireGuard: ARPHRD_NONE) hand over the
 * IP header first: {@link #RAW}. Other ARPHRD types get a best guess and a warning
 * ({@link #forDevice}).
 */
public enum LinkType {
  /** LINKTYPE_ETHERNET. */
  ETHERNET(1),
  /** LINKTYPE_RAW: IPv4 or IPv6, told apart by the version nibble. */
  RAW(101),
  /** LINKTYPE_IEEE802_11_RADIOTAP (monitor-mode Wi-Fi). */
  IEEE802_11_RADIOTAP(127),
  /** LINKTYPE_CAN_SOCKETCAN. */
  CAN_SOCKETCAN(227);

  /** From include/uapi/linux/if_arp.h. */
  static final int ARPHRD_ETHER = 1;
  static final int ARPHRD_CAN = 280;
  static final int ARPHRD_PPP = 512;
  static final int ARPHRD_TUNNEL = 768;
  static final int ARPHRD_TUNNEL6 = 769;
  static final int ARPHRD_LOOPBACK = 772;
  static final int ARPHRD_SIT = 776;
  static final int ARPHRD_IPGRE = 778;
  static final int ARPHRD_IEEE80211_RADIOTAP = 803;
  static final int ARPHRD_IP6GRE = 823;
  static final int ARPHRD_RAWIP = 519;
  static final int ARPHRD_NONE = 0xFFFE;

  private final int value;

  LinkType(int value) {
    this.value = value;
  }

  /** The LINKTYPE_* number for the pcapng Interface Description Block. */
  public int value() {
    return value;
  }

  /**
   * The link type for a device, and a warning when it is a guess.
   *
   * @param type the link type to write
   * @param warning null when the mapping is known; else one line saying what was assumed
   */
  public record Choice(LinkType type, String warning) {}

  /**
   * Maps an interface's ARPHRD type to the link type of its TC data. Known: Ethernet (1), loopback
   * (772) and none (65534: tun, WireGuard), plus CAN and radiotap. L3 tunnels (ipip, sit, GRE,
   * ip6tnl), PPP and raw-IP devices have no link-layer header at TC either: {@link #RAW}, with a
   * warning because tlscap's tests do not cover them. Anything else: {@link #ETHERNET} when the
   * device has 6-byte addresses, else {@link #RAW}, with a warning.
   */
  public static Choice forDevice(String name, int arphrdType, int addressLength) {
    switch (arphrdType) {
      case ARPHRD_ETHER:
      case ARPHRD_LOOPBACK:
        return new Choice(ETHERNET, null);
      case ARPHRD_NONE:
        return new Choice(RAW, null);
      case ARPHRD_CAN:
        return new Choice(CAN_SOCKETCAN, null);
      case ARPHRD_IEEE80211_RADIOTAP:
        return new Choice(IEEE802_11_RADIOTAP, null);
      case ARPHRD_TUNNEL:
      case ARPHRD_TUNNEL6:
      case ARPHRD_SIT:
      case ARPHRD_IPGRE:
      case ARPHRD_IP6GRE:
      case ARPHRD_PPP:
      case ARPHRD_RAWIP:
        return new Choice(RAW, "interface " + name + " has ARPHRD type " + arphrdType
            + " (an IP tunnel): writing its packets as raw IP (LINKTYPE_RAW)");
      default:
        LinkType guess = addressLength == 6 ? ETHERNET : RAW;
        return new Choice(guess, "interface " + name + " has ARPHRD type " + arphrdType
            + ", which tlscap does not know: writing its packets as " + guess.linktypeName()
            + " (Wireshark may not dissect them)");
    }
  }

  /** E.g. {@code LINKTYPE_ETHERNET}. */
  public String linktypeName() {
    return "LINKTYPE_" + name();
  }
}

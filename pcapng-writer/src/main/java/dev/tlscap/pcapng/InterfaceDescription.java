// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.pcapng;

import java.util.Objects;

/**
 * What an Interface Description Block says about one captured interface.
 *
 * <p>Immutable and thread-safe.
 *
 * @param name {@code if_name}, e.g. {@code "eth0"} (required, not empty)
 * @param description {@code if_description}, e.g. {@code "TC ingress+egress"}; null or empty: omitted
 * @param linkType the LINKTYPE_* value, see {@link LinkType}
 * @param snapLength the largest number of bytes stored per packet (0: no limit); longer packets are cut
 * @param filter {@code if_filter}: the capture filter as the user wrote it (libpcap syntax); null: none
 * @param os {@code if_os}: the OS of the machine the interface belongs to; null: omitted
 */
public record InterfaceDescription(
    String name, String description, int linkType, int snapLength, String filter, String os) {

  /** The snap length tcpdump uses by default (and the most any captured packet is stored with). */
  public static final int DEFAULT_SNAP_LENGTH = 262144;

  public InterfaceDescription {
    Objects.requireNonNull(name, "name");
    if (name.isEmpty()) {
      throw new IllegalArgumentException("interface name must not be empty");
    }
    if (linkType < 0 || linkType > 0xFFFF) {
      throw new IllegalArgumentException("link type " + linkType + " is not a 16-bit LINKTYPE_ value");
    }
    if (snapLength < 0) {
      throw new IllegalArgumentException("snap length must be 0 (no limit) or positive, got " + snapLength);
    }
  }

  /** An Ethernet interface with the default snap length and no filter, description or OS. */
  public static InterfaceDescription ethernet(String name) {
    return new InterfaceDescription(name, null, LinkType.ETHERNET, DEFAULT_SNAP_LENGTH, null, null);
  }

  /** This description with {@code if_description} set. */
  public InterfaceDescription withDescription(String newDescription) {
    return new InterfaceDescription(name, newDescription, linkType, snapLength, filter, os);
  }

  /** This description with {@code if_filter} set (null: none). */
  public InterfaceDescription withFilter(String newFilter) {
    return new InterfaceDescription(name, description, linkType, snapLength, newFilter, os);
  }

  /** This description with {@code if_os} set. */
  public InterfaceDescription withOs(String newOs) {
    return new InterfaceDescription(name, description, linkType, snapLength, filter, newOs);
  }

  /** This description with another snap length. */
  public InterfaceDescription withSnapLength(int newSnapLength) {
    return new InterfaceDescription(name, description, linkType, newSnapLength, filter, os);
  }
}

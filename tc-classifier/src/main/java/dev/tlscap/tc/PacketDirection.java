// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.tc;

/**
 * Where TC saw a packet: {@link #INBOUND} at ingress, {@link #OUTBOUND} at egress. On {@code lo},
 * which TC sees every packet at twice, tlscap captures at ingress only, so loopback packets are
 * {@link #INBOUND}, as libpcap keeps and marks them.
 */
public enum PacketDirection {
  INBOUND,
  OUTBOUND
}

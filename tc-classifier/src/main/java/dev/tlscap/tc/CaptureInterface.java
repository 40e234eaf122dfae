// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.tc;

/**
 * One interface a {@link PacketCapture} captures on: what the writer needs for its Interface
 * Description Block. Immutable; an interface that goes away keeps its entry (its IDB stays in the
 * file), it just receives no more packets.
 *
 * @param id position in {@link PacketCapture#interfaces()}: 0, 1, 2... in the order the capture
 *     attached them, stable for the whole capture (use it as the pcapng interface id)
 * @param name the interface name, e.g. {@code eth0} ({@code if_name})
 * @param ifindex the kernel's interface index; {@link PacketEvent#ifindex()} of its packets
 * @param linkType what the packet bytes start with
 * @param arphrdType the device's ARPHRD type ({@code /sys/class/net/IF/type})
 * @param mtu the MTU when the capture attached
 * @param description e.g. {@code "TC ingress+egress (tcx), veth, netns net:[4026531840]"} ({@code if_description})
 * @param attachMode how the classifier is attached ({@link AttachMode#TCX} or {@link AttachMode#CLSACT})
 * @param loopback true for {@code lo}: captured at ingress only, so each packet appears once (as in libpcap)
 */
public record CaptureInterface(
    int id,
    String name,
    int ifindex,
    LinkType linkType,
    int arphrdType,
    int mtu,
    String description,
    AttachMode attachMode,
    boolean loopback) {}

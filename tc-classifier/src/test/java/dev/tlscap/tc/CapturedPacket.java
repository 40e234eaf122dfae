// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.tc;

/** A copy of one {@link PacketEvent}, kept after the drain for assertions. */
record CapturedPacket(int ifindex, int interfaceId, PacketDirection direction, long timestampNanos,
    int originalLength, byte[] data, long socketCookie, boolean cutByRecordLimit) {

  static CapturedPacket of(PacketEvent e) {
    return new CapturedPacket(e.ifindex(), e.interfaceId(), e.direction(), e.timestampNanos(), e.originalLength(),
        e.copyBytes(), e.socketCookie(), e.isCutByRecordLimit());
  }

  @Override
  public String toString() {
    return "CapturedPacket[ifindex " + ifindex + " " + direction + " " + data.length + "/" + originalLength + " "
        + Packets.describe(data, true) + "]";
  }
}

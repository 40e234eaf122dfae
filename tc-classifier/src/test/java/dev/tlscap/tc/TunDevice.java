// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.tc;

import com.sun.jna.Library;
import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.Pointer;

/**
 * A tun device (a raw-IP interface, ARPHRD_NONE, like WireGuard) owned by the test: created by
 * opening {@code /dev/net/tun}, it exists while this object is open. Packets the kernel routes to it
 * can be {@link #read}; packets {@link #write}n to it arrive as if received on it.
 */
final class TunDevice implements AutoCloseable {
  /** libc, for the tun ioctl. */
  interface C extends Library {
    C INSTANCE = Native.load("c", C.class);

    int open(String path, int flags);

    int ioctl(int fd, long request, Pointer argument);

    long write(int fd, byte[] buffer, long length);

    int close(int fd);
  }

  static final int O_RDWR = 2;
  /** TUNSETIFF = _IOW('T', 202, int), IFF_TUN, IFF_NO_PI from include/uapi/linux/if_tun.h. */
  static final long TUNSETIFF = 0x400454caL;
  static final short IFF_TUN = 0x0001;
  static final short IFF_NO_PI = 0x1000;

  private final int fd;
  final String name;

  private TunDevice(int fd, String name) {
    this.fd = fd;
    this.name = name;
  }

  static TunDevice create(String name) {
    int fd = C.INSTANCE.open("/dev/net/tun", O_RDWR);
    if (fd < 0) {
      throw new AssertionError("cannot open /dev/net/tun: errno " + Native.getLastError());
    }
    Memory ifreq = new Memory(40); // struct ifreq: ifr_name[16], then ifr_flags (short)
    ifreq.clear();
    ifreq.setString(0, name);
    ifreq.setShort(16, (short) (IFF_TUN | IFF_NO_PI));
    if (C.INSTANCE.ioctl(fd, TUNSETIFF, ifreq) < 0) {
      int errno = Native.getLastError();
      C.INSTANCE.close(fd);
      throw new AssertionError("TUNSETIFF " + name + " failed: errno " + errno);
    }
    return new TunDevice(fd, name);
  }

  /** Injects one IP packet: the kernel receives it on the tun device. */
  void write(byte[] ipPacket) {
    if (C.INSTANCE.write(fd, ipPacket, ipPacket.length) != ipPacket.length) {
      throw new AssertionError("write to " + name + " failed: errno " + Native.getLastError());
    }
  }

  /** An IPv4/UDP packet (UDP checksum 0 = none). */
  static byte[] udp4(byte[] src, byte[] dst, int srcPort, int dstPort, byte[] payload) {
    int length = 28 + payload.length;
    byte[] p = new byte[length];
    p[0] = 0x45;
    p[2] = (byte) (length >> 8);
    p[3] = (byte) length;
    p[8] = 64;
    p[9] = 17;
    System.arraycopy(src, 0, p, 12, 4);
    System.arraycopy(dst, 0, p, 16, 4);
    int sum = 0;
    for (int i = 0; i < 20; i += 2) {
      sum += (p[i] & 0xff) << 8 | (p[i + 1] & 0xff);
    }
    sum = (sum & 0xffff) + (sum >>> 16);
    sum = (sum & 0xffff) + (sum >>> 16);
    p[10] = (byte) (~sum >> 8);
    p[11] = (byte) ~sum;
    p[20] = (byte) (srcPort >> 8);
    p[21] = (byte) srcPort;
    p[22] = (byte) (dstPort >> 8);
    p[23] = (byte) dstPort;
    p[24] = (byte) ((8 + payload.length) >> 8);
    p[25] = (byte) (8 + payload.length);
    System.arraycopy(payload, 0, p, 28, payload.length);
    return p;
  }

  @Override
  public void close() {
    C.INSTANCE.close(fd);
  }
}

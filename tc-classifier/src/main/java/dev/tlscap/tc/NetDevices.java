// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.tc;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * The network interfaces of this process's network namespace, read from {@code /sys/class/net}.
 * Internal; stateless, thread-safe.
 */
final class NetDevices {
  static final Path SYS_CLASS_NET = Path.of("/sys/class/net");
  /** IFF_UP from include/uapi/linux/if.h. */
  static final int IFF_UP = 0x1;

  private NetDevices() {}

  /** What sysfs says about one interface. */
  record Device(String name, int ifindex, int arphrdType, int addressLength, int mtu, int flags, String kind) {
    boolean up() {
      return (flags & IFF_UP) != 0;
    }

    boolean loopback() {
      return arphrdType == LinkType.ARPHRD_LOOPBACK;
    }
  }

  /** The interface called {@code name}, or null when there is none. */
  static Device find(String name) {
    if (name.isEmpty() || name.contains("/") || name.equals(".") || name.equals("..")) {
      return null;
    }
    Path dir = SYS_CLASS_NET.resolve(name);
    int ifindex = readInt(dir.resolve("ifindex"), -1);
    if (ifindex <= 0) {
      return null;
    }
    return new Device(name, ifindex, readInt(dir.resolve("type"), -1), readInt(dir.resolve("addr_len"), 0),
        readInt(dir.resolve("mtu"), 0), readHex(dir.resolve("flags")), kind(dir, name));
  }

  /** Every interface, sorted by ifindex. */
  static List<Device> all() {
    List<Device> devices = new ArrayList<>();
    try (DirectoryStream<Path> entries = Files.newDirectoryStream(SYS_CLASS_NET)) {
      for (Path p : entries) {
        Device d = find(p.getFileName().toString());
        if (d != null) {
          devices.add(d);
        }
      }
    } catch (IOException e) {
      throw new CaptureException("cannot list network interfaces in " + SYS_CLASS_NET + ": " + e.getMessage()
          + " (is sysfs mounted?)");
    }
    devices.sort(Comparator.comparingInt(Device::ifindex));
    return devices;
  }

  /** Every interface that is administratively up ({@code -i any}). */
  static List<Device> up() {
    List<Device> up = new ArrayList<>();
    for (Device d : all()) {
      if (d.up()) {
        up.add(d);
      }
    }
    return up;
  }

  /** True when {@code name} still is the interface with {@code ifindex}. */
  static boolean present(String name, int ifindex) {
    return readInt(SYS_CLASS_NET.resolve(name).resolve("ifindex"), -1) == ifindex;
  }

  /** The network namespace of this process, e.g. {@code net:[4026531840]}. */
  static String namespace() {
    try {
      return Files.readSymbolicLink(Path.of("/proc/self/ns/net")).toString();
    } catch (IOException | UnsupportedOperationException e) {
      return "net:[?]";
    }
  }

  /** What kind of device: its driver, or the virtual kind sysfs shows. */
  private static String kind(Path dir, String name) {
    try {
      Path driver = dir.resolve("device").resolve("driver");
      if (Files.exists(driver)) {
        return Files.readSymbolicLink(driver).getFileName().toString();
      }
    } catch (IOException | UnsupportedOperationException e) {
      // fall through to the virtual kinds
    }
    if (name.equals("lo")) {
      return "loopback";
    }
    if (Files.exists(dir.resolve("tun_flags"))) {
      return "tun";
    }
    if (Files.exists(dir.resolve("bridge"))) {
      return "bridge";
    }
    if (Files.exists(dir.resolve("bonding"))) {
      return "bond";
    }
    String uevent = read(dir.resolve("uevent"));
    for (String line : uevent.split("\n")) {
      if (line.startsWith("DEVTYPE=")) {
        return line.substring(8).trim();
      }
    }
    // veth has no device link and no DEVTYPE; its peer index is in iflink
    int iflink = readInt(dir.resolve("iflink"), -1);
    int ifindex = readInt(dir.resolve("ifindex"), -1);
    return iflink > 0 && iflink != ifindex ? "virtual (peer ifindex " + iflink + ")" : "virtual";
  }

  static int readInt(Path p, int fallback) {
    String s = read(p).trim();
    if (s.isEmpty()) {
      return fallback;
    }
    try {
      return Integer.parseInt(s);
    } catch (NumberFormatException e) {
      return fallback;
    }
  }

  private static int readHex(Path p) {
    String s = read(p).trim();
    try {
      return s.startsWith("0x") ? Integer.parseUnsignedInt(s.substring(2), 16) : 0;
    } catch (NumberFormatException e) {
      return 0;
    }
  }

  private static String read(Path p) {
    try {
      return Files.readString(p);
    } catch (IOException | RuntimeException e) {
      return "";
    }
  }
}

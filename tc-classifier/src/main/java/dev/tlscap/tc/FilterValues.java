// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.tc;

import dev.tlscap.tc.PacketFilter.Direction;
import dev.tlscap.tc.PacketFilter.HostCondition;
import java.io.IOException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The values of filter primitives: IPv4 and IPv6 addresses, networks (CIDR), port numbers and
 * service names, parsed without DNS lookups. Stateless; internal to {@link FilterParser}.
 */
final class FilterValues {
  private static final Pattern IPV4 = Pattern.compile("(\\d{1,3})\\.(\\d{1,3})\\.(\\d{1,3})\\.(\\d{1,3})");
  private static final Pattern NUMBER = Pattern.compile("\\d{1,5}");

  private FilterValues() {}

  static HostCondition parseHost(String value, Direction dir) {
    byte[] address = parseAddress(value);
    return address == null ? null : new HostCondition(address, address.length * 8, dir);
  }

  static HostCondition parseNet(String value, Direction dir) {
    int slash = value.indexOf('/');
    byte[] address = parseAddress(slash < 0 ? value : value.substring(0, slash));
    if (address == null) {
      return null;
    }
    int prefix = address.length * 8;
    if (slash >= 0) {
      String p = value.substring(slash + 1);
      if (!p.matches("\\d{1,3}")) {
        return null;
      }
      prefix = Integer.parseInt(p);
      if (prefix > address.length * 8) {
        return null;
      }
    }
    HostCondition masked = new HostCondition(address, prefix, dir);
    byte[] mask = masked.mask();
    for (int i = 0; i < address.length; i++) {
      address[i] &= mask[i];
    }
    return new HostCondition(address, prefix, dir);
  }

  /** An IPv4 dotted quad or an IPv6 literal (never a DNS lookup); null otherwise. */
  static byte[] parseAddress(String value) {
    Matcher m = IPV4.matcher(value);
    if (m.matches()) {
      byte[] a = new byte[4];
      for (int i = 0; i < 4; i++) {
        int octet = Integer.parseInt(m.group(i + 1));
        if (octet > 255) {
          return null;
        }
        a[i] = (byte) octet;
      }
      return a;
    }
    if (value.indexOf(':') >= 0 && value.matches("[0-9a-fA-F:.]+")) {
      try {
        byte[] a = InetAddress.getByName(value).getAddress(); // a literal: no lookup
        if (a.length == 4) { // ::ffff:a.b.c.d comes back as IPv4; keep it IPv6
          byte[] mapped = new byte[16];
          mapped[10] = (byte) 0xff;
          mapped[11] = (byte) 0xff;
          System.arraycopy(a, 0, mapped, 12, 4);
          return mapped;
        }
        return a;
      } catch (UnknownHostException e) {
        return null;
      }
    }
    return null;
  }

  /** A port number or a service name from /etc/services; -1 if neither. */
  static int parsePort(String value, String protocol) {
    if (NUMBER.matcher(value).matches()) {
      int p = Integer.parseInt(value);
      return p <= 65535 ? p : -1;
    }
    Integer p = Services.lookup(value.toLowerCase(Locale.ROOT), protocol);
    return p == null ? -1 : p;
  }

  static String formatAddress(byte[] address) {
    try {
      return InetAddress.getByAddress(address).getHostAddress();
    } catch (UnknownHostException e) {
      return "?";
    }
  }

  /** /etc/services, read once: name -> port for tcp, udp and sctp. */
  static final class Services {
    private static final Map<String, Integer> TCP = new HashMap<>();
    private static final Map<String, Integer> UDP = new HashMap<>();

    static {
      try {
        for (String line : Files.readAllLines(Path.of("/etc/services"))) {
          int hash = line.indexOf('#');
          String[] f = (hash >= 0 ? line.substring(0, hash) : line).trim().split("\\s+");
          if (f.length < 2 || !f[1].contains("/")) {
            continue;
          }
          String[] portProto = f[1].split("/");
          int port;
          try {
            port = Integer.parseInt(portProto[0]);
          } catch (NumberFormatException e) {
            continue;
          }
          Map<String, Integer> table = portProto[1].equals("udp") ? UDP : portProto[1].equals("tcp") ? TCP : null;
          if (table == null) {
            continue;
          }
          for (int i = 0; i < f.length; i++) {
            if (i != 1) {
              table.putIfAbsent(f[i].toLowerCase(Locale.ROOT), port);
            }
          }
        }
      } catch (IOException | RuntimeException e) {
        // no /etc/services: only numbers work
      }
    }

    private Services() {}

    static Integer lookup(String name, String protocol) {
      if ("udp".equals(protocol)) {
        return UDP.get(name);
      }
      Integer tcp = TCP.get(name);
      Integer udp = UDP.get(name);
      if (tcp != null && udp != null && !tcp.equals(udp)) {
        return null; // libpcap would match both; the kernel clause holds one range
      }
      return tcp != null ? tcp : udp;
    }
  }
}

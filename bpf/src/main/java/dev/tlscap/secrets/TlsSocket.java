// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.secrets;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Arrays;

/**
 * The socket a TLS connection runs over, as the kernel saw it from the traced process's side:
 * local and remote address and port, its network namespace and the kernel's {@code struct sock}
 * address (which identifies the socket while it lives). Mirrors {@code struct tls_socket} of
 * tls_abi.h. Immutable.
 */
public record TlsSocket(long sock, long netns, int family, byte[] localAddress, int localPort,
    byte[] remoteAddress, int remotePort) {
  public static final int AF_INET = 2;
  public static final int AF_INET6 = 10;

  public InetAddress local() {
    return address(localAddress);
  }

  public InetAddress remote() {
    return address(remoteAddress);
  }

  private InetAddress address(byte[] raw) {
    try {
      return InetAddress.getByAddress(family == AF_INET ? Arrays.copyOf(raw, 4) : raw);
    } catch (UnknownHostException e) {
      throw new IllegalStateException(e);
    }
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof TlsSocket s && sock == s.sock && netns == s.netns && family == s.family
        && localPort == s.localPort && remotePort == s.remotePort && Arrays.equals(localAddress, s.localAddress)
        && Arrays.equals(remoteAddress, s.remoteAddress);
  }

  @Override
  public int hashCode() {
    return Long.hashCode(sock) * 31 + localPort * 17 + remotePort;
  }

  @Override
  public String toString() {
    return hostPort(local(), localPort) + " -> " + hostPort(remote(), remotePort);
  }

  private static String hostPort(InetAddress a, int port) {
    String host = a.getHostAddress();
    return (host.contains(":") ? "[" + host + "]" : host) + ":" + port;
  }
}

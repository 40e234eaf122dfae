// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.secrets;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * Reads {@code struct tls_event} of bpf/src/main/bpf/tls_abi.h from a ring-buffer record. The
 * offsets below are checked against the compiled object's BTF by {@code TlsAbiLayoutTest}, the
 * kinds and flags (enums of tls_abi.h) by {@code TlsAbiEnumTest}.
 * Stateless; decoding allocates the event objects (secrets are a few per connection, not per packet).
 */
public final class TlsEventView {
  static final int SIZE = 200;
  static final int TIMESTAMP = 0;
  static final int KIND = 8;
  static final int LABEL = 12;
  static final int PID = 16;
  static final int TID = 20;
  static final int FLAGS = 24;
  static final int SECRET_LEN = 28;
  static final int COMM = 32;
  static final int SOCKET = 48;
  static final int CLIENT_RANDOM = 104;
  static final int SECRET = 136;
  /** Offsets inside {@code struct tls_socket}. */
  static final int SOCKET_SIZE = 56;
  static final int SOCK = 0;
  static final int NETNS = 8;
  static final int FAMILY = 12;
  static final int LOCAL_PORT = 14;
  static final int REMOTE_PORT = 16;
  static final int LOCAL_ADDR = 24;
  static final int REMOTE_ADDR = 40;

  static final int KIND_SECRET = 1;
  static final int KIND_CLIENT_HELLO = 2;
  static final int FLAG_RANDOM_KNOWN = 1;
  static final int FLAG_SOCKET_KNOWN = 1 << 1;
  static final int FLAG_IO_WRITE = 1 << 2;
  static final int FLAG_SECRET_CUT = 1 << 4;
  static final int SECRET_MAX = 64;
  static final int COMM_LEN = 16;
  static final int RANDOM_LEN = 32;

  private TlsEventView() {}

  /** Thrown for a record that is not a tls_event this version understands; the caller counts it. */
  public static final class MalformedEventException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    MalformedEventException(String message) {
      super(message, null, false, false);
    }
  }

  /** Decodes one record and hands it to {@code listener}. */
  public static void dispatch(ByteBuffer data, int at, int length, TlsEventListener listener) {
    if (length < SIZE) {
      throw new MalformedEventException("a TLS event of " + length + " bytes (expected " + SIZE + ")");
    }
    int kind = data.getInt(at + KIND);
    int flags = data.getInt(at + FLAGS);
    long time = data.getLong(at + TIMESTAMP);
    int pid = data.getInt(at + PID);
    int tid = data.getInt(at + TID);
    String comm = string(data, at + COMM, COMM_LEN);
    TlsSocket socket = (flags & FLAG_SOCKET_KNOWN) != 0 ? socket(data, at + SOCKET) : null;
    byte[] random = (flags & FLAG_RANDOM_KNOWN) != 0 ? bytes(data, at + CLIENT_RANDOM, RANDOM_LEN) : null;
    if (kind == KIND_SECRET) {
      TlsLabel label = TlsLabel.ofCode(data.getInt(at + LABEL));
      int secretLength = data.getInt(at + SECRET_LEN);
      if (label == null || secretLength <= 0 || secretLength > SECRET_MAX || (flags & FLAG_SECRET_CUT) != 0) {
        throw new MalformedEventException("a TLS secret event with label " + data.getInt(at + LABEL) + " and "
            + secretLength + " bytes");
      }
      listener.onSecret(new TlsSecret(time, pid, tid, comm, socket, random, label,
          bytes(data, at + SECRET, secretLength), OpenSslSecretSource.LIBRARY));
    } else if (kind == KIND_CLIENT_HELLO) {
      if (socket == null || random == null) {
        throw new MalformedEventException("a ClientHello event without socket or random");
      }
      listener.onClientHello(new ClientHelloEvent(time, pid, tid, comm, socket, random,
          (flags & FLAG_IO_WRITE) != 0));
    } else {
      throw new MalformedEventException("a TLS event of unknown kind " + kind);
    }
  }

  /**
   * The socket; an IPv6 socket talking IPv4 (both addresses v4-mapped, as a dual-stack server's
   * accepted connections are) is shown as the IPv4 connection it carries on the wire.
   */
  private static TlsSocket socket(ByteBuffer b, int at) {
    int family = Short.toUnsignedInt(b.getShort(at + FAMILY));
    byte[] local = bytes(b, at + LOCAL_ADDR, family == TlsSocket.AF_INET ? 4 : 16);
    byte[] remote = bytes(b, at + REMOTE_ADDR, family == TlsSocket.AF_INET ? 4 : 16);
    if (family == TlsSocket.AF_INET6 && v4Mapped(local) && v4Mapped(remote)) {
      family = TlsSocket.AF_INET;
      local = java.util.Arrays.copyOfRange(local, 12, 16);
      remote = java.util.Arrays.copyOfRange(remote, 12, 16);
    }
    return new TlsSocket(b.getLong(at + SOCK), Integer.toUnsignedLong(b.getInt(at + NETNS)), family, local,
        Short.toUnsignedInt(b.getShort(at + LOCAL_PORT)), remote, Short.toUnsignedInt(b.getShort(at + REMOTE_PORT)));
  }

  /** {@code ::ffff:a.b.c.d}. */
  static boolean v4Mapped(byte[] a) {
    for (int i = 0; i < 10; i++) {
      if (a[i] != 0) {
        return false;
      }
    }
    return a[10] == (byte) 0xff && a[11] == (byte) 0xff;
  }

  private static byte[] bytes(ByteBuffer b, int at, int n) {
    byte[] out = new byte[n];
    b.get(at, out);
    return out;
  }

  private static String string(ByteBuffer b, int at, int max) {
    int n = 0;
    while (n < max && b.get(at + n) != 0) {
      n++;
    }
    byte[] raw = new byte[n];
    b.get(at, raw);
    return new String(raw, StandardCharsets.UTF_8);
  }
}

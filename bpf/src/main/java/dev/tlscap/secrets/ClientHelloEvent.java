// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.secrets;

/**
 * A ClientHello a traced process wrote (it is the client) or read (it is the server) on a socket:
 * joins the connection's process, socket and client random. Immutable.
 */
public record ClientHelloEvent(long bootTimeNanos, int pid, int tid, String comm, TlsSocket socket,
    byte[] clientRandom, boolean written) {}

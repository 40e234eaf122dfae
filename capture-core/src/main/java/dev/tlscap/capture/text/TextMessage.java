// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.capture.text;

import java.util.List;

/**
 * One message of {@code --text}: an HTTP request or response, an HTTP/2 frame worth showing, a
 * chunk of other application data, or a connection that cannot be shown (and why).
 *
 * @param timeNanos when its first packet was captured (nanoseconds since the epoch)
 * @param connection the connection's number in this run (1, 2, ... in order of first packet)
 * @param from the end that sent it
 * @param to the other end
 * @param fromClient sent by the connection's client
 * @param protocol "HTTP/1.1", "HTTP/2", "TLS" (application data tlscap does not parse) or "TCP" (plain, not HTTP)
 * @param kind "request", "response", "data", "settings", "rst_stream", "goaway", "handshake", "no secrets"
 *     or "not decrypted" (a connection tlscap cannot show on: the reason in {@code note})
 * @param stream the HTTP/2 stream id, 0 otherwise
 * @param firstLine the request or status line (HTTP/2: rebuilt from the pseudo-headers), or null
 * @param headers the headers in order, null when the message has none
 * @param body the body (or data) as shown: at most {@code --text-max} bytes, inflated when sent with
 *     gzip or deflate content coding
 * @param bodyBytes the whole body's length as shown (inflated), of which {@code body} holds the start;
 *     -1 when the inflation stopped at the cap and the rest was not inflated
 * @param note a remark (the content coding, the reason a connection cannot be shown), or null
 */
public record TextMessage(long timeNanos, long connection, Endpoint from, Endpoint to, boolean fromClient,
    String protocol, String kind, int stream, String firstLine, List<Header> headers, byte[] body, long bodyBytes,
    String note) {

  /** One end of a connection: its address and port, and its process when tlscap knows it (pid 0: unknown). */
  public record Endpoint(String address, int port, int pid, String command) {
    /** "curl[1234] 127.0.0.1:51234", or the address alone when the process is unknown. */
    public String describe() {
      String host = address.indexOf(':') >= 0 ? "[" + address + "]:" + port : address + ":" + port;
      return pid > 0 ? command + "[" + pid + "] " + host : host;
    }
  }

  /** One header field as sent. */
  public record Header(String name, String value) {}

  /** True when the body was cut at {@code --text-max} bytes. */
  public boolean truncated() {
    return bodyBytes < 0 || body != null && bodyBytes > body.length;
  }
}

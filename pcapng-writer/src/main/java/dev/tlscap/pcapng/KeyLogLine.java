// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.pcapng;

import java.util.Objects;

/**
 * One line of an NSS key log ({@code SSLKEYLOGFILE} format): {@code LABEL <client random> <secret>}.
 *
 * <p>Validation is light on purpose: the label is upper-case letters, digits and underscores, the
 * client random is exactly 64 hex digits (32 bytes), the secret is a non-empty even number of hex
 * digits. Wireshark reads {@code CLIENT_RANDOM}, {@code CLIENT_EARLY_TRAFFIC_SECRET},
 * {@code CLIENT_/SERVER_HANDSHAKE_TRAFFIC_SECRET}, {@code CLIENT_/SERVER_TRAFFIC_SECRET_0} and
 * {@code EXPORTER_SECRET}; other well-formed labels are accepted and ignored by Wireshark.
 *
 * <p>Immutable and thread-safe. Error messages never contain the secret itself.
 *
 * @param label e.g. {@code CLIENT_TRAFFIC_SECRET_0}
 * @param clientRandom 64 hex digits, lower-cased
 * @param secret hex digits, lower-cased
 */
public record KeyLogLine(String label, String clientRandom, String secret) {
  /** Hex digits in a client random (32 bytes). */
  public static final int CLIENT_RANDOM_HEX_DIGITS = 64;

  private static final int MAX_SECRET_HEX_DIGITS = 1024;

  public KeyLogLine {
    Objects.requireNonNull(label, "label");
    Objects.requireNonNull(clientRandom, "clientRandom");
    Objects.requireNonNull(secret, "secret");
    String problem = problem(label, clientRandom, secret);
    if (problem != null) {
      throw new IllegalArgumentException(problem);
    }
    clientRandom = clientRandom.toLowerCase(java.util.Locale.ROOT);
    secret = secret.toLowerCase(java.util.Locale.ROOT);
  }

  /**
   * Parses one key log line; a single trailing {@code \n} or {@code \r\n} is allowed.
   *
   * @throws IllegalArgumentException naming what is wrong (never quoting the secret)
   */
  public static KeyLogLine parse(CharSequence line) {
    Objects.requireNonNull(line, "line");
    String s = line.toString();
    if (s.endsWith("\n")) {
      s = s.substring(0, s.length() - (s.endsWith("\r\n") ? 2 : 1));
    }
    int first = s.indexOf(' ');
    int second = first < 0 ? -1 : s.indexOf(' ', first + 1);
    if (first <= 0 || second < 0 || s.indexOf(' ', second + 1) >= 0) {
      throw new IllegalArgumentException("malformed key log line: expected three fields separated by single spaces,"
          + " \"LABEL <64 hex client random> <hex secret>\", got " + fieldCount(s) + " field(s)"
          + labelHint(first > 0 ? s.substring(0, first) : s));
    }
    return new KeyLogLine(s.substring(0, first), s.substring(first + 1, second), s.substring(second + 1));
  }

  /** The line as written into a Decryption Secrets Block, without the trailing newline. */
  @Override
  public String toString() {
    return label + ' ' + clientRandom + ' ' + secret;
  }

  private static String problem(String label, String clientRandom, String secret) {
    if (label.isEmpty() || label.length() > 64 || !isLabel(label)) {
      return "malformed key log line: label must be upper-case letters, digits and '_' (like CLIENT_RANDOM)"
          + labelHint(label);
    }
    if (clientRandom.length() != CLIENT_RANDOM_HEX_DIGITS || !isHex(clientRandom)) {
      return "malformed key log line (label " + label + "): client random must be exactly 64 hex digits, got "
          + clientRandom.length() + " character(s)" + (isHex(clientRandom) ? "" : " that are not all hex digits");
    }
    if (secret.isEmpty() || secret.length() % 2 != 0 || secret.length() > MAX_SECRET_HEX_DIGITS || !isHex(secret)) {
      return "malformed key log line (label " + label + "): secret must be a non-empty, even number (at most "
          + MAX_SECRET_HEX_DIGITS + ") of hex digits, got " + secret.length() + " character(s)"
          + (isHex(secret) ? "" : " that are not all hex digits");
    }
    return null;
  }

  private static String labelHint(String label) {
    if (label.isEmpty() || label.length() > 64 || !isPrintableAscii(label)) {
      return "";
    }
    return " (first field \"" + label + "\")";
  }

  private static int fieldCount(String s) {
    String t = s.trim();
    return t.isEmpty() ? 0 : t.split("\\s+").length;
  }

  private static boolean isLabel(String s) {
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      boolean ok = (c >= 'A' && c <= 'Z') || c == '_' || (i > 0 && c >= '0' && c <= '9');
      if (!ok) {
        return false;
      }
    }
    return true;
  }

  private static boolean isHex(String s) {
    for (int i = 0; i < s.length(); i++) {
      if (Character.digit(s.charAt(i), 16) < 0 || s.charAt(i) > 'f') {
        return false;
      }
    }
    return true;
  }

  private static boolean isPrintableAscii(String s) {
    for (int i = 0; i < s.length(); i++) {
      if (s.charAt(i) < 0x20 || s.charAt(i) > 0x7e) {
        return false;
      }
    }
    return true;
  }
}

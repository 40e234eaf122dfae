// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.pcapng;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Objects;

/**
 * One line of an NSS key log ({@code SSLKEYLOGFILE} format): {@code LABEL <client random> <secret>},
 * held as bytes. This is the one place a secret becomes text: {@link #toString()} formats the line
 * where a Decryption Secrets Block or a key log file is written, and {@link #parse} reads one.
 *
 * <p>Validation is light on purpose: the label is upper-case letters, digits and underscores, the
 * client random is exactly 32 bytes, the secret is 1 to 512 bytes. Wireshark reads
 * {@code CLIENT_RANDOM}, {@code CLIENT_EARLY_TRAFFIC_SECRET},
 * {@code CLIENT_/SERVER_HANDSHAKE_TRAFFIC_SECRET}, {@code CLIENT_/SERVER_TRAFFIC_SECRET_0} and
 * {@code EXPORTER_SECRET}; other well-formed labels are accepted and ignored by Wireshark.
 *
 * <p>Immutable (the arrays are copied in and out) and thread-safe. Error messages never contain the
 * secret itself; {@link #toString()} does, being the line.
 *
 * @param label e.g. {@code CLIENT_TRAFFIC_SECRET_0}
 * @param clientRandom the 32-byte client random that keys the line
 * @param secret the secret
 */
public record KeyLogLine(String label, byte[] clientRandom, byte[] secret) {
  /** Bytes in a client random. */
  public static final int CLIENT_RANDOM_BYTES = 32;
  /** Hex digits in a client random. */
  public static final int CLIENT_RANDOM_HEX_DIGITS = 2 * CLIENT_RANDOM_BYTES;

  private static final int MAX_SECRET_HEX_DIGITS = 1024;
  private static final HexFormat HEX = HexFormat.of();

  public KeyLogLine {
    Objects.requireNonNull(label, "label");
    Objects.requireNonNull(clientRandom, "clientRandom");
    Objects.requireNonNull(secret, "secret");
    String problem = problem(label, clientRandom.length * 2, secret.length * 2);
    if (problem != null) {
      throw new IllegalArgumentException(problem);
    }
    clientRandom = clientRandom.clone();
    secret = secret.clone();
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
    String label = s.substring(0, first);
    String random = s.substring(first + 1, second);
    String secret = s.substring(second + 1);
    String problem = problem(label, random, secret);
    if (problem != null) {
      throw new IllegalArgumentException(problem);
    }
    return new KeyLogLine(label, HEX.parseHex(random), HEX.parseHex(secret));
  }

  @Override
  public byte[] clientRandom() {
    return clientRandom.clone();
  }

  @Override
  public byte[] secret() {
    return secret.clone();
  }

  /** The client random as 64 lower-case hex digits. */
  public String clientRandomHex() {
    return HEX.formatHex(clientRandom);
  }

  /** The line without its newline, lower-case hex as OpenSSL and curl write it. */
  @Override
  public String toString() {
    byte[] line = lineBytes();
    return new String(line, 0, line.length - 1, StandardCharsets.US_ASCII);
  }

  private static final byte[] HEX_DIGITS = "0123456789abcdef".getBytes(StandardCharsets.US_ASCII);

  /**
   * The line and its newline in ASCII, as a key log file and a Decryption Secrets Block hold it
   * (written byte by byte: every keyed secret of a capture passes here).
   */
  public byte[] lineBytes() {
    int n = label.length();
    byte[] line = new byte[n + 1 + 2 * clientRandom.length + 1 + 2 * secret.length + 1];
    for (int i = 0; i < n; i++) {
      line[i] = (byte) label.charAt(i); // upper-case letters, digits and '_' (checked)
    }
    line[n] = ' ';
    int at = hex(clientRandom, line, n + 1);
    line[at] = ' ';
    at = hex(secret, line, at + 1);
    line[at] = '\n';
    return line;
  }

  private static int hex(byte[] bytes, byte[] into, int at) {
    for (byte b : bytes) {
      into[at++] = HEX_DIGITS[(b >> 4) & 0xF];
      into[at++] = HEX_DIGITS[b & 0xF];
    }
    return at;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof KeyLogLine l && l.label.equals(label) && Arrays.equals(l.clientRandom, clientRandom)
        && Arrays.equals(l.secret, secret);
  }

  @Override
  public int hashCode() {
    return (label.hashCode() * 31 + Arrays.hashCode(clientRandom)) * 31 + Arrays.hashCode(secret);
  }

  private static String problem(String label, int randomHexDigits, int secretHexDigits) {
    if (label.isEmpty() || label.length() > 64 || !isLabel(label)) {
      return "malformed key log line: label must be upper-case letters, digits and '_' (like CLIENT_RANDOM)"
          + labelHint(label);
    }
    if (randomHexDigits != CLIENT_RANDOM_HEX_DIGITS) {
      return "malformed key log line (label " + label + "): client random must be exactly 64 hex digits, got "
          + randomHexDigits + " character(s)";
    }
    if (secretHexDigits == 0 || secretHexDigits > MAX_SECRET_HEX_DIGITS) {
      return "malformed key log line (label " + label + "): secret must be a non-empty, even number (at most "
          + MAX_SECRET_HEX_DIGITS + ") of hex digits, got " + secretHexDigits + " character(s)";
    }
    return null;
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

// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.capture;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The two lines tlscap prints when it stops ({@code CaptureLoop.summary}), parsed for the
 * end-to-end tests:
 *
 * <pre>
 * 90239 packets captured, 109761 dropped by the kernel[, 12 not written]; 300 TLS sessions, 118 with secrets[;
 *     2739 packets of 182 TLS sessions released without all their secrets][; ... memory bound][; ... not]
 * 1315 TLS secrets[ (1685 more lost: ...)][, 6 key log lines]; ...
 * </pre>
 */
record ExitSummary(long captured, long dropped, long notWritten, long tlsSessions, long tlsSessionsKeyed,
    long sessionsReleasedWithoutSecrets, long sessionsCutByMemory, long connectionsNotTls, long secrets,
    long secretsLost) {

  private static final Pattern PACKETS = Pattern.compile(
      "(?m)^(\\d+) packets captured, (\\d+) dropped by the kernel(?:, (\\d+) not written)?; (\\d+) TLS sessions, (\\d+) with secrets.*$");
  private static final Pattern RELEASED = Pattern.compile("; \\d+ packets of (\\d+) TLS sessions released without all their secrets");
  private static final Pattern CUT = Pattern.compile("; \\d+ packets of (\\d+) sessions released early by the hold-back memory bound");
  private static final Pattern NOT_TLS = Pattern.compile("; \\d+ packets of (\\d+) connections that began like TLS but were not");
  private static final Pattern SECRETS = Pattern.compile("(?m)^(\\d+) TLS secrets(?: \\((\\d+) more lost)?");

  /** Parses tlscap's stderr; fails the test with the whole stderr if the summary is not there. */
  static ExitSummary of(String stderr) {
    Matcher p = PACKETS.matcher(stderr);
    Matcher s = SECRETS.matcher(stderr);
    if (!p.find() || !s.find()) {
      throw new AssertionError("no exit summary in tlscap's stderr:\n" + stderr);
    }
    String line = p.group();
    return new ExitSummary(number(p, 1), number(p, 2), number(p, 3), number(p, 4), number(p, 5), clause(RELEASED, line),
        clause(CUT, line), clause(NOT_TLS, line), number(s, 1), number(s, 2));
  }

  private static long clause(Pattern pattern, String line) {
    Matcher m = pattern.matcher(line);
    return m.find() ? Long.parseLong(m.group(1)) : 0;
  }

  private static long number(Matcher m, int group) {
    String g = m.group(group);
    return g == null ? 0 : Long.parseLong(g);
  }
}

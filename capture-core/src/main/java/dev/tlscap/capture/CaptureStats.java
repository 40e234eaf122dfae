// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.capture;

/**
 * What the capture did, for the status line, the summary and the files' Interface Statistics
 * Blocks. Written by the event-loop thread; read by others only for display (plain longs; a stale
 * read is harmless).
 */
final class CaptureStats {
  long packetsWritten;
  long tlsFlows;
  /** Plain connections that turned to TLS (STARTTLS and kin). */
  long tlsUpgrades;
  long tlsFlowsKeyed;
  /** Of those, keyed after they were released without all their secrets (a quiet connection that spoke again). */
  long tlsFlowsKeyedLate;
  /** Times a quiet TLS connection's packets were held again, waiting for a secret it most likely has. */
  long tlsFlowsHeldAgain;
  /** TLS 1.2 renegotiations seen in keyed connections (each held until its secret came). */
  long tlsRenegotiations;
  long flowsReleasedWithoutSecrets;
  long packetsReleasedWithoutSecrets;
  long flowsCutByMemory;
  /** Prologues written: keyed TLS sessions carried into a later file (their handshake replayed there). */
  long tlsSessionsCarried;
  /** Synthetic packets of those prologues, their bytes (packet data), and the time spent making them. */
  long syntheticPackets;
  long syntheticBytes;
  long prologueNanos;
  /** Times a keyed TLS session went on into a later file where it does not decrypt, by reason. */
  final java.util.Map<String, Long> notCarried = new java.util.TreeMap<>();
  long notCarriedTotal;
  /** The same two counts for the file being written. */
  long carriedInFile;
  long notCarriedInFile;
  long packetsCutByMemory;
  /** Connections whose first bytes looked like a TLS handshake record but brought no whole ClientHello. */
  long flowsNotTls;
  long packetsNotTls;
  long secretsReceived;
  long secretsWithRandom;
  long keyLogLines;
  /** Secret events the kernel could not hand over because the secret ring buffer was full. */
  long secretsLost;
  long packetsNotWritten;
  long malformedPackets;

  /**
   * The comment of interface 0's Interface Statistics Block: the TLS summary and the secrets lost,
   * and the sessions carried into this file from earlier ones.
   */
  String statisticsComment() {
    return tlsSummary() + (secretsLost > 0 ? "; " + secretsLost + " TLS secrets lost to a full secrets buffer" : "")
        + (carriedInFile + notCarriedInFile > 0 ? "; in this file: " + carriedInFile + " TLS sessions from earlier"
            + " files made to decrypt, " + notCarriedInFile + " not decryptable" : "");
  }

  /** A keyed TLS session went on into a later file where it cannot be made to decrypt, for {@code reason}. */
  void notCarried(String reason) {
    notCarried.merge(reason, 1L, Long::sum);
    notCarriedTotal++;
    notCarriedInFile++;
  }

  /** A new file began: the per-file counts start again. */
  void fileStarted() {
    carriedInFile = 0;
    notCarriedInFile = 0;
  }

  /** One-line summary of the TLS side, for the exit summary (and, in {@link #statisticsComment}, the ISB). */
  String tlsSummary() {
    StringBuilder s = new StringBuilder();
    s.append(tlsFlows).append(" TLS sessions, ").append(tlsFlowsKeyed).append(" with secrets");
    if (tlsUpgrades > 0) {
      s.append(" (").append(tlsUpgrades).append(" upgraded from plain, e.g. STARTTLS)");
    }
    if (tlsRenegotiations > 0) {
      s.append(" (").append(tlsRenegotiations).append(" TLS 1.2 renegotiations)");
    }
    if (tlsFlowsKeyedLate > 0) {
      s.append(" (").append(tlsFlowsKeyedLate).append(" keyed when they spoke again after a quiet spell)");
    }
    if (packetsReleasedWithoutSecrets > 0) {
      s.append("; ").append(packetsReleasedWithoutSecrets).append(" packets of ").append(flowsReleasedWithoutSecrets)
          .append(" TLS sessions released without all their secrets");
    }
    if (packetsCutByMemory > 0) {
      s.append("; ").append(packetsCutByMemory).append(" packets of ").append(flowsCutByMemory)
          .append(" sessions released early by the hold-back memory bound");
    }
    if (tlsSessionsCarried > 0) {
      s.append("; ").append(tlsSessionsCarried).append(" times a TLS session went on into a later file and was made"
          + " to decrypt there (").append(syntheticPackets).append(" synthetic packets, ")
          .append(humanBytes(syntheticBytes)).append(", ").append(prologueNanos / 1_000_000).append(" ms)");
    }
    if (notCarriedTotal > 0) {
      s.append("; ").append(notCarriedTotal).append(" times a TLS session went on into a later file where it does"
          + " not decrypt (");
      notCarried.forEach((why, n) -> s.append(n).append(": ").append(why).append(", "));
      s.setLength(s.length() - 2);
      s.append(')');
    }
    if (flowsNotTls > 0) {
      s.append("; ").append(packetsNotTls).append(" packets of ").append(flowsNotTls)
          .append(" connections that began like TLS but were not (no whole ClientHello)");
    }
    return s.toString();
  }

  /** The status line (a terminal's stderr, once a second); {@code file}: the current file and its size, or null. */
  String statusLine(long dropped, String file) {
    return String.format("%d packets, %d dropped; %d TLS sessions, %d decrypted; %d secrets%s", packetsWritten,
        dropped, tlsFlows, tlsFlowsKeyed, secretsReceived, file == null ? "" : "; " + file);
  }

  /** The summary's first line: packets kept and lost, and the TLS sessions. */
  String packetsLine(long droppedByKernel) {
    return packetsWritten + " packets captured, " + droppedByKernel + " dropped by the kernel"
        + (packetsNotWritten > 0 ? ", " + packetsNotWritten + " not written" : "") + "; " + tlsSummary();
  }

  /** The summary's second line: secrets received and lost, key log lines, and how the matcher keyed them. */
  String secretsLine(boolean keyLogFile, String matcherSummary) {
    return secretsReceived + " TLS secrets"
        + (secretsLost > 0 ? " (" + secretsLost + " more lost: the secrets buffer was full; raise"
            + " --secrets-buffer-size)" : "")
        + (keyLogFile ? ", " + keyLogLines + " key log lines" : "")
        + (matcherSummary != null ? "; " + matcherSummary : "");
  }

  static String humanBytes(long bytes) {
    if (bytes < 1024) {
      return bytes + " B";
    }
    if (bytes < 1024 * 1024) {
      return String.format("%.1f KiB", bytes / 1024.0);
    }
    if (bytes < 1024L * 1024 * 1024) {
      return String.format("%.1f MiB", bytes / 1048576.0);
    }
    return String.format("%.2f GiB", bytes / 1073741824.0);
  }
}

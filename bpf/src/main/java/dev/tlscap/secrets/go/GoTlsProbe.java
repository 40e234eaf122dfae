// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.secrets.go;

import dev.tlscap.bpf.BpfLink;
import dev.tlscap.bpf.BpfObject;

/**
 * The Go crypto/tls probe: program {@value #PROGRAM} of tls_secrets.bpf.o, one uprobe per Go binary
 * (it covers every process of that file, running or started later). It shares the object's event
 * ring, counters and {@code --pid}/{@code --comm} filters with the OpenSSL probe, and sends complete
 * {@code struct tls_event}s (client random included, {@code TLS_FLAG_RANDOM_KNOWN}), decoded by
 * {@link dev.tlscap.secrets.TlsEventView} like the others.
 */
public final class GoTlsProbe {
  /** The program's name in tls_secrets.bpf.o. */
  public static final String PROGRAM = "go_write_key_log";
  /** {@code struct tls_counters} of tls_abi.h: writeKeyLog calls seen, and calls not understood. */
  public static final int COUNTER_GO_KEY_LOGS = 40;
  public static final int COUNTER_GO_UNREADABLE = 48;

  private GoTlsProbe() {}

  /**
   * Attaches the probe of the loaded tls_secrets object {@code object} to {@code target}; the link is
   * owned by the object (closing the object detaches it). Throws {@link dev.tlscap.bpf.BpfException}
   * with the one line to print when the kernel refuses.
   */
  public static BpfLink attach(BpfObject object, GoTlsTarget target) {
    String where = GoTlsTarget.FUNCTION + (target.prologue().siteOffset() != 0 ? "+" + target.prologue().siteOffset() : "");
    return object.program(PROGRAM).attachUprobeAt(target.path(), target.probeOffset(), where, target.cookie());
  }

  /** The line for a traced binary: {@code TLS secrets from /srv/app (Go 1.19, crypto/tls)}. */
  public static String message(String displayPath, GoTlsTarget target) {
    return "TLS secrets from " + displayPath + " (" + target.description() + ")";
  }

  /** The line for a Go binary with crypto/tls that cannot be traced. */
  public static String message(String displayPath, GoTlsInspection untraceable) {
    return "warning: no TLS secrets from " + displayPath + " (Go" + (untraceable.goVersion() != null ? " "
        + untraceable.goVersion().replaceFirst("^go", "") : "") + "): " + untraceable.reason();
  }
}

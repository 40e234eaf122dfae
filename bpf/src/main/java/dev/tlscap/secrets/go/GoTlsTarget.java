// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.secrets.go;

import java.nio.file.Path;

/**
 * A Go binary whose crypto/tls secrets tlscap can read: where to put the uprobe of
 * {@code crypto/tls.(*Config).writeKeyLog} and how the BPF program reads its arguments. Made by
 * {@link GoTlsInspection#of}; attached by {@link GoTlsProbe#attach}. Immutable.
 *
 * @param path the ELF file (as given: {@code /proc/PID/root/...} for a binary in a container)
 * @param goVersion e.g. {@code go1.19.8}, or null when the binary does not say
 * @param functionAddress writeKeyLog's entry (virtual address, as in the ELF file)
 * @param functionOffset its file offset
 * @param prologue where in the function the probe goes, and the calling convention
 */
public record GoTlsTarget(Path path, String goVersion, long functionAddress, long functionOffset, GoPrologue prologue) {
  /** The function the probe is on. */
  public static final String FUNCTION = "crypto/tls.(*Config).writeKeyLog";
  /** {@code GO_PROBE_STACK_ABI} and {@code GO_PROBE_AT_STACK_CHECK} of tls_abi.h (the attach cookie). */
  static final long COOKIE_STACK_ABI = 1;
  static final long COOKIE_AT_STACK_CHECK = 2;

  /** The file offset of the probe. */
  public long probeOffset() {
    return functionOffset + prologue.siteOffset();
  }

  /** The attach cookie go_write_key_log reads. */
  public long cookie() {
    return (prologue.abi() == GoPrologue.Abi.STACK ? COOKIE_STACK_ABI : 0)
        | (prologue.atStackCheck() ? COOKIE_AT_STACK_CHECK : 0);
  }

  /** For the line naming a traced binary: {@code Go 1.19, crypto/tls}. */
  public String description() {
    int[] release = GoBuildInfo.release(goVersion);
    String go = release != null ? "Go " + release[0] + "." + release[1] : goVersion != null ? "Go " + goVersion : "Go";
    return go + ", crypto/tls";
  }
}

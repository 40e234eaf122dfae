// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.tc;

/**
 * A packet capture could not start or go on, for a reason the user can fix. The message is one
 * line naming the cause and the fix, to be printed as is after {@code "tlscap: "} (e.g. {@code
 * no such interface 'eth7' (see 'ip link')}); never a stack trace.
 *
 * <p>Kernel-side failures of the BPF runtime (no privileges, a verifier rejection) arrive as
 * {@link dev.tlscap.bpf.BpfException}, whose messages follow the same rule.
 */
public class CaptureException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public CaptureException(String message) {
    super(message);
  }

  public CaptureException(String message, Throwable cause) {
    super(message, cause);
  }
}

// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.bpf;

/**
 * A BPF operation failed. The message is one line a user can act on: what was attempted, on which
 * program/target, and the kernel's or libbpf's reason (e.g. {@code cannot attach uprobe
 * handle_kdf_entry to /usr/lib/x86_64-linux-gnu/libcrypto.so.3:EVP_KDF_derive: symbol not found}).
 * Details (a verifier log) are in {@link #details()}, printed only in debug mode.
 */
public class BpfException extends RuntimeException {
  private static final long serialVersionUID = 1L;
  private final int errno;
  private final String details;

  public BpfException(String message) {
    this(message, 0, "");
  }

  public BpfException(String message, int errno, String details) {
    super(message);
    this.errno = errno;
    this.details = details == null ? "" : details;
  }

  /** The positive errno of the failure (or libbpf's 4000+ codes), 0 if none. */
  public int errno() {
    return errno;
  }

  /** Longer diagnostics such as the verifier log; empty when there are none. */
  public String details() {
    return details;
  }

  /**
   * A failed native call, named as C names it: {@code "bpf_tc_attach failed: EEXIST (file exists)"}.
   * Callers that face users catch it and say what was attempted on what, with {@link #errno()}.
   */
  static BpfException ofCall(String call, int errno) {
    return new BpfException(call + " failed: " + Errno.name(errno) + " (" + Errno.describe(errno) + ")", errno, "");
  }

  /** {@code "what: reason"} for an errno, using libbpf's texts for its own codes. */
  static BpfException of(String what, int errno) {
    return new BpfException(what + ": " + Errno.describe(errno), errno, "");
  }
}

// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.secrets.go;

import java.io.IOException;
import java.nio.file.Path;

/**
 * What an ELF file is to the Go crypto/tls probe: not Go, Go without crypto/tls, a {@link GoTlsTarget},
 * or Go with crypto/tls that cannot be traced (then {@link #reason()} is the user's line). Reads the
 * file once (mapped; ~10 ms for a 50 MB binary with a section table, a scan of its segments
 * without one). Immutable.
 *
 * @param kind what the file is
 * @param goVersion e.g. {@code go1.22.1}; null when not Go or not said
 * @param target set when {@code kind == TRACEABLE}
 * @param reason set when {@code kind == UNTRACEABLE}: why, in words for the user
 */
public record GoTlsInspection(Kind kind, String goVersion, GoTlsTarget target, String reason) {
  public enum Kind {
    NOT_GO,
    GO_WITHOUT_TLS,
    TRACEABLE,
    UNTRACEABLE
  }

  /**
   * Looks at {@code file}. Files that are not ELF, not readable, or not Go give {@link Kind#NOT_GO};
   * nothing here throws for a file's content.
   */
  public static GoTlsInspection of(Path file) {
    GoElf elf;
    try {
      elf = GoElf.open(file);
    } catch (IOException | RuntimeException e) {
      return new GoTlsInspection(Kind.NOT_GO, null, null, null);
    }
    try {
      return inspect(elf);
    } catch (RuntimeException e) { // a damaged table that passed the header checks
      return new GoTlsInspection(Kind.NOT_GO, null, null, null);
    }
  }

  private static GoTlsInspection inspect(GoElf elf) {
    GoPclntab table = GoPclntab.find(elf);
    if (table == null) {
      return new GoTlsInspection(Kind.NOT_GO, null, null, null);
    }
    String version = GoBuildInfo.version(elf);
    long entry = table.entry(GoTlsTarget.FUNCTION);
    if (entry < 0) {
      if (!table.hasFunctionWithPrefix("crypto/tls.")) {
        return new GoTlsInspection(Kind.GO_WITHOUT_TLS, version, null, null);
      }
      return untraceable(version, "it uses crypto/tls but has no function " + GoTlsTarget.FUNCTION
          + " (inlined, or a Go release that renamed it)");
    }
    int[] release = GoBuildInfo.release(version);
    if (release != null && release[1] < 12) {
      return untraceable(version, "Go " + release[0] + "." + release[1]
          + " logs only TLS 1.2 secrets, with other arguments (writeKeyLog(clientRandom, secret)); tlscap reads Go 1.12+");
    }
    if (elf.machine() != GoElf.EM_X86_64) {
      return untraceable(version, "tlscap reads Go's TLS secrets on x86_64 only");
    }
    long offset = elf.fileOffset(entry);
    if (offset < 0) {
      return untraceable(version, GoTlsTarget.FUNCTION + " is at 0x" + Long.toHexString(entry)
          + ", in no loaded part of the file (damaged file?)");
    }
    GoPrologue prologue = GoPrologue.decode(elf.bytesAt(offset, 32));
    if (prologue.abi() == GoPrologue.Abi.UNKNOWN) {
      // an unfamiliar prologue: the probe stays at the entry; the release says how arguments are passed
      if (release == null) {
        return untraceable(version, "neither its Go version nor the code of " + GoTlsTarget.FUNCTION
            + " tells how it takes its arguments");
      }
      prologue = new GoPrologue(0, release[1] >= 17 ? GoPrologue.Abi.REGISTER : GoPrologue.Abi.STACK, false);
    }
    GoTlsTarget target = new GoTlsTarget(elf.path(), version, entry, offset, prologue);
    return new GoTlsInspection(Kind.TRACEABLE, version, target, null);
  }

  private static GoTlsInspection untraceable(String version, String reason) {
    return new GoTlsInspection(Kind.UNTRACEABLE, version, null, reason);
  }
}

// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.secrets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tlscap.bpf.ElfSymbols;
import dev.tlscap.testing.Requirements;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * NSS's freebl functions found through FREEBL_GetVector's table in Debian's libfreeblpriv3.so
 * (libnss3): all five, distinct, at code in the file; none in a file that only shares their real
 * names (OpenSSL's libcrypto exports HMAC_Update); none when the function no longer returns the
 * table as expected, with the line that says why.
 */
class FreeblVectorTest {
  private static final Path FREEBL = Path.of("/usr/lib/x86_64-linux-gnu/libfreeblpriv3.so");
  private static final Set<String> WANTED = Set.of(TlsLibraryFinder.FREEBL_GET_VECTOR, "HMAC_Update");
  @TempDir Path dir;

  @BeforeAll
  static void machine() {
    Requirements.require(Files.exists(FREEBL), FREEBL + " (apt-get install libnss3)");
  }

  @Test
  void theTableGivesTheFiveFunctions() throws Exception {
    ElfSymbols symbols = ElfSymbols.read(FREEBL, WANTED);
    List<String> functions = TlsLibraryFinder.functionsOf(TlsLibrary.Kind.NSS);
    Set<Long> offsets = new HashSet<>();
    for (String f : functions) {
      assertTrue(symbols.defines(f), f);
      long offset = symbols.fileOffset(f);
      assertTrue(offset > 0 && offset < Files.size(FREEBL), f + " at " + offset);
      offsets.add(offset);
      assertEquals(32, symbols.code(f).length, f + "'s first bytes");
    }
    assertEquals(5, offsets.size(), "five different functions");
    assertEquals(TlsLibrary.Kind.NSS, TlsLibraryFinder.kindOf(symbols));
    // HMAC_Update(cx, data, len) is a tail call through cx's hash object: mov 0x8(%rdi),%rax first
    byte[] update = symbols.code(TlsLibraryFinder.NSS_HMAC_UPDATE);
    assertEquals(List.of(0x48, 0x8b, 0x47, 0x08), List.of(update[0] & 0xff, update[1] & 0xff, update[2] & 0xff,
        update[3] & 0xff), "HMAC_Update's code");
  }

  @Test
  void aLibraryWithTheRealNamesIsNotTakenForFreebl() throws Exception {
    Path libcrypto = Path.of("/usr/lib/x86_64-linux-gnu/libcrypto.so.3");
    Requirements.require(Files.exists(libcrypto), libcrypto + " (apt-get install libssl3)");
    ElfSymbols symbols = ElfSymbols.read(libcrypto, WANTED);
    assertTrue(symbols.defines("HMAC_Update"), "OpenSSL exports its own HMAC_Update");
    assertFalse(symbols.defines(TlsLibraryFinder.NSS_HMAC_UPDATE));
  }

  @Test
  void aGetVectorThatReturnsNoTableGivesNothing() throws Exception {
    Path copy = dir.resolve("libfreeblpriv3.so");
    byte[] file = Files.readAllBytes(FREEBL);
    long at = ElfSymbols.read(FREEBL, WANTED).fileOffset(TlsLibraryFinder.FREEBL_GET_VECTOR);
    int changed = 0;
    for (int i = (int) at; i < at + 64; i++) { // every lea rax,[rip+X] becomes a mov to rax
      if (file[i] == 0x48 && file[i + 1] == (byte) 0x8d && file[i + 2] == 0x05) {
        file[i + 1] = (byte) 0x8b;
        changed++;
      }
    }
    assertTrue(changed > 0, "FREEBL_GetVector returns its table with a lea");
    Files.write(copy, file);
    ElfSymbols symbols = ElfSymbols.read(copy, WANTED);
    assertTrue(symbols.defines(TlsLibraryFinder.FREEBL_GET_VECTOR));
    assertFalse(symbols.defines(TlsLibraryFinder.NSS_HMAC_FINISH));
    assertNull(TlsLibraryFinder.kindOf(symbols));
    IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
        () -> new TlsLibraryFinder(w -> { }).named(copy));
    assertTrue(e.getMessage().contains("FREEBL_GetVector table is not one tlscap can read"), e.getMessage());
  }
}

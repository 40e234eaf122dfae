// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.pcapng;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipal;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code --keylog-file}: secrets never sit in a file others may read; bad paths fail before anything opens. */
class KeyLogFileTest {
  private static final String LINE = "CLIENT_RANDOM " + "00".repeat(32) + " " + "11".repeat(48);

  @TempDir Path dir;

  @Test
  void aNewFileIsMode0600() throws Exception {
    Path file = dir.resolve("new.keylog");
    try (KeyLogFile log = KeyLogFile.open(file)) {
      log.write(KeyLogLine.parse(LINE));
    }
    assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(file)));
    assertEquals(LINE + "\n", Files.readString(file));
  }

  @Test
  void anExistingFileOthersMayReadBecomes0600AndIsAppendedTo() throws Exception {
    Path file = dir.resolve("shared.keylog");
    Files.writeString(file, "# earlier\n");
    Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-r--r--"));
    try (KeyLogFile log = KeyLogFile.open(file)) {
      assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(file)),
          "private before the first secret is written");
      log.write(KeyLogLine.parse(LINE));
    }
    assertEquals("# earlier\n" + LINE + "\n", Files.readString(file));
  }

  @Test
  void anotherUsersReadableFileIsRefusedAndLeftAsItIs() throws Exception {
    Assumptions.assumeTrue(Files.getAttribute(Path.of("/proc/self"), "unix:uid").equals(0), "needs root to give the file to another user");
    Path file = dir.resolve("theirs.keylog");
    Files.writeString(file, "# theirs\n");
    Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-r--r--"));
    UserPrincipal nobody = file.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByName("nobody");
    Files.setOwner(file, nobody);
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> KeyLogFile.open(file));
    assertEquals("key log file " + file + " is mode rw-r--r-- and owned by nobody: others could read the secrets;"
        + " make it private (chmod 600) or give another file", e.getMessage());
    assertEquals("rw-r--r--", PosixFilePermissions.toString(Files.getPosixFilePermissions(file)));
    assertEquals("# theirs\n", Files.readString(file));
  }

  @Test
  void aDirectoryOrAMissingDirectoryIsRefusedByCheckWithoutCreatingAnything() {
    IllegalArgumentException d = assertThrows(IllegalArgumentException.class, () -> KeyLogFile.check(dir));
    assertEquals("cannot write key log file " + dir + ": it is a directory (give a file name)", d.getMessage());
    Path missing = dir.resolve("no/such.keylog");
    IllegalArgumentException m = assertThrows(IllegalArgumentException.class, () -> KeyLogFile.check(missing));
    assertEquals("cannot create key log file " + missing + ": directory " + missing.getParent() + " does not exist",
        m.getMessage());
    Path fresh = dir.resolve("fresh.keylog");
    KeyLogFile.check(fresh);
    assertTrue(!Files.exists(fresh), "check creates nothing");
  }

  @Test
  void aCharacterDeviceIsWrittenAsItIs() throws Exception {
    Path devNull = Path.of("/dev/null");
    String mode = PosixFilePermissions.toString(Files.getPosixFilePermissions(devNull));
    try (KeyLogFile log = KeyLogFile.open(devNull)) {
      log.write(KeyLogLine.parse(LINE));
    }
    assertTrue(!Files.isRegularFile(devNull) && Files.exists(devNull), "/dev/null is still the device");
    assertEquals(mode, PosixFilePermissions.toString(Files.getPosixFilePermissions(devNull)), "no chmod of a device");
  }
}

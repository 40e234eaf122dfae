// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.secrets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tlscap.testing.Requirements;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The 5-s rescan (TlsLibraryFinder.scan) on a library directory and a /proc of the test's own: a
 * directory whose modification time did not change is not read again, yet a library added to it, or
 * a rejected file rewritten in place, is found at the next rescan; a library mapped by a process is
 * found through its maps (once per file, whatever the other lines hold), not through entries of
 * /proc that are no process.
 */
class TlsLibraryFinderScanTest {
  private static final Path LIBCRYPTO = Path.of("/usr/lib/x86_64-linux-gnu/libcrypto.so.3");
  private static final FileTime AN_HOUR_AGO = FileTime.from(Instant.now().minus(1, ChronoUnit.HOURS));
  @TempDir Path dir;

  @BeforeAll
  static void machine() {
    Requirements.require(Files.exists(LIBCRYPTO), LIBCRYPTO + " (apt-get install libssl3)");
  }

  @Test
  void aLibraryDirectoryIsReadAgainOnlyWhenItChanged() throws Exception {
    Path libs = Files.createDirectory(dir.resolve("lib"));
    Path proc = Files.createDirectory(dir.resolve("proc"));
    Files.copy(LIBCRYPTO, libs.resolve("libcrypto.so.3"));
    Files.writeString(libs.resolve("libnettle.so.8"), "still being written");
    Files.writeString(libs.resolve("libfoo.so.1"), "not a candidate");
    Files.setLastModifiedTime(libs, AN_HOUR_AGO);
    TlsLibraryFinder finder = new TlsLibraryFinder(proc, List.of(libs, libs.resolve(".")), w -> { });

    assertEquals(List.of(libs.resolve("libcrypto.so.3")), paths(finder.scan()));
    assertEquals(1, finder.directoryReads(), "one read, though the directory is listed under two names");
    assertEquals(List.of(), paths(finder.scan()));
    assertEquals(1, finder.directoryReads(), "unchanged: not read again");

    // a rejected candidate rewritten in place (the directory's time does not change): found
    Files.copy(LIBCRYPTO, libs.resolve("libnettle.so.8"), StandardCopyOption.REPLACE_EXISTING);
    Files.setLastModifiedTime(libs, AN_HOUR_AGO);
    List<TlsLibrary> rewritten = finder.scan();
    assertEquals(1, finder.directoryReads());
    assertEquals(List.of(libs.resolve("libnettle.so.8")), paths(rewritten));
    assertEquals(TlsLibrary.Kind.OPENSSL_3, rewritten.get(0).kind());

    // a library added: the directory changed, read again; just changed, so read at the next rescan too
    Path added = libs.resolve("libcrypto.so.3.new");
    Files.copy(LIBCRYPTO, added);
    assertEquals(List.of(added), paths(finder.scan()));
    assertEquals(2, finder.directoryReads());
    assertEquals(List.of(), paths(finder.scan()));
    assertEquals(3, finder.directoryReads(), "a time this recent may hide a file added in the same tick");
    Files.setLastModifiedTime(libs, AN_HOUR_AGO);
    finder.scan();
    finder.scan();
    assertEquals(4, finder.directoryReads(), "read once more at its older time, then trusted");
  }

  @Test
  void aProcessMapsItsLibrary() throws Exception {
    Path libs = Files.createDirectory(dir.resolve("opt"));
    Path library = libs.resolve("libssl-bundled.so");
    Files.copy(LIBCRYPTO, library);
    Path proc = Files.createDirectory(dir.resolve("proc"));
    Path process = Files.createDirectory(proc.resolve("4242"));
    Files.createSymbolicLink(process.resolve("root"), Path.of("/"));
    Files.createSymbolicLink(process.resolve("exe"), Path.of("/bin/true"));
    ByteArrayOutputStream maps = new ByteArrayOutputStream();
    maps.writeBytes("55d0c0000000-55d0c0001000 r--p 00000000 08:01 11 /usr/bin/true\n".getBytes(StandardCharsets.US_ASCII));
    maps.writeBytes("55d0c1000000-55d0c1021000 rw-p 00000000 00:00 0 [heap]\n".getBytes(StandardCharsets.US_ASCII));
    for (String perms : new String[] {"r--p", "r-xp", "r--p", "rw-p"}) {
      maps.writeBytes(("7f0000000000-7f0000001000 " + perms + " 00000000 08:01 12 " + library + "\n")
          .getBytes(StandardCharsets.US_ASCII));
    }
    maps.writeBytes("7f0000100000-7f0000101000 r--p 00000000 08:01 13 /opt/caf\u00e9/".getBytes(StandardCharsets.UTF_8));
    maps.write(0xff); // a name that is not UTF-8
    maps.writeBytes("libz.so\n7f0000200000-7f0000201000 rw-p 00000000 00:00 0 \n".getBytes(StandardCharsets.US_ASCII));
    Files.write(process.resolve("maps"), maps.toByteArray());
    Path notAProcess = Files.createDirectory(proc.resolve("self"));
    Files.createSymbolicLink(notAProcess.resolve("root"), Path.of("/"));
    Files.write(notAProcess.resolve("maps"), maps.toByteArray());
    List<String> warnings = new ArrayList<>();
    TlsLibraryFinder finder = new TlsLibraryFinder(proc, List.of(), warnings::add);

    List<TlsLibrary> found = finder.scan();
    assertEquals(1, found.size(), found.toString());
    assertEquals(process.resolve("root").resolve(library.toString().substring(1)), found.get(0).path());
    assertEquals("pid 4242", found.get(0).origin());
    assertTrue(finder.scan().isEmpty(), "known by its device and inode");
    assertEquals(List.of(), warnings);
  }

  @Test
  void aStartedProgramIsLookedAtForWhatItMappedNotForItsExecutableAgain() throws Exception {
    Path libs = Files.createDirectory(dir.resolve("opt"));
    Path executable = libs.resolve("node"); // OpenSSL linked in: a target of its own
    Files.copy(LIBCRYPTO, executable);
    Path library = libs.resolve("libssl-bundled.so");
    Files.copy(LIBCRYPTO, library);
    Path proc = Files.createDirectory(dir.resolve("proc"));
    Path process = Files.createDirectory(proc.resolve("4243"));
    Files.createSymbolicLink(process.resolve("root"), Path.of("/"));
    Files.createSymbolicLink(process.resolve("exe"), executable);
    Files.writeString(process.resolve("maps"), mapsLine(executable, "08:01 21") + mapsLine(library, "08:01 22"));

    TlsLibraryFinder finder = new TlsLibraryFinder(proc, List.of(), w -> { });
    assertEquals(List.of(rooted(process, library)), paths(finder.scanLoadedLibraries(4243)),
        "the executable was examined when the program started");
    assertEquals(List.of(rooted(process, executable)), paths(finder.scanProcess(4243)));

    // a package upgrade replaces the library on disk: the process still maps the file traced (its
    // device and inode in the maps line): no stat, nothing new through it (the directory rescan
    // finds the new file)
    Map<String, Object> traced = Files.readAttributes(library, "unix:dev,ino");
    Files.move(library, libs.resolve("libssl-bundled.so.old"));
    Files.copy(LIBCRYPTO, library);
    Files.writeString(process.resolve("maps"), mapsLine(executable, "08:01 21")
        + mapsLine(library, deviceField((Long) traced.get("dev")) + " " + traced.get("ino")));
    assertEquals(List.of(), paths(finder.scanLoadedLibraries(4243)), "known by the maps line's device and inode");
    Files.writeString(process.resolve("maps"), mapsLine(library, "08:01 23"));
    assertEquals(List.of(rooted(process, library)), paths(finder.scanLoadedLibraries(4243)),
        "numbers that name no known file: looked at");
  }

  @Test
  void aMapsLineNamesItsFileAsAStatDoes() throws Exception {
    byte[] maps = Files.readAllBytes(Path.of("/proc/self/maps"));
    int checked = 0;
    for (int line = 0; line < maps.length && checked < 5; ) {
      int end = line;
      while (end < maps.length && maps[end] != '\n') {
        end++;
      }
      String text = new String(maps, line, end - line, StandardCharsets.UTF_8);
      int slash = text.indexOf('/');
      if (slash > 0 && !text.endsWith(" (deleted)") && Files.isRegularFile(Path.of(text.substring(slash)))) {
        Map<String, Object> stat = Files.readAttributes(Path.of(text.substring(slash)), "unix:dev,ino");
        assertEquals(stat.get("dev") + ":" + stat.get("ino"), TlsLibraryFinder.mappedFileId(maps, line, line + slash), text);
        checked++;
      }
      line = end + 1;
    }
    assertTrue(checked > 0, "this JVM maps files");
    byte[] odd = "7f00-7f01 r--p 00000000 zz:01 12 /lib/x.so\n".getBytes(StandardCharsets.US_ASCII);
    assertEquals("", TlsLibraryFinder.mappedFileId(odd, 0, new String(odd, StandardCharsets.US_ASCII).indexOf('/')));
  }

  /** A maps line of {@code file} with {@code deviceAndInode} ("08:01 12"). */
  private static String mapsLine(Path file, String deviceAndInode) {
    return "7f0000000000-7f0000001000 r-xp 00000000 " + deviceAndInode + " " + file + "\n";
  }

  /** How maps shows a stat's device: major:minor in hex (glibc's major() and minor()). */
  private static String deviceField(long dev) {
    long major = (dev >>> 8 & 0xfff) | (dev >>> 32 & ~0xfffL);
    long minor = (dev & 0xff) | (dev >>> 12 & ~0xffL);
    return String.format("%02x:%02x", major, minor);
  }

  private static Path rooted(Path process, Path file) {
    return process.resolve("root").resolve(file.toString().substring(1));
  }

  private static List<Path> paths(List<TlsLibrary> libraries) {
    return libraries.stream().map(TlsLibrary::path).toList();
  }
}

// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.secrets;

import dev.tlscap.bpf.ElfSymbols;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;

/**
 * Finds the files to trace: every libcrypto the dynamic linker can load, every libcrypto/libssl a
 * running process maps and every running program's executable (OpenSSL linked in statically;
 * programs in other mount namespaces, i.e. containers, through {@code /proc/PID/root}), and the
 * ELF files named with {@code --libssl}. A file is a target when it
 * defines {@code EVP_KDF_derive} (OpenSSL 3.x), whatever its name. Files are identified by device
 * and inode, so one file seen under several paths is traced once.
 *
 * <p>Not thread-safe. Problems with discovered files are reported as one-line warnings (the capture
 * goes on); problems with files the user named are {@link IllegalArgumentException}s.
 */
public final class TlsLibraryFinder {
  /** The function every OpenSSL 3 TLS secret passes through. */
  public static final String KDF_SYMBOL = "EVP_KDF_derive";
  /** BoringSSL's: TLS 1.3 secrets (HKDF-Expand-Label) and TLS 1.2's key block (its seeds: the randoms). */
  public static final String BSSL_HKDF_EXPAND = "HKDF_expand";
  public static final String BSSL_TLS1_PRF = "CRYPTO_tls1_prf";
  /** OpenSSL 1.1's: the HKDF and TLS1-PRF contexts are set up through the first, derived by the second. */
  public static final String OSSL11_CTRL = "EVP_PKEY_CTX_ctrl";
  public static final String OSSL11_DERIVE = "EVP_PKEY_derive";
  /** GnuTLS's: the TLS 1.0-1.2 key block (master secret and randoms); its TLS 1.3 secrets pass through Nettle's. */
  public static final String GNUTLS_PRF_RAW = "_gnutls_prf_raw";
  public static final String NETTLE_HKDF_EXPAND = "nettle_hkdf_expand";
  /**
   * NSS's freebl (libfreeblpriv3): its one exported function returns the table of the others;
   * those tlscap reads are named after it ({@link ElfSymbols}): the TLS 1.3 HMACs of softoken's
   * HKDF, and the TLS 1.2 and 1.0-1.1 key block PRFs.
   */
  public static final String FREEBL_GET_VECTOR = "FREEBL_GetVector";
  public static final String NSS_HMAC_UPDATE = "freebl:HMAC_Update";
  public static final String NSS_HMAC_FINISH = "freebl:HMAC_Finish";
  public static final String NSS_HMAC_DESTROY = "freebl:HMAC_Destroy";
  public static final String NSS_TLS_P_HASH = "freebl:TLS_P_hash";
  public static final String NSS_TLS_PRF = "freebl:TLS_PRF";
  private static final Set<String> WANTED = Set.of(KDF_SYMBOL, BSSL_HKDF_EXPAND, BSSL_TLS1_PRF, OSSL11_CTRL,
      OSSL11_DERIVE, GNUTLS_PRF_RAW, NETTLE_HKDF_EXPAND, FREEBL_GET_VECTOR);
  /** Mapped files whose names say they may hold a TLS library (a JNI library has no "libcrypto" in it). */
  private static final java.util.regex.Pattern TLS_FILE_NAME =
      java.util.regex.Pattern.compile("libcrypto|libssl|boringssl|tcnative|libtls|libgnutls\\.so|libnettle\\.so|libfreeblpriv");
  /**
   * The shared libraries looked for in the library directories (libssl imports libcrypto's KDF):
   * names starting with these, in this order; the last one whole.
   */
  private static final List<String> LIBRARY_NAMES = List.of("libcrypto.so", "libgnutls.so", "libnettle.so",
      "libfreeblpriv3.so");

  static final List<Path> LIBRARY_DIRECTORIES = List.of(
      Path.of("/lib"), Path.of("/usr/lib"), Path.of("/lib64"), Path.of("/usr/lib64"), Path.of("/usr/local/lib"),
      Path.of("/usr/local/lib64"), Path.of("/lib/x86_64-linux-gnu"), Path.of("/usr/lib/x86_64-linux-gnu"),
      Path.of("/lib/aarch64-linux-gnu"), Path.of("/usr/lib/aarch64-linux-gnu"),
      // Debian's BoringSSL (android-libboringssl): libcrypto.so.0 beside its own libssl
      Path.of("/usr/lib/x86_64-linux-gnu/android"), Path.of("/usr/lib/aarch64-linux-gnu/android"));

  private final Path proc;
  private final List<Path> libraryDirectories;
  /**
   * The host's library directories as last listed: when a directory's modification time is still
   * the one seen then, nothing was added, removed or renamed in it, and its candidates are looked
   * at again (a stat each) without reading the directory (a thousand entries on Debian, four globs
   * of it took two thirds of a 5-s rescan).
   */
  private final Map<Path, Listing> listings = new java.util.HashMap<>();
  /** How many times a library directory was read (for tests). */
  private int directoryReads;
  private final String ownPid = Long.toString(ProcessHandle.current().pid());
  /**
   * What /proc/PID/exe named at the last rescan, by PID: a process that still runs the same
   * program had its executable looked at then (a new program in the same PID is an exec: looked at again).
   */
  private Map<String, String> executablesScanned = Map.of();
  private final Map<String, TlsLibrary> known = new LinkedHashMap<>();
  private final Map<String, String> rejected = new LinkedHashMap<>();
  /**
   * Files reached through another process's root, held open until attached: a short-lived program
   * may be gone (and its root with it) before the attach, but the file stays reachable as
   * {@code /proc/self/fd/N}. By identity.
   */
  private final Map<String, Integer> pinned = new java.util.HashMap<>();
  /** Roots other than ours (containers, chroots) whose library directories were listed, and when (nanoTime). */
  private final Map<Object, Long> rootsListed = new java.util.HashMap<>();
  /** tlscap's own root directory's file key (device and inode), read once. */
  private static volatile Object ownRoot;
  /** How long a root's listing stands: a program started there later is covered by it. */
  static final long ROOT_LISTING_NANOS = 5_000_000_000L;
  private static final int MAX_ROOTS = 4096;
  private final Consumer<String> warnings;

  /** {@code warnings} receives one line per file that looks like OpenSSL but cannot be traced. */
  public TlsLibraryFinder(Consumer<String> warnings) {
    this(Path.of("/proc"), warnings);
  }

  TlsLibraryFinder(Path proc, Consumer<String> warnings) {
    this(proc, LIBRARY_DIRECTORIES, warnings);
  }

  TlsLibraryFinder(Path proc, List<Path> libraryDirectories, Consumer<String> warnings) {
    this.proc = proc;
    this.libraryDirectories = List.copyOf(libraryDirectories);
    this.warnings = warnings;
  }

  /** A directory's candidates when it was read, and its modification time then (null: read it again next time). */
  private record Listing(FileTime modified, List<Path> candidates) {}

  /**
   * A modification time this close to the listing is not trusted: a file added in the same tick
   * of the file system's clock leaves it unchanged (git's "racily clean" entries).
   */
  static final long RACY_LISTING_NANOS = 2_000_000_000L;

  /**
   * Checks a file the user named ({@code --libssl}): it must exist, be an ELF and define
   * {@code EVP_KDF_derive} (OpenSSL 3) or BoringSSL's {@code HKDF_expand} and
   * {@code CRYPTO_tls1_prf}; otherwise throws with the one line to print.
   */
  public TlsLibrary named(Path file) {
    Path path = file.toAbsolutePath();
    ElfSymbols symbols;
    try {
      symbols = ElfSymbols.read(path, WANTED);
    } catch (ElfSymbols.NotElfException e) {
      throw new IllegalArgumentException("--libssl " + file + ": " + e.getMessage().replace(path.toString(), "the file"));
    } catch (IOException e) {
      throw new IllegalArgumentException("--libssl " + file + ": cannot read it: " + e.getMessage());
    }
    if (kindOf(symbols) == null) {
      throw new IllegalArgumentException("--libssl " + file + ": " + missingKdf(symbols));
    }
    return remember(path, symbols, "--libssl");
  }

  /** Every target not found before: the system's libraries, then those running processes map. */
  public List<TlsLibrary> scan() {
    List<TlsLibrary> found = new ArrayList<>();
    java.util.Set<Object> directoriesSeen = new java.util.HashSet<>();
    for (Path directory : libraryDirectories) {
      BasicFileAttributes attributes;
      try {
        attributes = Files.readAttributes(directory, BasicFileAttributes.class);
      } catch (IOException | RuntimeException e) {
        listings.remove(directory); // no such directory on this distribution
        continue;
      }
      if (attributes.fileKey() != null && !directoriesSeen.add(attributes.fileKey())) {
        continue; // one directory under two names (/lib -> usr/lib)
      }
      Listing last = listings.get(directory);
      List<Path> candidates;
      if (last != null && last.modified() != null && last.modified().equals(attributes.lastModifiedTime())) {
        candidates = last.candidates();
      } else {
        candidates = candidatesIn(directory);
        long age = System.currentTimeMillis() - attributes.lastModifiedTime().toMillis();
        listings.put(directory, new Listing(age * 1_000_000L < RACY_LISTING_NANOS ? null
            : attributes.lastModifiedTime(), candidates));
      }
      for (Path candidate : candidates) {
        consider(candidate, "ld.so", false).ifPresent(found::add);
      }
    }
    Map<String, String> executables = new java.util.HashMap<>();
    try (DirectoryStream<Path> processes = Files.newDirectoryStream(proc, TlsLibraryFinder::isProcess)) {
      for (Path process : processes) {
        if (!process.getFileName().toString().equals(ownPid)) { // tlscap holds no TLS of its own
          scanProcess(process, found, executables, true);
        }
      }
    } catch (IOException e) {
      warnings.accept("cannot list processes in " + proc + ": " + e.getMessage());
    }
    executablesScanned = executables;
    return found;
  }

  /** Whether an entry of /proc is a process's directory (its name a number). */
  public static boolean isProcess(Path entry) {
    String name = entry.getFileName().toString();
    if (name.isEmpty()) {
      return false;
    }
    for (int i = 0; i < name.length(); i++) {
      if (name.charAt(i) < '0' || name.charAt(i) > '9') {
        return false;
      }
    }
    return true;
  }

  /** The files of {@code directory} named as {@link #LIBRARY_NAMES} says, in its order; one read of the directory. */
  private List<Path> candidatesIn(Path directory) {
    directoryReads++;
    List<List<Path>> byName = new ArrayList<>();
    for (int i = 0; i < LIBRARY_NAMES.size(); i++) {
      byName.add(new ArrayList<>(1));
    }
    try (DirectoryStream<Path> entries = Files.newDirectoryStream(directory)) {
      for (Path entry : entries) {
        int kind = libraryName(entry.getFileName().toString());
        if (kind >= 0) {
          byName.get(kind).add(entry);
        }
      }
    } catch (IOException | RuntimeException e) {
      return List.of(); // not there, or not ours to read
    }
    List<Path> candidates = new ArrayList<>();
    byName.forEach(candidates::addAll);
    return List.copyOf(candidates);
  }

  /** The index in {@link #LIBRARY_NAMES} of the name {@code fileName} matches, or -1. */
  private static int libraryName(String fileName) {
    int last = LIBRARY_NAMES.size() - 1;
    for (int i = 0; i < last; i++) {
      if (fileName.startsWith(LIBRARY_NAMES.get(i))) {
        return i;
      }
    }
    return fileName.equals(LIBRARY_NAMES.get(last)) ? last : -1;
  }

  /** How many times a library directory was read. */
  int directoryReads() {
    return directoryReads;
  }

  /**
   * The libcrypto files in the library directories of process {@code pid}'s root, when that root is
   * not tlscap's own (a container, a chroot: their libraries are other files than the host's) and
   * was not listed in the last 5 s. A program just started there maps them a moment later: found
   * now, they are traced before its first handshake. Host programs cost one stat.
   */
  public List<TlsLibrary> scanRoot(int pid) {
    Path root = proc.resolve(Integer.toString(pid)).resolve("root");
    Object id = fileKey(root); // a stat: every program started pays it
    if (id == null) {
      return List.of(); // the process is gone
    }
    long now = System.nanoTime();
    Long listed = rootsListed.get(id);
    if (id.equals(ownRoot()) || listed != null && now - listed < ROOT_LISTING_NANOS) {
      return List.of();
    }
    if (rootsListed.size() >= MAX_ROOTS) {
      rootsListed.clear();
    }
    rootsListed.put(id, now);
    List<TlsLibrary> found = new ArrayList<>();
    for (Path directory : libraryDirectories) {
      for (Path candidate : candidatesIn(root.resolve(directory.toString().substring(1)))) {
        consider(candidate, "pid " + pid, false).ifPresent(found::add);
      }
    }
    return found;
  }

  /** Targets a single process maps that were not known before (e.g. right after it started). */
  public List<TlsLibrary> scanProcess(int pid) {
    List<TlsLibrary> found = new ArrayList<>();
    scanProcess(proc.resolve(Integer.toString(pid)), found, null, true);
    return found;
  }

  /**
   * Targets process {@code pid} mapped that were not known before, its executable left out: a
   * program that started a moment ago, whose executable was {@link #examine}d then.
   */
  public List<TlsLibrary> scanLoadedLibraries(int pid) {
    List<TlsLibrary> found = new ArrayList<>();
    scanProcess(proc.resolve(Integer.toString(pid)), found, null, false);
    return found;
  }

  /**
   * {@code executables}: in a rescan, where each process's executable link goes (an unchanged one
   * is not looked at); {@code withExecutable}: false when the executable was examined already.
   */
  private void scanProcess(Path process, List<TlsLibrary> found, Map<String, String> executables, boolean withExecutable) {
    byte[] maps;
    try {
      maps = Files.readAllBytes(process.resolve("maps"));
    } catch (IOException | RuntimeException e) {
      return; // the process exited, or is a kernel thread
    }
    String pid = process.getFileName().toString();
    String link = withExecutable ? executableLink(process) : null;
    if (link != null) {
      if (executables != null) {
        executables.put(pid, link);
      }
      if (executables == null || !link.equals(executablesScanned.get(pid))) {
        executable(process, link).ifPresent(exe -> consider(exe, "pid " + pid, false).ifPresent(found::add));
      }
    }
    // "start-end perms offset dev inode   /path": a file's mappings follow each other, its name is
    // looked at once; a name is decoded only when it differs from the line before's.
    int previous = -1;
    int previousLength = 0;
    for (int line = 0; line < maps.length; ) {
      int end = indexOf(maps, (byte) '\n', line, maps.length);
      if (end < 0) {
        end = maps.length;
      }
      int slash = indexOf(maps, (byte) '/', line, end);
      int length = end - slash;
      if (slash >= 0 && !(length == previousLength
          && Arrays.equals(maps, slash, end, maps, previous, previous + length))) {
        previous = slash;
        previousLength = length;
        String mapped = new String(maps, slash, length, java.nio.charset.StandardCharsets.UTF_8);
        if (TLS_FILE_NAME.matcher(mapped).find() && !known.containsKey(mappedFileId(maps, line, slash))) {
          // Through /proc/PID/root the path resolves in the process's own mount namespace; a file
          // deleted after it was mapped (netty-tcnative's extracted JNI library) through map_files.
          Path path = mapped.endsWith(" (deleted)")
              ? process.resolve("map_files").resolve(new String(maps, line, indexOf(maps, (byte) ' ', line, end) - line,
                  java.nio.charset.StandardCharsets.US_ASCII))
              : process.resolve("root").resolve(mapped.substring(1));
          consider(path, "pid " + pid, true).ifPresent(found::add);
        }
      }
      line = end + 1;
    }
  }

  /**
   * The {@code device:inode} key of {@link #known} for the file of the maps line at {@code line}
   * ({@code "start-end perms offset major:minor inode path"}, major and minor in hex), as a stat gives
   * it: a library traced already costs no stat then. "" when the line does not read so; a key that
   * differs from the stat's (a file system that shows other numbers in maps) only costs the stat.
   */
  static String mappedFileId(byte[] maps, int line, int pathStart) {
    int field = line;
    for (int i = 0; i < 3; i++) { // past start-end, perms, offset
      field = indexOf(maps, (byte) ' ', field, pathStart);
      if (field < 0) {
        return "";
      }
      field++;
    }
    int colon = indexOf(maps, (byte) ':', field, pathStart);
    int space = colon < 0 ? -1 : indexOf(maps, (byte) ' ', colon, pathStart);
    int inodeEnd = space < 0 ? -1 : indexOf(maps, (byte) ' ', space + 1, pathStart);
    if (inodeEnd < 0) {
      return "";
    }
    try {
      long major = Long.parseLong(new String(maps, field, colon - field, java.nio.charset.StandardCharsets.US_ASCII), 16);
      long minor = Long.parseLong(new String(maps, colon + 1, space - colon - 1, java.nio.charset.StandardCharsets.US_ASCII), 16);
      String inode = new String(maps, space + 1, inodeEnd - space - 1, java.nio.charset.StandardCharsets.US_ASCII);
      // glibc's makedev: the st_dev a stat reports
      long device = (major & 0xfff) << 8 | (major & ~0xfffL) << 32 | minor & 0xff | (minor & ~0xffL) << 12;
      return fileId(device, Long.parseLong(inode));
    } catch (NumberFormatException e) {
      return "";
    }
  }

  private static int indexOf(byte[] bytes, byte b, int from, int to) {
    for (int i = from; i < to; i++) {
      if (bytes[i] == b) {
        return i;
      }
    }
    return -1;
  }

  /** Whether a file's name says it may be (or link in) a TLS library: a library opened later is looked at then. */
  public static boolean mayHoldTls(String fileName) {
    return TLS_FILE_NAME.matcher(fileName).find();
  }

  /**
   * A process's executable (OpenSSL may be linked into it: node, statically built programs),
   * through its own root; empty for kernel threads and deleted files.
   */
  private static java.util.Optional<Path> executable(Path process, String link) {
    if (!link.startsWith("/") || link.endsWith(" (deleted)")) {
      return java.util.Optional.empty();
    }
    return java.util.Optional.of(process.resolve("root").resolve(link.substring(1)));
  }

  /** Where /proc/PID/exe points; null for kernel threads and processes gone. */
  private static String executableLink(Path process) {
    try {
      return Files.readSymbolicLink(process.resolve("exe")).toString();
    } catch (IOException | RuntimeException e) {
      return null;
    }
  }

  /**
   * A file found some other way (a program that started, a library mapped later): a target if it
   * defines {@code EVP_KDF_derive} and is not known yet. Never throws; unusable files are remembered.
   */
  public java.util.Optional<TlsLibrary> examine(Path path, String origin) {
    return consider(path, origin, false);
  }

  private java.util.Optional<TlsLibrary> consider(Path path, String origin, boolean warnIfUnusable) {
    String id;
    String version; // a rejected file is looked at again once it changed (a library still being written)
    try {
      Map<String, Object> a = Files.readAttributes(path, "unix:dev,ino,size,lastModifiedTime");
      id = fileId(a.get("dev"), a.get("ino"));
      if (known.containsKey(id)) {
        return java.util.Optional.empty();
      }
      // the time in nanoseconds: FileTime.toString formats a date (a program's start paid it)
      version = id + ":" + a.get("size") + ":"
          + ((java.nio.file.attribute.FileTime) a.get("lastModifiedTime")).to(java.util.concurrent.TimeUnit.NANOSECONDS);
    } catch (IOException | RuntimeException e) {
      return java.util.Optional.empty();
    }
    if (rejected.containsKey(version)) {
      return java.util.Optional.empty();
    }
    Path readable = path;
    int fd = -1;
    if (path.startsWith(proc)) { // through another process's root: hold the file
      fd = dev.tlscap.bpf.Posix.openReadOnly(path);
      if (fd < 0) {
        return java.util.Optional.empty(); // gone already
      }
      readable = Path.of("/proc/self/fd/" + fd);
    }
    ElfSymbols symbols;
    try {
      // No version yet (a scan of the whole file): a program that just started is about to
      // handshake; the source reads it once the probe is attached.
      boolean library = path.getFileName().toString().startsWith("libcrypto");
      symbols = ElfSymbols.read(readable, WANTED, warnIfUnusable && library ? ElfSymbols.Version.ALWAYS
          : ElfSymbols.Version.NEVER);
    } catch (IOException e) {
      dev.tlscap.bpf.Posix.close(fd);
      rejected.put(version, e.getMessage());
      return java.util.Optional.empty();
    }
    TlsLibrary.Kind kind = kindOf(symbols);
    if (fd >= 0 && kind != null) {
      pinned.put(id, fd);
    } else {
      dev.tlscap.bpf.Posix.close(fd);
    }
    if (kind == null) {
      rejected.put(version, missingKdf(symbols));
      // libssl imports EVP_KDF_derive from libcrypto, which is traced itself: nothing to say.
      if (warnIfUnusable && path.getFileName().toString().startsWith("libcrypto")) {
        warnings.accept("no TLS secrets from " + display(path) + ": " + missingKdf(symbols));
      }
      return java.util.Optional.empty();
    }
    return java.util.Optional.of(remember(path, symbols, origin));
  }

  /**
   * OpenSSL 3 when it defines EVP_KDF_derive; BoringSSL when HKDF_expand and CRYPTO_tls1_prf;
   * OpenSSL 1.1 when (only) EVP_PKEY_CTX_ctrl and EVP_PKEY_derive; GnuTLS when _gnutls_prf_raw;
   * Nettle when nettle_hkdf_expand; NSS when FREEBL_GetVector's table holds the HMAC and PRF
   * functions; else null.
   */
  static TlsLibrary.Kind kindOf(ElfSymbols symbols) {
    if (symbols.defines(KDF_SYMBOL)) {
      return TlsLibrary.Kind.OPENSSL_3;
    }
    if (symbols.defines(BSSL_HKDF_EXPAND) && symbols.defines(BSSL_TLS1_PRF)) {
      return TlsLibrary.Kind.BORINGSSL;
    }
    if (symbols.defines(OSSL11_CTRL) && symbols.defines(OSSL11_DERIVE)) {
      return TlsLibrary.Kind.OPENSSL_1_1;
    }
    if (symbols.defines(GNUTLS_PRF_RAW)) {
      return TlsLibrary.Kind.GNUTLS;
    }
    if (symbols.defines(NETTLE_HKDF_EXPAND)) {
      return TlsLibrary.Kind.NETTLE;
    }
    return functionsOf(TlsLibrary.Kind.NSS).stream().allMatch(symbols::defines) ? TlsLibrary.Kind.NSS : null;
  }

  /** The functions a library of {@code kind} is probed at. */
  public static List<String> functionsOf(TlsLibrary.Kind kind) {
    return switch (kind) {
      case OPENSSL_3 -> List.of(KDF_SYMBOL);
      case BORINGSSL -> List.of(BSSL_HKDF_EXPAND, BSSL_TLS1_PRF);
      case OPENSSL_1_1 -> List.of(OSSL11_CTRL, OSSL11_DERIVE);
      case GNUTLS -> List.of(GNUTLS_PRF_RAW);
      case NETTLE -> List.of(NETTLE_HKDF_EXPAND);
      case NSS -> List.of(NSS_HMAC_UPDATE, NSS_HMAC_FINISH, NSS_HMAC_DESTROY, NSS_TLS_P_HASH, NSS_TLS_PRF);
      case GO -> List.of();
    };
  }

  private TlsLibrary remember(Path path, ElfSymbols symbols, String origin) {
    try {
      String id = identity(path);
      TlsLibrary existing = known.get(id);
      if (existing != null) {
        return existing;
      }
      String[] parts = id.split(":");
      TlsLibrary.Kind kind = kindOf(symbols);
      Map<String, Long> sites = new java.util.HashMap<>();
      for (String function : functionsOf(kind)) {
        long start = symbols.fileOffset(function);
        if (start >= 0) {
          sites.put(function, start + dev.tlscap.bpf.UprobeSite.entryOffset(symbols.code(function),
              System.getProperty("os.arch")));
        }
      }
      TlsLibrary library = new TlsLibrary(path, Long.parseLong(parts[0]), Long.parseLong(parts[1]),
          symbols.opensslVersion(), origin, kind, sites);
      known.put(id, library);
      return library;
    } catch (IOException e) {
      throw new IllegalArgumentException("cannot read " + path + ": " + e.getMessage());
    }
  }

  /** Forgets a target (e.g. attaching failed), so that a later scan may try it again. */
  public void forget(TlsLibrary library) {
    known.remove(library.device() + ":" + library.inode());
    rootsListed.clear(); // its root is listed again at its next program
    executablesScanned = Map.of(); // and the programs that run it at the next rescan
    attached(library);
  }

  /**
   * The path to attach {@code library} by: {@code /proc/self/fd/N} while the finder holds it open
   * (found through another process's root), else its path.
   */
  public Path attachPath(TlsLibrary library) {
    Integer fd = pinned.get(library.device() + ":" + library.inode());
    return fd != null ? Path.of("/proc/self/fd/" + fd) : library.path();
  }

  /** The library was attached (or given up): the finder lets go of the file it held open. */
  public void attached(TlsLibrary library) {
    Integer fd = pinned.remove(library.device() + ":" + library.inode());
    if (fd != null) {
      dev.tlscap.bpf.Posix.close(fd);
    }
  }

  /**
   * Whether {@code root} (a process's {@code /proc/PID/root}) is tlscap's own root directory; false
   * when it cannot be read (the process is gone). One stat.
   */
  public static boolean isOwnRoot(Path root) {
    Object key = fileKey(root);
    return key != null && key.equals(ownRoot());
  }

  private static Object ownRoot() {
    Object own = ownRoot;
    if (own == null) {
      own = fileKey(Path.of("/"));
      ownRoot = own;
    }
    return own;
  }

  /** A directory's or file's device and inode, or null when it cannot be read. */
  private static Object fileKey(Path path) {
    try {
      return Files.readAttributes(path, BasicFileAttributes.class).fileKey();
    } catch (IOException | RuntimeException e) {
      return null;
    }
  }

  private static String identity(Path path) throws IOException {
    Map<String, Object> a = Files.readAttributes(path, "unix:dev,ino");
    return fileId(a.get("dev"), a.get("ino"));
  }

  /** The key of {@link #known}: {@code device:inode}, as a stat gives them (and {@link #mappedFileId} rebuilds them). */
  private static String fileId(Object device, Object inode) {
    return device + ":" + inode;
  }

  private static String missingKdf(ElfSymbols symbols) {
    String version = symbols.opensslVersion();
    if (version != null && !version.startsWith("3.")) {
      return "it is OpenSSL " + version + ", which has no " + KDF_SYMBOL + " (tlscap reads OpenSSL 3.x)";
    }
    if (symbols.defines(FREEBL_GET_VECTOR)) {
      return "its " + FREEBL_GET_VECTOR + " table is not one tlscap can read (NSS freebl on x86_64, table version 3)";
    }
    return "it does not define " + KDF_SYMBOL + " nor another function tlscap reads TLS secrets at (OpenSSL 1.1 and"
        + " 3, BoringSSL, GnuTLS and its Nettle, NSS's freebl: a shared library, or a program linking one statically)";
  }

  /** A path under /proc/PID/root shown as "PATH (pid PID)" (the path in that process's mount namespace). */
  static String display(Path path) {
    return display(path, null);
  }

  /**
   * How a traced file is named to users: its path, and the process it was found through ("pid N":
   * a program that just started, a path in its own root, or a file deleted since it was mapped).
   */
  public static String display(Path path, String origin) {
    String s = path.toString();
    if (s.startsWith("/proc/") && s.contains("/root/")) {
      int root = s.indexOf("/root/");
      return s.substring(root + 5) + " (pid " + s.substring(6, root) + ")";
    }
    if (s.startsWith("/proc/") && s.contains("/map_files/")) {
      return "a deleted file mapped by pid " + s.substring(6, s.indexOf("/map_files/"));
    }
    return origin != null && origin.startsWith("pid ") ? s + " (" + origin + ")" : s;
  }
}

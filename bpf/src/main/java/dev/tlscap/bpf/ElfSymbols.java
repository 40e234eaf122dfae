// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.bpf;

import java.io.IOException;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Which of a set of function names an ELF file defines (in {@code .dynsym} or {@code .symtab}), the
 * first bytes of their code (for {@link UprobeSite}), and the OpenSSL version string the file
 * carries; with {@code FREEBL_GetVector} among them, NSS freebl's functions its table holds
 * ({@link FreeblVector}, named {@code freebl:HMAC_Update} etc.): enough to tell whether a file is a target and, if not, to say why in one line. 64-bit
 * little-endian ELF only (x86_64, arm64). Immutable once read.
 */
public final class ElfSymbols {
  static final int SHT_SYMTAB = 2;
  static final int SHT_DYNSYM = 11;
  static final int STT_FUNC = 2;
  static final int STT_GNU_IFUNC = 10;

  /** Bytes of a function's start kept for {@link UprobeSite}. */
  static final int CODE_BYTES = 32;

  private final Path path;
  private final Map<String, byte[]> defined;
  private final Map<String, Long> offsets;
  private final String opensslVersion;

  private ElfSymbols(Path path, Map<String, byte[]> defined, Map<String, Long> offsets, String opensslVersion) {
    this.path = path;
    this.defined = defined;
    this.offsets = offsets;
    this.opensslVersion = opensslVersion;
  }

  /** Thrown when a file is missing, unreadable or not an ELF of this kind; the message is the user's line. */
  public static final class NotElfException extends IOException {
    private static final long serialVersionUID = 1L;

    NotElfException(String message) {
      super(message);
    }
  }

  /**
   * Reads the function symbols among {@code wanted} that {@code path} defines, and the OpenSSL
   * version string where it is shown: a target, or a library named like OpenSSL's.
   */
  public static ElfSymbols read(Path path, Collection<String> wanted) throws IOException {
    String file = path.getFileName() != null ? path.getFileName().toString() : "";
    return read(path, wanted, file.startsWith("libcrypto") || file.startsWith("libssl") ? Version.ALWAYS
        : Version.IF_FOUND);
  }

  /** Whether {@link #read} looks for the OpenSSL version string (a scan of the whole file). */
  public enum Version { ALWAYS, IF_FOUND, NEVER }

  /** The OpenSSL version string of a file ({@link #opensslVersion()}), or null. */
  public static String opensslVersionOf(Path path) {
    try (FileChannel channel = FileChannel.open(path, StandardOpenOption.READ)) {
      long size = channel.size();
      return size < 64 || size > Integer.MAX_VALUE ? null
          : opensslVersion(channel.map(FileChannel.MapMode.READ_ONLY, 0, size));
    } catch (IOException | RuntimeException e) {
      return null;
    }
  }

  /** {@link #read(Path, Collection)}, looking for the version string as {@code version} says. */
  public static ElfSymbols read(Path path, Collection<String> wanted, Version version) throws IOException {
    try (FileChannel channel = FileChannel.open(path, StandardOpenOption.READ)) {
      long size = channel.size();
      if (size < 64) {
        throw new NotElfException(path + " is not an ELF file");
      }
      if (size > Integer.MAX_VALUE) {
        throw new NotElfException(path + " is larger than 2 GiB; tlscap cannot read its symbols");
      }
      MappedByteBuffer elf = channel.map(FileChannel.MapMode.READ_ONLY, 0, size);
      elf.order(ByteOrder.LITTLE_ENDIAN);
      if (elf.getInt(0) != 0x464c457f) {
        throw new NotElfException(path + " is not an ELF file");
      }
      if (elf.get(4) != 2 || elf.get(5) != 1) {
        throw new NotElfException(path + " is not a 64-bit little-endian ELF file");
      }
      long shoff = elf.getLong(0x28);
      int shentsize = Short.toUnsignedInt(elf.getShort(0x3a));
      int shnum = Short.toUnsignedInt(elf.getShort(0x3c));
      Map<String, byte[]> found = new HashMap<>();
      Map<String, Long> offsets = new HashMap<>();
      List<byte[]> want = new ArrayList<>();
      for (String w : new HashSet<>(wanted)) {
        want.add(w.getBytes(StandardCharsets.ISO_8859_1));
      }
      for (int i = 0; i < shnum && shentsize >= 64; i++) {
        long sh = shoff + (long) i * shentsize;
        if (sh + 64 > size) {
          throw new NotElfException(path + " is a damaged ELF file (section header out of the file)");
        }
        int type = elf.getInt((int) sh + 4);
        if (type != SHT_SYMTAB && type != SHT_DYNSYM) {
          continue;
        }
        long offset = elf.getLong((int) sh + 0x18);
        long length = elf.getLong((int) sh + 0x20);
        int link = elf.getInt((int) sh + 0x28);
        long entsize = elf.getLong((int) sh + 0x38);
        long strSh = shoff + (long) link * shentsize;
        if (entsize < 24 || offset + length > size || link >= shnum || strSh + 64 > size) {
          continue;
        }
        long strOffset = elf.getLong((int) strSh + 0x18);
        long strLength = elf.getLong((int) strSh + 0x20);
        if (strOffset + strLength > size) {
          continue;
        }
        for (long at = offset; at + 24 <= offset + length; at += entsize) {
          int name = elf.getInt((int) at);
          int info = elf.get((int) at + 4) & 0xf;
          int shndx = Short.toUnsignedInt(elf.getShort((int) at + 6));
          if ((info != STT_FUNC && info != STT_GNU_IFUNC) || shndx == 0 || name <= 0 || name >= strLength) {
            continue;
          }
          // Compared in place: a big binary has 10^5 symbols, and no String is made for them.
          byte[] symbol = named(elf, (int) (strOffset + name), (int) (strOffset + strLength), want);
          String key = symbol != null ? new String(symbol, StandardCharsets.ISO_8859_1) : null;
          if (key != null && !found.containsKey(key)) {
            long address = elf.getLong((int) at + 8);
            found.put(key, code(elf, shoff, shentsize, shnum, address, size));
            offsets.put(key, fileOffset(elf, shoff, shentsize, shnum, address));
            if (key.equals(FreeblVector.GET_VECTOR)) {
              FreeblVector.resolve(elf, shoff, shentsize, shnum, address, elf.getLong((int) at + 16), found, offsets);
            }
          }
        }
      }
      boolean scan = version == Version.ALWAYS || version == Version.IF_FOUND && !found.isEmpty();
      return new ElfSymbols(path, found, offsets, scan ? opensslVersion(elf) : null);
    } catch (java.nio.file.NoSuchFileException e) {
      throw new NotElfException(path + " does not exist");
    } catch (java.nio.file.AccessDeniedException e) {
      throw new NotElfException(path + " cannot be read: permission denied");
    }
  }

  /** The file offset of virtual address {@code address}, through the section that holds it; -1 when none does. */
  static long fileOffset(MappedByteBuffer elf, long shoff, int shentsize, int shnum, long address) {
    for (int i = 0; i < shnum; i++) {
      int sh = (int) (shoff + (long) i * shentsize);
      long sectionAddress = elf.getLong(sh + 0x10);
      long length = elf.getLong(sh + 0x20);
      boolean alloc = (elf.getLong(sh + 8) & 2) != 0;
      if (alloc && elf.getInt(sh + 4) != 8 && address >= sectionAddress && address < sectionAddress + length) {
        return elf.getLong(sh + 0x18) + (address - sectionAddress);
      }
    }
    return -1;
  }

  /**
   * The first {@link #CODE_BYTES} bytes at virtual address {@code address}, found through the
   * section that holds it; empty when no section does.
   */
  static byte[] code(MappedByteBuffer elf, long shoff, int shentsize, int shnum, long address, long size) {
    for (int i = 0; i < shnum; i++) {
      int sh = (int) (shoff + (long) i * shentsize);
      long flags = elf.getLong(sh + 8);
      long sectionAddress = elf.getLong(sh + 0x10);
      long offset = elf.getLong(sh + 0x18);
      long length = elf.getLong(sh + 0x20);
      int type = elf.getInt(sh + 4);
      boolean alloc = (flags & 2) != 0;
      if (!alloc || type == 8 /* SHT_NOBITS */ || address < sectionAddress || address >= sectionAddress + length) {
        continue;
      }
      long at = offset + (address - sectionAddress);
      int n = (int) Math.min(CODE_BYTES, Math.min(sectionAddress + length - address, size - at));
      if (n <= 0) {
        return new byte[0];
      }
      byte[] bytes = new byte[n];
      elf.get((int) at, bytes);
      return bytes;
    }
    return new byte[0];
  }

  /** The name among {@code wanted} that the NUL-terminated string at {@code at} is, or null. */
  private static byte[] named(MappedByteBuffer b, int at, int limit, List<byte[]> wanted) {
    outer:
    for (byte[] w : wanted) {
      if (at + w.length >= limit || b.get(at + w.length) != 0) {
        continue;
      }
      for (int k = 0; k < w.length; k++) {
        if (b.get(at + k) != w[k]) {
          continue outer;
        }
      }
      return w;
    }
    return null;
  }

  private static final byte[] OPENSSL = "OpenSSL ".getBytes(StandardCharsets.US_ASCII);

  /** The first "OpenSSL N.N.N..." string in the file (its OPENSSL_VERSION_TEXT), or null. */
  private static String opensslVersion(MappedByteBuffer b) {
    int limit = b.limit() - 16;
    byte[] chunk = new byte[1 << 20];
    for (int base = 0; base < limit; base += chunk.length - 32) { // chunks overlap by more than a match
      int n = Math.min(chunk.length, b.limit() - base);
      b.get(base, chunk, 0, n);
      int i = indexOfVersion(chunk, n);
      if (i >= 0) {
        return versionAt(b, base + i);
      }
    }
    return null;
  }

  /** Where "OpenSSL N." starts in the first {@code n} bytes of {@code chunk}, or -1. */
  private static int indexOfVersion(byte[] chunk, int n) {
    outer:
    for (int i = 0; i + OPENSSL.length + 2 <= n; i++) {
      if (chunk[i] != 'O') {
        continue;
      }
      for (int k = 1; k < OPENSSL.length; k++) {
        if (chunk[i + k] != OPENSSL[k]) {
          continue outer;
        }
      }
      int start = i + OPENSSL.length;
      if (Character.isDigit(chunk[start]) && chunk[start + 1] == '.') {
        return i;
      }
    }
    return -1;
  }

  private static String versionAt(MappedByteBuffer b, int i) {
    int start = i + OPENSSL.length;
    int end = start;
    while (end < b.limit() && end - start < 24 && b.get(end) > ' ' && b.get(end) < 127) {
      end++;
    }
    byte[] raw = new byte[end - start];
    b.get(start, raw);
    return new String(raw, StandardCharsets.US_ASCII);
  }


  public Path path() {
    return path;
  }

  public boolean defines(String symbol) {
    return defined.containsKey(symbol);
  }

  /**
   * Where function {@code symbol} starts in the file (what a uprobe is attached at; local symbols
   * of .symtab too), or -1 when it is not defined or lies in no section.
   */
  public long fileOffset(String symbol) {
    Long offset = offsets.get(symbol);
    return offset == null ? -1 : offset;
  }

  /** The first bytes of function {@code symbol}'s code (up to 32), empty if unknown. */
  public byte[] code(String symbol) {
    byte[] code = defined.get(symbol);
    return code == null ? new byte[0] : code.clone();
  }

  /** E.g. "3.0.19", or null when the file carries no OpenSSL version text. */
  public String opensslVersion() {
    return opensslVersion;
  }
}

// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.secrets.go;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/**
 * The parts of a 64-bit little-endian ELF file a Go binary is read through: its sections by name
 * (when it has section headers) and its loadable segments, which map virtual addresses to file
 * offsets (uprobes are placed by file offset). The file is mapped read-only; every read is
 * bounds-checked, so a damaged or hostile file gives {@link GoFormatException}, never a wrong answer
 * past its end. Immutable; not thread-safe (it shares one buffer).
 */
final class GoElf {
  static final int EM_X86_64 = 62;
  static final int EM_AARCH64 = 183;
  private static final int PT_LOAD = 1;
  private static final int SHT_NOBITS = 8;

  /** A section: where it is loaded and where its bytes are in the file. */
  record Section(String name, long address, long offset, long size) {}

  /** A PT_LOAD segment. */
  record Segment(long address, long offset, long fileSize) {}

  private final Path path;
  private final ByteBuffer elf;
  private final int machine;
  private final List<Section> sections;
  private final List<Segment> segments;

  private GoElf(Path path, ByteBuffer elf, int machine, List<Section> sections, List<Segment> segments) {
    this.path = path;
    this.elf = elf;
    this.machine = machine;
    this.sections = sections;
    this.segments = segments;
  }

  /** Thrown for a file that is not an ELF of this kind, or is damaged where tlscap reads it. */
  static final class GoFormatException extends IOException {
    private static final long serialVersionUID = 1L;

    GoFormatException(String message) {
      super(message);
    }
  }

  /** Maps and parses {@code path}; {@link GoFormatException} when it is not a 64-bit little-endian ELF. */
  static GoElf open(Path path) throws IOException {
    try (FileChannel channel = FileChannel.open(path, StandardOpenOption.READ)) {
      long size = channel.size();
      if (size > Integer.MAX_VALUE) {
        throw new GoFormatException(path + " is larger than 2 GiB");
      }
      ByteBuffer b = channel.map(FileChannel.MapMode.READ_ONLY, 0, size).order(ByteOrder.LITTLE_ENDIAN);
      if (size < 64 || b.getInt(0) != 0x464c457f) {
        throw new GoFormatException(path + " is not an ELF file");
      }
      if (b.get(4) != 2 || b.get(5) != 1) {
        throw new GoFormatException(path + " is not a 64-bit little-endian ELF file");
      }
      int machine = Short.toUnsignedInt(b.getShort(0x12));
      return new GoElf(path, b, machine, sections(path, b), segments(path, b));
    }
  }

  private static List<Segment> segments(Path path, ByteBuffer b) throws GoFormatException {
    long phoff = b.getLong(0x20);
    int phentsize = Short.toUnsignedInt(b.getShort(0x36));
    int phnum = Short.toUnsignedInt(b.getShort(0x38));
    List<Segment> out = new ArrayList<>();
    for (int i = 0; i < phnum; i++) {
      long ph = phoff + (long) i * phentsize;
      if (phentsize < 56 || ph + 56 > b.limit()) {
        throw new GoFormatException(path + " is a damaged ELF file (program header out of the file)");
      }
      if (b.getInt((int) ph) == PT_LOAD) {
        out.add(new Segment(b.getLong((int) ph + 16), b.getLong((int) ph + 8), b.getLong((int) ph + 32)));
      }
    }
    return out;
  }

  private static List<Section> sections(Path path, ByteBuffer b) throws GoFormatException {
    long shoff = b.getLong(0x28);
    int shentsize = Short.toUnsignedInt(b.getShort(0x3a));
    int shnum = Short.toUnsignedInt(b.getShort(0x3c));
    int shstrndx = Short.toUnsignedInt(b.getShort(0x3e));
    List<Section> out = new ArrayList<>();
    if (shoff == 0 || shnum == 0 || shstrndx >= shnum) {
      return out; // no section headers (sstrip): callers scan the segments instead
    }
    if (shentsize < 64 || shoff + (long) shnum * shentsize > b.limit()) {
      throw new GoFormatException(path + " is a damaged ELF file (section headers out of the file)");
    }
    long names = b.getLong((int) (shoff + (long) shstrndx * shentsize + 0x18));
    for (int i = 0; i < shnum; i++) {
      int sh = (int) (shoff + (long) i * shentsize);
      if (b.getInt(sh + 4) == SHT_NOBITS) {
        continue;
      }
      long offset = b.getLong(sh + 0x18);
      long size = b.getLong(sh + 0x20);
      if (offset < 0 || size < 0 || offset + size > b.limit()) {
        continue;
      }
      out.add(new Section(cString(b, names + Integer.toUnsignedLong(b.getInt(sh)), 64), b.getLong(sh + 0x10), offset, size));
    }
    return out;
  }

  static String cString(ByteBuffer b, long at, int max) {
    if (at < 0 || at >= b.limit()) {
      return "";
    }
    int end = (int) at;
    while (end < b.limit() && end - at < max && b.get(end) != 0) {
      end++;
    }
    byte[] raw = new byte[end - (int) at];
    b.get((int) at, raw);
    return new String(raw, StandardCharsets.ISO_8859_1);
  }

  Path path() {
    return path;
  }

  ByteBuffer buffer() {
    return elf;
  }

  int machine() {
    return machine;
  }

  /** The first section named one of {@code names}, or null. */
  Section section(String... names) {
    for (String name : names) {
      for (Section s : sections) {
        if (s.name().equals(name)) {
          return s;
        }
      }
    }
    return null;
  }

  List<Segment> segments() {
    return segments;
  }

  /**
   * Whether the Go tables may be looked for by scanning the file: Go's linkers write
   * {@code .note.go.buildid} and {@code .go.buildinfo}; a file with section headers but neither is
   * not Go, and is not read further (scanning every large C++ binary on exec would cost).
   */
  boolean mayScanForGo() {
    return sections.isEmpty() || section(".go.buildinfo", ".note.go.buildid") != null;
  }

  /** The file offset of virtual address {@code address}, or -1 when no loaded file byte is there. */
  long fileOffset(long address) {
    for (Segment s : segments) {
      if (address >= s.address() && address - s.address() < s.fileSize()) {
        long at = s.offset() + (address - s.address());
        return at < elf.limit() ? at : -1;
      }
    }
    return -1;
  }

  /** Bytes at a file offset; fewer (possibly none) at the end of the file. */
  byte[] bytesAt(long offset, int n) {
    if (offset < 0 || offset >= elf.limit()) {
      return new byte[0];
    }
    byte[] out = new byte[(int) Math.min(n, elf.limit() - offset)];
    elf.get((int) offset, out);
    return out;
  }
}

// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.pcapng;

import com.github.luben.zstd.ZstdInputStream;
import com.github.luben.zstd.ZstdOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Path;
import java.util.Locale;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;
import org.apache.commons.compress.compressors.xz.XZCompressorInputStream;
import org.apache.commons.compress.compressors.xz.XZCompressorOutputStream;
import org.tukaani.xz.LZMA2Options;

/**
 * How completed capture files are compressed ({@code --compress}). tshark 4.0 reads {@code .zst}
 * and {@code .gz} files directly, DSBs included; it does not read {@code .xz} (decompress first:
 * {@code xz -dc f.pcapng.xz | tshark -r -}). {@link PcapngReader} reads all three.
 *
 * <p>Immutable and thread-safe.
 */
public enum Compression {
  /** Files stay as written. */
  NONE(""),
  /** Zstandard level 3 through zstd-jni: fast, about 0.6 of the size on typical traffic. */
  ZSTD(".zst"),
  /** gzip level 6 through the JDK. */
  GZIP(".gz"),
  /** xz preset 3 through commons-compress (slowest, smallest). */
  XZ(".xz");

  private final String extension;

  Compression(String extension) {
    this.extension = extension;
  }

  /** The suffix added to a compressed file's name, e.g. {@code ".zst"} (empty for {@link #NONE}). */
  public String extension() {
    return extension;
  }

  /**
   * Parses a {@code --compress} value: {@code zstd}, {@code gzip}, {@code xz} or {@code none}
   * (also {@code zst}, {@code gz}).
   */
  public static Compression parse(String value) {
    switch (value == null ? "" : value.trim().toLowerCase(Locale.ROOT)) {
      case "none":
        return NONE;
      case "zstd":
      case "zst":
        return ZSTD;
      case "gzip":
      case "gz":
        return GZIP;
      case "xz":
        return XZ;
      default:
        throw new IllegalArgumentException("unknown compression '" + value + "' for --compress: expected zstd, gzip or xz");
    }
  }

  /** The compression a file name's suffix says ({@code .zst}, {@code .gz}, {@code .xz}), else {@link #NONE}. */
  public static Compression ofFileName(Path file) {
    String name = file.getFileName().toString();
    for (Compression c : values()) {
      if (c != NONE && name.endsWith(c.extension)) {
        return c;
      }
    }
    return NONE;
  }

  /** A stream that compresses into {@code out} (closing it finishes the compressed stream and closes {@code out}). */
  public OutputStream compressing(OutputStream out) throws IOException {
    switch (this) {
      case ZSTD:
        return new ZstdOutputStream(out, 3);
      case GZIP:
        return new GZIPOutputStream(out, 1 << 16);
      case XZ:
        return XZCompressorOutputStream.builder().setOutputStream(out).setLzma2Options(new LZMA2Options(3)).get();
      default:
        return out;
    }
  }

  /** A stream that decompresses {@code in}. */
  public InputStream decompressing(InputStream in) throws IOException {
    switch (this) {
      case ZSTD:
        return new ZstdInputStream(in);
      case GZIP:
        return new GZIPInputStream(in, 1 << 16);
      case XZ:
        return new XZCompressorInputStream(in);
      default:
        return in;
    }
  }
}

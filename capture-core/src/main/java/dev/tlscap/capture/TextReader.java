// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.capture;

import dev.tlscap.pcapng.Compression;
import dev.tlscap.pcapng.DecryptionSecretsBlock;
import dev.tlscap.pcapng.EnhancedPacketBlock;
import dev.tlscap.pcapng.InterfaceDescriptionBlock;
import dev.tlscap.pcapng.PcapngBlock;
import dev.tlscap.pcapng.PcapngFormatException;
import dev.tlscap.pcapng.PcapngReader;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;

/**
 * {@code tlscap -r FILE --text}: a pcapng file (tlscap's, or any with Decryption Secrets Blocks;
 * compressed with zstd, gzip or xz as {@code --compress} leaves them; {@code -} for standard input)
 * read through a {@link TextTap}. Needs no root and no kernel.
 */
final class TextReader {
  private TextReader() {}

  /** Reads {@code file} into {@code tap}; returns the exit code (0, or 1 with one line on {@code err}). */
  static int run(String file, TextTap tap, PrintStream err) {
    try (InputStream in = open(file)) {
      PcapngReader reader = new PcapngReader(in);
      PcapngBlock block;
      long packets = 0;
      try {
        while ((block = reader.next()) != null) {
          if (block instanceof DecryptionSecretsBlock dsb && dsb.secretsType() == DecryptionSecretsBlock.TLS_KEY_LOG) {
            tap.keyLog(dsb.keyLog());
          } else if (block instanceof EnhancedPacketBlock epb) {
            List<InterfaceDescriptionBlock> interfaces = reader.interfaces();
            if (epb.interfaceId() >= interfaces.size()) {
              continue;
            }
            if (++packets % 4096 == 0) {
              tap.flush(); // a reader that went away (| head) ends the reading
            }
            List<String> comments = epb.comments();
            tap.packet(epb.timestampNanos(), interfaces.get(epb.interfaceId()).linkType(), ByteBuffer.wrap(epb.data()), 0,
                epb.capturedLength(), comments.isEmpty() ? null : String.join("\n", comments));
          }
        }
      } catch (java.io.UncheckedIOException e) {
        return 0; // standard output closed (| head): the reader has what it wanted, as with tcpdump -r
      } catch (PcapngFormatException e) {
        tap.close();
        err.println("tlscap: " + file + ": " + e.getMessage() + " (read " + packets + " packets before it)");
        return 1;
      }
      tap.close();
      err.println("tlscap: " + file + ": " + packets + " packets; " + tap.summary());
      return 0;
    } catch (NoSuchFileException e) {
      err.println("tlscap: -r " + file + ": no such file");
    } catch (AccessDeniedException e) {
      err.println("tlscap: -r " + file + ": permission denied");
    } catch (NotPcapng e) {
      err.println("tlscap: -r " + file + ": " + e.getMessage());
    } catch (IOException e) {
      err.println("tlscap: -r " + file + ": " + e.getMessage());
    }
    return 1;
  }

  private static InputStream open(String file) throws IOException {
    if (file.equals("-")) {
      return check(new BufferedInputStream(System.in, 1 << 16), file);
    }
    Path path = Path.of(file);
    if (Files.isDirectory(path)) {
      throw new NotPcapng("it is a directory");
    }
    InputStream raw = new BufferedInputStream(Files.newInputStream(path), 1 << 16);
    try {
      return check(new BufferedInputStream(Compression.ofFileName(path).decompressing(raw), 1 << 16), file);
    } catch (IOException e) {
      raw.close();
      throw e;
    }
  }

  /** Says in one line what a file that is not pcapng is. */
  private static InputStream check(BufferedInputStream in, String file) throws IOException {
    in.mark(4);
    byte[] magic = in.readNBytes(4);
    in.reset();
    if (magic.length < 4) {
      throw new NotPcapng("empty or shorter than a pcapng header");
    }
    int m = ByteBuffer.wrap(magic).getInt();
    if (m == 0xa1b2c3d4 || m == 0xd4c3b2a1 || m == 0xa1b23c4d || m == 0x4d3cb2a1) {
      throw new NotPcapng("a pcap file, without TLS secrets; --text reads pcapng with Decryption Secrets Blocks"
          + " (tlscap -w, or: editcap --inject-secrets tls,KEYLOG " + file + " out.pcapng)");
    }
    if (m != 0x0a0d0d0a) {
      throw new NotPcapng("not a pcapng file (it starts with " + String.format("%08x", m) + ")");
    }
    return in;
  }

  /** A file that is not pcapng: the message says what it is. */
  private static final class NotPcapng extends IOException {
    NotPcapng(String message) {
      super(message);
    }
  }
}

// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.pcapng;

import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/**
 * The writer's background thread: compresses each completed file into {@code NAME.zst|.gz|.xz}
 * through a temporary name, synced and renamed, then deletes the original; also deletes ring files
 * in order after their compression. Tasks run one at a time in submission order.
 */
final class FileCompressor {
  private final Compression compression;
  private final CaptureFileListener listener;
  private final ExecutorService executor;

  FileCompressor(Compression compression, CaptureFileListener listener) {
    this.compression = compression;
    this.listener = listener;
    this.executor = Executors.newSingleThreadExecutor(r -> {
      Thread t = new Thread(r, "tlscap-compress");
      // Daemon: if the JVM dies without close(), the uncompressed file is already complete.
      t.setDaemon(true);
      return t;
    });
  }

  void compress(Path file) {
    executor.execute(() -> compressNow(file));
  }

  void delete(Path file) {
    executor.execute(() -> deleteNow(file));
  }

  /** Runs every pending task, then stops the thread. */
  void finish() {
    executor.shutdown();
    try {
      while (!executor.awaitTermination(1, TimeUnit.MINUTES)) {
        // keep waiting: close() promises the last file is compressed
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private void compressNow(Path file) {
    Path target = CaptureFileNames.compressed(file, compression);
    Path temp = CaptureFileNames.compressing(file, compression);
    try {
      Files.deleteIfExists(temp);
      FileChannel channel = FileChannel.open(temp,
          java.util.Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE), PcapngWriter.OWNER_ONLY);
      try (OutputStream out = compression.compressing(new SyncOnClose(channel))) {
        Files.copy(file, out);
      }
      Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      syncDirectory(target);
      Files.delete(file);
      listener.fileCompleted(target, Files.size(target));
    } catch (IOException | RuntimeException e) {
      try {
        Files.deleteIfExists(temp);
      } catch (IOException ignored) {
        // the temporary name is never taken for a finished file
      }
      String reason = e instanceof IOException io ? PcapngWriteException.of("compress", file, io).getMessage()
          : "cannot compress " + file + ": " + e;
      listener.compressionFailed(file, reason + "; the uncompressed file is kept");
      try {
        listener.fileCompleted(file, Files.size(file));
      } catch (IOException ignored) {
        // the file went away too; the failure was reported
      }
    }
  }

  private void deleteNow(Path file) {
    boolean deleted = false;
    for (Path p : new Path[] {file, CaptureFileNames.compressed(file, compression),
        CaptureFileNames.compressing(file, compression)}) {
      try {
        deleted |= Files.deleteIfExists(p);
      } catch (IOException e) {
        listener.warning(PcapngWriteException.of("delete old ring file", p, e).getMessage());
      }
    }
    if (deleted) {
      listener.fileDeleted(file);
    }
  }

  static void syncDirectory(Path file) {
    Path dir = file.toAbsolutePath().getParent();
    try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
      d.force(true);
    } catch (IOException ignored) {
      // not every file system lets a directory be synced; the rename itself is atomic
    }
  }

  /** Syncs the file to disk before closing it, so the rename never publishes unsynced data. */
  private static final class SyncOnClose extends FilterOutputStream {
    private final FileChannel channel;

    SyncOnClose(FileChannel channel) {
      super(Channels.newOutputStream(channel));
      this.channel = channel;
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
      out.write(b, off, len);
    }

    @Override
    public void close() throws IOException {
      try {
        out.flush();
        channel.force(true);
      } finally {
        out.close();
      }
    }
  }
}

// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.pcapng;

import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayDeque;

/**
 * The writer's background thread: compresses each completed file, in order, into
 * {@code NAME.zst|.gz|.xz} through a temporary name, synced and renamed, then deletes the original.
 *
 * <p><b>Bounded by the ring.</b> When compression is slower than the capture, completed files wait
 * here uncompressed. With a ring ({@code -W}), the writer's {@link #delete} of the oldest file takes
 * it out at once, whether it still waits (never compressed), is being compressed (aborted, its
 * temporary removed) or is done: so no more files than the ring's count sit on disk, and the files
 * deleted before their compression are counted ({@link #filesNotCompressed()}). The first time it
 * falls behind, the listener gets one {@link CaptureFileListener#warning}.
 */
final class FileCompressor {
  /** Completed files waiting (the one being compressed not included) that count as falling behind. */
  static final int BACKLOG_WARNING = 2;

  private final Compression compression;
  private final CaptureFileListener listener;
  /** Runs on the compressor thread before each file's compression (tests slow it down); may be null. */
  private final java.util.function.Consumer<Path> beforeEach;
  private final Thread thread;

  private final Object lock = new Object();
  /** Completed files in order, not started yet. Guarded by {@link #lock}. */
  private final ArrayDeque<Path> waiting = new ArrayDeque<>();
  /** The file being compressed, or null. Guarded by {@link #lock}. */
  private Path compressing;
  /** The ring deleted {@link #compressing}: abort it and publish nothing. */
  private volatile boolean cancelled;
  /** {@link #abandon()}: files left are kept uncompressed. */
  private volatile boolean abandoned;
  private boolean finishing;
  private boolean warned;
  private long notCompressed;

  FileCompressor(Compression compression, CaptureFileListener listener, java.util.function.Consumer<Path> beforeEach) {
    this.compression = compression;
    this.listener = listener;
    this.beforeEach = beforeEach;
    this.thread = new Thread(this::run, "tlscap-compress");
    // Daemon: if the JVM dies without close(), the uncompressed file is already complete.
    thread.setDaemon(true);
    thread.start();
  }

  /** Queues a completed file (writer thread). */
  void compress(Path file) {
    int backlog;
    synchronized (lock) {
      waiting.addLast(file);
      backlog = waiting.size();
      lock.notifyAll();
    }
    if (backlog >= BACKLOG_WARNING) {
      warnOnce(backlog + " completed files wait to be compressed");
    }
  }

  /**
   * Deletes a ring file and its compressed form now (writer thread), whatever its compression's
   * state: a file still waiting is never compressed, one being compressed is aborted (both counted).
   */
  void delete(Path file) {
    boolean skipped;
    synchronized (lock) {
      skipped = waiting.remove(file);
      if (skipped) {
        notCompressed++;
      } else if (file.equals(compressing)) {
        cancelled = true; // the compressor removes its temporary and counts it if it did not finish
      }
      // Under the lock: the compressor publishes (renames) its result under it too, so the
      // compressed form is either not there yet (and never will be) or deleted here.
      boolean deleted = false;
      for (Path p : new Path[] {file, CaptureFileNames.compressed(file, compression)}) {
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
    if (skipped) {
      warnOnce("the ring (-W) deleted " + file.getFileName() + " before its turn (such files are counted)");
    }
  }

  /** Completed files the ring deleted before they were compressed. */
  long filesNotCompressed() {
    synchronized (lock) {
      return notCompressed;
    }
  }

  /**
   * Compresses nothing more (any thread; a second Ctrl-C): the file being compressed and those
   * waiting stay as they are, uncompressed and complete, counted in {@link #filesNotCompressed()}.
   */
  void abandon() {
    synchronized (lock) {
      abandoned = true;
      notCompressed += waiting.size();
      waiting.clear();
      lock.notifyAll();
    }
  }

  /** Compresses every file still waiting, then stops the thread. */
  void finish() {
    synchronized (lock) {
      finishing = true;
      lock.notifyAll();
    }
    try {
      thread.join(); // close() promises the last file is compressed
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private void warnOnce(String what) {
    synchronized (lock) {
      if (warned) {
        return;
      }
      warned = true;
    }
    listener.warning("compression (" + compression.name().toLowerCase(java.util.Locale.ROOT)
        + ") is slower than the capture: " + what);
  }

  private void run() {
    while (true) {
      Path file;
      synchronized (lock) {
        while (waiting.isEmpty() && !finishing) {
          try {
            lock.wait();
          } catch (InterruptedException e) {
            // only finish() ends this thread
          }
        }
        if (waiting.isEmpty()) {
          return;
        }
        file = waiting.removeFirst();
        compressing = file;
        cancelled = false;
      }
      boolean finished = compressNow(file);
      boolean aborted;
      synchronized (lock) {
        aborted = !finished && cancelled;
        if (!finished && (cancelled || abandoned)) {
          notCompressed++;
        }
        compressing = null;
      }
      if (aborted) {
        warnOnce("the ring (-W) deleted " + file.getFileName() + " while it was being compressed (such files are counted)");
      }
    }
  }

  /** Thrown inside {@link #compressNow} when the ring deleted the file. */
  private static final class Cancelled extends IOException {
    private static final long serialVersionUID = 1L;
  }

  /** Returns false if the ring deleted {@code file} before its compressed form was published. */
  private boolean compressNow(Path file) {
    Path target = CaptureFileNames.compressed(file, compression);
    Path temp = CaptureFileNames.compressing(file, compression);
    try {
      if (beforeEach != null) {
        beforeEach.accept(file);
      }
      Files.deleteIfExists(temp);
      FileChannel channel = FileChannel.open(temp,
          java.util.Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE), PcapngWriter.OWNER_ONLY);
      try (OutputStream out = compression.compressing(new SyncOnClose(channel));
          InputStream in = Files.newInputStream(file)) {
        byte[] chunk = new byte[1 << 16];
        for (int n = in.read(chunk); n >= 0; n = in.read(chunk)) {
          if (cancelled || abandoned) {
            throw new Cancelled();
          }
          out.write(chunk, 0, n);
        }
      }
      synchronized (lock) {
        if (cancelled || abandoned) {
          throw new Cancelled();
        }
        Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      }
      syncDirectory(target);
      Files.deleteIfExists(file);
      long size;
      try {
        size = Files.size(target);
      } catch (java.nio.file.NoSuchFileException e) {
        return true; // compressed, then deleted by the ring at once
      }
      listener.fileCompleted(target, size);
      return true;
    } catch (IOException | RuntimeException e) {
      try {
        Files.deleteIfExists(temp);
      } catch (IOException ignored) {
        // the temporary name is never taken for a finished file
      }
      if (cancelled || abandoned) {
        return false; // the ring deleted it, or compression was abandoned: nothing to report but the count
      }
      String reason = e instanceof IOException io ? PcapngWriteException.of("compress", file, io).getMessage()
          : "cannot compress " + file + ": " + e;
      listener.compressionFailed(file, reason + "; the uncompressed file is kept");
      try {
        listener.fileCompleted(file, Files.size(file));
      } catch (IOException ignored) {
        // the file went away too; the failure was reported
      }
      return true;
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

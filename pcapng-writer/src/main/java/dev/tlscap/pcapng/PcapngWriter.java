// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.pcapng;

import java.io.Closeable;
import java.io.Flushable;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.WritableByteChannel;
import java.nio.file.Path;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.function.LongSupplier;

/**
 * Writes self-decrypting pcapng: a Section Header Block, one Interface Description Block per
 * interface, then Decryption Secrets Blocks and Enhanced Packet Blocks as the caller writes
 * packets, and Interface Statistics Blocks at the end of each file; to a file with optional
 * rotation ({@link RotationPolicy}) and background compression ({@link Compression}), or to a
 * stream such as stdout.
 *
 * <p><b>Threading.</b> Not thread-safe: every method is meant to be called from one thread (the
 * capture's event loop). The only other thread is the writer's own compressor, which compresses
 * completed files and reports {@link CaptureFileListener#fileCompleted} for them.
 *
 * <p><b>Packets.</b> {@link #writePacket} copies the packet into a large direct buffer in native
 * byte order (the SHB's magic tells readers the order) and allocates nothing; the buffer goes to the
 * file when full, on {@link #flush()}, on {@link #tick(long)} and at the end of each file; a new
 * file's SHB and IDBs go to disk when it is opened. The
 * buffer always holds whole blocks, so the file on disk always ends on a block boundary, except
 * when the process is killed in the middle of a write; then the file is readable up to its last
 * whole block. Packets written since the last flush are lost on {@code kill -9}.
 *
 * <p><b>Secrets.</b> Each TLS flow gets a {@link FlowSecrets} handle ({@link #newFlowSecrets()}).
 * Before a packet written with a handle, the writer writes a DSB with the lines of that flow the
 * current file does not have yet. Wireshark only uses a DSB for packets after it, so add a flow's
 * lines before writing its ServerHello (TLS 1.3) or ChangeCipherSpec (TLS 1.2).
 *
 * <p><b>Errors.</b> An I/O error never escapes {@link #writePacket}, {@link #tick}, {@link #flush}
 * or {@link #close}: the writer reports it once to {@link CaptureFileListener#writeFailed} as one
 * human line ({@link #failure()} keeps it), cuts the current file back to its last whole block,
 * closes it and stops: later calls return false. Files completed before stay intact; a file left
 * without one whole block is deleted. The packets that were still in the write buffer are lost and
 * counted ({@link #packetsDiscarded()}). Programming
 * errors (unknown interface id, lengths out of range, a released flow) throw
 * {@link IllegalArgumentException}/{@link IllegalStateException}.
 */
public final class PcapngWriter implements Closeable {
  /** The {@code shb_userappl} written by default: {@code "tlscap <version>"}. */
  public static final String DEFAULT_APPLICATION = "tlscap " + WriterDefaults.version();

  /** Files hold TLS secrets: only their owner may read them. */
  static final FileAttribute<Set<PosixFilePermission>> OWNER_ONLY =
      PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------"));

  private enum State { OPEN, COMPLETE, FAILED, CLOSED }

  private final RotationPolicy rotation;
  private final long rotateNanos;
  private final long sizeLimit;
  private final CaptureFileListener listener;
  private final InterfaceStatistics.Source statisticsSource;
  private final LongSupplier clock;
  /** The file lifecycle, or null when writing to a stream. */
  private final CaptureFiles files;
  private final BlockEncoder encoder;
  private final BlockOutput out;

  private long generation;
  private int filesOpened;
  private long fileOpenedNanos;
  private long firstPacketNanos;
  private long lastPacketNanos;
  private long packetsInFile;
  /** Bytes of synthetic packets ({@link #writeSynthetic}) in the current file: not counted against {@code -C}. */
  private long syntheticBytesInFile;
  private long packetsDiscarded;

  /** Encoded comments of synthetic packets, by text (a handful of fixed texts). */
  private final java.util.Map<String, byte[]> marks = new java.util.HashMap<>();

  private State state = State.OPEN;
  private boolean complete;
  private PcapngWriteException failure;

  private PcapngWriter(Builder b, Path base, WritableByteChannel streamChannel, Flushable stream) {
    this.rotation = b.rotation;
    this.rotateNanos = b.rotation.rotateNanos();
    this.sizeLimit = b.rotation.fileSizeLimit();
    this.listener = b.listener;
    this.statisticsSource = b.statistics;
    this.clock = b.clock;
    this.files = base == null ? null
        : new CaptureFiles(base, b.rotation, b.compression, b.listener, b.beforeCompression);
    this.encoder = new BlockEncoder(b.hardware, b.os, b.application);
    this.out = new BlockOutput(b.bufferSize, streamChannel, stream);
  }

  /** A builder with no rotation, no compression, no listener and the system clock. */
  public static Builder builder() {
    return new Builder();
  }

  // ---------------------------------------------------------------- interfaces and flows

  /**
   * Adds an interface and returns its id (0, 1, 2, ... in the order added). Ids stay the same in
   * every rotated file: each file repeats every interface known so far, in id order, after its SHB;
   * an interface added while a file is open gets its IDB in that file now.
   *
   * @throws IllegalStateException after {@link #close()}
   */
  public int addInterface(InterfaceDescription description) {
    Objects.requireNonNull(description, "description");
    if (state == State.CLOSED) {
      throw new IllegalStateException("the writer is closed");
    }
    int id = encoder.addInterface(description);
    if (state == State.OPEN && out.attached()) {
      try {
        out.append(encoder.interfaceBlock(id));
      } catch (IOException e) {
        fail("write", e);
      }
    }
    return id;
  }

  /** How many interfaces were added. */
  public int interfaceCount() {
    return encoder.interfaceCount();
  }

  /** A new, empty key log handle for one TLS flow, bound to this writer. */
  public FlowSecrets newFlowSecrets() {
    return new FlowSecrets(this);
  }

  /**
   * Records that {@code count} packets of interface {@code interfaceId} were lost before the next
   * packet written for it; that packet carries the sum as {@code epb_dropcount}.
   */
  public void reportDrops(int interfaceId, long count) {
    encoder.checkInterface(interfaceId);
    if (count > 0) {
      encoder.reportDrops(interfaceId, count);
    }
  }

  // ---------------------------------------------------------------- packets

  /** {@link #writePacket(int, long, ByteBuffer, int, int, int, Direction, ProcessAnnotation, int, FlowSecrets)} without process or secrets. */
  public boolean writePacket(int interfaceId, long timestampNanos, ByteBuffer data, int offset, int capturedLength,
      int originalLength, Direction direction) {
    return writePacket(interfaceId, timestampNanos, data, offset, capturedLength, originalLength, direction,
        null, 0, null);
  }

  /**
   * Writes one Enhanced Packet Block, preceded by a DSB when {@code secrets} has lines the current
   * file lacks, and preceded by a rotation when the policy says so. Allocates nothing.
   *
   * @param interfaceId an id from {@link #addInterface}
   * @param timestampNanos nanoseconds since the epoch (also compared with the file's open time for -G)
   * @param data the packet bytes; read with absolute bulk gets, its position and limit untouched (a
   *     read-only or memory-mapped buffer is fine)
   * @param offset where the packet starts in {@code data}
   * @param capturedLength bytes to store (cut to the interface's snap length)
   * @param originalLength the packet's length on the wire ({@code >= capturedLength})
   * @param direction written as {@code epb_flags} (none for {@link Direction#UNKNOWN})
   * @param process the process the packet belongs to, or null
   * @param threadId the thread id for {@code epb_processid_threadid} (used only with {@code process})
   * @param secrets the flow's key log handle, or null
   * @return true if written; false if the writer has stopped (after a write error, after the last
   *     file of {@code -G} with {@code -W}, or after close)
   */
  public boolean writePacket(int interfaceId, long timestampNanos, ByteBuffer data, int offset, int capturedLength,
      int originalLength, Direction direction, ProcessAnnotation process, int threadId, FlowSecrets secrets) {
    if (state != State.OPEN) {
      return false;
    }
    encoder.checkInterface(interfaceId);
    if (capturedLength < 0 || originalLength < capturedLength) {
      throw new IllegalArgumentException("bad packet lengths: captured " + capturedLength + ", original "
          + originalLength + " (need 0 <= captured <= original)");
    }
    Objects.checkFromIndexSize(offset, capturedLength, data.limit());
    if (secrets != null) {
      checkSecrets(secrets);
    }
    try {
      if (rotationDue(timestampNanos) && !rotate(clock.getAsLong())) {
        return false;
      }
      if (secrets != null && secrets.hasPending(generation)) {
        encoder.appendSecrets(out, secrets, generation);
      }
      encoder.appendPacket(out, interfaceId, timestampNanos, data, offset, capturedLength, originalLength,
          direction, process, threadId);
      packetsInFile++;
      if (timestampNanos < firstPacketNanos) {
        firstPacketNanos = timestampNanos;
      }
      if (timestampNanos > lastPacketNanos) {
        lastPacketNanos = timestampNanos;
      }
      return true;
    } catch (IOException e) {
      fail("write", e);
      return false;
    }
  }

  /**
   * Starts the next file now if the rotation policy says so for a packet of {@code timestampNanos}
   * (as {@link #writePacket} would before writing it): for a caller that must write something at
   * the start of each file before the packet that opens it.
   *
   * @return false if the writer has stopped
   */
  public boolean rotateIfDue(long timestampNanos) {
    if (state != State.OPEN) {
      return false;
    }
    try {
      return !rotationDue(timestampNanos) || rotate(clock.getAsLong());
    } catch (IOException e) {
      fail("write", e);
      return false;
    }
  }

  /**
   * Writes a packet tlscap made rather than captured (a replayed handshake, records that align
   * Wireshark's TLS record numbers), marked with the comment {@code mark} so that a reader can tell
   * it apart; never starts a new file, and its bytes do not count against {@code -C}. A DSB with
   * the lines of {@code secrets} the current file lacks goes first.
   *
   * @return false if the writer has stopped
   */
  public boolean writeSynthetic(int interfaceId, long timestampNanos, ByteBuffer data, int offset, int length,
      Direction direction, String mark, FlowSecrets secrets) {
    if (state != State.OPEN) {
      return false;
    }
    encoder.checkInterface(interfaceId);
    Objects.checkFromIndexSize(offset, length, data.limit());
    if (secrets != null) {
      checkSecrets(secrets);
    }
    try {
      long before = out.size();
      if (secrets != null && secrets.hasPending(generation)) {
        encoder.appendSecrets(out, secrets, generation);
      }
      encoder.appendPacket(out, interfaceId, timestampNanos, data, offset, length, length, direction, null, 0,
          marks.computeIfAbsent(mark, PcapngOptions::commentOption));
      syntheticBytesInFile += out.size() - before;
      firstPacketNanos = Math.min(firstPacketNanos, timestampNanos);
      lastPacketNanos = Math.max(lastPacketNanos, timestampNanos);
      return true;
    } catch (IOException e) {
      fail("write", e);
      return false;
    }
  }

  /**
   * Writes a DSB with the lines of {@code secrets} the current file lacks, now (for example on a
   * stream before the flow's first packet). Does nothing if there are none.
   *
   * @return false if the writer has stopped
   */
  public boolean writeSecrets(FlowSecrets secrets) {
    checkSecrets(secrets);
    if (state != State.OPEN) {
      return false;
    }
    try {
      if (secrets.hasPending(generation)) {
        encoder.appendSecrets(out, secrets, generation);
      }
      return true;
    } catch (IOException e) {
      fail("write", e);
      return false;
    }
  }

  // ---------------------------------------------------------------- time, flush, close

  /**
   * Call about once a second with the current time (nanoseconds since the epoch): starts a new file
   * when {@code -G} says so, even with no traffic, and flushes the buffer to the file (so a
   * {@code kill -9} loses at most about a second of packets, and a live stream reader sees them).
   *
   * @return false if the writer has stopped (check {@link #isCaptureComplete()} and {@link #failure()})
   */
  public boolean tick(long nowNanos) {
    if (state != State.OPEN) {
      return false;
    }
    try {
      if (rotateNanos > 0 && nowNanos - fileOpenedNanos >= rotateNanos && !rotate(nowNanos)) {
        return false;
      }
      out.flushAll();
      return true;
    } catch (IOException e) {
      fail("write", e);
      return false;
    }
  }

  /**
   * Writes the buffered blocks to the file or stream (and flushes the stream).
   *
   * @return false if the writer has stopped
   */
  public boolean flush() {
    if (state != State.OPEN) {
      return false;
    }
    try {
      out.flushAll();
      return true;
    } catch (IOException e) {
      fail("write", e);
      return false;
    }
  }

  /**
   * Ends the capture: writes the ISBs, flushes and closes the current file (a stream is flushed, not
   * closed), then waits until the compressor has compressed every completed file, the last one
   * included. Call it from the writer's thread, also on SIGINT/SIGTERM. Idempotent; never throws
   * for I/O errors (they go to the listener and {@link #failure()}).
   */
  @Override
  public void close() {
    if (state == State.CLOSED) {
      return;
    }
    try {
      if (state == State.OPEN && out.attached()) {
        finishFile(clock.getAsLong());
      }
    } catch (IOException e) {
      fail("write", e);
    } finally {
      state = State.CLOSED;
      if (files != null) {
        files.finishCompression();
      }
    }
  }

  // ---------------------------------------------------------------- status

  /** The file being written, or null (a stream, or no file open). */
  public Path currentFile() {
    return files == null ? null : files.current();
  }

  /** The size of the current file or stream so far, buffered bytes included. */
  public long currentFileSize() {
    return out.size();
  }

  /**
   * The number of the file (section) being written, 1 for the first; it changes exactly when a new
   * file starts.
   */
  public long fileNumber() {
    return generation;
  }

  /** How many files were opened so far. */
  public int filesOpened() {
    return filesOpened;
  }

  /** True when packets are accepted (not closed, not failed, not complete). */
  public boolean isOpen() {
    return state == State.OPEN;
  }

  /**
   * True after the last file of {@code -G} with {@code -W}: the capture is complete and the caller
   * should stop (as tcpdump exits 0).
   */
  public boolean isCaptureComplete() {
    return complete;
  }

  /**
   * Packets {@link #writePacket} accepted (returned true for) that never reached a file: they were
   * in the write buffer when writing failed. Zero unless {@link #failure()} is present.
   */
  public long packetsDiscarded() {
    return packetsDiscarded;
  }

  /**
   * Compresses no more files (callable from any thread, e.g. on a second Ctrl-C): the one being
   * compressed and those waiting stay uncompressed, complete, and counted in
   * {@link #filesNotCompressed()}; {@link #close()} then no longer waits for them.
   */
  public void abandonCompression() {
    if (files != null) {
      files.abandonCompression();
    }
  }

  /**
   * Completed files of a ring ({@code -W}) that were deleted before their compression, because
   * compression was slower than the capture (the ring never keeps more than its count of files).
   * Thread-safe.
   */
  public long filesNotCompressed() {
    return files == null ? 0 : files.filesNotCompressed();
  }

  /** The write error that stopped the writer, if any. */
  public Optional<PcapngWriteException> failure() {
    return Optional.ofNullable(failure);
  }

  /** The rotation policy in force. */
  public RotationPolicy rotation() {
    return rotation;
  }

  // ---------------------------------------------------------------- internals

  private void checkSecrets(FlowSecrets secrets) {
    if (secrets.owner() != this) {
      throw new IllegalArgumentException("these flow secrets belong to another writer");
    }
    secrets.checkNotReleased();
  }

  private boolean rotationDue(long timestampNanos) {
    if (files == null) {
      return false;
    }
    return (sizeLimit > 0 && packetsInFile > 0 && currentFileSize() - syntheticBytesInFile > sizeLimit)
        || (rotateNanos > 0 && timestampNanos - fileOpenedNanos >= rotateNanos);
  }

  private boolean rotate(long nowNanos) throws IOException {
    finishFile(nowNanos);
    if (rotation.stopsAfterFileCount() && filesOpened >= rotation.fileCount()) {
      state = State.COMPLETE;
      complete = true;
      listener.captureComplete(filesOpened);
      return false;
    }
    openNextFile(nowNanos);
    return true;
  }

  /** Writes the ISBs, flushes and closes the current file, then hands it to the compressor. */
  private void finishFile(long nowNanos) throws IOException {
    encoder.appendStatistics(out, statisticsSource, Math.min(fileOpenedNanos, firstPacketNanos),
        Math.max(nowNanos, lastPacketNanos));
    out.flushAll();
    if (files != null) {
      files.complete(out);
    }
  }

  private void openNextFile(long nowNanos) throws IOException {
    Path next = files.openNext(filesOpened + 1, out);
    filesOpened++;
    startSection(nowNanos);
    out.flush(); // the header on disk at once: a file cut short by kill -9 is still pcapng
    listener.fileOpened(next);
  }

  private void startSection(long nowNanos) throws IOException {
    out.startSection();
    generation++;
    packetsInFile = 0;
    syntheticBytesInFile = 0;
    fileOpenedNanos = nowNanos;
    firstPacketNanos = Long.MAX_VALUE;
    lastPacketNanos = Long.MIN_VALUE;
    encoder.appendSectionStart(out);
  }

  private void fail(String verb, IOException e) {
    if (state == State.FAILED || state == State.CLOSED && failure != null) {
      return;
    }
    IOException cause = e instanceof CaptureFiles.CreateFailed c ? c.original : e;
    failure = PcapngWriteException.of(e instanceof CaptureFiles.CreateFailed ? "create" : verb, currentFile(), cause);
    state = State.FAILED;
    packetsDiscarded += out.discard();
    abandonFile();
    listener.writeFailed(failure);
  }

  /** Closes the current file or leaves the stream after a write error (see {@link CaptureFiles#abandon}). */
  private void abandonFile() {
    if (files != null) {
      files.abandon(out);
    } else {
      out.detach();
    }
  }

  static long systemNanos() {
    Instant now = Instant.now();
    return now.getEpochSecond() * 1_000_000_000L + now.getNano();
  }

  /**
   * Configures and opens a {@link PcapngWriter}. Not thread-safe.
   */
  public static final class Builder {
    private RotationPolicy rotation = RotationPolicy.NONE;
    private Compression compression = Compression.NONE;
    private CaptureFileListener listener = CaptureFileListener.NONE;
    private InterfaceStatistics.Source statistics;
    private LongSupplier clock = PcapngWriter::systemNanos;
    private int bufferSize = 1 << 20;
    private String hardware;
    private String os = System.getProperty("os.name") + " " + System.getProperty("os.version");
    private String application = DEFAULT_APPLICATION;
    private java.util.function.Consumer<Path> beforeCompression;

    private Builder() {}

    /** Tests: runs on the compressor thread before each file's compression (to make it slow). */
    Builder beforeCompression(java.util.function.Consumer<Path> hook) {
      this.beforeCompression = hook;
      return this;
    }

    /** Rotation (files only). */
    public Builder rotation(RotationPolicy policy) {
      this.rotation = Objects.requireNonNull(policy, "policy");
      return this;
    }

    /** Compression of completed files (files only). */
    public Builder compression(Compression value) {
      this.compression = Objects.requireNonNull(value, "compression");
      return this;
    }

    public Builder listener(CaptureFileListener value) {
      this.listener = Objects.requireNonNull(value, "listener");
      return this;
    }

    /** Where the ISB counters come from (default: only the writer's own delivered count). */
    public Builder statistics(InterfaceStatistics.Source value) {
      this.statistics = value;
      return this;
    }

    /** The clock (nanoseconds since the epoch) for file open/close times; tests pass a fake one. */
    public Builder clock(LongSupplier epochNanos) {
      this.clock = Objects.requireNonNull(epochNanos, "epochNanos");
      return this;
    }

    /** The size of the direct write buffer (default 1 MiB, at least 64 KiB). */
    public Builder bufferSize(int bytes) {
      if (bytes < (64 << 10)) {
        throw new IllegalArgumentException("buffer size must be at least 64 KiB, got " + bytes);
      }
      this.bufferSize = bytes;
      return this;
    }

    /** {@code shb_hardware} (default: the CPU model and architecture). */
    public Builder hardware(String value) {
      this.hardware = value;
      return this;
    }

    /** {@code shb_os} (default: the OS name and kernel version). */
    public Builder os(String value) {
      this.os = value;
      return this;
    }

    /** {@code shb_userappl} (default {@link #DEFAULT_APPLICATION}). */
    public Builder application(String value) {
      this.application = value;
      return this;
    }

    /**
     * Opens the first file: {@code file} itself without rotation, else the first numbered name
     * (see {@link CaptureFileNames}). Created with mode 0600; an existing FIFO or character device is
     * written into as it is (opening a FIFO waits for its reader), a symbolic link is followed (see
     * {@link OutputFileKind}).
     *
     * @throws PcapngWriteException with a message for the user if the file cannot be created
     */
    public PcapngWriter open(Path file) throws PcapngWriteException {
      Objects.requireNonNull(file, "file");
      CaptureFiles.checkTarget(file, rotation, compression);
      if (hardware == null) {
        hardware = WriterDefaults.describeHardware();
      }
      PcapngWriter w = new PcapngWriter(this, file, null, null);
      try {
        w.openNextFile(clock.getAsLong());
      } catch (IOException e) {
        Path failed = w.currentFile();
        w.abandonFile();
        w.files.finishCompression();
        IOException cause = e instanceof CaptureFiles.CreateFailed c ? c.original : e;
        throw PcapngWriteException.of(e instanceof CaptureFiles.CreateFailed ? "create" : "write", failed, cause);
      }
      return w;
    }

    /**
     * Opens a writer on a channel, e.g. stdout for {@code -w -} (a live stream Wireshark reads with
     * {@code wireshark -k -i -}). No rotation or compression. The channel is flushed on
     * {@link PcapngWriter#flush()}/{@link PcapngWriter#tick(long)} and never closed by the writer.
     */
    public PcapngWriter open(WritableByteChannel out) throws PcapngWriteException {
      return openStream(Objects.requireNonNull(out, "out"), null);
    }

    /** Like {@link #open(WritableByteChannel)} for an output stream (flushed, never closed). */
    public PcapngWriter open(OutputStream out) throws PcapngWriteException {
      Objects.requireNonNull(out, "out");
      return openStream(Channels.newChannel(out), out);
    }

    private PcapngWriter openStream(WritableByteChannel out, Flushable flushable) throws PcapngWriteException {
      if (rotation.rotates() || compression != Compression.NONE) {
        throw new IllegalArgumentException("rotation (-C/-G/-W) and compression need a file, not a stream");
      }
      if (hardware == null) {
        hardware = WriterDefaults.describeHardware();
      }
      Flushable f = flushable != null ? flushable : () -> { };
      PcapngWriter w = new PcapngWriter(this, null, out, f);
      try {
        w.filesOpened = 1;
        w.startSection(clock.getAsLong());
        w.out.flushAll();
      } catch (IOException e) {
        throw PcapngWriteException.of("write", null, e);
      }
      return w;
    }
  }
}

// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.pcapng;

import java.io.Closeable;
import java.io.Flushable;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Properties;
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
  public static final String DEFAULT_APPLICATION = "tlscap " + version();

  /** Files hold TLS secrets: only their owner may read them. */
  static final FileAttribute<Set<PosixFilePermission>> OWNER_ONLY =
      PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------"));

  private static final int EPB_HEADER = 28;
  private static final int DSB_OVERHEAD = 20;

  private enum State { OPEN, COMPLETE, FAILED, CLOSED }

  private final Path base;
  private final CaptureFileNames names;
  private final RotationPolicy rotation;
  private final long rotateNanos;
  private final long sizeLimit;
  private final CaptureFileListener listener;
  private final InterfaceStatistics.Source statisticsSource;
  private final LongSupplier clock;
  private final FileCompressor compressor;
  private final Flushable stream;

  private final ByteBuffer buffer;
  private final ByteBuffer sectionHeader;
  private final List<ByteBuffer> interfaceBlocks = new ArrayList<>();
  private int interfaceCount;
  private int[] snapLengths = new int[4];
  private long[] pendingDrops = new long[4];
  private long[] deliveredTotal = new long[4];

  private WritableByteChannel channel;
  private FileChannel file;
  /** False for a FIFO or character device: nothing to truncate after a failed write. */
  private boolean fileSeekable;
  /** True when this writer created the current file (only then may it delete it). */
  private boolean fileCreated;
  private Path currentPath;
  private long written;
  private long generation;
  private int filesOpened;
  private long fileOpenedNanos;
  private long firstPacketNanos;
  private long lastPacketNanos;
  private long packetsInFile;
  /** EPBs in {@link #buffer}, not yet on disk. */
  private int packetsBuffered;
  private long packetsDiscarded;
  private final ArrayDeque<Path> ring = new ArrayDeque<>();

  private State state = State.OPEN;
  private boolean complete;
  private PcapngWriteException failure;

  private PcapngWriter(Builder b, Path base, WritableByteChannel streamChannel, Flushable stream) {
    this.base = base;
    this.rotation = b.rotation;
    this.rotateNanos = b.rotation.rotateNanos();
    this.sizeLimit = b.rotation.fileSizeLimit();
    this.names = base == null ? null : CaptureFileNames.of(base, b.rotation);
    this.listener = b.listener;
    this.statisticsSource = b.statistics;
    this.clock = b.clock;
    this.stream = stream;
    this.compressor = base != null && b.compression != Compression.NONE
        ? new FileCompressor(b.compression, b.listener, b.beforeCompression) : null;
    this.buffer = ByteBuffer.allocateDirect(b.bufferSize).order(ByteOrder.nativeOrder());
    this.sectionHeader = new BlockBuilder(SectionHeaderBlock.BLOCK_TYPE, ByteOrder.nativeOrder())
        .u32(SectionHeaderBlock.BYTE_ORDER_MAGIC).u16(1).u16(0).u64(-1)
        .option(SectionHeaderBlock.OPT_HARDWARE, b.hardware)
        .option(SectionHeaderBlock.OPT_OS, b.os)
        .option(SectionHeaderBlock.OPT_USER_APPLICATION, b.application)
        .finish();
    this.channel = streamChannel;
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
    BlockBuilder idb = new BlockBuilder(InterfaceDescriptionBlock.BLOCK_TYPE, ByteOrder.nativeOrder())
        .u16(description.linkType()).u16(0).u32(description.snapLength())
        .option(InterfaceDescriptionBlock.OPT_NAME, description.name())
        .option(InterfaceDescriptionBlock.OPT_DESCRIPTION, description.description())
        .option(InterfaceDescriptionBlock.OPT_TSRESOL, new byte[] {InterfaceDescriptionBlock.TSRESOL_NANOSECONDS});
    if (description.filter() != null && !description.filter().isEmpty()) {
      byte[] text = description.filter().getBytes(StandardCharsets.UTF_8);
      byte[] value = new byte[text.length + 1];
      value[0] = InterfaceDescriptionBlock.FILTER_LIBPCAP_STRING;
      System.arraycopy(text, 0, value, 1, text.length);
      idb.option(InterfaceDescriptionBlock.OPT_FILTER, value);
    }
    idb.option(InterfaceDescriptionBlock.OPT_OS, description.os());
    ByteBuffer block = idb.finish();
    int id = interfaceCount++;
    if (id == snapLengths.length) {
      snapLengths = Arrays.copyOf(snapLengths, id * 2);
      pendingDrops = Arrays.copyOf(pendingDrops, id * 2);
      deliveredTotal = Arrays.copyOf(deliveredTotal, id * 2);
    }
    snapLengths[id] = description.snapLength() == 0 ? Integer.MAX_VALUE : description.snapLength();
    interfaceBlocks.add(block);
    if (state == State.OPEN && channel != null) {
      try {
        appendBlock(block);
      } catch (IOException e) {
        fail("write", e);
      }
    }
    return id;
  }

  /** How many interfaces were added. */
  public int interfaceCount() {
    return interfaceCount;
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
    checkInterface(interfaceId);
    if (count > 0) {
      pendingDrops[interfaceId] += count;
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
    checkInterface(interfaceId);
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
        appendSecrets(secrets);
      }
      appendPacket(interfaceId, timestampNanos, data, offset, capturedLength, originalLength, direction, process,
          threadId);
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
        appendSecrets(secrets);
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
      flushBuffer();
      if (stream != null) {
        stream.flush();
      }
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
      flushBuffer();
      if (stream != null) {
        stream.flush();
      }
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
      if (state == State.OPEN && channel != null) {
        finishFile(clock.getAsLong());
      }
    } catch (IOException e) {
      fail("write", e);
    } finally {
      state = State.CLOSED;
      if (compressor != null) {
        compressor.finish();
      }
    }
  }

  // ---------------------------------------------------------------- status

  /** The file being written, or null (a stream, or no file open). */
  public Path currentFile() {
    return currentPath;
  }

  /** The size of the current file or stream so far, buffered bytes included. */
  public long currentFileSize() {
    return written + buffer.position();
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
   * Completed files of a ring ({@code -W}) that were deleted before their compression, because
   * compression was slower than the capture (the ring never keeps more than its count of files).
   * Thread-safe.
   */
  /**
   * Compresses no more files (callable from any thread, e.g. on a second Ctrl-C): the one being
   * compressed and those waiting stay uncompressed, complete, and counted in
   * {@link #filesNotCompressed()}; {@link #close()} then no longer waits for them.
   */
  public void abandonCompression() {
    if (compressor != null) {
      compressor.abandon();
    }
  }

  public long filesNotCompressed() {
    return compressor == null ? 0 : compressor.filesNotCompressed();
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

  private void checkInterface(int interfaceId) {
    if (interfaceId < 0 || interfaceId >= interfaceCount) {
      throw new IllegalArgumentException("unknown interface id " + interfaceId + " (" + interfaceCount
          + " interface(s) added)");
    }
  }

  private void checkSecrets(FlowSecrets secrets) {
    if (secrets.owner() != this) {
      throw new IllegalArgumentException("these flow secrets belong to another writer");
    }
    secrets.checkNotReleased();
  }

  private boolean rotationDue(long timestampNanos) {
    if (base == null) {
      return false;
    }
    return (sizeLimit > 0 && packetsInFile > 0 && currentFileSize() > sizeLimit)
        || (rotateNanos > 0 && timestampNanos - fileOpenedNanos >= rotateNanos);
  }

  private void appendPacket(int interfaceId, long ts, ByteBuffer data, int offset, int capturedLength,
      int originalLength, Direction direction, ProcessAnnotation process, int threadId) throws IOException {
    int captured = Math.min(capturedLength, snapLengths[interfaceId]);
    int padded = (captured + 3) & ~3;
    int flags = direction == null ? 0 : direction.epbFlags();
    long drops = pendingDrops[interfaceId];
    byte[] comment = process == null ? null : process.commentOption();
    int options = (flags != 0 ? 8 : 0) + (drops != 0 ? 12 : 0) + (process != null ? comment.length + 12 : 0);
    if (options != 0) {
      options += 4; // opt_endofopt
    }
    int length = EPB_HEADER + padded + options + 4;
    ByteBuffer b = reserve(length);
    int p = b.position();
    b.putInt(p, EnhancedPacketBlock.BLOCK_TYPE);
    b.putInt(p + 4, length);
    b.putInt(p + 8, interfaceId);
    b.putInt(p + 12, (int) (ts >>> 32));
    b.putInt(p + 16, (int) ts);
    b.putInt(p + 20, captured);
    b.putInt(p + 24, originalLength);
    int q = p + EPB_HEADER;
    if (padded != captured) {
      b.putInt(q + padded - 4, 0); // zero the padding; the data overwrites the front of this word
    }
    b.put(q, data, offset, captured);
    q += padded;
    if (flags != 0) {
      b.putShort(q, (short) EnhancedPacketBlock.OPT_FLAGS);
      b.putShort(q + 2, (short) 4);
      b.putInt(q + 4, flags);
      q += 8;
    }
    if (drops != 0) {
      b.putShort(q, (short) EnhancedPacketBlock.OPT_DROPCOUNT);
      b.putShort(q + 2, (short) 8);
      b.putLong(q + 4, drops);
      q += 12;
      pendingDrops[interfaceId] = 0;
    }
    if (process != null) {
      b.put(q, comment);
      q += comment.length;
      b.putShort(q, (short) EnhancedPacketBlock.OPT_PROCESSID_THREADID);
      b.putShort(q + 2, (short) 8);
      b.putInt(q + 4, process.pid());
      b.putInt(q + 8, threadId);
      q += 12;
    }
    if (options != 0) {
      b.putInt(q, 0);
      q += 4;
    }
    b.putInt(q, length);
    b.position(q + 4);
    if (b != buffer) {
      writeOversized(b);
    } else {
      packetsBuffered++;
    }
    packetsInFile++;
    deliveredTotal[interfaceId]++;
    if (ts < firstPacketNanos) {
      firstPacketNanos = ts;
    }
    if (ts > lastPacketNanos) {
      lastPacketNanos = ts;
    }
  }

  private void appendSecrets(FlowSecrets secrets) throws IOException {
    int from = secrets.writtenGeneration == generation ? secrets.writtenLength : 0;
    int n = secrets.length() - from;
    int length = DSB_OVERHEAD + ((n + 3) & ~3);
    ByteBuffer b = reserve(length);
    int p = b.position();
    b.putInt(p, DecryptionSecretsBlock.BLOCK_TYPE);
    b.putInt(p + 4, length);
    b.putInt(p + 8, DecryptionSecretsBlock.TLS_KEY_LOG);
    b.putInt(p + 12, n);
    b.putInt(p + length - 8, 0); // padding
    b.put(p + 16, secrets.bytes(), from, n);
    b.putInt(p + length - 4, length);
    b.position(p + length);
    if (b != buffer) {
      writeOversized(b);
    }
    secrets.writtenGeneration = generation;
    secrets.writtenLength = secrets.length();
  }

  private void appendStatistics(long nowNanos) throws IOException {
    long start = Math.min(fileOpenedNanos, firstPacketNanos);
    long end = Math.max(nowNanos, lastPacketNanos);
    for (int id = 0; id < interfaceCount; id++) {
      InterfaceStatistics s = statisticsSource == null ? null : statisticsSource.statistics(id);
      if (s == null) {
        s = InterfaceStatistics.UNKNOWN;
      }
      ByteBuffer isb = new BlockBuilder(InterfaceStatisticsBlock.BLOCK_TYPE, ByteOrder.nativeOrder())
          .u32(id).timestamp(end)
          .option(PcapngOptions.OPT_COMMENT, s.comment())
          .optionTimestamp(InterfaceStatisticsBlock.OPT_STARTTIME, start)
          .optionTimestamp(InterfaceStatisticsBlock.OPT_ENDTIME, end)
          .optionU64(InterfaceStatisticsBlock.OPT_IFRECV, s.received())
          .optionU64(InterfaceStatisticsBlock.OPT_IFDROP, s.droppedByInterface())
          .optionU64(InterfaceStatisticsBlock.OPT_OSDROP, s.droppedByOs())
          .optionU64(InterfaceStatisticsBlock.OPT_USRDELIV,
              s.deliveredToUser() >= 0 ? s.deliveredToUser() : deliveredTotal[id])
          .finish();
      appendBlock(isb);
    }
  }

  /** Room for one block: the write buffer, or for a block larger than the buffer a heap buffer of its own. */
  private ByteBuffer reserve(int length) throws IOException {
    if (length <= buffer.remaining()) {
      return buffer;
    }
    flushBuffer();
    if (length <= buffer.capacity()) {
      return buffer;
    }
    return ByteBuffer.allocate(length).order(ByteOrder.nativeOrder());
  }

  private void appendBlock(ByteBuffer block) throws IOException {
    ByteBuffer b = reserve(block.remaining());
    b.put(block.duplicate());
    if (b != buffer) {
      writeOversized(b);
    }
  }

  private void writeOversized(ByteBuffer b) throws IOException {
    b.flip();
    writeFully(b);
  }

  private void flushBuffer() throws IOException {
    if (buffer.position() == 0 || channel == null) {
      return;
    }
    buffer.flip();
    try {
      writeFully(buffer);
      packetsBuffered = 0;
    } finally {
      buffer.clear();
    }
  }

  /**
   * Writes whole blocks; if the channel fails part way, cuts the file back to the end of the last
   * block that was written whole, so the file stays readable.
   */
  private void writeFully(ByteBuffer blocks) throws IOException {
    int start = blocks.position();
    long before = written;
    try {
      while (blocks.hasRemaining()) {
        written += channel.write(blocks);
      }
    } catch (IOException e) {
      int done = blocks.position() - start;
      int whole = 0;
      while (whole + 8 <= done) {
        int length = blocks.getInt(start + whole + 4);
        if (length <= 0 || whole + length > done) {
          break;
        }
        if (blocks == buffer && blocks.getInt(start + whole) == EnhancedPacketBlock.BLOCK_TYPE) {
          packetsBuffered--; // on disk after all
        }
        whole += length;
      }
      if (file != null && fileSeekable && whole < done) {
        try {
          file.truncate(before + whole);
        } catch (IOException ignored) {
          // the reader stops at the partial block; nothing more can be done on a failing disk
        }
      }
      written = before + whole;
      throw e;
    }
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
    appendStatistics(nowNanos);
    flushBuffer();
    if (stream != null) {
      stream.flush();
      return;
    }
    Path done = currentPath;
    long size = written;
    FileChannel closing = file;
    file = null;
    channel = null;
    currentPath = null;
    try {
      closing.close();
    } catch (IOException e) {
      currentPath = done;
      throw e;
    }
    if (rotation.isRing()) {
      ring.addLast(done);
    }
    if (compressor != null) {
      compressor.compress(done);
    } else {
      listener.fileCompleted(done, size);
    }
  }

  private void openNextFile(long nowNanos) throws IOException {
    Path next = names.file(filesOpened + 1);
    while (rotation.isRing() && ring.size() >= rotation.fileCount()) {
      Path oldest = ring.removeFirst();
      if (compressor != null) {
        compressor.delete(oldest);
      } else {
        try {
          if (Files.deleteIfExists(oldest)) {
            listener.fileDeleted(oldest);
          }
        } catch (IOException e) {
          listener.warning(PcapngWriteException.of("delete old ring file", oldest, e).getMessage());
        }
      }
    }
    currentPath = next;
    try {
      file = openFile(next);
    } catch (IOException e) {
      throw new CreateFailed(e);
    }
    channel = file;
    filesOpened++;
    startSection(nowNanos);
    flushBuffer(); // the header on disk at once: a file cut short by kill -9 is still pcapng
    listener.fileOpened(next);
  }

  /**
   * Opens {@code next} as tcpdump does, never unlinking what is not a regular file: a regular file
   * (a leftover of an earlier run) is replaced by a new one of mode 0600, never written through (it
   * may have other hard links); without rotation and compression a FIFO or character device is
   * written into as it is, and a symbolic link is followed (its target truncated and made 0600, or
   * created). Rotation and compression make and delete regular files: they refuse anything else.
   */
  private FileChannel openFile(Path next) throws IOException {
    boolean plain = !rotation.rotates() && compressor == null;
    OutputFileKind kind = OutputFileKind.of(next);
    fileSeekable = true;
    fileCreated = false;
    if (kind == OutputFileKind.ABSENT || kind == OutputFileKind.REGULAR_FILE) {
      Files.deleteIfExists(next);
      FileChannel created = FileChannel.open(next, Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE),
          OWNER_ONLY);
      fileCreated = true;
      return created;
    }
    OutputFileKind target = kind == OutputFileKind.SYMBOLIC_LINK ? OutputFileKind.target(next) : kind;
    if (!plain && (target.isStream() || kind == OutputFileKind.SYMBOLIC_LINK)) {
      throw new java.nio.file.FileSystemException(next.toString(), null, "it is " + kind.description()
          + "; rotation (-C, -G, -W) and compression write regular files of their own (remove it or choose another name)");
    }
    if (target.isStream()) {
      fileSeekable = false;
      return FileChannel.open(next, StandardOpenOption.WRITE); // a FIFO: waits for its reader, as tcpdump
    }
    if (kind == OutputFileKind.SYMBOLIC_LINK
        && (target == OutputFileKind.ABSENT || target == OutputFileKind.REGULAR_FILE)) {
      FileChannel linked = FileChannel.open(next, Set.of(StandardOpenOption.CREATE, StandardOpenOption.WRITE,
          StandardOpenOption.TRUNCATE_EXISTING), OWNER_ONLY);
      try {
        Files.setPosixFilePermissions(next, OWNER_ONLY.value()); // it will hold secrets
      } catch (IOException e) {
        linked.close();
        throw e;
      }
      return linked;
    }
    throw new java.nio.file.FileSystemException(next.toString(), null, "it is "
        + (kind == OutputFileKind.SYMBOLIC_LINK ? "a symbolic link to " + target.description() : kind.description()));
  }

  private void startSection(long nowNanos) throws IOException {
    written = 0;
    generation++;
    packetsInFile = 0;
    fileOpenedNanos = nowNanos;
    firstPacketNanos = Long.MAX_VALUE;
    lastPacketNanos = Long.MIN_VALUE;
    appendBlock(sectionHeader);
    for (ByteBuffer idb : interfaceBlocks) {
      appendBlock(idb);
    }
  }

  private void fail(String verb, IOException e) {
    if (state == State.FAILED || state == State.CLOSED && failure != null) {
      return;
    }
    IOException cause = e instanceof CreateFailed c ? c.original : e;
    failure = PcapngWriteException.of(e instanceof CreateFailed ? "create" : verb, currentPath, cause);
    state = State.FAILED;
    buffer.clear();
    packetsDiscarded += packetsBuffered;
    packetsBuffered = 0;
    abandonFile();
    file = null;
    channel = null;
    currentPath = null;
    listener.writeFailed(failure);
  }

  /**
   * Closes the current file after a write error; deletes it if not even its header made it to disk
   * (an empty file is no pcapng file: some readers take it for another format).
   */
  private void abandonFile() {
    if (file == null) {
      return;
    }
    try {
      file.close();
    } catch (IOException ignored) {
      // already failing; the file ends on its last whole block
    }
    if (written == 0 && currentPath != null && fileCreated) {
      try {
        Files.deleteIfExists(currentPath);
      } catch (IOException ignored) {
        // the failure is reported; an empty file is all that remains
      }
    }
  }

  /** Marks a failure to create a file (so the message says "cannot create"). */
  private static final class CreateFailed extends IOException {
    private static final long serialVersionUID = 1L;
    final transient IOException original;

    CreateFailed(IOException original) {
      super(original.getMessage(), original);
      this.original = original;
    }
  }

  static long systemNanos() {
    Instant now = Instant.now();
    return now.getEpochSecond() * 1_000_000_000L + now.getNano();
  }

  private static String version() {
    try (InputStream in = PcapngWriter.class.getResourceAsStream("version.properties")) {
      if (in != null) {
        Properties p = new Properties();
        p.load(in);
        String v = p.getProperty("version", "");
        if (!v.isEmpty() && !v.startsWith("$")) {
          return v;
        }
      }
    } catch (IOException ignored) {
      // fall through to "dev"
    }
    return "dev";
  }

  private static String describeHardware() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
        if (line.startsWith("model name")) {
          return line.substring(line.indexOf(':') + 1).trim() + " (" + System.getProperty("os.arch") + ")";
        }
      }
    } catch (IOException | RuntimeException ignored) {
      // not Linux, or no cpuinfo: the architecture alone
    }
    return System.getProperty("os.arch");
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
      CaptureFileNames.of(file, rotation); // validates the name
      OutputFileKind target;
      try {
        target = OutputFileKind.target(file);
      } catch (IOException e) {
        throw PcapngWriteException.of("create", file, e);
      }
      if (target.isStream() && (rotation.rotates() || compression != Compression.NONE)) {
        throw new IllegalArgumentException("rotation (-C/-G/-W) and compression need a regular file; " + file + " is "
            + target.description());
      }
      if (hardware == null) {
        hardware = describeHardware();
      }
      PcapngWriter w = new PcapngWriter(this, file, null, null);
      try {
        w.openNextFile(clock.getAsLong());
      } catch (IOException e) {
        w.abandonFile();
        if (w.compressor != null) {
          w.compressor.finish();
        }
        IOException cause = e instanceof CreateFailed c ? c.original : e;
        throw PcapngWriteException.of(e instanceof CreateFailed ? "create" : "write", w.currentPath, cause);
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
        hardware = describeHardware();
      }
      Flushable f = flushable != null ? flushable : () -> { };
      PcapngWriter w = new PcapngWriter(this, null, out, f);
      try {
        w.filesOpened = 1;
        w.startSection(clock.getAsLong());
        w.flushBuffer();
        f.flush();
      } catch (IOException e) {
        throw PcapngWriteException.of("write", null, e);
      }
      return w;
    }
  }
}

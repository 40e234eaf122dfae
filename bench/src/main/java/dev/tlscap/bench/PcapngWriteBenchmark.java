// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.bench;

import dev.tlscap.pcapng.Direction;
import dev.tlscap.pcapng.EnhancedPacketBlock;
import dev.tlscap.pcapng.InterfaceDescription;
import dev.tlscap.pcapng.InterfaceStatisticsBlock;
import dev.tlscap.pcapng.PcapngBlock;
import dev.tlscap.pcapng.PcapngReader;
import dev.tlscap.pcapng.PcapngWriter;
import dev.tlscap.pcapng.ProcessAnnotation;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * Encode-and-write rate of Enhanced Packet Blocks to a file in a temporary directory, beside a plain
 * {@link FileChannel} writing the same bytes (the same EPBs, pre-encoded, in 1 MiB writes like the
 * writer's buffer). One operation is one packet in both. Run it with {@code bench/pcapng-write.sh}.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
public class PcapngWriteBenchmark {
  /** Packets per invocation of the baseline: one 1 MiB write holds this many EPBs at most. */
  static final int BASELINE_BATCH = 1024;

  @Param({"64", "1500"})
  public int packetSize;

  /** With a process annotation (opt_comment "PID: 1234\nCmd: curl" + epb_processid_threadid) or not. */
  @Param({"false", "true"})
  public boolean annotated;

  private Path dir;
  private Path file;
  private PcapngWriter writer;
  private int interfaceId;
  private ByteBuffer packet;
  private ProcessAnnotation process;
  private long timestamp;

  private FileChannel channel;
  private ByteBuffer encoded;

  /** The size of one EPB as the writer encodes it (for MB/s). */
  public static int epbSize(int packetSize, boolean annotated) throws IOException {
    return (int) (encodedEpbs(packetSize, annotated, 1).remaining());
  }

  @Setup(Level.Trial)
  public void prepare() throws IOException {
    dir = Files.createTempDirectory(Path.of(System.getProperty("bench.dir", System.getProperty("java.io.tmpdir"))),
        "pcapng-bench");
    packet = ByteBuffer.allocateDirect(packetSize);
    for (int i = 0; i < packetSize; i++) {
      packet.put(i, (byte) i);
    }
    process = annotated ? ProcessAnnotation.forProcess(1234, "curl") : null;
    ByteBuffer one = encodedEpbs(packetSize, annotated, BASELINE_BATCH);
    encoded = ByteBuffer.allocateDirect(one.remaining());
    encoded.put(one).flip();
  }

  @Setup(Level.Iteration)
  public void openFiles() throws IOException {
    file = dir.resolve("bench.pcapng");
    writer = PcapngWriter.builder().open(file);
    interfaceId = writer.addInterface(InterfaceDescription.ethernet("eth0"));
    channel = FileChannel.open(dir.resolve("plain.bin"), StandardOpenOption.CREATE, StandardOpenOption.WRITE,
        StandardOpenOption.TRUNCATE_EXISTING);
  }

  @TearDown(Level.Iteration)
  public void deleteFiles() throws IOException {
    writer.close();
    channel.close();
    Files.deleteIfExists(file);
    Files.deleteIfExists(dir.resolve("plain.bin"));
  }

  @TearDown(Level.Trial)
  public void removeDirectory() throws IOException {
    Files.deleteIfExists(dir);
  }

  /** The writer: encode one EPB into the direct buffer, write the buffer to the file when full. */
  @Benchmark
  public boolean pcapngWriter() {
    return writer.writePacket(interfaceId, timestamp++, packet, 0, packetSize, packetSize, Direction.OUTBOUND,
        process, 7, null);
  }

  /** The same EPB bytes, already encoded, written with a plain FileChannel. */
  @Benchmark
  @OperationsPerInvocation(BASELINE_BATCH)
  public int plainFileChannel() throws IOException {
    encoded.clear();
    int n = 0;
    while (encoded.hasRemaining()) {
      n += channel.write(encoded);
    }
    return n;
  }

  /** {@code count} EPBs exactly as the writer encodes them, read back from a stream. */
  static ByteBuffer encodedEpbs(int packetSize, boolean annotated, int count) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    PcapngWriter w = PcapngWriter.builder().open(out);
    int id = w.addInterface(InterfaceDescription.ethernet("eth0"));
    ByteBuffer p = ByteBuffer.allocate(packetSize);
    ProcessAnnotation a = annotated ? ProcessAnnotation.forProcess(1234, "curl") : null;
    for (int i = 0; i < count; i++) {
      w.writePacket(id, i, p, 0, packetSize, packetSize, Direction.OUTBOUND, a, 7, null);
    }
    w.close();
    byte[] bytes = out.toByteArray();
    List<PcapngBlock> blocks = new PcapngReader(new ByteArrayInputStream(bytes)).readAll();
    int first = (int) blocks.stream().filter(b -> b instanceof EnhancedPacketBlock).findFirst().orElseThrow().offset();
    int end = (int) blocks.stream().filter(b -> b instanceof InterfaceStatisticsBlock).findFirst().orElseThrow().offset();
    return ByteBuffer.wrap(bytes, first, end - first);
  }
}

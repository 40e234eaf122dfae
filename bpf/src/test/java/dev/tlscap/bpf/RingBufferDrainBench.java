// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.bpf;

import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * Benchmark (not a test): how fast {@link RingBufferReader} drains a full ring. The kernel fills the
 * ring with BPF_PROG_TEST_RUN (ringbuf_stress.bpf.o), then the drain alone is timed; repeated and
 * the median printed. bench/ringbuf-drain.sh runs it beside libbpf's C consumer
 * (bench/c/ringbuf_drain.c) on the same object.
 *
 * <p>Usage: {@code RingBufferDrainBench RECORD_SIZE RING_MIB ROUNDS}; prints
 * {@code java RECORD_SIZE median_records_per_second}.
 */
public final class RingBufferDrainBench {
  private RingBufferDrainBench() {}

  static long checksum;

  public static void main(String[] args) {
    int recordSize = Integer.parseInt(args[0]);
    int ringBytes = Integer.parseInt(args[1]) << 20;
    int rounds = Integer.parseInt(args[2]);
    int perRecord = (recordSize + RingBufferReader.HEADER_SIZE + 7) & ~7;
    int count = ringBytes / perRecord;
    RecordHandler handler = (ByteBuffer data, int offset, int length) -> checksum += data.getLong(offset) + length;
    double[] rates = new double[rounds];
    try (BpfObject object = BpfObject.open(RingBufferDrainBench.class, "/bpf/ringbuf_stress.bpf.o")) {
      object.setMaxEntries("ring", ringBytes).load();
      RingBufferReader reader = new RingBufferReader(object.map("ring"));
      object.closeWith(reader);
      BpfProgram produce = object.program("produce");
      byte[] args1 = TestRecord.produceArgs(count, recordSize, 0);
      // Warm up until the JIT has compiled the drain loop (a few million records).
      for (long warmed = 0; warmed < 5_000_000L; ) {
        produce.testRun(args1);
        warmed += reader.drain(handler);
      }
      for (int r = 0; r < rounds; r++) {
        produce.testRun(args1);
        long start = System.nanoTime();
        long n = reader.drain(handler);
        long elapsed = System.nanoTime() - start;
        if (n != count) {
          throw new IllegalStateException("drained " + n + " of " + count + " records");
        }
        rates[r] = n * 1e9 / elapsed;
      }
    }
    Arrays.sort(rates);
    if (System.getenv("BENCH_VERBOSE") != null) {
      System.err.println(Arrays.toString(rates));
    }
    System.out.printf("java %d %.0f %s%n", recordSize, rates[rounds / 2], RingMemory.kind());
    if (checksum == 42) {
      System.out.println();
    }
  }
}

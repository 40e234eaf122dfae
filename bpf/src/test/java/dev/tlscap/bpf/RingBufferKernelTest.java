// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.bpf;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tlscap.testing.Requirements;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The ring-buffer reader under pressure: a kernel producer (BPF_PROG_TEST_RUN + bpf_loop) writes
 * sequence-numbered records into a small ring faster than Java consumes them.
 */
@Tag("kernel")
class RingBufferKernelTest {
  @BeforeEach
  void root() {
    Requirements.requireRoot();
  }

  /** What a consumer saw: strictly increasing sequence numbers, and how many. */
  static final class Checker implements RecordHandler {
    long last = -1;
    long count;
    long bytes;
    final int expectedLength;
    final int discardEvery;

    Checker(int expectedLength, int discardEvery) {
      this.expectedLength = expectedLength;
      this.discardEvery = discardEvery;
    }

    @Override
    public void onRecord(java.nio.ByteBuffer data, int offset, int length) {
      long seq = TestRecord.seq(data, offset);
      if (length != expectedLength) {
        throw new AssertionError("record " + seq + " has " + length + " bytes");
      }
      if (seq <= last) {
        throw new AssertionError("record " + seq + " after " + last + ": duplicated or reordered");
      }
      if (discardEvery > 0 && seq % discardEvery == discardEvery - 1) {
        throw new AssertionError("discarded record " + seq + " was delivered");
      }
      if (TestRecord.kind(data, offset) != TestRecord.KIND_STRESS || TestRecord.value(data, offset) != length) {
        throw new AssertionError("record " + seq + " has the wrong contents");
      }
      last = seq;
      count++;
      bytes += length;
    }
  }

  @Test
  void underPressureNothingIsDuplicatedReorderedOrLostWithoutACount() throws Exception {
    int ringSize = 16 << 10; // 16 KiB: wraps around every ~200 records
    int recordSize = 72;
    int batches = 400;
    int perBatch = 2_500;
    int discardEvery = 7;
    try (BpfObject object = TestObjects.open("ringbuf_stress.bpf.o")) {
      object.setMaxEntries("ring", ringSize).load();
      RingBufferReader reader = new RingBufferReader(object.map("ring"));
      object.closeWith(reader);
      Checker checker = new Checker(recordSize, discardEvery);
      AtomicBoolean producing = new AtomicBoolean(true);
      AtomicReference<Throwable> consumerFailure = new AtomicReference<>();
      Thread consumer = new Thread(() -> {
        try {
          while (producing.get()) {
            reader.poll(checker, 10);
          }
          reader.drain(checker);
        } catch (Throwable t) {
          consumerFailure.set(t);
        }
      }, "consumer");
      consumer.start();
      BpfProgram produce = object.program("produce");
      for (int i = 0; i < batches; i++) {
        produce.testRun(TestRecord.produceArgs(perBatch, recordSize, discardEvery));
      }
      producing.set(false);
      consumer.join(30_000);
      assertEquals(null, consumerFailure.get());
      assertEquals(0, reader.handlerFailures(), () -> "handler failed: " + reader.firstHandlerFailure());

      long produced = (long) batches * perBatch;
      long dropped = object.globalU64(".bss", "dropped");
      long discarded = object.globalU64(".bss", "discarded");
      assertEquals(produced, object.globalU64(".bss", "next_seq"));
      assertEquals(produced, checker.count + dropped + discarded,
          "delivered " + checker.count + " + dropped " + dropped + " + discarded " + discarded);
      assertTrue(discarded > 0, "discarded records were produced and skipped");
      assertTrue(checker.bytes > 100L * ringSize, "the ring wrapped around many times");
      assertEquals(checker.count, reader.records());
    }
  }

  @Test
  void aRingThatIsNotDrainedCountsEveryRecordItCouldNotTake() {
    int ringSize = 4096;
    int recordSize = 64;
    try (BpfObject object = TestObjects.open("ringbuf_stress.bpf.o")) {
      object.setMaxEntries("ring", ringSize).load();
      RingBufferReader reader = new RingBufferReader(object.map("ring"));
      object.closeWith(reader);
      object.program("produce").testRun(TestRecord.produceArgs(1000, recordSize, 0));
      Checker checker = new Checker(recordSize, 0);
      reader.drain(checker);
      long dropped = object.globalU64(".bss", "dropped");
      assertEquals(ringSize / (recordSize + RingBufferReader.HEADER_SIZE), checker.count, "the ring held what fits");
      assertEquals(1000, checker.count + dropped);
      assertEquals(checker.count - 1, checker.last, "the first records are kept, in order");
    }
  }

  @Test
  void pollWakesUpWhenTheKernelWrites() throws Exception {
    try (BpfObject object = TestObjects.open("ringbuf_stress.bpf.o")) {
      object.load();
      RingBufferReader reader = new RingBufferReader(object.map("ring"));
      object.closeWith(reader);
      AtomicLong got = new AtomicLong();
      CountDownLatch waiting = new CountDownLatch(1);
      Thread consumer = new Thread(() -> {
        waiting.countDown();
        long start = System.nanoTime();
        while (got.get() < 3 && System.nanoTime() - start < TimeUnit.SECONDS.toNanos(10)) {
          got.addAndGet(reader.poll((d, a, l) -> { }, 5000));
        }
      });
      consumer.start();
      waiting.await();
      Thread.sleep(200); // the consumer is blocked in epoll_wait now
      object.program("produce").testRun(TestRecord.produceArgs(3, 32, 0));
      consumer.join(10_000);
      assertEquals(3, got.get());
    }
  }

  @Test
  void aHandlerThatThrowsIsCountedAndTheReaderGoesOn() {
    try (BpfObject object = TestObjects.open("ringbuf_stress.bpf.o")) {
      object.load();
      RingBufferReader reader = new RingBufferReader(object.map("ring"));
      object.closeWith(reader);
      object.program("produce").testRun(TestRecord.produceArgs(10, 32, 0));
      AtomicLong ok = new AtomicLong();
      int n = reader.drain((data, at, length) -> {
        if (TestRecord.seq(data, at) % 2 == 0) {
          throw new IllegalStateException("cannot parse");
        }
        ok.incrementAndGet();
      });
      assertEquals(10, n);
      assertEquals(5, ok.get());
      assertEquals(5, reader.handlerFailures());
      assertEquals("cannot parse", reader.firstHandlerFailure().getMessage());
    }
  }

  /** An Error from the handler (an OutOfMemoryError, an assertion) must not make the next drain re-read records. */
  @Test
  void aHandlerThatThrowsAnErrorLeavesTheReaderWhereThePublishedPositionIs() {
    try (BpfObject object = TestObjects.open("ringbuf_stress.bpf.o")) {
      object.load();
      RingBufferReader reader = new RingBufferReader(object.map("ring"));
      object.closeWith(reader);
      object.program("produce").testRun(TestRecord.produceArgs(10, 32, 0));
      java.util.List<Long> seen = new java.util.ArrayList<>();
      AssertionError thrown = org.junit.jupiter.api.Assertions.assertThrows(AssertionError.class,
          () -> reader.drain((data, at, length) -> {
            long seq = TestRecord.seq(data, at);
            seen.add(seq);
            if (seq == 3) {
              throw new AssertionError("an Error in the handler");
            }
          }));
      assertEquals("an Error in the handler", thrown.getMessage());
      assertEquals(java.util.List.of(0L, 1L, 2L, 3L), seen);
      long afterError = reader.publishedConsumerPosition();
      assertEquals(4 * (32 + RingBufferReader.HEADER_SIZE), afterError, "records 0-3 consumed and published");
      assertEquals(4, reader.records());

      seen.clear();
      assertEquals(6, reader.drain((data, at, length) -> seen.add(TestRecord.seq(data, at))));
      assertEquals(java.util.List.of(4L, 5L, 6L, 7L, 8L, 9L), seen, "no record delivered twice, none skipped");
      assertEquals(10 * (32 + RingBufferReader.HEADER_SIZE), reader.publishedConsumerPosition(),
          "consumer_pos only moves forward");
      assertEquals(0, reader.pendingBytes());
      assertEquals(10, reader.records());
    }
  }
}

// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.bpf;

import java.nio.ByteBuffer;

/**
 * Java view of {@code struct test_record} from src/test/bpf/ringbuf_test_abi.h. The offsets are
 * checked against the compiled object's BTF by {@link TestAbiLayoutTest}.
 */
final class TestRecord {
  static final int SIZE = 32;
  static final int SEQ = 0;
  static final int PID = 8;
  static final int TID = 12;
  static final int VALUE = 16;
  static final int KIND = 24;

  static final int KIND_ENTRY = 1;
  static final int KIND_RETURN = 2;
  static final int KIND_STRESS = 3;

  /** {@code struct produce_args}: count@0, record_size@4, discard_every@8; 16 bytes. */
  static final int PRODUCE_ARGS_SIZE = 16;

  private TestRecord() {}

  static long seq(ByteBuffer b, int at) {
    return b.getLong(at + SEQ);
  }

  static int pid(ByteBuffer b, int at) {
    return b.getInt(at + PID);
  }

  static long value(ByteBuffer b, int at) {
    return b.getLong(at + VALUE);
  }

  static int kind(ByteBuffer b, int at) {
    return b.getInt(at + KIND);
  }

  static byte[] produceArgs(int count, int recordSize, int discardEvery) {
    return ByteBuffer.allocate(PRODUCE_ARGS_SIZE).order(java.nio.ByteOrder.nativeOrder())
        .putInt(count).putInt(recordSize).putInt(discardEvery).putInt(0).array();
  }
}

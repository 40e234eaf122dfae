// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.bpf;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** The Java view of the test ABI structs matches what clang compiled (BTF); needs no privileges. */
class TestAbiLayoutTest {
  @Test
  void testRecordMatchesBtf() {
    try (BpfObject object = TestObjects.open("ringbuf_stress.bpf.o")) {
      Btf.StructLayout layout = object.btf().struct("test_record");
      assertEquals(TestRecord.SIZE, layout.size());
      assertEquals(TestRecord.SEQ, layout.member("seq").offset());
      assertEquals(TestRecord.PID, layout.member("pid").offset());
      assertEquals(TestRecord.TID, layout.member("tid").offset());
      assertEquals(TestRecord.VALUE, layout.member("value").offset());
      assertEquals(TestRecord.KIND, layout.member("kind").offset());
      assertEquals(TestRecord.PRODUCE_ARGS_SIZE, object.btf().struct("produce_args").size());
    }
  }

  @Test
  void rodataVariablesAreFoundByName() {
    try (BpfObject object = TestObjects.open("uprobe_test.bpf.o")) {
      Btf.Variable v = object.btf().variable(".rodata", "target_tgid");
      assertEquals(4, v.size());
      assertEquals(8, object.btf().variable(".bss", "next_seq").size());
    }
  }
}

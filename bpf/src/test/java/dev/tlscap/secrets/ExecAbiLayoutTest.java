// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.secrets;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.tlscap.bpf.BpfObject;
import dev.tlscap.bpf.Btf;
import org.junit.jupiter.api.Test;

/** The Java view of exec_abi.h matches what clang compiled into exec_watch.bpf.o; needs no privileges. */
class ExecAbiLayoutTest {
  @Test
  void execEventMatchesBtf() {
    try (BpfObject object = BpfObject.open(ExecWatcher.class, ExecWatcher.OBJECT)) {
      Btf.StructLayout event = object.btf().struct("exec_event");
      assertEquals(ExecWatcher.SIZE, event.size());
      assertEquals(ExecWatcher.PID, event.member("pid").offset());
      assertEquals(ExecWatcher.COMM, event.member("comm").offset());
      assertEquals(ExecWatcher.COMM_LEN, event.member("comm").size());
      assertEquals(ExecWatcher.KIND, event.member("kind").offset());
      Btf.StructLayout library = object.btf().struct("exec_library_event");
      assertEquals(ExecWatcher.LIBRARY_SIZE, library.size());
      assertEquals(ExecWatcher.PID, library.member("pid").offset());
      assertEquals(ExecWatcher.KIND, library.member("kind").offset());
      assertEquals(ExecWatcher.PATH, library.member("path").offset());
      assertEquals(ExecWatcher.PATH_LEN, library.member("path").size());
      Btf.StructLayout counters = object.btf().struct("exec_counters");
      assertEquals(ExecWatcher.COUNTER_EXECS, counters.member("execs").offset());
      assertEquals(ExecWatcher.COUNTER_RING_FULL, counters.member("ring_full").offset());
      assertEquals(ExecWatcher.COUNTER_LIBRARIES, counters.member("libraries").offset());
    }
  }
}

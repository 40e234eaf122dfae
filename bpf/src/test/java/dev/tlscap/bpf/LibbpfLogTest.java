// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.bpf;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import org.junit.jupiter.api.Test;

class LibbpfLogTest {
  static final String REJECTED = String.join("\n",
      "libbpf: prog 'missing_null_check': BPF program load failed: Permission denied",
      "libbpf: prog 'missing_null_check': -- BEGIN PROG LOAD LOG --",
      "0: R1=ctx() R10=fp0",
      "; __u64 *value = bpf_map_lookup_elem(&values, &zero);",
      "6: (79) r1 = *(u64 *)(r0 +0)",
      "R0 invalid mem access 'map_value_or_null'",
      "processed 7 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0",
      "-- END PROG LOAD LOG --",
      "libbpf: prog 'missing_null_check': failed to load: -13",
      "libbpf: failed to load object 'verifier_reject'",
      "");

  @Test
  void verifierReasonIsTheLastLineBeforeTheSummary() {
    assertEquals("R0 invalid mem access 'map_value_or_null'", LibbpfLog.verifierReason(REJECTED));
    assertEquals("missing_null_check", LibbpfLog.failedProgram(REJECTED));
  }

  @Test
  void noVerifierLogMeansNoReason() {
    assertNull(LibbpfLog.verifierReason("libbpf: map 'x': failed to create: Operation not permitted\n"));
    assertEquals("map 'x': failed to create: Operation not permitted",
        LibbpfLog.lastLibbpfError("libbpf: loading\nlibbpf: map 'x': failed to create: Operation not permitted\n"));
  }
}

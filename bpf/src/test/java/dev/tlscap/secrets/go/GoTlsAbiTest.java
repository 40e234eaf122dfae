// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.secrets.go;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.tlscap.bpf.AbiEnums;
import dev.tlscap.bpf.BpfObject;
import dev.tlscap.bpf.Btf;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The Go probe's counters in tls_abi.h's struct tls_counters, as compiled into tls_secrets.bpf.o; needs no privileges. */
class GoTlsAbiTest {
  @Test
  void countersMatchBtf() {
    try (BpfObject object = BpfObject.open(GoTlsAbiTest.class, GoSecretTracer.OBJECT)) {
      Btf.StructLayout counters = object.btf().struct("tls_counters");
      assertEquals(GoTlsProbe.COUNTER_GO_KEY_LOGS, counters.member("go_key_logs").offset());
      assertEquals(GoTlsProbe.COUNTER_GO_UNREADABLE, counters.member("go_unreadable").offset());
      assertEquals(16, counters.member("ring_full").offset(), "GoSecretTracer reads ring_full at 16");
      assertEquals(56, counters.size());
      object.program(GoTlsProbe.PROGRAM); // the program is in the object
    }
  }

  @Test
  void cookieBitsMatchBtf() {
    try (BpfObject object = BpfObject.open(GoTlsAbiTest.class, GoSecretTracer.OBJECT)) {
      AbiEnums.assertMatch(object.btf(), "go_probe_cookie", Map.of(
          "GO_PROBE_STACK_ABI", (int) GoTlsTarget.COOKIE_STACK_ABI,
          "GO_PROBE_AT_STACK_CHECK", (int) GoTlsTarget.COOKIE_AT_STACK_CHECK));
    }
  }
}

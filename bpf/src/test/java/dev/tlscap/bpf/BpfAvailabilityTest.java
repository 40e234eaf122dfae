// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.bpf;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import org.junit.jupiter.api.Test;

class BpfAvailabilityTest {
  @Test
  void privilegesNeedBpfPerfmonAndNetAdminOrSysAdmin() {
    long bpf = 1L << BpfAvailability.CAP_BPF;
    long perfmon = 1L << BpfAvailability.CAP_PERFMON;
    long net = 1L << BpfAvailability.CAP_NET_ADMIN;
    long sys = 1L << BpfAvailability.CAP_SYS_ADMIN;
    assertNull(BpfAvailability.privilegesCause(bpf | perfmon | net));
    assertNull(BpfAvailability.privilegesCause(sys | net));
    assertNull(BpfAvailability.privilegesCause(-1L));
    String expected = "needs root or CAP_BPF, CAP_PERFMON and CAP_NET_ADMIN (run it with sudo)";
    assertEquals(expected, BpfAvailability.privilegesCause(0));
    assertEquals(expected, BpfAvailability.privilegesCause(bpf | perfmon));
    assertEquals(expected, BpfAvailability.privilegesCause(sys));
  }

  @Test
  void kernelVersionsParse() {
    assertArrayEquals(new int[] {6, 18}, BpfAvailability.parseKernelVersion("6.18.44-fc-v669"));
    assertArrayEquals(new int[] {5, 15}, BpfAvailability.parseKernelVersion("5.15.0-91-generic"));
    assertArrayEquals(new int[] {0, 0}, BpfAvailability.parseKernelVersion("garbage"));
  }
}

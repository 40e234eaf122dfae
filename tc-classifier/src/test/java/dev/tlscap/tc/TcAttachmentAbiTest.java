// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.tc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.tlscap.bpf.Btf;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * The TCX attach types TcAttachment hard-codes (Linux 6.6+, newer than Debian 12's UAPI headers, so
 * LibbpfAbiTest's C probe cannot print them) are the running kernel's: {@code enum bpf_attach_type}
 * in its BTF. Skipped on a kernel without BTF or without TCX, where tlscap uses clsact. Needs no
 * privileges.
 */
class TcAttachmentAbiTest {
  @Test
  void tcxAttachTypesMatchTheRunningKernel() {
    assumeTrue(Files.exists(Path.of("/sys/kernel/btf/vmlinux")), "the kernel has no BTF");
    Btf.Enumeration attachTypes = Btf.kernelEnumeration("bpf_attach_type");
    assumeTrue(attachTypes.values().containsKey("BPF_TCX_INGRESS"), "a kernel before 6.6: no TCX");
    assertEquals(attachTypes.value("BPF_TCX_INGRESS"), TcAttachment.BPF_TCX_INGRESS);
    assertEquals(attachTypes.value("BPF_TCX_EGRESS"), TcAttachment.BPF_TCX_EGRESS);
  }
}

// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.bpf;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tlscap.testing.CCompiler;
import dev.tlscap.testing.Command;
import dev.tlscap.testing.Requirements;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What the binding hard-codes about libbpf and the kernel UAPI (the option structs it fills by hand,
 * the structs and values it reads back) is what the installed headers say: a compiled C probe
 * ({@code src/test/c/libbpf_abi_probe.c}) prints them. Every line the probe prints must be checked
 * here. Needs gcc and libbpf-dev, not root.
 */
class LibbpfAbiTest {
  @Test
  void bindingMatchesLibbpfAndKernelHeaders(@TempDir Path dir) {
    Requirements.require(Files.exists(Path.of("/usr/include/bpf/libbpf.h")), "libbpf-dev headers missing (apt-get install -y libbpf-dev)");
    Path probe = CCompiler.compile(CCompiler.testSource("libbpf_abi_probe.c"), dir.resolve("probe"));
    Headers c = new Headers();
    for (String line : Command.run(Duration.ofSeconds(20), probe.toString()).check().stdout().split("\n")) {
      String[] kv = line.split("=");
      c.values.put(kv[0], Long.parseLong(kv[1]));
    }

    // struct bpf_object_open_opts: BpfObject
    c.check("bpf_object_open_opts", BpfObject.OPEN_OPTS_SIZE);
    c.check("bpf_object_open_opts.object_name", BpfObject.OPEN_OPTS_OBJECT_NAME);
    // struct bpf_uprobe_opts: BpfProgram.attachUprobe
    c.check("bpf_uprobe_opts", BpfProgram.UPROBE_OPTS_SIZE);
    c.check("bpf_uprobe_opts.bpf_cookie", BpfProgram.UPROBE_OPTS_COOKIE);
    c.check("bpf_uprobe_opts.retprobe", BpfProgram.UPROBE_OPTS_RETPROBE);
    c.check("bpf_uprobe_opts.func_name", BpfProgram.UPROBE_OPTS_FUNC_NAME);
    // struct bpf_test_run_opts: BpfProgram.testRun, testRunPacket
    c.check("bpf_test_run_opts", BpfProgram.TEST_RUN_OPTS_SIZE);
    c.check("bpf_test_run_opts.data_in", BpfProgram.TEST_RUN_OPTS_DATA_IN);
    c.check("bpf_test_run_opts.data_size_in", BpfProgram.TEST_RUN_OPTS_DATA_SIZE_IN);
    c.check("bpf_test_run_opts.ctx_in", BpfProgram.TEST_RUN_OPTS_CTX_IN);
    c.check("bpf_test_run_opts.ctx_size_in", BpfProgram.TEST_RUN_OPTS_CTX_SIZE_IN);
    c.check("bpf_test_run_opts.retval", BpfProgram.TEST_RUN_OPTS_RETVAL);
    c.check("bpf_test_run_opts.repeat", BpfProgram.TEST_RUN_OPTS_REPEAT);
    c.check("bpf_test_run_opts.duration", BpfProgram.TEST_RUN_OPTS_DURATION);
    // struct bpf_tc_hook, struct bpf_tc_opts, enum bpf_tc_attach_point: TcHook
    c.check("bpf_tc_hook", TcHook.HOOK_SIZE);
    c.check("bpf_tc_hook.ifindex", TcHook.HOOK_IFINDEX);
    c.check("bpf_tc_hook.attach_point", TcHook.HOOK_ATTACH_POINT);
    c.check("bpf_tc_hook.parent", TcHook.HOOK_PARENT);
    c.check("bpf_tc_opts", TcHook.OPTS_SIZE);
    c.check("bpf_tc_opts.prog_fd", TcHook.OPTS_PROG_FD);
    c.check("bpf_tc_opts.flags", TcHook.OPTS_FLAGS);
    c.check("bpf_tc_opts.prog_id", TcHook.OPTS_PROG_ID);
    c.check("bpf_tc_opts.handle", TcHook.OPTS_HANDLE);
    c.check("bpf_tc_opts.priority", TcHook.OPTS_PRIORITY);
    c.check("BPF_TC_INGRESS", TcHook.INGRESS);
    c.check("BPF_TC_EGRESS", TcHook.EGRESS);
    // struct bpf_link_create_opts: BpfSyscall.linkCreate passes the prefix up to and with flags
    long linkCreateOpts = c.take("bpf_link_create_opts");
    c.check("bpf_link_create_opts.flags", BpfSyscall.LINK_CREATE_OPTS_FLAGS);
    assertTrue(BpfSyscall.LINK_CREATE_OPTS_SIZE >= BpfSyscall.LINK_CREATE_OPTS_FLAGS + 4
        && BpfSyscall.LINK_CREATE_OPTS_SIZE <= linkCreateOpts && BpfSyscall.LINK_CREATE_OPTS_SIZE % 8 == 0,
        "LINK_CREATE_OPTS_SIZE " + BpfSyscall.LINK_CREATE_OPTS_SIZE + " of " + linkCreateOpts);

    // struct bpf_prog_info: BpfSyscall.progName
    c.check("bpf_prog_info.name", BpfSyscall.PROG_INFO_NAME);
    c.check("bpf_prog_info.name.size", BpfSyscall.PROG_INFO_NAME_LEN);
    // enum bpf_map_type: BpfMap
    c.check("BPF_MAP_TYPE_HASH", BpfMap.TYPE_HASH);
    c.check("BPF_MAP_TYPE_ARRAY", BpfMap.TYPE_ARRAY);
    c.check("BPF_MAP_TYPE_PERCPU_HASH", BpfMap.TYPE_PERCPU_HASH);
    c.check("BPF_MAP_TYPE_PERCPU_ARRAY", BpfMap.TYPE_PERCPU_ARRAY);
    c.check("BPF_MAP_TYPE_LRU_HASH", BpfMap.TYPE_LRU_HASH);
    c.check("BPF_MAP_TYPE_RINGBUF", BpfMap.TYPE_RINGBUF);
    // the ring buffer's record header: RingBufferReader
    c.check("BPF_RINGBUF_BUSY_BIT", RingBufferReader.BUSY_BIT);
    c.check("BPF_RINGBUF_DISCARD_BIT", RingBufferReader.DISCARD_BIT);
    c.check("BPF_RINGBUF_HDR_SZ", RingBufferReader.HEADER_SIZE);
    // linux/btf.h: Btf
    c.check("btf_type", Btf.TYPE_SIZE);
    c.check("btf_member", Btf.MEMBER_SIZE);
    c.check("btf_var_secinfo", Btf.VAR_SECINFO_SIZE);
    c.check("btf_enum", Btf.ENUM_SIZE);
    c.check("btf_enum64", Btf.ENUM64_SIZE);
    c.check("BTF_KIND_STRUCT", Btf.KIND_STRUCT);
    c.check("BTF_KIND_UNION", Btf.KIND_UNION);
    c.check("BTF_KIND_ENUM", Btf.KIND_ENUM);
    c.check("BTF_KIND_VAR", Btf.KIND_VAR);
    c.check("BTF_KIND_DATASEC", Btf.KIND_DATASEC);
    c.check("BTF_KIND_ENUM64", Btf.KIND_ENUM64);

    assertEquals(Map.of(), c.values, "printed by libbpf_abi_probe.c but not checked here");
  }

  /** The probe's lines; each check consumes one. */
  private static final class Headers {
    final Map<String, Long> values = new TreeMap<>();

    long take(String name) {
      Long v = values.remove(name);
      assertNotNull(v, name + " is not printed by libbpf_abi_probe.c");
      return v;
    }

    /** {@code java} is the 32-bit value the binding writes or compares (1 << 31 stands for 2^31). */
    void check(String name, int java) {
      assertEquals(take(name), Integer.toUnsignedLong(java), name);
    }
  }
}

// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.bpf;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.tlscap.testing.CCompiler;
import dev.tlscap.testing.Command;
import dev.tlscap.testing.Requirements;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The libbpf option structs the binding fills by hand have the offsets the installed libbpf headers
 * say (a compiled C probe prints them). Needs gcc and libbpf-dev, not root.
 */
class LibbpfAbiTest {
  @Test
  void handFilledStructsMatchLibbpfHeaders(@TempDir Path dir) throws Exception {
    Requirements.require(Files.exists(Path.of("/usr/include/bpf/libbpf.h")), "libbpf-dev headers missing (apt-get install -y libbpf-dev)");
    Path probe = CCompiler.compile(CCompiler.testSource("libbpf_abi_probe.c"), dir.resolve("probe"));
    Map<String, Integer> c = new HashMap<>();
    for (String line : Command.run(Duration.ofSeconds(20), probe.toString()).check().stdout().split("\n")) {
      String[] kv = line.split("=");
      c.put(kv[0], Integer.parseInt(kv[1]));
    }
    assertEquals(c.get("bpf_object_open_opts"), BpfObject.OPEN_OPTS_SIZE);
    assertEquals(c.get("bpf_object_open_opts.object_name"), BpfObject.OPEN_OPTS_OBJECT_NAME);
    assertEquals(c.get("bpf_uprobe_opts"), BpfProgram.UPROBE_OPTS_SIZE);
    assertEquals(c.get("bpf_uprobe_opts.bpf_cookie"), BpfProgram.UPROBE_OPTS_COOKIE);
    assertEquals(c.get("bpf_uprobe_opts.retprobe"), BpfProgram.UPROBE_OPTS_RETPROBE);
    assertEquals(c.get("bpf_uprobe_opts.func_name"), BpfProgram.UPROBE_OPTS_FUNC_NAME);
    assertEquals(c.get("bpf_test_run_opts"), BpfProgram.TEST_RUN_OPTS_SIZE);
    assertEquals(c.get("bpf_test_run_opts.ctx_in"), BpfProgram.TEST_RUN_OPTS_CTX_IN);
    assertEquals(c.get("bpf_test_run_opts.ctx_size_in"), BpfProgram.TEST_RUN_OPTS_CTX_SIZE_IN);
    assertEquals(c.get("bpf_test_run_opts.retval"), BpfProgram.TEST_RUN_OPTS_RETVAL);
    assertEquals(c.get("bpf_test_run_opts.repeat"), BpfProgram.TEST_RUN_OPTS_REPEAT);
  }
}

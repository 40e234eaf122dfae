// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.capture;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tlscap.testing.Command;
import dev.tlscap.testing.Nginx;
import dev.tlscap.testing.Requirements;
import dev.tlscap.testing.Tshark;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * End to end: a "pod" the test makes itself (nginx in its own UTS and IPC namespaces, in a cgroup
 * named as the kubelet and containerd name theirs, with kubelet's log directory for the pod); the
 * packets of its connections name its container and pod, as Wireshark shows them.
 */
@Tag("e2e")
class ContainerIT {
  @TempDir Path dir;

  @BeforeAll
  static void machine() {
    Requirements.requireRoot();
    Requirements.requireCommand("tshark", "tshark");
    Requirements.requireCommand("curl", "curl");
    Requirements.requireCommand("nginx", "nginx-light");
    Requirements.requireCommand("unshare", "util-linux");
  }

  /** The cgroup v2 hierarchy: /sys/fs/cgroup itself, or its "unified" part on a hybrid host. */
  static Path cgroup2() {
    for (Path p : List.of(Path.of("/sys/fs/cgroup/unified"), Path.of("/sys/fs/cgroup"))) {
      if (Files.exists(p.resolve("cgroup.procs"))) {
        return p;
      }
    }
    throw new AssertionError("no cgroup v2 hierarchy under /sys/fs/cgroup");
  }

  @Test
  void packetsNameTheContainerAndPod() throws Exception {
    String uid = UUID.randomUUID().toString();
    String id = (UUID.randomUUID().toString() + UUID.randomUUID()).replace("-", "");
    Path top = cgroup2().resolve("tlscap-test-" + ProcessHandle.current().pid() + ".slice");
    Path pod = top.resolve("kubepods-besteffort-pod" + uid.replace('-', '_') + ".slice");
    Path container = pod.resolve("cri-containerd-" + id + ".scope");
    Path logs = Path.of("/var/log/pods", "tlscap-test_web-1_" + uid);
    boolean hadPodLogs = Files.exists(logs.getParent());
    Files.createDirectories(container);
    Files.createDirectories(logs);
    try {
      List<String> prefix = List.of("sh", "-c", "echo $$ > " + container.resolve("cgroup.procs") + " && exec unshare --uts --ipc \"$@\"",
          "sh");
      try (Nginx nginx = Nginx.start(dir, prefix, "127.0.0.1")) {
        String url = "https://127.0.0.1:" + nginx.port() + "/in-a-pod";
        Path both = dir.resolve("both.pcapng");
        Path one = dir.resolve("one.pcapng");
        try (TlscapProcess tlscap = TlscapProcess.start(dir, "-i", "lo", "-w", both.toString(), "port",
            Integer.toString(nginx.port()))) {
          assertEquals(Nginx.BODY, CaptureIT.curl("--http1.1", url).stdout());
          assertEquals(0, tlscap.interrupt(), tlscap.stderr());
        }
        try (TlscapProcess tlscap = TlscapProcess.start(dir, "-i", "lo", "-w", one.toString(), "--comm", "nginx", "port",
            Integer.toString(nginx.port()))) {
          assertEquals(Nginx.BODY, CaptureIT.curl("--http1.1", url).stdout());
          assertEquals(0, tlscap.interrupt(), tlscap.stderr());
        }
        String shortId = id.substring(0, 12);
        List<String> bothEnds = Tshark.column(both, "http.request", "frame.comment");
        assertEquals(1, bothEnds.size(), bothEnds.toString());
        assertTrue(bothEnds.get(0).matches("client: pid \\d+ curl\\\\nserver: pid \\d+ nginx \\[container " + shortId
            + ", pod tlscap-test/web-1]"), bothEnds.get(0));
        List<String> oneEnd = Tshark.column(one, "http.response", "frame.comment");
        assertTrue(oneEnd.size() == 1 && oneEnd.get(0).matches("PID: \\d+\\\\nCmd: nginx\\\\nContainer: " + shortId
            + "\\\\nPod: tlscap-test/web-1"), oneEnd.toString());
        assertEquals(1, Tshark.packetCount(one, "frame.comment contains \"Pod: tlscap-test/web-1\" && http.response"),
            "filterable by pod in Wireshark");
      }
    } finally {
      Files.deleteIfExists(logs);
      if (!hadPodLogs) {
        Files.deleteIfExists(logs.getParent()); // nothing of the test stays on the host
      }
      for (Path p : List.of(container, pod, top)) {
        for (int i = 0; i < 50 && Files.exists(p); i++) {
          Command.run(Duration.ofSeconds(5), "rmdir", p.toString()); // once nginx's processes are gone
          if (Files.exists(p)) {
            Thread.sleep(100);
          }
        }
      }
    }
  }
}

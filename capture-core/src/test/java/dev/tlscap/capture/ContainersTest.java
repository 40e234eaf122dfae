// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.capture;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link Containers} on a fake host root: cgroup paths of the runtimes, and where a pod's name comes from. */
class ContainersTest {
  static final String ID = "3f2a1b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708";
  static final String UID = "1234abcd-5678-4def-8abc-0123456789ab";
  @TempDir Path root;

  void cgroup(int pid, String text) throws IOException {
    Files.createDirectories(root.resolve("proc/" + pid));
    Files.writeString(root.resolve("proc/" + pid + "/cgroup"), text);
  }

  @Test
  void hostProcessesHaveNone() throws IOException {
    cgroup(1, "0::/init.scope\n");
    cgroup(2, "4:memory:/process_api/97574ec35a03a9170c435b586d040b7c\n0::/\n"); // 32 digits: not a container
    Containers c = new Containers(root);
    assertNull(c.of(1));
    assertNull(c.of(2));
    assertNull(c.of(3), "no such process");
  }

  @Test
  void dockerPodmanAndCgroupV1() throws IOException {
    cgroup(10, "0::/system.slice/docker-" + ID + ".scope\n");
    cgroup(11, "12:pids:/docker/" + ID + "\n11:memory:/docker/" + ID + "\n");
    cgroup(12, "0::/machine.slice/libpod-" + ID + ".scope/container\n");
    Containers c = new Containers(root);
    for (int pid : new int[] {10, 11, 12}) {
      assertEquals(new Containers.Container(ID, null, null), c.of(pid), "pid " + pid);
    }
    assertEquals("container 3f2a1b4c5d6e", c.of(10).describe());
  }

  @Test
  void kubernetesPodFromKubeletLogsThenRuntimeStateThenHostname() throws IOException {
    String systemd = "0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + UID.replace('-', '_')
        + ".slice/cri-containerd-" + ID + ".scope\n";
    cgroup(20, systemd);
    Containers c = new Containers(root);
    Files.createDirectories(root.resolve("proc/20/root/etc"));
    Files.writeString(root.resolve("proc/20/root/etc/hostname"), "web-1\n");
    assertEquals(new Containers.Container(ID, null, "web-1"), c.of(20), "the hostname: the pod's name, no namespace");

    Path config = root.resolve("run/containerd/io.containerd.runtime.v2.task/k8s.io/" + ID + "/config.json");
    Files.createDirectories(config.getParent());
    Files.writeString(config, "{\"ociVersion\":\"1.1.0\",\"annotations\":{\"io.kubernetes.cri.container-type\":\"container\","
        + "\"io.kubernetes.cri.sandbox-name\":\"web-1\",\"io.kubernetes.cri.sandbox-namespace\":\"shop\"}}");
    assertEquals(new Containers.Container(ID, "shop", "web-1"), c.of(20), "containerd's annotations");

    Files.createDirectories(root.resolve("var/log/pods/payments_api-7d9f_" + UID));
    assertEquals(new Containers.Container(ID, "payments", "api-7d9f"), c.of(20), "kubelet's log directory first");
    assertEquals("container 3f2a1b4c5d6e, pod payments/api-7d9f", c.of(20).describe());

    cgroup(21, "0::/kubepods/besteffort/pod" + UID + "/" + ID + "\n"); // cgroupfs driver
    assertEquals(new Containers.Container(ID, "payments", "api-7d9f"), c.of(21));
  }
}

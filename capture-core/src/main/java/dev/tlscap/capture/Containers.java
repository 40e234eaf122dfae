// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.capture;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The container a process runs in, as the host shows it without asking any API server: the
 * container id from the process's cgroup path (Docker, containerd, CRI-O, Podman name their cgroups
 * after the 64-hex-digit id), and for a Kubernetes pod (a {@code kubepods} cgroup with the pod's
 * UID) its namespace and name from kubelet's log directory {@code /var/log/pods/NAMESPACE_NAME_UID},
 * else from the runtime's state ({@code config.json} annotations of containerd or CRI-O), else the
 * container's hostname (the pod's name, namespace unknown). Reads files only; never throws.
 */
final class Containers {
  /** What tlscap writes on packets: the short (12-digit) id, and the pod when known. */
  record Container(String id, String podNamespace, String podName) {
    String shortId() {
      return id.substring(0, 12);
    }

    /** "default/web-1" ("web-1" when the namespace is unknown), or null outside a pod. */
    String pod() {
      return podName == null ? null : podNamespace != null ? podNamespace + "/" + podName : podName;
    }

    /** "container 3f2a1b4c5d6e" or "container 3f2a1b4c5d6e, pod default/web-1". */
    String describe() {
      return "container " + shortId() + (podName == null ? "" : ", pod " + pod());
    }
  }

  private static final Pattern CONTAINER_ID = Pattern.compile(
      "(?:^|[-_/:])(?:docker-|cri-containerd-|crio-|libpod-|containerd-)?([0-9a-f]{64})(?:\\.scope)?$");
  private static final Pattern POD_UID = Pattern.compile(
      "pod([0-9a-f]{8}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{12})");
  /** The runtimes' per-container state directories that hold a config.json with the pod's annotations. */
  private static final List<String> RUNTIME_STATE = List.of(
      "run/containerd/io.containerd.runtime.v2.task/k8s.io/%s/config.json",
      "run/containers/storage/overlay-containers/%s/userdata/config.json");

  private final Path root;

  /** {@code root}: "/" (tests give a directory that holds proc/, var/log/pods/, run/). */
  Containers(Path root) {
    this.root = root;
  }

  /** The container of process {@code pid}, or null for a process of the host. */
  Container of(int pid) {
    String cgroup;
    try {
      cgroup = Files.readString(root.resolve("proc/" + pid + "/cgroup"), StandardCharsets.UTF_8);
    } catch (IOException | RuntimeException e) {
      return null;
    }
    String id = null;
    String podUid = null;
    for (String line : cgroup.split("\n")) {
      int colon = line.indexOf(':', line.indexOf(':') + 1);
      String path = colon >= 0 ? line.substring(colon + 1) : line;
      for (String part : path.split("/")) {
        Matcher m = CONTAINER_ID.matcher(part);
        if (m.find()) {
          id = m.group(1);
        }
        Matcher p = POD_UID.matcher(part);
        if (p.find()) {
          podUid = p.group(1).replace('_', '-');
        }
      }
      if (id != null) {
        break;
      }
    }
    if (id == null) {
      return null;
    }
    if (podUid == null && !cgroup.contains("kubepods")) {
      return new Container(id, null, null);
    }
    String[] pod = podUid != null ? fromPodLogs(podUid) : null;
    if (pod == null) {
      pod = fromRuntimeState(id);
    }
    if (pod == null) {
      String hostname = hostname(pid);
      pod = hostname != null ? new String[] {null, hostname} : null;
    }
    return pod == null ? new Container(id, null, null) : new Container(id, pod[0], pod[1]);
  }

  /** kubelet's /var/log/pods/NAMESPACE_NAME_UID: {namespace, name}, or null. */
  private String[] fromPodLogs(String uid) {
    Path logs = root.resolve("var/log/pods");
    try (DirectoryStream<Path> dirs = Files.newDirectoryStream(logs, "*_" + uid)) {
      for (Path d : dirs) {
        String n = d.getFileName().toString();
        String rest = n.substring(0, n.length() - uid.length() - 1);
        int underscore = rest.indexOf('_'); // namespaces have no '_' (DNS labels)
        if (underscore > 0) {
          return new String[] {rest.substring(0, underscore), rest.substring(underscore + 1)};
        }
      }
    } catch (IOException | RuntimeException e) {
      // no kubelet logs on this host
    }
    return null;
  }

  /** The pod's annotations in the runtime's config.json of the container: {namespace, name}, or null. */
  private String[] fromRuntimeState(String id) {
    for (String pattern : RUNTIME_STATE) {
      Path config = root.resolve(String.format(pattern, id));
      if (!Files.isRegularFile(config)) {
        continue;
      }
      String namespace = null;
      String name = null;
      try (JsonParser json = new JsonFactory().createParser(config.toFile())) {
        JsonToken t;
        while ((t = json.nextToken()) != null) {
          if (t != JsonToken.FIELD_NAME) {
            continue;
          }
          String field = json.currentName().toLowerCase(Locale.ROOT);
          if (field.equals("io.kubernetes.cri.sandbox-namespace") || field.equals("io.kubernetes.pod.namespace")) {
            json.nextToken();
            namespace = json.getValueAsString();
          } else if (field.equals("io.kubernetes.cri.sandbox-name") || field.equals("io.kubernetes.pod.name")) {
            json.nextToken();
            name = json.getValueAsString();
          }
        }
      } catch (IOException | RuntimeException e) {
        continue;
      }
      if (name != null) {
        return new String[] {namespace, name};
      }
    }
    return null;
  }

  /** The hostname in the process's own root (a pod's containers carry the pod's name), or null. */
  private String hostname(int pid) {
    try {
      String h = Files.readString(root.resolve("proc/" + pid + "/root/etc/hostname"), StandardCharsets.UTF_8).strip();
      return h.isEmpty() || h.length() > 253 ? null : h;
    } catch (IOException | RuntimeException e) {
      return null;
    }
  }
}

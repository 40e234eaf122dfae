// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.capture.jsse;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class JvmAttacherTest {
  @TempDir Path tmp;

  @Test
  void leftoversOfAKilledTlscapGoAndALiveOnesStay() throws Exception {
    Process p = new ProcessBuilder("true").start();
    p.waitFor();
    long dead = p.pid();
    long live = ProcessHandle.current().pid();
    for (String name : List.of(".tlscap-" + dead + "-42.sock", "tlscap-agent-0123456789ab-" + dead + "-42.jar",
        "tlscap-agent-0123456789ab-" + dead + "-42.jar." + dead + ".part", ".tlscap-" + live + "-42.sock",
        "tlscap-agent-0123456789ab-" + live + "-42.jar", ".tlscap-x", "tlscap-agent-", "other.jar")) {
      Files.writeString(tmp.resolve(name), "");
    }
    JvmAttacher.removeLeftovers(tmp);
    assertEquals(List.of(".tlscap-" + live + "-42.sock", ".tlscap-x", "other.jar", "tlscap-agent-",
        "tlscap-agent-0123456789ab-" + live + "-42.jar"), names());
  }

  private List<String> names() throws IOException {
    try (Stream<Path> files = Files.list(tmp)) {
      return files.map(f -> f.getFileName().toString()).sorted().toList();
    }
  }
}

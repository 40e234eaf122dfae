// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.tc;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.tlscap.testing.Command;
import dev.tlscap.testing.Requirements;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * Writes whole frames to an interface through an AF_PACKET SOCK_RAW socket, as tcpreplay and scapy
 * do (Python's socket module: {@code sendto} on a packet socket). Such a frame above a page keeps only
 * its link-layer header in the skb's linear area, the rest in page fragments; at egress the kernel's
 * network header offset points at the link header.
 */
final class PacketSocket {
  private static final String SENDER = String.join("\n",
      "import socket, struct, sys, time",
      "iface, path = sys.argv[1], sys.argv[2]",
      "s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)",
      "s.bind((iface, 0))",
      "data = open(path, 'rb').read()",
      "at = n = 0",
      "while at < len(data):",
      "    size = struct.unpack_from('>I', data, at)[0]",
      "    at += 4",
      "    sent = s.send(data[at:at + size])",
      "    assert sent == size, (sent, size)",
      "    at += size",
      "    n += 1",
      "    if n % 32 == 0:",
      "        time.sleep(0.002)  # let the receiving CPU's backlog (netdev_max_backlog) drain",
      "print(n)",
      "");

  private PacketSocket() {}

  /** Sends {@code frames} on {@code iface}, in network namespace {@code namespace} (null: this one). */
  static void send(Path dir, String namespace, String iface, List<byte[]> frames) {
    Requirements.requireCommand("python3", "python3");
    try {
      Path script = dir.resolve("send_frames.py");
      Files.writeString(script, SENDER);
      Path file = Files.createTempFile(dir, "frames", ".bin");
      int total = frames.stream().mapToInt(f -> 4 + f.length).sum();
      ByteBuffer b = ByteBuffer.allocate(total);
      for (byte[] f : frames) {
        b.putInt(f.length).put(f);
      }
      Files.write(file, b.array());
      List<String> argv = new ArrayList<>();
      if (namespace != null) {
        argv.addAll(List.of("ip", "netns", "exec", namespace));
      }
      argv.addAll(List.of("python3", script.toString(), iface, file.toString()));
      Command.Result r = Command.run(Duration.ofSeconds(60), argv.toArray(new String[0])).check();
      assertEquals(Integer.toString(frames.size()), r.stdout().strip(), "frames sent on " + iface);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}

// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.capture;

import dev.tlscap.pcapng.Compression;
import dev.tlscap.pcapng.RotationPolicy;
import dev.tlscap.tc.AttachMode;
import dev.tlscap.tc.PacketFilter;
import java.nio.file.Path;
import java.util.List;

/**
 * A validated capture: what {@link CaptureLoop} runs. Immutable.
 *
 * @param interfaces {@code -i} (repeated); {@code "any"} = all interfaces that are up
 * @param output {@code -w} file, or null for standard output ({@code -w -}) or none ({@code writesFile} false)
 * @param packetCount {@code -c}: stop after this many packets (0: no limit)
 * @param snapLength {@code -s}
 * @param rotation {@code -C}, {@code -G}, {@code -W}
 * @param compression {@code --compress}
 * @param keyLog {@code --keylog-file}, or null
 * @param pid {@code --pid} (0: all)
 * @param comm {@code --comm} (null: all)
 * @param libssl {@code --libssl}
 * @param durationSeconds {@code --duration} (0: until stopped)
 * @param holdNanos {@code --hold}: how long a TLS flow's packets wait for its secrets
 * @param holdBytes {@code --hold-memory}: the most bytes held back in all
 * @param filter the in-kernel filter ({@code [filter]}, {@code --port}, {@code --host})
 * @param quiet {@code -q}: no status line
 * @param socketTracing {@code --socket-tracing}
 * @param java {@code --java}: attach tlscap's agent to JVMs (JSSE)
 * @param attachMode {@code --tc-mode}
 * @param debugBpf {@code --debug-bpf}: libbpf's and the verifier's log on stderr
 * @param packetRingBytes {@code -B}: the packet ring buffer's size in bytes (a power of two)
 * @param secretRingBytes {@code --secrets-buffer-size}: the TLS secret ring buffer's size in bytes (a power of two)
 * @param text {@code --text}: how to print the plaintext, or null
 * @param writesFile false with {@code --text} and no {@code -w}: packets are read, not kept
 */
record CaptureConfig(
    List<String> interfaces,
    Path output,
    long packetCount,
    int snapLength,
    RotationPolicy rotation,
    Compression compression,
    Path keyLog,
    int pid,
    String comm,
    List<Path> libssl,
    long durationSeconds,
    long holdNanos,
    long holdBytes,
    PacketFilter filter,
    boolean quiet,
    boolean socketTracing,
    boolean java,
    AttachMode attachMode,
    boolean debugBpf,
    int packetRingBytes,
    int secretRingBytes,
    TextOptions text,
    boolean writesFile) {

  /** {@code --text-format json} and {@code --text-max}. */
  record TextOptions(boolean json, int maxBytes) {}

  /** The packet ring's size without {@code -B}: 32 MiB (a flood of small packets on 2 CPUs needs it). */
  static final int DEFAULT_PACKET_RING_BYTES = 32 << 20;
  /** The secret ring's size without {@code --secrets-buffer-size}: 8 MiB, about 40,000 secrets between drains. */
  static final int DEFAULT_SECRET_RING_BYTES = 8 << 20;

  boolean toStdout() {
    return output == null && writesFile;
  }
}

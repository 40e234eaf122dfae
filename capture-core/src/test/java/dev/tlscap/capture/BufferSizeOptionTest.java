// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.capture;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code -B} and {@code --secrets-buffer-size}: KiB as tcpdump's -B, rounded up to what a BPF ring buffer takes. */
class BufferSizeOptionTest {
  @TempDir Path dir;

  private CaptureConfig config(String... flags) {
    Tlscap command = new Tlscap(new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
    String[] args = new String[flags.length + 2];
    args[0] = "-w";
    args[1] = dir.resolve("x.pcapng").toString();
    System.arraycopy(flags, 0, args, 2, flags.length);
    new CommandLine(command).parseArgs(args);
    return command.config();
  }

  @Test
  void theDefaultsStay32MiBForPacketsAnd8MiBForSecrets() {
    assertEquals(32 << 20, config().packetRingBytes());
    assertEquals(8 << 20, config().secretRingBytes());
  }

  @Test
  void sizesAreKibibytesRoundedUpToAPowerOfTwoAndTheMinimum() {
    assertEquals(64 << 10, config("-B", "64").packetRingBytes());
    assertEquals(64 << 10, config("-B", "1").packetRingBytes(), "the packet ring's minimum: 64 KiB");
    assertEquals(128 << 10, config("-B", "65").packetRingBytes());
    assertEquals(2 << 20, config("--buffer-size", "2000").packetRingBytes());
    assertEquals(512 << 20, config("-B", "524288").packetRingBytes());
    assertEquals(4 << 10, config("--secrets-buffer-size", "1").secretRingBytes(), "one page");
    assertEquals(8 << 10, config("--secrets-buffer-size", "5").secretRingBytes());
  }

  @Test
  void sizesOutOfRangeAreOneLine() {
    IllegalArgumentException zero = assertThrows(IllegalArgumentException.class, () -> config("-B", "0"));
    assertEquals("-B 0: give a size in KiB from 1 to 524288", zero.getMessage());
    IllegalArgumentException huge = assertThrows(IllegalArgumentException.class,
        () -> config("--secrets-buffer-size", "1048576"));
    assertEquals("--secrets-buffer-size 1048576: give a size in KiB from 1 to 524288", huge.getMessage());
  }
}

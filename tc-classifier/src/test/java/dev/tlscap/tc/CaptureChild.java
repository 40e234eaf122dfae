// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.tc;

import dev.tlscap.bpf.BpfException;
import java.util.ArrayList;
import java.util.List;

/**
 * A capturing process for the tests that kill it ({@code kill -9}) or expect it to refuse to start:
 * {@code CaptureChild [--mode tcx|clsact] -i IF [-i IF...] [--filter EXPR]}. Prints
 * {@code capturing MODE on IF,IF} once attached and then drains until killed; on an error prints the
 * one line {@code tlscap: CAUSE} to stderr and exits 1, as the CLI does.
 */
public final class CaptureChild {
  private CaptureChild() {}

  public static void main(String[] args) {
    PacketCaptureOptions.Builder options = PacketCaptureOptions.builder().ringBytes(1 << 20);
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "-i" -> options.iface(args[++i]);
        case "--mode" -> options.attachMode(AttachMode.parse(args[++i]));
        case "--filter" -> options.filter(PacketFilter.compile(args[++i]));
        default -> throw new IllegalArgumentException(args[i]);
      }
    }
    try (PacketCapture capture = PacketCapture.open(options.build())) {
      List<String> names = new ArrayList<>();
      capture.interfaces().forEach(i -> names.add(i.name()));
      System.out.println("capturing " + capture.attachMode().name().toLowerCase() + " on " + String.join(",", names));
      System.out.flush();
      long[] packets = new long[1];
      while (true) {
        capture.poll(p -> packets[0]++, 100);
        capture.maintain();
      }
    } catch (CaptureException | BpfException e) {
      System.err.println("tlscap: " + e.getMessage());
      System.exit(1);
    }
  }
}

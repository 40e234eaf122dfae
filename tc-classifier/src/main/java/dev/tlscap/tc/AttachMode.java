// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.tc;

/**
 * How the classifier is attached to an interface.
 *
 * <ul>
 *   <li>{@link #TCX}: a TCX link ({@code BPF_LINK_CREATE} with {@code BPF_TCX_INGRESS/EGRESS},
 *       kernel 6.6+). The link lives as long as its file descriptor: when the process dies, even by
 *       {@code kill -9}, the kernel removes it. Nothing can be left behind.
 *   <li>{@link #CLSACT}: a {@code cls_bpf} direct-action filter on the {@code clsact} qdisc (any
 *       kernel with BPF). Filters outlive a killed process; tlscap recognises those a killed run
 *       left (program name {@code tlscap_*}, handle = the owner's pid) and removes them at the next
 *       start.
 *   <li>{@link #AUTO}: TCX where the kernel has it, else clsact.
 * </ul>
 */
public enum AttachMode {
  AUTO,
  TCX,
  CLSACT;

  /** Parses {@code auto}, {@code tcx} or {@code clsact} (any case). */
  public static AttachMode parse(String text) {
    for (AttachMode m : values()) {
      if (m.name().equalsIgnoreCase(text.trim())) {
        return m;
      }
    }
    throw new CaptureException("unknown TC attach mode '" + text + "' (use auto, tcx or clsact)");
  }
}

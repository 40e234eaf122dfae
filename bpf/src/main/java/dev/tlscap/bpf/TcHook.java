// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.bpf;

import com.sun.jna.Memory;

/**
 * libbpf's TC API (libbpf.h: {@code bpf_tc_hook_create}, {@code bpf_tc_hook_destroy},
 * {@code bpf_tc_attach}, {@code bpf_tc_detach}): the clsact qdisc of an interface and the
 * {@code cls_bpf} direct-action filters on it, set up over rtnetlink by libbpf. Each method names
 * its libbpf call and throws a {@link BpfException} with the errno when it fails
 * ({@code "bpf_tc_attach failed: EINVAL (invalid argument)"}); callers add what it meant to the user.
 *
 * <p>Mirrors (libbpf.h, 1.1; offsets checked against the installed headers by LibbpfAbiTest):
 * <pre>
 * enum bpf_tc_attach_point { BPF_TC_INGRESS = 1 &lt;&lt; 0, BPF_TC_EGRESS = 1 &lt;&lt; 1, BPF_TC_CUSTOM = 1 &lt;&lt; 2 };
 * struct bpf_tc_hook { size_t sz; int ifindex; enum bpf_tc_attach_point attach_point; __u32 parent; size_t :0; };
 * struct bpf_tc_opts { size_t sz; int prog_fd; __u32 flags; __u32 prog_id; __u32 handle; __u32 priority; size_t :0; };
 * </pre>
 * Stateless and thread-safe (the kernel serialises the netlink requests).
 */
public final class TcHook {
  /** {@code BPF_TC_INGRESS}. */
  public static final int INGRESS = 1;
  /** {@code BPF_TC_EGRESS}. */
  public static final int EGRESS = 2;

  static final int HOOK_SIZE = 24;
  static final int HOOK_IFINDEX = 8;
  static final int HOOK_ATTACH_POINT = 12;
  static final int HOOK_PARENT = 16;

  static final int OPTS_SIZE = 32;
  static final int OPTS_PROG_FD = 8;
  static final int OPTS_FLAGS = 12;
  static final int OPTS_PROG_ID = 16;
  static final int OPTS_HANDLE = 20;
  static final int OPTS_PRIORITY = 24;

  private TcHook() {}

  /**
   * Adds a clsact qdisc to interface {@code ifindex} ({@code bpf_tc_hook_create} of ingress|egress).
   *
   * @return false when the interface had one already ({@code EEXIST}): it is someone else's to remove
   */
  public static boolean createClsact(int ifindex) {
    int rc = LibBpf.bpf_tc_hook_create(hook(ifindex, INGRESS | EGRESS));
    if (rc == -Errno.EEXIST) {
      return false;
    }
    check("bpf_tc_hook_create", rc);
    return true;
  }

  /** Removes the clsact qdisc of interface {@code ifindex} and every filter on it ({@code bpf_tc_hook_destroy}). */
  public static void destroyClsact(int ifindex) {
    check("bpf_tc_hook_destroy", LibBpf.bpf_tc_hook_destroy(hook(ifindex, INGRESS | EGRESS)));
  }

  /**
   * Attaches program {@code programFd} as a direct-action {@code cls_bpf} filter at
   * {@code attachPoint} ({@link #INGRESS} or {@link #EGRESS}) of the clsact qdisc of {@code ifindex}
   * ({@code bpf_tc_attach}, which refuses to replace a filter with the same handle and priority).
   */
  public static void attachFilter(int ifindex, int attachPoint, int programFd, int handle, int priority) {
    Memory opts = opts(handle, priority);
    opts.setInt(OPTS_PROG_FD, programFd);
    check("bpf_tc_attach", LibBpf.bpf_tc_attach(hook(ifindex, attachPoint), opts));
  }

  /** Removes the filter {@code handle}/{@code priority} at {@code attachPoint} of {@code ifindex} ({@code bpf_tc_detach}). */
  public static void detachFilter(int ifindex, int attachPoint, int handle, int priority) {
    check("bpf_tc_detach", LibBpf.bpf_tc_detach(hook(ifindex, attachPoint), opts(handle, priority)));
  }

  private static Memory hook(int ifindex, int attachPoint) {
    Memory hook = new Memory(HOOK_SIZE);
    hook.clear();
    hook.setLong(0, HOOK_SIZE);
    hook.setInt(HOOK_IFINDEX, ifindex);
    hook.setInt(HOOK_ATTACH_POINT, attachPoint);
    return hook;
  }

  private static Memory opts(int handle, int priority) {
    Memory opts = new Memory(OPTS_SIZE);
    opts.clear();
    opts.setLong(0, OPTS_SIZE);
    opts.setInt(OPTS_HANDLE, handle);
    opts.setInt(OPTS_PRIORITY, priority);
    return opts;
  }

  private static void check(String call, int rc) {
    if (rc < 0) {
      throw BpfException.ofCall(call, -rc);
    }
  }
}

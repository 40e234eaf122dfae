// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.bpf;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The public wrappers of libbpf calls (TcHook, BpfSyscall) name the call and its errno when it
 * fails, as Netty's natives do. Touches no real interface or program: the targets do not exist.
 * With or without root (then the kernel says EPERM first).
 */
class NativeCallErrorsTest {
  /** No interface has this index. */
  private static final int NO_SUCH_IFINDEX = Integer.MAX_VALUE;

  @Test
  void aProgramIdThatIsGoneNamesTheCall() {
    BpfException e = assertThrows(BpfException.class, () -> BpfSyscall.progName(Integer.MAX_VALUE));
    assertTrue(Set.of(Errno.ENOENT, Errno.EPERM).contains(e.errno()), e.getMessage());
    assertEquals("bpf_prog_get_fd_by_id failed: " + Errno.name(e.errno()) + " (" + Errno.describe(e.errno()) + ")",
        e.getMessage());
  }

  @Test
  void aMissingInterfaceNamesTheTcCall() {
    BpfException e = assertThrows(BpfException.class, () -> TcHook.createClsact(NO_SUCH_IFINDEX));
    assertTrue(Set.of(Errno.ENODEV, Errno.EPERM).contains(e.errno()), e.getMessage());
    assertTrue(e.getMessage().startsWith("bpf_tc_hook_create failed: " + Errno.name(e.errno()) + " ("), e.getMessage());

    e = assertThrows(BpfException.class, () -> TcHook.detachFilter(NO_SUCH_IFINDEX, TcHook.INGRESS, 1, 1));
    assertTrue(Set.of(Errno.ENODEV, Errno.EPERM, Errno.ENOENT, Errno.EINVAL).contains(e.errno()), e.getMessage());
    assertTrue(e.getMessage().startsWith("bpf_tc_detach failed: "), e.getMessage());
  }

  @Test
  void aTcxLinkToAMissingInterfaceNamesTheCall() {
    BpfException e = assertThrows(BpfException.class, () -> BpfSyscall.linkCreate(-1, NO_SUCH_IFINDEX, 46 /* BPF_TCX_INGRESS */, 0));
    assertTrue(Set.of(Errno.EBADF, Errno.EPERM).contains(e.errno()), e.getMessage());
    assertEquals("bpf_link_create failed: " + Errno.name(e.errno()) + " (" + Errno.describe(e.errno()) + ")",
        e.getMessage());
  }

  @Test
  void errnoNames() {
    assertEquals("EEXIST", Errno.name(Errno.EEXIST));
    assertEquals("EEXIST", Errno.name(-Errno.EEXIST));
    assertEquals("ENODEV", Errno.name(19));
    assertEquals("errno 4001", Errno.name(4001));
  }
}

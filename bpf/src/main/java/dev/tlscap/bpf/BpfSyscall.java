// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.bpf;

import com.sun.jna.Memory;
import java.util.ArrayList;
import java.util.List;

/**
 * The {@code bpf(2)} commands tlscap issues on kernel objects that are not a {@link BpfObject}'s own
 * (libbpf's bpf.h wrappers: TCX links, which programs a hook holds, a program's name by id). Each
 * method names its libbpf call and throws a {@link BpfException} with the errno when it fails
 * ({@code "bpf_link_create failed: ENODEV (no such device)"}); callers add what it meant to the user.
 *
 * <p>Mirrors (offsets checked against the installed headers by LibbpfAbiTest):
 * <pre>
 * struct bpf_link_create_opts { size_t sz; __u32 flags; ... };    // libbpf bpf.h; we pass the first 16 bytes
 * struct bpf_prog_info { ...; char name[BPF_OBJ_NAME_LEN]; ... };  // include/uapi/linux/bpf.h: name at 64
 * </pre>
 * Stateless and thread-safe.
 */
public final class BpfSyscall {
  /** The part of {@code struct bpf_link_create_opts} we fill: sz and flags (libbpf takes a shorter sz). */
  static final int LINK_CREATE_OPTS_SIZE = 16;
  static final int LINK_CREATE_OPTS_FLAGS = 8;
  /** {@code struct bpf_prog_info}: 256 bytes cover the name (the kernel fills what it has, up to info_len). */
  static final int PROG_INFO_SIZE = 256;
  static final int PROG_INFO_NAME = 64;
  static final int PROG_INFO_NAME_LEN = 16;
  /** Program ids one {@link #progQuery} reads; a hook with more fails with ENOSPC. */
  static final int PROG_QUERY_MAX = 64;

  private BpfSyscall() {}

  /**
   * Attaches program {@code programFd} to {@code targetFd} (for TCX: the ifindex) as
   * {@code attachType} ({@code enum bpf_attach_type}) with {@code flags} ({@code BPF_F_*}), by
   * {@code bpf_link_create}.
   *
   * @return the link's file descriptor: the attachment lives until it is closed
   */
  public static int linkCreate(int programFd, int targetFd, int attachType, int flags) {
    Memory opts = new Memory(LINK_CREATE_OPTS_SIZE);
    opts.clear();
    opts.setLong(0, LINK_CREATE_OPTS_SIZE);
    opts.setInt(LINK_CREATE_OPTS_FLAGS, flags);
    int fd = LibBpf.bpf_link_create(programFd, targetFd, attachType, opts);
    if (fd < 0) {
      throw BpfException.ofCall("bpf_link_create", -fd);
    }
    return fd;
  }

  /**
   * The ids of the programs attached to {@code targetFd} (for TCX: the ifindex) as
   * {@code attachType}, in order, by {@code bpf_prog_query}. Fails with EINVAL where the kernel
   * does not know the attach type (TCX before Linux 6.6).
   */
  public static List<Integer> progQuery(int targetFd, int attachType) {
    Memory ids = new Memory(4L * PROG_QUERY_MAX);
    Memory count = new Memory(4);
    count.setInt(0, PROG_QUERY_MAX);
    Memory attachFlags = new Memory(4);
    int rc = LibBpf.bpf_prog_query(targetFd, attachType, 0, attachFlags, ids, count);
    if (rc < 0) {
      throw BpfException.ofCall("bpf_prog_query", -rc);
    }
    List<Integer> list = new ArrayList<>();
    for (int i = 0; i < Math.min(count.getInt(0), PROG_QUERY_MAX); i++) {
      list.add(ids.getInt(4L * i));
    }
    return list;
  }

  /**
   * The name of the loaded program with id {@code programId} (at most 15 characters), by
   * {@code bpf_prog_get_fd_by_id} (ENOENT: no program has that id any more) and
   * {@code bpf_obj_get_info_by_fd}.
   */
  public static String progName(int programId) {
    int fd = LibBpf.bpf_prog_get_fd_by_id(programId);
    if (fd < 0) {
      throw BpfException.ofCall("bpf_prog_get_fd_by_id", -fd);
    }
    try {
      Memory info = new Memory(PROG_INFO_SIZE);
      info.clear();
      Memory length = new Memory(4);
      length.setInt(0, PROG_INFO_SIZE);
      int rc = LibBpf.bpf_obj_get_info_by_fd(fd, info, length);
      if (rc < 0) {
        throw BpfException.ofCall("bpf_obj_get_info_by_fd", -rc);
      }
      return new String(info.getByteArray(PROG_INFO_NAME, PROG_INFO_NAME_LEN), java.nio.charset.StandardCharsets.UTF_8)
          .split("\0", 2)[0];
    } finally {
      Libc.close(fd);
    }
  }
}

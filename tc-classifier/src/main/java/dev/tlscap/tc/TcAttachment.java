// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.tc;

import com.sun.jna.Memory;
import dev.tlscap.bpf.BpfException;
import dev.tlscap.bpf.BpfProgram;
import dev.tlscap.bpf.Errno;
import dev.tlscap.bpf.LibBpf;
import dev.tlscap.bpf.Libc;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The classifier attached to one interface, at ingress and egress (ingress only on {@code lo}), as
 * TCX links or as clsact filters ({@link AttachMode}). Closing detaches it; a clsact qdisc is
 * removed only if this attachment created it and no other filter uses it.
 *
 * <p><b>Recognising tlscap's filters.</b> In clsact mode the filters are {@code cls_bpf}
 * direct-action filters at priority {@value #CLSACT_PRIORITY}, protocol all, programs named
 * {@code tlscap_ingress}/{@code tlscap_egress}, with handle {@code pid << 10 | n}: the owning
 * process id (at most 2^22 on Linux) and a per-process capture number, so several captures and
 * several tlscap processes can share an interface. A filter with such a program name whose owner no
 * longer holds the program (the process was killed) is a leftover: {@link #removeLeftovers}
 * removes it.
 *
 * <p>Not thread-safe except {@link #close()}, which is idempotent and may race with a shutdown hook.
 */
public final class TcAttachment implements AutoCloseable {
  /** {@code BPF_TCX_INGRESS}/{@code BPF_TCX_EGRESS} of {@code enum bpf_attach_type}: kernel 6.6+, not in
   *  Debian 12's 6.1 UAPI headers; values from the running kernel's BTF
   *  ({@code bpftool btf dump file /sys/kernel/btf/vmlinux | grep BPF_TCX}) = include/uapi/linux/bpf.h. */
  static final int BPF_TCX_INGRESS = 46;
  static final int BPF_TCX_EGRESS = 47;
  /** {@code BPF_F_BEFORE} (include/uapi/linux/bpf.h, 6.6+): with no relative program, "first". */
  static final int BPF_F_BEFORE = 1 << 3;
  /** {@code struct bpf_link_create_opts} of libbpf 1.1 (bpf.h): sz@0, flags@8; we pass sz = 16. */
  static final int LINK_CREATE_OPTS_SIZE = 16;

  /** {@code enum bpf_tc_attach_point} (libbpf.h). */
  static final int BPF_TC_INGRESS = 1;
  static final int BPF_TC_EGRESS = 2;
  /** {@code struct bpf_tc_hook} (libbpf.h 1.1): sz@0, ifindex@8, attach_point@12, parent@16; 24 bytes. */
  static final int TC_HOOK_SIZE = 24;
  /** {@code struct bpf_tc_opts} (libbpf.h 1.1): sz@0, prog_fd@8, flags@12, prog_id@16, handle@20, priority@24; 32 bytes. */
  static final int TC_OPTS_SIZE = 32;

  /** clsact filters go first (priority 1), so no other filter's verdict hides a packet from tlscap. */
  public static final int CLSACT_PRIORITY = 1;
  /** Names of the classifier's programs start with this (BPF object names are at most 15 characters). */
  public static final String PROGRAM_PREFIX = "tlscap_";

  private final String name;
  private final int ifindex;
  private final AttachMode mode;
  private final boolean ingress;
  private final boolean egress;
  private int ingressLink = -1;
  private int egressLink = -1;
  private int handle;
  private boolean ingressFilter;
  private boolean egressFilter;
  private boolean createdQdisc;
  private boolean closed;

  private TcAttachment(String name, int ifindex, AttachMode mode, boolean ingress, boolean egress) {
    this.name = name;
    this.ifindex = ifindex;
    this.mode = mode;
    this.ingress = ingress;
    this.egress = egress;
  }

  /**
   * Attaches {@code ingressProgram} and {@code egressProgram} (each skipped when null: on lo there
   * is no egress program) to the interface in {@code mode} ({@link AttachMode#TCX} or {@link AttachMode#CLSACT}). On failure
   * nothing stays attached and the exception names the interface and the reason.
   */
  static TcAttachment attach(String name, int ifindex, BpfProgram ingressProgram, BpfProgram egressProgram,
      AttachMode mode, int captureNumber) {
    if (mode == AttachMode.AUTO) {
      throw new IllegalArgumentException("resolve AUTO first");
    }
    TcAttachment a = new TcAttachment(name, ifindex, mode, ingressProgram != null, egressProgram != null);
    try {
      if (mode == AttachMode.TCX) {
        if (ingressProgram != null) {
          a.ingressLink = a.tcxLink(ingressProgram, BPF_TCX_INGRESS);
        }
        if (egressProgram != null) {
          a.egressLink = a.tcxLink(egressProgram, BPF_TCX_EGRESS);
        }
      } else {
        a.handle = handle(ProcessHandle.current().pid(), captureNumber);
        a.createdQdisc = a.createClsact();
        if (ingressProgram != null) {
          a.clsactFilter(ingressProgram, BPF_TC_INGRESS);
          a.ingressFilter = true;
        }
        if (egressProgram != null) {
          a.clsactFilter(egressProgram, BPF_TC_EGRESS);
          a.egressFilter = true;
        }
      }
      return a;
    } catch (RuntimeException e) {
      a.close();
      throw e;
    }
  }

  private int tcxLink(BpfProgram program, int attachType) {
    Memory opts = new Memory(LINK_CREATE_OPTS_SIZE);
    opts.clear();
    opts.setLong(0, LINK_CREATE_OPTS_SIZE);
    opts.setInt(8, BPF_F_BEFORE);
    int fd = LibBpf.bpf_link_create(program.fd(), ifindex, attachType, opts);
    if (fd < 0) {
      throw new BpfException("cannot attach the TC classifier to " + name + " " + direction(attachType == BPF_TCX_INGRESS)
          + " (TCX): " + Errno.describe(-fd) + hint(-fd), -fd, "");
    }
    return fd;
  }

  /** Creates the clsact qdisc; false when it was there already (it is then never removed by tlscap). */
  private boolean createClsact() {
    Memory hook = hook(BPF_TC_INGRESS | BPF_TC_EGRESS);
    int rc = LibBpf.bpf_tc_hook_create(hook);
    if (rc == -Errno.EEXIST) {
      return false;
    }
    if (rc < 0) {
      throw new BpfException("cannot add a clsact qdisc to " + name + ": " + Errno.describe(-rc) + hint(-rc), -rc, "");
    }
    return true;
  }

  private void clsactFilter(BpfProgram program, int attachPoint) {
    Memory opts = new Memory(TC_OPTS_SIZE);
    opts.clear();
    opts.setLong(0, TC_OPTS_SIZE);
    opts.setInt(8, program.fd());
    opts.setInt(20, handle);
    opts.setInt(24, CLSACT_PRIORITY);
    int rc = LibBpf.bpf_tc_attach(hook(attachPoint), opts);
    if (rc < 0) {
      throw new BpfException("cannot attach the TC classifier to " + name + " " + direction(attachPoint == BPF_TC_INGRESS)
          + " (clsact, priority " + CLSACT_PRIORITY + ", handle " + handle + "): " + Errno.describe(-rc) + hint(-rc)
          + (rc == -Errno.EINVAL ? " (see 'tc filter show dev " + name + " " + direction(attachPoint == BPF_TC_INGRESS) + "')" : ""),
          -rc, "");
    }
  }

  private static String hint(int errno) {
    return errno == Errno.ENODEV || errno == Errno.ENOENT ? " (the interface is gone; see 'ip link')" : "";
  }

  private static String direction(boolean ingress) {
    return ingress ? "ingress" : "egress";
  }

  private Memory hook(int attachPoint) {
    return hook(ifindex, attachPoint);
  }

  private static Memory hook(int ifindex, int attachPoint) {
    Memory hook = new Memory(TC_HOOK_SIZE);
    hook.clear();
    hook.setLong(0, TC_HOOK_SIZE);
    hook.setInt(8, ifindex);
    hook.setInt(12, attachPoint);
    return hook;
  }

  private static int detachFilter(int ifindex, int attachPoint, int handle, int priority) {
    Memory opts = new Memory(TC_OPTS_SIZE);
    opts.clear();
    opts.setLong(0, TC_OPTS_SIZE);
    opts.setInt(20, handle);
    opts.setInt(24, priority);
    return LibBpf.bpf_tc_detach(hook(ifindex, attachPoint), opts);
  }

  public String interfaceName() {
    return name;
  }

  public int ifindex() {
    return ifindex;
  }

  /** {@link AttachMode#TCX} or {@link AttachMode#CLSACT}. */
  public AttachMode mode() {
    return mode;
  }

  /** True when attached at ingress (always). */
  public boolean capturesIngress() {
    return ingress;
  }

  /** False on lo, which is captured at ingress only. */
  public boolean capturesEgress() {
    return egress;
  }

  /** True when this attachment added the clsact qdisc (and so removes it when it is left empty). */
  public boolean createdQdisc() {
    return createdQdisc;
  }

  /** Detaches; errors of an interface that is gone are ignored. Idempotent. */
  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    if (ingressLink >= 0) {
      Libc.close(ingressLink);
      ingressLink = -1;
    }
    if (egressLink >= 0) {
      Libc.close(egressLink);
      egressLink = -1;
    }
    if (ingressFilter) {
      detachFilter(ifindex, BPF_TC_INGRESS, handle, CLSACT_PRIORITY);
    }
    if (egressFilter) {
      detachFilter(ifindex, BPF_TC_EGRESS, handle, CLSACT_PRIORITY);
    }
    if (createdQdisc && NetDevices.present(name, ifindex)
        && ClsactFilters.list(ifindex, true).isEmpty() && ClsactFilters.list(ifindex, false).isEmpty()) {
      LibBpf.bpf_tc_hook_destroy(hook(BPF_TC_INGRESS | BPF_TC_EGRESS));
    }
  }

  /** The clsact filter handle of capture {@code captureNumber} (1-1023) of process {@code pid}. */
  static int handle(long pid, int captureNumber) {
    if (pid <= 0 || pid >= (1L << 22) || captureNumber < 1 || captureNumber > 1023) {
      throw new IllegalArgumentException("pid " + pid + ", capture " + captureNumber);
    }
    return (int) (pid << 10) | captureNumber;
  }

  /** The process that owns a clsact filter handle. */
  static int owner(int handle) {
    return handle >>> 10;
  }

  /** What {@link #removeLeftovers} found and removed on one interface. */
  record Leftovers(String interfaceName, int removed, List<Integer> owners) {}

  /**
   * Removes the clsact filters a tlscap run that no longer exists left on an interface: filters
   * whose program name starts with {@value #PROGRAM_PREFIX} and whose owner (the handle) does not
   * hold that program any more. Filters of a tlscap run still alive are left alone.
   */
  static Leftovers removeLeftovers(String name, int ifindex) {
    int removed = 0;
    List<Integer> owners = new ArrayList<>();
    for (boolean in : new boolean[] {true, false}) {
      for (ClsactFilters.Filter f : ClsactFilters.list(ifindex, in)) {
        if (!"bpf".equals(f.kind()) || f.programName() == null || !f.programName().startsWith(PROGRAM_PREFIX)) {
          continue;
        }
        if (ownerHoldsProgram(owner(f.handle()), f.programId())) {
          continue;
        }
        int rc = detachFilter(ifindex, in ? BPF_TC_INGRESS : BPF_TC_EGRESS, f.handle(), f.priority());
        if (rc < 0 && rc != -Errno.ENOENT) {
          throw new BpfException("cannot remove the TC filter a killed tlscap run left on " + name + " "
              + direction(in) + " (handle " + Integer.toUnsignedString(f.handle()) + ", priority " + f.priority() + "): "
              + Errno.describe(-rc) + " (remove it: tc filter del dev " + name + " " + direction(in) + " pref "
              + f.priority() + " handle 0x" + Integer.toHexString(f.handle()) + " bpf)", -rc, "");
        }
        removed++;
        if (!owners.contains(owner(f.handle()))) {
          owners.add(owner(f.handle()));
        }
      }
    }
    return new Leftovers(name, removed, owners);
  }

  /**
   * A classifier program attached to an interface, as the kernel lists it.
   *
   * @param mode {@link AttachMode#TCX} or {@link AttachMode#CLSACT}
   * @param ownerPid for clsact filters of tlscap, the process in the handle; else -1
   */
  public record AttachedProgram(AttachMode mode, boolean ingress, String programName, int programId, int ownerPid) {}

  /**
   * Every program attached to the interface's TC hooks (TCX programs and clsact {@code bpf}
   * filters, tlscap's or not), for diagnostics and tests: {@code bpftool} of Debian 12 does not show
   * TCX links by interface.
   */
  public static List<AttachedProgram> listAttached(int ifindex) {
    List<AttachedProgram> all = new ArrayList<>();
    for (boolean in : new boolean[] {true, false}) {
      for (int id : tcxProgramIds(ifindex, in ? BPF_TCX_INGRESS : BPF_TCX_EGRESS)) {
        all.add(new AttachedProgram(AttachMode.TCX, in, programName(id), id, -1));
      }
      for (ClsactFilters.Filter f : ClsactFilters.list(ifindex, in)) {
        if ("bpf".equals(f.kind())) {
          String name = f.programId() > 0 ? programName(f.programId()) : f.programName();
          boolean ours = name != null && name.startsWith(PROGRAM_PREFIX);
          all.add(new AttachedProgram(AttachMode.CLSACT, in, name, f.programId(), ours ? owner(f.handle()) : -1));
        }
      }
    }
    return all;
  }

  /** BPF_PROG_QUERY of a TCX hook: the attached programs' ids (empty before Linux 6.6). */
  static List<Integer> tcxProgramIds(int ifindex, int attachType) {
    int capacity = 64;
    Memory ids = new Memory(4L * capacity);
    Memory count = new Memory(4);
    count.setInt(0, capacity);
    Memory flags = new Memory(4);
    int rc = LibBpf.bpf_prog_query(ifindex, attachType, 0, flags, ids, count);
    List<Integer> list = new ArrayList<>();
    if (rc < 0) {
      return list;
    }
    for (int i = 0; i < Math.min(count.getInt(0), capacity); i++) {
      list.add(ids.getInt(4L * i));
    }
    return list;
  }

  /** {@code struct bpf_prog_info} (include/uapi/linux/bpf.h): name[16] at offset 64; 256 bytes cover it. */
  static String programName(int programId) {
    int fd = LibBpf.bpf_prog_get_fd_by_id(programId);
    if (fd < 0) {
      return null;
    }
    try {
      Memory info = new Memory(256);
      info.clear();
      Memory length = new Memory(4);
      length.setInt(0, 256);
      if (LibBpf.bpf_obj_get_info_by_fd(fd, info, length) < 0) {
        return null;
      }
      return info.getString(64);
    } finally {
      Libc.close(fd);
    }
  }

  /** True when process {@code pid} has a file descriptor on BPF program {@code programId}. */
  static boolean ownerHoldsProgram(int pid, int programId) {
    if (pid <= 0) {
      return false;
    }
    Path fdinfo = Path.of("/proc", Integer.toString(pid), "fdinfo");
    String needle = "prog_id:\t" + programId + "\n";
    try (DirectoryStream<Path> entries = Files.newDirectoryStream(fdinfo)) {
      for (Path p : entries) {
        try {
          if (Files.readString(p).contains(needle)) {
            return true;
          }
        } catch (IOException | RuntimeException e) {
          // the fd closed meanwhile
        }
      }
    } catch (IOException | RuntimeException e) {
      return false; // no such process
    }
    return false;
  }

  @Override
  public String toString() {
    return name + " (" + mode.name().toLowerCase() + (ingress && egress ? ", ingress+egress" : ingress ? ", ingress" : ", egress") + ")";
  }
}

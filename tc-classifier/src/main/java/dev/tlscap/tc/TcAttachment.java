// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.tc;

import dev.tlscap.bpf.BpfException;
import dev.tlscap.bpf.BpfProgram;
import dev.tlscap.bpf.BpfSyscall;
import dev.tlscap.bpf.Errno;
import dev.tlscap.bpf.Posix;
import dev.tlscap.bpf.TcHook;
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

  /** {@code enum bpf_tc_attach_point} (libbpf.h). */
  static final int BPF_TC_INGRESS = TcHook.INGRESS;
  static final int BPF_TC_EGRESS = TcHook.EGRESS;

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
    try {
      return BpfSyscall.linkCreate(program.fd(), ifindex, attachType, BPF_F_BEFORE);
    } catch (BpfException e) {
      int errno = e.errno();
      throw new BpfException("cannot attach the TC classifier to " + name + " " + direction(attachType == BPF_TCX_INGRESS)
          + " (TCX): " + Errno.describe(errno) + hint(errno), errno, e.getMessage());
    }
  }

  /** Creates the clsact qdisc; false when it was there already (it is then never removed by tlscap). */
  private boolean createClsact() {
    try {
      return TcHook.createClsact(ifindex);
    } catch (BpfException e) {
      int errno = e.errno();
      throw new BpfException("cannot add a clsact qdisc to " + name + ": " + Errno.describe(errno) + hint(errno), errno,
          e.getMessage());
    }
  }

  private void clsactFilter(BpfProgram program, int attachPoint) {
    try {
      TcHook.attachFilter(ifindex, attachPoint, program.fd(), handle, CLSACT_PRIORITY);
    } catch (BpfException e) {
      int errno = e.errno();
      throw new BpfException("cannot attach the TC classifier to " + name + " " + direction(attachPoint == BPF_TC_INGRESS)
          + " (clsact, priority " + CLSACT_PRIORITY + ", handle " + handle + "): " + Errno.describe(errno) + hint(errno)
          + (errno == Errno.EINVAL ? " (see 'tc filter show dev " + name + " " + direction(attachPoint == BPF_TC_INGRESS) + "')" : ""),
          errno, e.getMessage());
    }
  }

  private static String hint(int errno) {
    return errno == Errno.ENODEV || errno == Errno.ENOENT ? " (the interface is gone; see 'ip link')" : "";
  }

  private static String direction(boolean ingress) {
    return ingress ? "ingress" : "egress";
  }

  /** {@link TcHook#detachFilter}; 0 or -errno. */
  private static int detachFilter(int ifindex, int attachPoint, int handle, int priority) {
    try {
      TcHook.detachFilter(ifindex, attachPoint, handle, priority);
      return 0;
    } catch (BpfException e) {
      return -e.errno();
    }
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
      Posix.close(ingressLink);
      ingressLink = -1;
    }
    if (egressLink >= 0) {
      Posix.close(egressLink);
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
      try {
        TcHook.destroyClsact(ifindex);
      } catch (BpfException e) {
        // the interface went meanwhile, and its qdisc with it
      }
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
    try {
      return BpfSyscall.progQuery(ifindex, attachType);
    } catch (BpfException e) {
      return new ArrayList<>();
    }
  }

  /** The program's name, or null when it is gone. */
  static String programName(int programId) {
    try {
      return BpfSyscall.progName(programId);
    } catch (BpfException e) {
      return null;
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

// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.bpf;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * What this machine allows, each check computed once with a cause a user can act on (Netty's
 * {@code Epoll.isAvailable()/ensureAvailability()/unavailabilityCause()} pattern).
 *
 * <p>{@code ensure*} methods throw {@link BpfException} whose message is the one line to print;
 * {@code *Cause()} methods return that line or null when the feature is there. Thread-safe.
 */
public final class BpfAvailability {
  static final int CAP_NET_ADMIN = 12;
  static final int CAP_SYS_ADMIN = 21;
  static final int CAP_PERFMON = 38;
  static final int CAP_BPF = 39;

  public static final Path BPFFS = Path.of("/sys/fs/bpf");
  public static final Path TRACEFS = Path.of("/sys/kernel/tracing");
  static final long MS_NOSUID = 2;
  static final long MS_NODEV = 4;
  static final long MS_NOEXEC = 8;

  private BpfAvailability() {}

  private static final class Libbpf {
    static final String CAUSE = computeLibbpfCause();
  }

  private static final class Privileges {
    static final String CAUSE = computePrivilegesCause();
  }

  private static final class Kernel {
    static final int[] VERSION = parseKernelVersion(read(Path.of("/proc/sys/kernel/osrelease")).trim());
  }

  /** Null when libbpf 1.1+ is loadable, else why not and what to install. */
  public static String libbpfCause() {
    return Libbpf.CAUSE;
  }

  public static void ensureLibbpf() {
    if (Libbpf.CAUSE != null) {
      throw new BpfException(Libbpf.CAUSE);
    }
  }

  /** libbpf's version, e.g. "1.1". */
  public static String libbpfVersion() {
    ensureLibbpf();
    return LibBpf.libbpf_major_version() + "." + LibBpf.libbpf_minor_version();
  }

  private static String computeLibbpfCause() {
    try {
      int major = LibBpf.libbpf_major_version();
      int minor = LibBpf.libbpf_minor_version();
      if (major < 1 || (major == 1 && minor < 1)) {
        return "libbpf " + major + "." + minor + " is too old: tlscap needs libbpf 1.1 or newer (package libbpf1)";
      }
      return null;
    } catch (LinkageError e) {
      return "libbpf is not installed: " + LibBpf.LIBRARY + " not found (install it: apt-get install libbpf1)";
    }
  }

  /** Null when this process may load BPF programs and attach probes and TC filters. */
  public static String privilegesCause() {
    return Privileges.CAUSE;
  }

  public static void ensurePrivileges() {
    if (Privileges.CAUSE != null) {
      throw new BpfException(Privileges.CAUSE);
    }
  }

  private static String computePrivilegesCause() {
    return privilegesCause(effectiveCapabilities());
  }

  /** The privileges cause for an effective capability set (bit n = capability n). */
  static String privilegesCause(long caps) {
    boolean bpf = has(caps, CAP_BPF) || has(caps, CAP_SYS_ADMIN);
    boolean perfmon = has(caps, CAP_PERFMON) || has(caps, CAP_SYS_ADMIN);
    boolean netAdmin = has(caps, CAP_NET_ADMIN);
    if (bpf && perfmon && netAdmin) {
      return null;
    }
    return "needs root or CAP_BPF, CAP_PERFMON and CAP_NET_ADMIN (run it with sudo)";
  }

  private static boolean has(long caps, int cap) {
    return (caps & (1L << cap)) != 0;
  }

  /** CapEff of this process, from /proc/self/status. */
  static long effectiveCapabilities() {
    for (String line : read(Path.of("/proc/self/status")).split("\n")) {
      if (line.startsWith("CapEff:")) {
        return Long.parseUnsignedLong(line.substring(7).trim(), 16);
      }
    }
    return 0;
  }

  /** Null when the kernel can attach uprobes (the uprobe PMU exists). */
  public static String uprobesCause() {
    return Files.exists(Path.of("/sys/bus/event_source/devices/uprobe/type")) ? null
        : "this kernel cannot attach uprobes (it lacks CONFIG_UPROBE_EVENTS), so TLS secrets cannot be collected";
  }

  public static void ensureUprobes() {
    String cause = uprobesCause();
    if (cause != null) {
      throw new BpfException(cause);
    }
  }

  /** Null when the kernel describes its own types (BTF), which CO-RE programs need. */
  public static String btfCause() {
    return Files.exists(Path.of("/sys/kernel/btf/vmlinux")) ? null
        : "this kernel has no BTF (/sys/kernel/btf/vmlinux is missing; it needs CONFIG_DEBUG_INFO_BTF)";
  }

  public static void ensureBtf() {
    String cause = btfCause();
    if (cause != null) {
      throw new BpfException(cause);
    }
  }

  /** Mounts the BPF filesystem on /sys/fs/bpf unless it is mounted. */
  public static synchronized void ensureBpffs() {
    if (mounted(BPFFS, "bpf")) {
      return;
    }
    ensureLibbpf();
    if (Libc.mount("bpf", BPFFS.toString(), "bpf", MS_NOSUID | MS_NODEV | MS_NOEXEC, null) != 0) {
      int errno = Errno.last();
      throw new BpfException("cannot mount the BPF filesystem on " + BPFFS + ": " + Errno.describe(errno)
          + " (mount it: mount -t bpf bpf " + BPFFS + ")");
    }
  }

  /** Mounts tracefs on /sys/kernel/tracing unless it is there (tracepoint attach reads event ids from it). */
  public static synchronized void ensureTracefs() {
    if (Files.exists(TRACEFS.resolve("events")) || Files.exists(Path.of("/sys/kernel/debug/tracing/events"))) {
      return;
    }
    ensureLibbpf();
    if (Libc.mount("tracefs", TRACEFS.toString(), "tracefs", MS_NOSUID | MS_NODEV | MS_NOEXEC, null) != 0) {
      int errno = Errno.last();
      throw new BpfException("cannot mount tracefs on " + TRACEFS + ": " + Errno.describe(errno)
          + " (mount it: mount -t tracefs tracefs " + TRACEFS + ")");
    }
  }

  /** True when the running kernel is at least {@code major.minor}. */
  public static boolean kernelAtLeast(int major, int minor) {
    int[] v = Kernel.VERSION;
    return v[0] > major || (v[0] == major && v[1] >= minor);
  }

  /** The running kernel's release, e.g. "6.18.44". */
  public static String kernelRelease() {
    return read(Path.of("/proc/sys/kernel/osrelease")).trim();
  }

  static int[] parseKernelVersion(String release) {
    String[] parts = release.split("[.\\-+]");
    try {
      return new int[] {Integer.parseInt(parts[0]), parts.length > 1 ? Integer.parseInt(parts[1]) : 0};
    } catch (NumberFormatException e) {
      return new int[] {0, 0};
    }
  }

  static boolean mounted(Path where, String type) {
    for (String line : read(Path.of("/proc/self/mounts")).split("\n")) {
      String[] f = line.split(" ");
      if (f.length > 2 && f[1].equals(where.toString()) && f[2].equals(type)) {
        return true;
      }
    }
    return false;
  }

  private static String read(Path p) {
    try {
      return Files.readString(p);
    } catch (IOException e) {
      return "";
    }
  }

  /** Every check at once, for {@code --version}-style diagnostics: one line each. */
  public static List<String> report() {
    return List.of(
        "libbpf: " + (libbpfCause() == null ? libbpfVersion() : libbpfCause()),
        "privileges: " + (privilegesCause() == null ? "ok" : privilegesCause()),
        "uprobes: " + (uprobesCause() == null ? "ok" : uprobesCause()),
        "BTF: " + (btfCause() == null ? "ok" : btfCause()),
        "kernel: " + kernelRelease());
  }
}

// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.bpf;

import com.sun.jna.Memory;
import com.sun.jna.Pointer;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A program of a loaded {@link BpfObject}, and the ways to attach it. Every attach returns a
 * {@link BpfLink} owned by the object. Errors name the program, the target and the reason.
 */
public final class BpfProgram {
  /** {@code struct bpf_uprobe_opts} (libbpf.h, 1.1): sz@0, ref_ctr_offset@8, bpf_cookie@16, retprobe@24, func_name@32. */
  static final int UPROBE_OPTS_SIZE = 40;
  static final int UPROBE_OPTS_COOKIE = 16;
  static final int UPROBE_OPTS_RETPROBE = 24;
  static final int UPROBE_OPTS_FUNC_NAME = 32;

  /**
   * {@code struct bpf_test_run_opts} (bpf.h, 1.1): sz@0, data_in@8, data_size_in@24, ctx_in@32,
   * ctx_size_in@48, retval@56, repeat@60, duration@64, ... 80 bytes.
   */
  static final int TEST_RUN_OPTS_SIZE = 80;
  static final int TEST_RUN_OPTS_DATA_IN = 8;
  static final int TEST_RUN_OPTS_DATA_SIZE_IN = 24;
  static final int TEST_RUN_OPTS_CTX_IN = 32;
  static final int TEST_RUN_OPTS_CTX_SIZE_IN = 48;
  static final int TEST_RUN_OPTS_RETVAL = 56;
  static final int TEST_RUN_OPTS_REPEAT = 60;
  static final int TEST_RUN_OPTS_DURATION = 64;

  private final BpfObject owner;
  private final Pointer program;
  private final String name;

  BpfProgram(BpfObject owner, Pointer program, String name) {
    this.owner = owner;
    this.program = program;
    this.name = name;
  }

  public String name() {
    return name;
  }

  public int fd() {
    int fd = LibBpf.bpf_program__fd(program);
    if (fd < 0) {
      throw new IllegalStateException("program " + name + " is not loaded");
    }
    return fd;
  }

  public BpfObject object() {
    return owner;
  }

  /**
   * Attaches to function {@code symbol} of the ELF file {@code binary} (a shared library or an
   * executable), at entry or, with {@code returnProbe}, at return. {@code pid} -1 traces every
   * process that maps the file, including those started later.
   */
  public BpfLink attachUprobe(Path binary, String symbol, boolean returnProbe, int pid) {
    return attachUprobe(binary, symbol, returnProbe, pid, 0);
  }

  /** As {@link #attachUprobe(Path, String, boolean, int)}, with a cookie the program reads with bpf_get_attach_cookie(). */
  public BpfLink attachUprobe(Path binary, String symbol, boolean returnProbe, int pid, long cookie) {
    String kind = returnProbe ? "uretprobe" : "uprobe";
    String target = binary + ":" + symbol;
    String what = "cannot attach " + kind + " '" + name + "' to " + target;
    if (!Files.exists(binary)) {
      throw new BpfException(what + ": " + binary + " does not exist");
    }
    if (!Files.isRegularFile(binary)) {
      throw new BpfException(what + ": " + binary + " is not a regular file");
    }
    BpfAvailability.ensureUprobes();
    int site = returnProbe ? 0 : entrySite(binary, symbol);
    Memory function = new Memory(symbol.length() + 1L);
    function.setString(0, symbol);
    Memory opts = new Memory(UPROBE_OPTS_SIZE);
    opts.clear();
    opts.setLong(0, UPROBE_OPTS_SIZE);
    opts.setLong(UPROBE_OPTS_COOKIE, cookie);
    opts.setByte(UPROBE_OPTS_RETPROBE, (byte) (returnProbe ? 1 : 0));
    opts.setPointer(UPROBE_OPTS_FUNC_NAME, function);
    LibbpfLog.begin();
    Pointer link = LibBpf.bpf_program__attach_uprobe_opts(program, pid, binary.toString(), site, opts);
    if (link == null) {
      int errno = Errno.last();
      String log = LibbpfLog.collected();
      String reason;
      if (errno == Errno.ENOENT || errno == Errno.ESRCH) {
        reason = pid > 0 && errno == Errno.ESRCH ? "no process " + pid
            : "symbol " + symbol + " not found in " + binary;
      } else if (log.contains("not an ELF") || log.contains("failed to open ELF") || errno == 4001
          || log.contains("elf_begin")) {
        reason = binary + " is not an ELF file";
      } else {
        reason = Errno.describe(errno);
      }
      throw new BpfException(what + ": " + reason, errno, log);
    }
    return new BpfLink(owner, link, kind + " " + target + (site != 0 ? "+" + site : ""));
  }

  /**
   * Attaches an entry probe at byte {@code fileOffset} of the ELF file {@code binary}, for every
   * process that maps it (now and later): for functions found without a symbol table, such as Go's
   * in {@code .gopclntab}. {@code what} names the place in messages (e.g. the function's name).
   * The offset is used as given (no {@link UprobeSite} placement: the caller chose it).
   */
  public BpfLink attachUprobeAt(Path binary, long fileOffset, String what, long cookie) {
    String target = binary + ":" + what + " (offset 0x" + Long.toHexString(fileOffset) + ")";
    String failure = "cannot attach uprobe '" + name + "' to " + target;
    if (!Files.isRegularFile(binary)) {
      throw new BpfException(failure + ": " + binary + (Files.exists(binary) ? " is not a regular file" : " does not exist"));
    }
    BpfAvailability.ensureUprobes();
    Memory opts = new Memory(UPROBE_OPTS_SIZE);
    opts.clear();
    opts.setLong(0, UPROBE_OPTS_SIZE);
    opts.setLong(UPROBE_OPTS_COOKIE, cookie);
    LibbpfLog.begin();
    Pointer link = LibBpf.bpf_program__attach_uprobe_opts(program, -1, binary.toString(), fileOffset, opts);
    if (link == null) {
      int errno = Errno.last();
      throw new BpfException(failure + ": " + Errno.describe(errno), errno, LibbpfLog.collected());
    }
    return new BpfLink(owner, link, "uprobe " + target);
  }

  /** See {@link UprobeSite}: the cheapest equivalent offset for an entry probe on {@code symbol}. */
  private static int entrySite(Path binary, String symbol) {
    try {
      byte[] code = ElfSymbols.read(binary, java.util.Set.of(symbol), ElfSymbols.Version.NEVER).code(symbol);
      return UprobeSite.entryOffset(code, System.getProperty("os.arch"));
    } catch (java.io.IOException e) {
      return 0; // libbpf reports what is wrong with the file
    }
  }

  /** Attaches to a raw tracepoint such as {@code sys_enter} or {@code sched_process_exec}. */
  public BpfLink attachRawTracepoint(String tracepoint) {
    LibbpfLog.begin();
    Pointer link = LibBpf.bpf_program__attach_raw_tracepoint(program, tracepoint);
    if (link == null) {
      int errno = Errno.last();
      throw new BpfException("cannot attach '" + name + "' to raw tracepoint " + tracepoint + ": "
          + Errno.describe(errno), errno, LibbpfLog.collected());
    }
    return new BpfLink(owner, link, "raw_tp " + tracepoint);
  }

  /** Attaches to tracepoint {@code category:event} (mounts tracefs first if it is not mounted). */
  public BpfLink attachTracepoint(String category, String event) {
    BpfAvailability.ensureTracefs();
    LibbpfLog.begin();
    Pointer link = LibBpf.bpf_program__attach_tracepoint(program, category, event);
    if (link == null) {
      int errno = Errno.last();
      throw new BpfException("cannot attach '" + name + "' to tracepoint " + category + ":" + event + ": "
          + Errno.describe(errno), errno, LibbpfLog.collected());
    }
    return new BpfLink(owner, link, "tracepoint " + category + ":" + event);
  }

  /**
   * Runs the program once in the kernel with {@code BPF_PROG_TEST_RUN} (for {@code SEC("syscall")}
   * and raw tracepoint programs) with {@code context} as its context; returns the program's return value.
   */
  public int testRun(byte[] context) {
    Memory ctx = null;
    if (context != null && context.length > 0) {
      ctx = new Memory(context.length);
      ctx.write(0, context, 0, context.length);
    }
    Memory opts = new Memory(TEST_RUN_OPTS_SIZE);
    opts.clear();
    opts.setLong(0, TEST_RUN_OPTS_SIZE);
    if (ctx != null) {
      opts.setPointer(TEST_RUN_OPTS_CTX_IN, ctx);
      opts.setInt(TEST_RUN_OPTS_CTX_SIZE_IN, context.length);
    }
    int rc = LibBpf.bpf_prog_test_run_opts(fd(), opts);
    if (rc < 0) {
      throw BpfException.of("test run of BPF program " + name + " failed", -rc);
    }
    return opts.getInt(TEST_RUN_OPTS_RETVAL);
  }

  /**
   * What {@link #testRunPacket} measured.
   *
   * @param retval the program's return value (of the last run)
   * @param nanosPerRun the kernel's average time of one run
   */
  public record TestRun(int retval, long nanosPerRun) {}

  /**
   * Runs the program {@code repeat} times in the kernel with {@code BPF_PROG_TEST_RUN} on a copy of
   * {@code packet} (for a TC program: a frame from its link-layer header on), for benchmarks and
   * tests. The program's side effects (map updates, ring-buffer records) are real.
   */
  public TestRun testRunPacket(byte[] packet, int repeat) {
    Memory data = new Memory(Math.max(1, packet.length));
    data.write(0, packet, 0, packet.length);
    Memory opts = new Memory(TEST_RUN_OPTS_SIZE);
    opts.clear();
    opts.setLong(0, TEST_RUN_OPTS_SIZE);
    opts.setPointer(TEST_RUN_OPTS_DATA_IN, data);
    opts.setInt(TEST_RUN_OPTS_DATA_SIZE_IN, packet.length);
    opts.setInt(TEST_RUN_OPTS_REPEAT, repeat);
    int rc = LibBpf.bpf_prog_test_run_opts(fd(), opts);
    if (rc < 0) {
      throw BpfException.of("bpf_prog_test_run_opts of BPF program " + name + " failed", -rc);
    }
    return new TestRun(opts.getInt(TEST_RUN_OPTS_RETVAL), Integer.toUnsignedLong(opts.getInt(TEST_RUN_OPTS_DURATION)));
  }

  @Override
  public String toString() {
    return name;
  }
}

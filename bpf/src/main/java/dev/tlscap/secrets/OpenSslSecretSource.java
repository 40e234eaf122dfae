// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.secrets;

import dev.tlscap.bpf.BpfException;
import dev.tlscap.bpf.BpfLink;
import dev.tlscap.bpf.BpfMap;
import dev.tlscap.bpf.BpfObject;
import dev.tlscap.bpf.BpfProgram;
import dev.tlscap.bpf.ElfSymbols;
import dev.tlscap.bpf.Posix;
import dev.tlscap.bpf.RingBufferReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.function.Consumer;

/**
 * TLS secrets from every OpenSSL 1.1/3, BoringSSL and GnuTLS program on the host
 * (bpf/src/main/bpf/tls_secrets.bpf.c): loads the program, attaches the uprobes of each target
 * {@link TlsLibraryFinder} finds ({@code EVP_KDF_derive} of OpenSSL 3, ...; {@link
 * TlsLibraryFinder#functionsOf}) and decodes the events.
 *
 * <p>TLS 1.2 secrets arrive complete (master secret and client random). TLS 1.3 secrets arrive with
 * their process and thread but without the client random, which no KDF call carries: the capture
 * pipeline keys them by trial decryption against the packets. With {@link Options#socketTracing()}
 * a raw tracepoint on syscall exit also follows TLS socket I/O and attaches the client random and
 * the socket in the kernel, for traffic tlscap does not capture; it costs every syscall of every
 * process on the host (getppid 200 -> 356 ns here), so it is off by default.
 *
 * <p>The kernel side never wakes the consumer (a wakeup per secret cost 6% of the handshake rate of
 * {@code openssl s_time}): drain it on a timer, every {@link #DRAIN_INTERVAL_MS} ms or so.
 * {@link #poll} does that for a plain thread.
 *
 * <p>Lifecycle: {@link #open} (throws {@link BpfException} or {@link IllegalArgumentException} with
 * the one line to print when it cannot start) -> {@link #drain}/{@link #poll} on one thread, with
 * {@link #scan()} now and then to trace libraries that appear later (new containers) ->
 * {@link #close()}, which detaches everything. Not thread-safe: one consumer thread.
 */
public final class OpenSslSecretSource implements SecretSource {
  /** The library family this source reads. */
  public static final String LIBRARY = "OpenSSL 3";

  static final String OBJECT = "/bpf/tls_secrets.bpf.o";
  /** How often a consumer should drain the events (they arrive without wakeups). */
  public static final int DRAIN_INTERVAL_MS = 10;
  /** {@code BPF_RB_NO_WAKEUP} of include/uapi/linux/bpf.h. */
  static final long BPF_RB_NO_WAKEUP = 1;
  /** {@code struct tls_counters} of tls_abi.h: five u64 counters. */
  static final int COUNTER_SECRETS = 0;
  static final int COUNTER_CLIENT_HELLOS = 8;
  static final int COUNTER_RING_FULL = 16;
  static final int COUNTER_PARAMS_UNREADABLE = 24;
  static final int COUNTER_KDF_CALLS = 32;

  /**
   * What to trace.
   *
   * @param pid only this process (0: every process)
   * @param comm only processes with this name (null: every process)
   * @param libssl extra ELF files to trace (statically linked programs); each must define EVP_KDF_derive
   * @param ringBytes the event ring's size, a power of two
   * @param scanSystem look for the system's libcrypto and those of running processes
   * @param socketTracing also follow TLS socket I/O (see the class comment for its cost)
   */
  public record Options(int pid, String comm, List<Path> libssl, int ringBytes, boolean scanSystem,
      boolean socketTracing) {
    public Options {
      libssl = List.copyOf(libssl);
      if (comm != null && comm.getBytes(StandardCharsets.UTF_8).length > 15) {
        throw new IllegalArgumentException("--comm " + comm + ": the kernel keeps 15 bytes of a process name; use its first 15");
      }
    }

    public static Options defaults() {
      return new Options(0, null, List.of(), 4 << 20, true, false);
    }
  }

  /** Counters the BPF side keeps (summed over CPUs). */
  public record Counters(long secrets, long clientHellos, long ringFull, long paramsUnreadable, long kdfCalls) {}

  
  private final BpfObject object;
  private final BpfProgram entry;
  private final BpfProgram bsslHkdf;
  private final BpfProgram bsslPrf;
  private final BpfProgram ossl11Ctrl;
  private final BpfProgram ossl11Derive;
  private final BpfProgram gnutlsPrf;
  private final BpfProgram nettleHkdf;
  private final BpfProgram nssHmacUpdate;
  private final BpfProgram nssHmacFinish;
  private final BpfProgram nssHmacDestroy;
  private final BpfProgram nssTlsPHash;
  private final BpfProgram nssTlsPrf;
  private final RingBufferReader reader;
  private final BpfMap counters;
  private final TlsLibraryFinder finder;
  private final Consumer<String> messages;
  private final List<TlsLibrary> libraries = new ArrayList<>();
  private long malformed;

  private OpenSslSecretSource(BpfObject object, TlsLibraryFinder finder, Consumer<String> messages) {
    this.object = object;
    this.finder = finder;
    this.messages = messages;
    this.entry = object.program("kdf_derive_entry");
    this.bsslHkdf = object.program("bssl_hkdf_expand");
    this.bsslPrf = object.program("bssl_tls1_prf");
    this.ossl11Ctrl = object.program("ossl11_ctrl");
    this.ossl11Derive = object.program("ossl11_derive");
    this.gnutlsPrf = object.program("gnutls_prf_raw");
    this.nettleHkdf = object.program("nettle_hkdf_expand");
    this.nssHmacUpdate = object.program("nss_hmac_update");
    this.nssHmacFinish = object.program("nss_hmac_finish");
    this.nssHmacDestroy = object.program("nss_hmac_destroy");
    this.nssTlsPHash = object.program("nss_tls_p_hash");
    this.nssTlsPrf = object.program("nss_tls_prf");
    this.reader = new RingBufferReader(object.map("events"));
    object.closeWith(reader);
    this.counters = object.map("counters");
  }

  /**
   * Loads and attaches. {@code messages} receives one line for each library traced and each warning
   * (a library that cannot be traced; the capture goes on without it).
   */
  public static OpenSslSecretSource open(Options options, Consumer<String> messages) {
    TlsLibraryFinder finder = new TlsLibraryFinder(messages);
    List<TlsLibrary> named = new ArrayList<>();
    for (Path p : options.libssl()) {
      named.add(finder.named(p)); // a file the user named must be usable: fail before loading anything
    }
    BpfObject object = BpfObject.open(OpenSslSecretSource.class, OBJECT);
    try {
      object.setRodataU32("own_pid", Posix.processId());
      object.setRodataU64("submit_flags", BPF_RB_NO_WAKEUP);
      object.setRodataU32("target_pid", options.pid());
      byte[] comm = new byte[16];
      if (options.comm() != null) {
        byte[] name = options.comm().getBytes(StandardCharsets.UTF_8);
        System.arraycopy(name, 0, comm, 0, name.length);
      }
      object.setRodata("target_comm", comm);
      SyscallNumbers.forThisMachine().apply(object);
      object.setMaxEntries("events", options.ringBytes());
      object.setAutoload("tls_socket_io", options.socketTracing());
      object.load();
      OpenSslSecretSource source = new OpenSslSecretSource(object, finder, messages);
      if (options.socketTracing()) {
        object.program("tls_socket_io").attachRawTracepoint("sys_exit");
      }
      for (TlsLibrary library : named) {
        source.attach(library, true);
      }
      if (options.scanSystem()) {
        source.scan();
      }
      return source;
    } catch (RuntimeException e) {
      object.close();
      throw e;
    }
  }

  @Override
  public String library() {
    return LIBRARY;
  }

  /** Finds and traces libraries not traced yet; returns them. */
  @Override
  public List<TlsLibrary> scan() {
    return attachAll(finder.scan());
  }

  /** Traces the libraries process {@code pid} maps, if new (e.g. right after it started). */
  @Override
  public List<TlsLibrary> scanProcess(int pid) {
    return attachAll(finder.scanProcess(pid));
  }

  /** Traces the libraries a started process mapped since its executable was examined, if new. */
  @Override
  public List<TlsLibrary> scanLoadedLibraries(int pid) {
    return attachAll(finder.scanLoadedLibraries(pid));
  }

  /** Traces the libcrypto files of a started program's root, when it is not ours (a container, a chroot). */
  @Override
  public List<TlsLibrary> scanRoot(int pid) {
    return attachAll(finder.scanRoot(pid));
  }

  /** Attaches each library found; returns those attached (a failure is a warning line). */
  private List<TlsLibrary> attachAll(List<TlsLibrary> found) {
    List<TlsLibrary> added = new ArrayList<>();
    for (TlsLibrary library : found) {
      if (attach(library, false)) {
        added.add(library);
      }
    }
    return added;
  }

  @Override
  public java.util.Optional<TlsLibrary> examine(Path file, String origin) {
    return finder.examine(file, origin).filter(library -> attach(library, false));
  }

  private boolean attach(TlsLibrary library, boolean mustWork) {
    try {
      Path file = finder.attachPath(library);
      // one file, one or two probes: all or none (a half-traced library would lose TLS 1.2 or 1.3)
      List<String> functions = TlsLibraryFinder.functionsOf(library.kind());
      List<BpfProgram> programs = switch (library.kind()) {
        case BORINGSSL -> List.of(bsslHkdf, bsslPrf);
        case OPENSSL_1_1 -> List.of(ossl11Ctrl, ossl11Derive);
        case GNUTLS -> List.of(gnutlsPrf);
        case NETTLE -> List.of(nettleHkdf);
        case NSS -> List.of(nssHmacUpdate, nssHmacFinish, nssHmacDestroy, nssTlsPHash, nssTlsPrf);
        default -> List.of(entry);
      };
      List<BpfLink> links = new ArrayList<>();
      try {
        for (int i = 0; i < functions.size(); i++) {
          links.add(attachAt(programs.get(i), file, library, functions.get(i)));
        }
      } catch (BpfException e) {
        links.forEach(BpfLink::close);
        throw e;
      }
      String described = library.describe();
      if (library.kind() == TlsLibrary.Kind.OPENSSL_3 || library.kind() == TlsLibrary.Kind.OPENSSL_1_1) {
        String version = library.opensslVersion() != null ? library.opensslVersion()
            : ElfSymbols.opensslVersionOf(file);
        described = version != null ? "OpenSSL " + version : null;
      }
      finder.attached(library);
      libraries.add(library);
      messages.accept("TLS secrets from " + TlsLibraryFinder.display(library.path(), library.origin())
          + (described != null ? " (" + described + ")" : ""));
      return true;
    } catch (BpfException e) {
      finder.forget(library);
      if (mustWork) {
        throw e;
      }
      messages.accept("warning: " + e.getMessage());
      return false;
    }
  }

  /** Attaches {@code program} at {@code function}'s probe site (by file offset: local .symtab symbols too). */
  private static BpfLink attachAt(BpfProgram program, Path file, TlsLibrary library, String function) {
    Long site = library.sites().get(function);
    if (site == null) {
      return program.attachUprobe(file, function, false, -1);
    }
    return program.attachUprobeAt(file, site, function, 0);
  }

  /** The files traced so far. */
  @Override
  public List<TlsLibrary> libraries() {
    return Collections.unmodifiableList(libraries);
  }

  @Override
  public int drain(java.util.function.Consumer<TlsSecret> sink) {
    return drain((TlsEventListener) sink::accept);
  }

  /** Decodes every pending event to {@code listener}; returns how many records were read. */
  public int drain(TlsEventListener listener) {
    return reader.drain((data, at, length) -> decode(data, at, length, listener));
  }

  /**
   * As {@link #drain}; when nothing is pending, sleeps up to {@code timeoutMs} (in steps of
   * {@link #DRAIN_INTERVAL_MS}) until something is.
   */
  public int poll(TlsEventListener listener, int timeoutMs) throws InterruptedException {
    long deadline = System.nanoTime() + timeoutMs * 1_000_000L;
    int n = drain(listener);
    while (n == 0 && System.nanoTime() < deadline) {
      Thread.sleep(Math.min(DRAIN_INTERVAL_MS, Math.max(1, timeoutMs)));
      n = drain(listener);
    }
    return n;
  }

  private void decode(java.nio.ByteBuffer data, int at, int length, TlsEventListener listener) {
    try {
      TlsEventView.dispatch(data, at, length, listener);
    } catch (TlsEventView.MalformedEventException e) {
      malformed++;
    }
  }

  /** Records that could not be decoded (counted, skipped), plus those whose listener threw. */
  public long malformedEvents() {
    return malformed + reader.handlerFailures();
  }

  @Override
  public SecretCounters counters() {
    Counters c = kernelCounters();
    return new SecretCounters(c.secrets(), c.ringFull(), c.paramsUnreadable(), malformedEvents());
  }

  /** The BPF side's own counters, ClientHellos and KDF calls included. */
  public Counters kernelCounters() {
    return new Counters(counters.sumPerCpuU64(0, COUNTER_SECRETS), counters.sumPerCpuU64(0, COUNTER_CLIENT_HELLOS),
        counters.sumPerCpuU64(0, COUNTER_RING_FULL), counters.sumPerCpuU64(0, COUNTER_PARAMS_UNREADABLE),
        counters.sumPerCpuU64(0, COUNTER_KDF_CALLS));
  }

  @Override
  public void close() {
    try {
      object.close();
    } catch (RuntimeException e) {
      messages.accept("warning: " + e.getMessage());
    }
  }

  /** The syscall numbers tls_secrets.bpf.c watches, which differ by architecture. */
  enum SyscallNumbers {
    X86_64(0, 1, 19, 20, 44, 45, 46, 47),
    AARCH64(63, 64, 65, 66, 206, 207, 211, 212);

    final int[] numbers;
    static final String[] NAMES = {"nr_read", "nr_write", "nr_readv", "nr_writev", "nr_sendto", "nr_recvfrom",
        "nr_sendmsg", "nr_recvmsg"};

    SyscallNumbers(int... numbers) {
      this.numbers = numbers;
    }

    static SyscallNumbers forThisMachine() {
      String arch = System.getProperty("os.arch");
      if (arch.equals("amd64") || arch.equals("x86_64")) {
        return X86_64;
      }
      if (arch.equals("aarch64")) {
        return AARCH64;
      }
      throw new BpfException("tlscap supports x86_64 and arm64, not " + arch);
    }

    void apply(BpfObject object) {
      for (int i = 0; i < NAMES.length; i++) {
        object.setRodataU32(NAMES[i], numbers[i]);
      }
    }

    @Override
    public String toString() {
      return name() + Arrays.toString(numbers);
    }
  }
}

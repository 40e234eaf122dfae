// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.bpf;

import com.sun.jna.Memory;
import com.sun.jna.Pointer;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * A BPF ELF object opened with libbpf: open (from a jar resource) -> set read-only globals -> load
 * -> find programs and maps -> attach -> close.
 *
 * <p>Closing the object detaches every link made through its programs, then frees programs and
 * maps; nothing stays in the kernel afterwards. Not thread-safe for open/load/attach/close (do them
 * on one thread); map operations on {@link BpfMap} may run on any thread.
 *
 * <p>Errors are {@link BpfException}s whose message is one line naming the object, the program and
 * the kernel's or libbpf's reason; the verifier log is in {@link BpfException#details()}.
 */
public final class BpfObject implements AutoCloseable {
  /** {@code struct bpf_object_open_opts} of libbpf 1.1 (libbpf.h): sz@0, object_name@8, ... 80 bytes. */
  static final int OPEN_OPTS_SIZE = 80;
  static final int OPEN_OPTS_OBJECT_NAME = 8;

  private final String name;
  private final Memory elf;
  private final Memory objectName;
  private Pointer object;
  private boolean loaded;
  private final List<BpfLink> links = new ArrayList<>();
  private final List<AutoCloseable> dependents = new ArrayList<>();
  private Btf btf;

  private BpfObject(String name, Memory elf, Memory objectName, Pointer object) {
    this.name = name;
    this.elf = elf;
    this.objectName = objectName;
    this.object = object;
  }

  /**
   * Opens the BPF object stored as a class-path resource, e.g. {@code open(MyClass.class,
   * "/bpf/tls_secrets.bpf.o")}. Needs no privileges: nothing reaches the kernel before {@link #load()}.
   */
  public static BpfObject open(Class<?> anchor, String resource) {
    byte[] bytes;
    try (InputStream in = anchor.getResourceAsStream(resource)) {
      if (in == null) {
        throw new BpfException("BPF object " + resource + " is not in the jar (was it built? run 'mvn package')");
      }
      bytes = in.readAllBytes();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read BPF object " + resource, e);
    }
    String file = resource.substring(resource.lastIndexOf('/') + 1);
    return open(bytes, file);
  }

  /** Opens a BPF object from its ELF bytes; {@code name} (e.g. {@code tls_secrets.bpf.o}) is used in messages. */
  public static BpfObject open(byte[] elfBytes, String name) {
    BpfAvailability.ensureLibbpf();
    LibbpfLog.install();
    Memory elf = new Memory(elfBytes.length);
    elf.write(0, elfBytes, 0, elfBytes.length);
    // libbpf names internal maps "<object name prefix>.rodata"; keep the object name short and clean.
    String objectName = name.replace(".bpf.o", "").replace(".o", "");
    Memory nameMemory = new Memory(objectName.length() + 1L);
    nameMemory.setString(0, objectName);
    Memory opts = new Memory(OPEN_OPTS_SIZE);
    opts.clear();
    opts.setLong(0, OPEN_OPTS_SIZE);
    opts.setPointer(OPEN_OPTS_OBJECT_NAME, nameMemory);
    LibbpfLog.begin();
    Pointer object = LibBpf.bpf_object__open_mem(elf, elfBytes.length, opts);
    if (object == null) {
      int errno = Errno.last();
      String log = LibbpfLog.collected();
      String reason = LibbpfLog.lastLibbpfError(log);
      throw new BpfException("cannot open BPF object " + name + ": "
          + (reason != null ? reason : Errno.describe(errno)), errno, log);
    }
    return new BpfObject(name, elf, nameMemory, object);
  }

  public String name() {
    return name;
  }

  Pointer handle() {
    if (object == null) {
      throw new IllegalStateException("BPF object " + name + " is closed");
    }
    return object;
  }

  /** The object's BTF (types of its maps, globals and shared structs). Available before load. */
  public Btf btf() {
    if (btf == null) {
      Pointer p = LibBpf.bpf_object__btf(handle());
      if (p == null) {
        throw new BpfException("BPF object " + name + " has no BTF (compile it with clang -g)");
      }
      btf = new Btf(p, name);
    }
    return btf;
  }

  /**
   * Sets a {@code const volatile} global (in {@code .rodata}) before {@link #load()}. The value's
   * bytes are in native order and must be exactly the variable's size.
   */
  public BpfObject setRodata(String variable, byte[] value) {
    if (loaded) {
      throw new IllegalStateException("read-only global " + variable + " must be set before load()");
    }
    Btf.Variable var = btf().variable(".rodata", variable);
    if (var.size() != value.length) {
      throw new IllegalArgumentException("read-only global " + variable + " of " + name + " has " + var.size()
          + " bytes, not " + value.length);
    }
    Pointer rodata = LibBpf.bpf_object__find_map_by_name(handle(), ".rodata");
    if (rodata == null) {
      throw new BpfException("BPF object " + name + " has no .rodata section");
    }
    Memory size = new Memory(8);
    Pointer data = LibBpf.bpf_map__initial_value(rodata, size);
    if (data == null || size.getLong(0) < (long) var.offset() + var.size()) {
      throw new BpfException("cannot set " + variable + " in " + name + ": .rodata is not writable");
    }
    data.write(var.offset(), value, 0, value.length);
    return this;
  }

  public BpfObject setRodataU32(String variable, int value) {
    return setRodata(variable, Bytes.u32(value));
  }

  public BpfObject setRodataU64(String variable, long value) {
    return setRodata(variable, Bytes.u64(value));
  }

  /** Sets the maximum entries of a map before load (e.g. a ring buffer's size in bytes). */
  public BpfObject setMaxEntries(String map, int maxEntries) {
    if (loaded) {
      throw new IllegalStateException("map " + map + " must be sized before load()");
    }
    int rc = LibBpf.bpf_map__set_max_entries(mapPointer(map), maxEntries);
    if (rc < 0) {
      throw BpfException.of("cannot size map " + map + " of " + name + " to " + maxEntries, -rc);
    }
    return this;
  }

  /** Does not load the named program (e.g. one whose attach point this kernel lacks). */
  public BpfObject setAutoload(String program, boolean autoload) {
    Pointer p = LibBpf.bpf_object__find_program_by_name(handle(), program);
    if (p == null) {
      throw new BpfException("BPF object " + name + " has no program " + program);
    }
    LibBpf.bpf_program__set_autoload(p, autoload);
    return this;
  }

  /**
   * Loads every program and map into the kernel. A verifier rejection becomes one line naming the
   * program and the verifier's reason; the whole log is in {@link BpfException#details()}.
   */
  public BpfObject load() {
    BpfAvailability.ensurePrivileges();
    LibbpfLog.begin();
    int rc = LibBpf.bpf_object__load(handle());
    if (rc < 0) {
      String log = LibbpfLog.collected();
      String program = LibbpfLog.failedProgram(log);
      String reason = LibbpfLog.verifierReason(log);
      String message;
      if (reason != null) {
        message = "BPF program " + (program != null ? "'" + program + "' " : "") + "(" + name
            + ") was rejected by the kernel verifier: " + reason + " (--debug-bpf prints the verifier log)";
      } else {
        String libbpf = LibbpfLog.lastLibbpfError(log);
        message = "cannot load BPF object " + name + (program != null ? " (program '" + program + "')" : "") + ": "
            + (libbpf != null ? libbpf : Errno.describe(-rc));
      }
      throw new BpfException(message, -rc, log);
    }
    loaded = true;
    return this;
  }

  public boolean isLoaded() {
    return loaded;
  }

  public BpfProgram program(String programName) {
    Pointer p = LibBpf.bpf_object__find_program_by_name(handle(), programName);
    if (p == null) {
      throw new BpfException("BPF object " + name + " has no program " + programName);
    }
    return new BpfProgram(this, p, programName);
  }

  public BpfMap map(String mapName) {
    Pointer p = mapPointer(mapName);
    if (!loaded) {
      throw new IllegalStateException("map " + mapName + " has no fd before load()");
    }
    return new BpfMap(p, mapName, name);
  }

  private Pointer mapPointer(String mapName) {
    Pointer p = LibBpf.bpf_object__find_map_by_name(handle(), mapName);
    if (p == null) {
      throw new BpfException("BPF object " + name + " has no map " + mapName);
    }
    return p;
  }

  /**
   * A snapshot of a global section ({@code .bss}, {@code .data}) after load: what the BPF programs
   * wrote. Read through the map (libbpf 1.1 re-maps these sections onto the kernel's memory only for
   * skeletons, so its initial-value pointer is not live here). Offsets come from {@link Btf#variable}.
   */
  public java.nio.ByteBuffer globals(String section) {
    if (!loaded) {
      throw new IllegalStateException(section + " of " + name + " is not in the kernel before load()");
    }
    byte[] value = new BpfMap(mapPointer(section), section, name).lookup(BpfMap.u32Key(0));
    if (value == null) {
      throw new BpfException("BPF object " + name + ": cannot read " + section);
    }
    return java.nio.ByteBuffer.wrap(value).order(ByteOrder.nativeOrder());
  }

  /** Reads a u64 global from {@code .bss} or {@code .data} after load. */
  public long globalU64(String section, String variable) {
    Btf.Variable var = btf().variable(section, variable);
    return globals(section).getLong(var.offset());
  }

  synchronized void track(BpfLink link) {
    links.add(link);
  }

  synchronized void untrack(BpfLink link) {
    links.remove(link);
  }

  /** Closes {@code resource} (e.g. a {@link RingBufferReader}) before the object itself. */
  public synchronized void closeWith(AutoCloseable resource) {
    dependents.add(Objects.requireNonNull(resource));
  }

  /** Detaches every link, closes dependents, frees programs and maps. Idempotent. */
  @Override
  public synchronized void close() {
    if (object == null) {
      return;
    }
    for (int i = dependents.size() - 1; i >= 0; i--) {
      try {
        dependents.get(i).close();
      } catch (Exception ignored) {
        // closing must go on: the kernel objects below matter more
      }
    }
    dependents.clear();
    for (BpfLink link : new ArrayList<>(links)) {
      link.close();
    }
    links.clear();
    LibBpf.bpf_object__close(object);
    object = null;
    // Keep the ELF and the name alive until here: libbpf may point into them until close.
    Objects.requireNonNull(elf);
    Objects.requireNonNull(objectName);
  }

  /** Little-endian (native on x86_64 and arm64) encodings of globals. */
  static final class Bytes {
    private Bytes() {}

    static byte[] u32(int v) {
      return java.nio.ByteBuffer.allocate(4).order(ByteOrder.nativeOrder()).putInt(v).array();
    }

    static byte[] u64(long v) {
      return java.nio.ByteBuffer.allocate(8).order(ByteOrder.nativeOrder()).putLong(v).array();
    }
  }
}

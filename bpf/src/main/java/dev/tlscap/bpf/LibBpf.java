// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.bpf;

import com.sun.jna.Callback;
import com.sun.jna.Native;
import com.sun.jna.NativeLibrary;
import com.sun.jna.Pointer;

/**
 * Raw bindings to the system libbpf ({@code libbpf.so.1}, 1.1 or newer) by JNA direct mapping.
 *
 * <p>Private to this package, as Netty keeps its natives: callers use {@link BpfObject},
 * {@link BpfProgram}, {@link BpfMap}, {@link RingBufferReader}, {@link Btf}, {@link TcHook} and
 * {@link BpfSyscall}, whose methods name the libbpf call and turn {@code -errno} into a
 * {@link BpfException}.
 * The class fails to initialise (an {@link UnsatisfiedLinkError} wrapped in
 * {@link ExceptionInInitializerError}) when libbpf is missing; {@link BpfAvailability} turns that into
 * a one-line cause. Functions returning {@code int} return {@code -errno} on failure (libbpf 1.0 mode);
 * functions returning a pointer return {@code null} and leave the cause in {@code errno}
 * ({@code Native.getLastError()}).
 */
final class LibBpf {
  static final String LIBRARY = "libbpf.so.1";

  static {
    Native.register(LibBpf.class, NativeLibrary.getInstance(LIBRARY));
  }

  private LibBpf() {}

  /** {@code typedef int (*libbpf_print_fn_t)(enum libbpf_print_level level, const char *, va_list ap);} */
  public interface PrintFn extends Callback {
    int invoke(int level, Pointer format, Pointer vaList);
  }

  public static native int libbpf_major_version();

  public static native int libbpf_minor_version();

  public static native Pointer libbpf_set_print(PrintFn fn);

  public static native int libbpf_num_possible_cpus();

  public static native int libbpf_strerror(int error, Pointer buffer, long size);

  // struct bpf_object
  public static native Pointer bpf_object__open_mem(Pointer buffer, long size, Pointer openOpts);

  public static native int bpf_object__load(Pointer object);

  public static native void bpf_object__close(Pointer object);

  public static native Pointer bpf_object__find_program_by_name(Pointer object, String name);

  public static native Pointer bpf_object__find_map_by_name(Pointer object, String name);

  public static native Pointer bpf_object__next_program(Pointer object, Pointer previous);

  public static native Pointer bpf_object__next_map(Pointer object, Pointer previous);

  public static native Pointer bpf_object__btf(Pointer object);

  // struct bpf_program
  public static native String bpf_program__name(Pointer program);

  public static native int bpf_program__fd(Pointer program);

  public static native int bpf_program__set_autoload(Pointer program, boolean autoload);

  public static native Pointer bpf_program__attach_uprobe_opts(
      Pointer program, int pid, String binaryPath, long functionOffset, Pointer uprobeOpts);

  public static native Pointer bpf_program__attach_raw_tracepoint(Pointer program, String tracepoint);

  public static native Pointer bpf_program__attach_tracepoint(Pointer program, String category, String name);

  // struct bpf_link
  public static native int bpf_link__destroy(Pointer link);

  public static native int bpf_link__fd(Pointer link);

  // struct bpf_map
  public static native String bpf_map__name(Pointer map);

  public static native int bpf_map__fd(Pointer map);

  public static native int bpf_map__type(Pointer map);

  public static native int bpf_map__key_size(Pointer map);

  public static native int bpf_map__value_size(Pointer map);

  public static native int bpf_map__max_entries(Pointer map);

  public static native int bpf_map__set_max_entries(Pointer map, int maxEntries);

  public static native Pointer bpf_map__initial_value(Pointer map, Pointer sizeOut);

  // low-level bpf(2) wrappers (bpf.h)
  public static native int bpf_map_lookup_elem(int fd, Pointer key, Pointer value);

  public static native int bpf_map_update_elem(int fd, Pointer key, Pointer value, long flags);

  public static native int bpf_map_delete_elem(int fd, Pointer key);

  public static native int bpf_map_get_next_key(int fd, Pointer key, Pointer nextKey);

  public static native int bpf_prog_test_run_opts(int programFd, Pointer testRunOpts);

  public static native int bpf_link_create(int programFd, int targetFd, int attachType, Pointer linkCreateOpts);

  public static native int bpf_link_detach(int linkFd);

  public static native int bpf_prog_get_fd_by_id(int id);

  public static native int bpf_obj_get_info_by_fd(int fd, Pointer info, Pointer infoLength);

  /** Programs attached to a hook; for TCX, {@code targetFd} is the ifindex (tc-classifier's leftover checks). */
  public static native int bpf_prog_query(int targetFd, int attachType, int queryFlags, Pointer attachFlags,
      Pointer programIds, Pointer programCount);

  // struct btf
  public static native int btf__find_by_name_kind(Pointer btf, String name, int kind);

  public static native Pointer btf__type_by_id(Pointer btf, int id);

  public static native String btf__name_by_offset(Pointer btf, int offset);

  public static native long btf__resolve_size(Pointer btf, int id);

  public static native int btf__resolve_type(Pointer btf, int id);

  public static native Pointer btf__load_vmlinux_btf();

  public static native void btf__free(Pointer btf);

  // TC (clsact + cls_bpf through netlink)
  public static native int bpf_tc_hook_create(Pointer hook);

  public static native int bpf_tc_hook_destroy(Pointer hook);

  public static native int bpf_tc_attach(Pointer hook, Pointer tcOpts);

  public static native int bpf_tc_detach(Pointer hook, Pointer tcOpts);

  public static native int bpf_tc_query(Pointer hook, Pointer tcOpts);
}

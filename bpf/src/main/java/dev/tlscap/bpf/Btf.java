// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.bpf;

import com.sun.jna.Pointer;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Reads the BTF type information of a BPF object: where a global lives in its section, and the
 * layout of a struct (so the Java readers of shared {@code *_abi.h} structs can be checked against
 * what clang compiled).
 *
 * <p>Mirrors (include/uapi/linux/btf.h):
 * <pre>
 * struct btf_type { __u32 name_off; __u32 info; union { __u32 size; __u32 type; }; };  // 12 bytes
 * struct btf_member { __u32 name_off; __u32 type; __u32 offset; };                        // after STRUCT/UNION
 * struct btf_var_secinfo { __u32 type; __u32 offset; __u32 size; };                      // after DATASEC
 * struct btf_enum { __u32 name_off; __s32 val; };                                       // after ENUM
 * struct btf_enum64 { __u32 name_off; __u32 val_lo32; __u32 val_hi32; };                // after ENUM64
 * </pre>
 * {@code info}: bits 0-15 vlen, bits 24-28 kind, bit 31 kind_flag (ENUM, ENUM64: 1 = signed values).
 * Valid while its object is open.
 */
public final class Btf {
  static final int KIND_STRUCT = 4;
  static final int KIND_UNION = 5;
  static final int KIND_ENUM = 6;
  static final int KIND_VAR = 14;
  static final int KIND_DATASEC = 15;
  static final int KIND_ENUM64 = 19;
  static final int TYPE_SIZE = 12;
  static final int MEMBER_SIZE = 12;
  static final int VAR_SECINFO_SIZE = 12;
  static final int ENUM_SIZE = 8;
  static final int ENUM64_SIZE = 12;

  private final Pointer btf;
  private final String objectName;

  Btf(Pointer btf, String objectName) {
    this.btf = btf;
    this.objectName = objectName;
  }

  /** A global variable in a data section. */
  public record Variable(String name, int offset, int size) {}

  /** A struct member: byte offset and size (bitfields are not used in tlscap ABI structs). */
  public record Member(String name, int offset, int size) {}

  /** Layout of a struct: total size and members in declaration order. */
  public record StructLayout(String name, int size, Map<String, Member> members) {
    public Member member(String memberName) {
      Member m = members.get(memberName);
      if (m == null) {
        throw new IllegalArgumentException("struct " + name + " has no member " + memberName);
      }
      return m;
    }
  }

  /**
   * An enum as compiled: its enumerators in declaration order. Values are the 64-bit value of
   * {@code btf_enum64}, or the 32-bit {@code btf_enum} value sign- or zero-extended as its
   * kind_flag says (clang before 15 sets no kind_flag: zero-extended, so {@code 1U << 31} reads as
   * 2147483648).
   */
  public record Enumeration(String name, int size, Map<String, Long> values) {
    /** The value of {@code enumerator}. */
    public long value(String enumerator) {
      Long v = values.get(enumerator);
      if (v == null) {
        throw new IllegalArgumentException("enum " + name + " has no enumerator " + enumerator);
      }
      return v;
    }
  }

  /** Finds {@code variable} in the DATASEC {@code section} (e.g. ".rodata"). */
  public Variable variable(String section, String variable) {
    int id = LibBpf.btf__find_by_name_kind(btf, section, KIND_DATASEC);
    if (id < 0) {
      throw new BpfException("BPF object " + objectName + " has no section " + section);
    }
    Pointer type = LibBpf.btf__type_by_id(btf, id);
    int vlen = type.getInt(4) & 0xffff;
    for (int i = 0; i < vlen; i++) {
      long at = TYPE_SIZE + (long) VAR_SECINFO_SIZE * i;
      int varType = type.getInt(at);
      int offset = type.getInt(at + 4);
      int size = type.getInt(at + 8);
      Pointer var = LibBpf.btf__type_by_id(btf, varType);
      String name = LibBpf.btf__name_by_offset(btf, var.getInt(0));
      if (variable.equals(name)) {
        return new Variable(name, offset, size);
      }
    }
    throw new BpfException("BPF object " + objectName + " has no global " + variable + " in " + section);
  }

  /** The layout of {@code struct name} as compiled. */
  public StructLayout struct(String name) {
    int id = LibBpf.btf__find_by_name_kind(btf, name, KIND_STRUCT);
    if (id < 0) {
      throw new BpfException("BPF object " + objectName + " has no struct " + name + " in its BTF");
    }
    Pointer type = LibBpf.btf__type_by_id(btf, id);
    int info = type.getInt(4);
    int vlen = info & 0xffff;
    boolean kindFlag = (info >>> 31) != 0;
    int size = type.getInt(8);
    Map<String, Member> members = new LinkedHashMap<>();
    for (int i = 0; i < vlen; i++) {
      long at = TYPE_SIZE + (long) MEMBER_SIZE * i;
      String memberName = LibBpf.btf__name_by_offset(btf, type.getInt(at));
      int memberType = type.getInt(at + 4);
      int bits = type.getInt(at + 8);
      int bitOffset = kindFlag ? bits & 0xffffff : bits;
      long memberSize = LibBpf.btf__resolve_size(btf, memberType);
      members.put(memberName, new Member(memberName, bitOffset / 8, (int) memberSize));
    }
    return new StructLayout(name, size, members);
  }

  /**
   * {@code enum name} of the running kernel (its BTF, {@code /sys/kernel/btf/vmlinux}, read by
   * {@code btf__load_vmlinux_btf}): for UAPI values newer than the installed headers, such as
   * {@code BPF_TCX_INGRESS} of {@code enum bpf_attach_type} (Linux 6.6). Needs no privileges.
   */
  public static Enumeration kernelEnumeration(String name) {
    Pointer vmlinux = LibBpf.btf__load_vmlinux_btf();
    if (vmlinux == null) {
      throw BpfException.ofCall("btf__load_vmlinux_btf", Errno.last());
    }
    try {
      return new Btf(vmlinux, "vmlinux").enumeration(name);
    } finally {
      LibBpf.btf__free(vmlinux);
    }
  }

  /**
   * {@code enum name} as compiled. An enum reaches the BTF only when a type or variable of the
   * object uses it (an enumerator used as a constant is not enough): see the {@code unused_*}
   * pointers in tls_secrets.bpf.c and tc_capture.bpf.c.
   */
  public Enumeration enumeration(String name) {
    int kind = KIND_ENUM;
    int id = LibBpf.btf__find_by_name_kind(btf, name, KIND_ENUM);
    if (id < 0) {
      kind = KIND_ENUM64;
      id = LibBpf.btf__find_by_name_kind(btf, name, KIND_ENUM64);
    }
    if (id < 0) {
      throw new BpfException("BPF object " + objectName + " has no enum " + name + " in its BTF");
    }
    Pointer type = LibBpf.btf__type_by_id(btf, id);
    int info = type.getInt(4);
    int vlen = info & 0xffff;
    boolean signed = (info >>> 31) != 0;
    Map<String, Long> values = new LinkedHashMap<>();
    for (int i = 0; i < vlen; i++) {
      long value;
      long at;
      if (kind == KIND_ENUM) {
        at = TYPE_SIZE + (long) ENUM_SIZE * i;
        int raw = type.getInt(at + 4);
        value = signed ? raw : Integer.toUnsignedLong(raw);
      } else {
        at = TYPE_SIZE + (long) ENUM64_SIZE * i;
        value = Integer.toUnsignedLong(type.getInt(at + 4)) | ((long) type.getInt(at + 8) << 32);
      }
      values.put(LibBpf.btf__name_by_offset(btf, type.getInt(at)), value);
    }
    return new Enumeration(name, type.getInt(8), values);
  }
}

// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.bpf;

import com.sun.jna.Memory;
import com.sun.jna.Pointer;
import java.nio.ByteOrder;

/**
 * A map of a loaded {@link BpfObject}. Lookups and updates go straight to the kernel and may run on
 * any thread. Valid while the object is open.
 */
public final class BpfMap {
  public static final int TYPE_HASH = 1;
  public static final int TYPE_ARRAY = 2;
  public static final int TYPE_PERCPU_HASH = 5;
  public static final int TYPE_PERCPU_ARRAY = 6;
  public static final int TYPE_LRU_HASH = 9;
  public static final int TYPE_RINGBUF = 27;

  private final Pointer map;
  private final String name;
  private final String objectName;
  private final int fd;

  BpfMap(Pointer map, String name, String objectName) {
    this.map = map;
    this.name = name;
    this.objectName = objectName;
    this.fd = LibBpf.bpf_map__fd(map);
  }

  public String name() {
    return name;
  }

  public int fd() {
    return fd;
  }

  public int type() {
    return LibBpf.bpf_map__type(map);
  }

  public int keySize() {
    return LibBpf.bpf_map__key_size(map);
  }

  public int valueSize() {
    return LibBpf.bpf_map__value_size(map);
  }

  public int maxEntries() {
    return LibBpf.bpf_map__max_entries(map);
  }

  private boolean perCpu() {
    int t = type();
    return t == TYPE_PERCPU_ARRAY || t == TYPE_PERCPU_HASH || t == 10 /* LRU_PERCPU_HASH */;
  }

  /** Bytes a lookup returns: per-CPU maps return one 8-byte-aligned value per possible CPU. */
  public int lookupSize() {
    int value = valueSize();
    return perCpu() ? ((value + 7) & ~7) * possibleCpus() : value;
  }

  /** Looks {@code key} up; returns the value bytes, or null when there is no such entry. */
  public byte[] lookup(byte[] key) {
    Memory k = memory(key);
    Memory v = new Memory(lookupSize());
    int rc = LibBpf.bpf_map_lookup_elem(fd, k, v);
    if (rc < 0) {
      if (-rc == Errno.ENOENT) {
        return null;
      }
      throw BpfException.of("lookup in map " + name + " of " + objectName + " failed", -rc);
    }
    return v.getByteArray(0, lookupSize());
  }

  /** Creates or replaces the entry {@code key}. */
  public void update(byte[] key, byte[] value) {
    int rc = LibBpf.bpf_map_update_elem(fd, memory(key), memory(value), 0);
    if (rc < 0) {
      throw BpfException.of("update of map " + name + " of " + objectName + " failed", -rc);
    }
  }

  /** Deletes {@code key}; returns false when it was not there. */
  public boolean delete(byte[] key) {
    int rc = LibBpf.bpf_map_delete_elem(fd, memory(key));
    if (rc < 0) {
      if (-rc == Errno.ENOENT) {
        return false;
      }
      throw BpfException.of("delete in map " + name + " of " + objectName + " failed", -rc);
    }
    return true;
  }

  /** The next key after {@code key} (null: the first), or null at the end. */
  public byte[] nextKey(byte[] key) {
    Memory next = new Memory(keySize());
    int rc = LibBpf.bpf_map_get_next_key(fd, key == null ? null : memory(key), next);
    if (rc < 0) {
      if (-rc == Errno.ENOENT) {
        return null;
      }
      throw BpfException.of("iteration of map " + name + " of " + objectName + " failed", -rc);
    }
    return next.getByteArray(0, keySize());
  }

  /** For an array map: the u32 key {@code index} in native order. */
  public static byte[] u32Key(int index) {
    return java.nio.ByteBuffer.allocate(4).order(ByteOrder.nativeOrder()).putInt(index).array();
  }

  /**
   * For a per-CPU array of u64 counters: the sum over CPUs of the u64 at {@code offset} in the value
   * at {@code index}.
   */
  public long sumPerCpuU64(int index, int offset) {
    byte[] all = lookup(u32Key(index));
    if (all == null) {
      return 0;
    }
    int stride = (valueSize() + 7) & ~7;
    java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(all).order(ByteOrder.nativeOrder());
    long sum = 0;
    for (int cpu = 0; cpu < all.length / stride; cpu++) {
      sum += b.getLong(cpu * stride + offset);
    }
    return sum;
  }

  private static Memory memory(byte[] bytes) {
    Memory m = new Memory(Math.max(1, bytes.length));
    m.write(0, bytes, 0, bytes.length);
    return m;
  }

  private static int possibleCpus;

  /** Number of possible CPUs (what per-CPU maps are sized by). */
  public static synchronized int possibleCpus() {
    if (possibleCpus == 0) {
      int n = LibBpf.libbpf_num_possible_cpus();
      if (n <= 0) {
        throw BpfException.of("cannot count possible CPUs", -n);
      }
      possibleCpus = n;
    }
    return possibleCpus;
  }

  @Override
  public String toString() {
    return name;
  }
}

// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.bpf;

import com.sun.jna.Memory;
import com.sun.jna.Pointer;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Consumes a {@code BPF_MAP_TYPE_RINGBUF} from Java over its memory mapping: no copy and no JNA
 * callback per record (the algorithm of cilium/ebpf's {@code ringbuf/}).
 *
 * <p>The kernel lays the ring out as (kernel/bpf/ringbuf.c, {@code struct bpf_ringbuf}): one page
 * holding the consumer position (mapped read-write here), one page holding the producer position,
 * then the data pages mapped twice in a row (both read-only here), so a record that wraps around the
 * end is still contiguous. Each record starts with {@code struct bpf_ringbuf_hdr { u32 len; u32 pg_off; }}
 * whose {@code len} carries {@link #BUSY_BIT} while the producer still writes it and
 * {@link #DISCARD_BIT} when the producer discarded it; records are 8-byte aligned. Positions are
 * read with acquire and the consumer position is published with release semantics, record by
 * record (as libbpf does), so producers get space back as soon as possible. See {@link RingMemory}
 * for how those accesses are made.
 *
 * <p>Readiness: {@link #fd()} is the map fd, which is pollable (EPOLLIN when data is pending), for
 * an event loop such as Netty's; {@link #poll(RecordHandler, int)} waits on an epoll of its own for a
 * plain thread.
 *
 * <p>Not thread-safe: one consumer thread. A handler that throws a {@code RuntimeException} does not
 * stop the reader: the record is counted in {@link #handlerFailures()} and consumption goes on. An
 * {@code Error} propagates out of {@link #drain}, with that record and every one before it consumed
 * (the next drain starts after it).
 */
public final class RingBufferReader implements AutoCloseable {
  /** From {@code BPF_RINGBUF_BUSY_BIT} in include/uapi/linux/bpf.h. */
  public static final int BUSY_BIT = 1 << 31;
  /** From {@code BPF_RINGBUF_DISCARD_BIT} in include/uapi/linux/bpf.h. */
  public static final int DISCARD_BIT = 1 << 30;
  /** {@code BPF_RINGBUF_HDR_SZ}. */
  public static final int HEADER_SIZE = 8;
  /** The largest ring this reader maps (the data is mapped twice into one Java buffer). */
  public static final int MAX_SIZE = 512 << 20;

  private final String name;
  private final int mapFd;
  private final int size;
  private final int mask;
  private final long pageSize;
  private Pointer consumerMapping;
  private Pointer producerMapping;
  private final RingMemory memory;
  private final ByteBuffer dataView;
  private long consumerPosition;
  private int epollFd = -1;
  private Memory epollEvents;

  private long records;
  private long handlerFailures;
  private RuntimeException firstFailure;

  /** Maps {@code map}, which must be a loaded ring buffer. */
  public RingBufferReader(BpfMap map) {
    if (map.type() != BpfMap.TYPE_RINGBUF) {
      throw new IllegalArgumentException("map " + map.name() + " is not a ring buffer");
    }
    this.name = map.name();
    this.mapFd = map.fd();
    this.size = map.maxEntries();
    if (Integer.bitCount(size) != 1 || size > MAX_SIZE) {
      throw new IllegalArgumentException("ring buffer " + name + " has " + size
          + " bytes; it must be a power of two of at most " + MAX_SIZE);
    }
    this.mask = size - 1;
    this.pageSize = Libc.sysconf(Libc.SC_PAGESIZE);
    consumerMapping = Libc.mmap(null, pageSize, Libc.PROT_READ | Libc.PROT_WRITE, Libc.MAP_SHARED, mapFd, 0);
    if (Pointer.nativeValue(consumerMapping) == Libc.MAP_FAILED) {
      consumerMapping = null;
      throw BpfException.of("cannot map the consumer page of ring buffer " + name, Errno.last());
    }
    long producerLength = pageSize + 2L * size;
    producerMapping = Libc.mmap(null, producerLength, Libc.PROT_READ, Libc.MAP_SHARED, mapFd, pageSize);
    if (Pointer.nativeValue(producerMapping) == Libc.MAP_FAILED) {
      int errno = Errno.last();
      producerMapping = null;
      Libc.munmap(consumerMapping, pageSize);
      consumerMapping = null;
      throw BpfException.of("cannot map ring buffer " + name, errno);
    }
    ByteBuffer data = producerMapping.getByteBuffer(pageSize, 2L * size).order(ByteOrder.nativeOrder());
    dataView = data.asReadOnlyBuffer().order(ByteOrder.nativeOrder());
    memory = RingMemory.of(consumerMapping.getByteBuffer(0, pageSize).order(ByteOrder.nativeOrder()),
        producerMapping.getByteBuffer(0, pageSize).order(ByteOrder.nativeOrder()), data,
        Pointer.nativeValue(consumerMapping), Pointer.nativeValue(producerMapping), Pointer.nativeValue(producerMapping) + pageSize);
    consumerPosition = memory.consumerPosition();
  }

  public String name() {
    return name;
  }

  /** The ring buffer's map fd: pollable for EPOLLIN, for registration with an event loop. */
  public int fd() {
    return mapFd;
  }

  /** Capacity of the ring's data area in bytes. */
  public int size() {
    return size;
  }

  /** The consumer position as published to the kernel (the ring's consumer page); for tests. */
  long publishedConsumerPosition() {
    return memory.consumerPosition();
  }

  /** Bytes written by producers and not consumed yet. */
  public long pendingBytes() {
    return memory.producerAcquire() - consumerPosition;
  }

  /** Delivers every committed record to {@code handler}; returns how many were delivered. */
  public int drain(RecordHandler handler) {
    return drain(handler, Integer.MAX_VALUE);
  }

  /**
   * Delivers up to {@code maxRecords} committed records in order and returns how many. Stops at the
   * first record a producer is still writing (it will be delivered by a later call).
   */
  public int drain(RecordHandler handler, int maxRecords) {
    final RingMemory memory = this.memory;
    final ByteBuffer view = this.dataView;
    final int mask = this.mask;
    long cons = consumerPosition;
    int delivered = 0;
    try {
      outer:
      while (delivered < maxRecords) {
        long prod = memory.producerAcquire();
        if (cons >= prod) {
          break;
        }
        do {
          int offset = (int) cons & mask;
          int header = memory.headerAcquire(offset);
          if ((header & BUSY_BIT) != 0) {
            break outer; // the producer is still writing it; a later drain delivers it
          }
          int length = header & ~DISCARD_BIT;
          if (length > size - HEADER_SIZE) {
            throw new BpfException("ring buffer " + name + " is corrupt: a record of " + length + " bytes at position " + cons);
          }
          cons += (length + HEADER_SIZE + 7) & ~7;
          if ((header & DISCARD_BIT) == 0) {
            delivered++; // before the handler: a record whose handler throws an Error is consumed too
            try {
              handler.onRecord(view, offset + HEADER_SIZE, length);
            } catch (RuntimeException e) {
              handlerFailures++;
              if (firstFailure == null) {
                firstFailure = e;
              }
            }
          }
          memory.consumerRelease(cons);
        } while (cons < prod && delivered < maxRecords);
      }
    } finally {
      // Also when a handler throws an Error: the published consumer_pos and this reader's own
      // position stay equal, so a later drain neither re-reads records the producer may have
      // overwritten nor moves consumer_pos backwards.
      if (cons != consumerPosition) {
        memory.consumerRelease(cons);
        consumerPosition = cons;
      }
      records += delivered;
    }
    return delivered;
  }

  /**
   * Drains what is there; if nothing was, waits up to {@code timeoutMs} (-1: forever) for the kernel
   * to signal data and drains again. Returns the number of records delivered.
   */
  public int poll(RecordHandler handler, int timeoutMs) {
    int n = drain(handler);
    if (n > 0) {
      return n;
    }
    if (epollFd < 0) {
      openEpoll();
    }
    int ready = Libc.epoll_wait(epollFd, epollEvents, 1, timeoutMs);
    if (ready < 0) {
      int errno = Errno.last();
      if (errno != Errno.EINTR) {
        throw BpfException.of("epoll_wait on ring buffer " + name + " failed", errno);
      }
    }
    return drain(handler);
  }

  private void openEpoll() {
    int fd = Libc.epoll_create1(Libc.EPOLL_CLOEXEC);
    if (fd < 0) {
      throw BpfException.of("epoll_create1 failed", Errno.last());
    }
    Memory event = new Memory(Libc.epollEventSize());
    event.clear();
    event.setInt(0, Libc.EPOLLIN);
    if (Libc.epoll_ctl(fd, Libc.EPOLL_CTL_ADD, mapFd, event) < 0) {
      int errno = Errno.last();
      Libc.close(fd);
      throw BpfException.of("epoll_ctl on ring buffer " + name + " failed", errno);
    }
    epollEvents = new Memory(Libc.epollEventSize() * 4L);
    epollFd = fd;
  }

  /** Records delivered so far. */
  public long records() {
    return records;
  }

  /** Records whose handler threw (they were skipped, the reader went on). */
  public long handlerFailures() {
    return handlerFailures;
  }

  /** The first exception a handler threw, for diagnostics; null if none. */
  public RuntimeException firstHandlerFailure() {
    return firstFailure;
  }

  @Override
  public void close() {
    if (epollFd >= 0) {
      Libc.close(epollFd);
      epollFd = -1;
    }
    if (producerMapping != null) {
      Libc.munmap(producerMapping, pageSize + 2L * size);
      producerMapping = null;
    }
    if (consumerMapping != null) {
      Libc.munmap(consumerMapping, pageSize);
      consumerMapping = null;
    }
  }
}

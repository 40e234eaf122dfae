// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.bpf;

import com.sun.jna.Memory;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The few operating-system calls tlscap makes outside BPF, as Java methods that name the call and
 * turn its {@code errno} into an exception (the raw binding, {@link Libc}, is private to this
 * package, as Netty keeps its native calls). Thread-safe: every method is a system call.
 */
public final class Posix {
  /** {@code CLOCK_REALTIME} of time.h. */
  public static final int CLOCK_REALTIME = Libc.CLOCK_REALTIME;
  /** {@code CLOCK_BOOTTIME}: what BPF's bpf_ktime_get_boot_ns() reads. */
  public static final int CLOCK_BOOTTIME = Libc.CLOCK_BOOTTIME;

  private Posix() {}

  /** This process's id (getpid). */
  public static int processId() {
    return Libc.getpid();
  }

  /** The calling thread's id (gettid). */
  public static int threadId() {
    return Libc.gettid();
  }

  /**
   * Replaces this process's program (execv): same process id, open descriptors, signal
   * dispositions; returns only when the call failed, with its errno in the exception.
   */
  public static void exec(String path, java.util.List<String> argv) {
    Libc.execv(path, new com.sun.jna.StringArray(argv.toArray(new String[0])));
    throw BpfException.ofCall("execv(" + path + ")", Errno.last());
  }

  /** Whether {@code fd} is a terminal (isatty). */
  public static boolean isTerminal(int fd) {
    return Libc.isatty(fd) == 1;
  }

  /** Sets the calling thread's nice value (setpriority(PRIO_PROCESS, gettid(), nice)); false when refused. */
  public static boolean setThreadNice(int nice) {
    return Libc.setpriority(0 /* PRIO_PROCESS: a thread id on Linux */, Libc.gettid(), nice) == 0;
  }

  /**
   * Gives SIGINT its default action (signal(SIGINT, SIG_DFL)): a background job of a
   * non-interactive shell starts with it ignored, and the JVM then installs no handler for it.
   */
  public static void defaultSigint() {
    Libc.signal(Libc.SIGINT, Libc.SIG_DFL);
  }

  /** Reads {@code clock} in nanoseconds (clock_gettime); throws {@link BpfException} naming the call. */
  public static long clockNanos(int clock, Memory timespec) {
    if (Libc.clock_gettime(clock, timespec) != 0) {
      throw BpfException.ofCall("clock_gettime(" + clock + ")", Errno.last());
    }
    return timespec.getLong(0) * 1_000_000_000L + timespec.getLong(8);
  }

  /** Opens a file read-only (close-on-exec); returns its descriptor, or -1 when it cannot be opened. */
  public static int openReadOnly(java.nio.file.Path file) {
    return Libc.open(file.toString(), Libc.O_RDONLY | Libc.O_CLOEXEC);
  }

  /** Closes a file descriptor; errors are ignored (nothing can be done about them at close). */
  public static void close(int fd) {
    if (fd >= 0) {
      Libc.close(fd);
    }
  }

  /**
   * A rtnetlink socket ({@code socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE)}) with a receive timeout,
   * for the TC dumps clsact's cleanup needs. Not thread-safe; close it.
   */
  public static final class NetlinkSocket implements AutoCloseable {
    private final int fd;
    private final Memory buffer = new Memory(64 << 10);

    private NetlinkSocket(int fd) {
      this.fd = fd;
    }

    /** Opens it; a lost reply times out after {@code timeoutSeconds}. */
    public static NetlinkSocket open(int timeoutSeconds) throws IOException {
      int fd = Libc.socket(Libc.AF_NETLINK, Libc.SOCK_RAW | Libc.SOCK_CLOEXEC, Libc.NETLINK_ROUTE);
      if (fd < 0) {
        throw new IOException("socket(AF_NETLINK) failed: " + Errno.describe(Errno.last()));
      }
      Memory timeout = new Memory(16); // struct timeval
      timeout.setLong(0, timeoutSeconds);
      timeout.setLong(8, 0);
      Libc.setsockopt(fd, Libc.SOL_SOCKET, Libc.SO_RCVTIMEO, timeout, 16);
      return new NetlinkSocket(fd);
    }

    /** Sends one message. */
    public void send(byte[] message) throws IOException {
      Memory m = new Memory(message.length);
      m.write(0, message, 0, message.length);
      if (Libc.send(fd, m, message.length, 0) < 0) {
        throw new IOException("send(netlink) failed: " + Errno.describe(Errno.last()));
      }
    }

    /** Receives one datagram (retried on EINTR); valid until the next call. */
    public ByteBuffer receive() throws IOException {
      while (true) {
        long n = Libc.recv(fd, buffer, buffer.size(), 0);
        if (n >= 0) {
          return buffer.getByteBuffer(0, n).order(ByteOrder.nativeOrder());
        }
        int errno = Errno.last();
        if (errno != Errno.EINTR) {
          throw new IOException("recv(netlink) failed: " + Errno.describe(errno));
        }
      }
    }

    @Override
    public void close() {
      Libc.close(fd);
    }
  }
}

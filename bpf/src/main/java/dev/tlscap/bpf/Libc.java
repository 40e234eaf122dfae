// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.bpf;

import com.sun.jna.Native;
import com.sun.jna.NativeLibrary;
import com.sun.jna.Pointer;

/** The few libc calls the BPF runtime needs, by JNA direct mapping. Internal. */
final class Libc {
  static {
    Native.register(Libc.class, NativeLibrary.getInstance("c"));
  }

  private Libc() {}

  public static final int PROT_READ = 0x1;
  public static final int PROT_WRITE = 0x2;
  public static final int MAP_SHARED = 0x01;
  public static final long MAP_FAILED = -1L;

  public static final int EPOLL_CLOEXEC = 02000000;
  public static final int EPOLL_CTL_ADD = 1;
  public static final int EPOLL_CTL_DEL = 2;
  public static final int EPOLLIN = 0x001;

  public static final int CLOCK_REALTIME = 0;
  public static final int CLOCK_MONOTONIC = 1;
  public static final int CLOCK_BOOTTIME = 7;

  public static final int SC_PAGESIZE = 30;

  public static native Pointer mmap(Pointer address, long length, int protection, int flags, int fd, long offset);

  public static native int munmap(Pointer address, long length);

  public static native int close(int fd);

  public static final int O_RDONLY = 0;
  public static final int O_CLOEXEC = 0x80000;

  public static native int open(String path, int flags);

  public static native long sysconf(int name);

  public static native int epoll_create1(int flags);

  /** {@code struct epoll_event} is packed on x86_64: {@code u32 events; u64 data} in 12 bytes. */
  public static native int epoll_ctl(int epfd, int op, int fd, Pointer event);

  public static native int epoll_wait(int epfd, Pointer events, int maxEvents, int timeoutMs);

  public static native int clock_gettime(int clock, Pointer timespec);

  public static native int vsnprintf(Pointer buffer, long size, Pointer format, Pointer vaList);

  public static native int mount(String source, String target, String fstype, long flags, Pointer data);

  public static native String strerror(int errno);

  public static native int getpid();

  /** {@code argv}: a NULL-terminated array of C strings (a {@link com.sun.jna.StringArray}). */
  public static native int execv(String path, Pointer argv);

  public static native int geteuid();

  public static native int isatty(int fd);

  public static native int gettid();

  /** {@code setpriority(PRIO_PROCESS, tid, nice)}: on Linux the nice value of one thread. */
  public static native int setpriority(int which, int who, int prio);

  public static native int if_nametoindex(String name);

  /** {@code SIGINT} (asm-generic/signal.h). */
  public static final int SIGINT = 2;
  /** {@code SIG_DFL}: the default disposition, as a {@code signal} handler argument. */
  public static final Pointer SIG_DFL = null;

  /**
   * {@code signal(sig, handler)}; returns the previous handler ({@code SIG_ERR}, -1, on error). Used
   * only to give back a signal its default disposition, e.g. {@code signal(SIGINT, SIG_DFL)}: a
   * background job of a non-interactive shell starts with SIGINT ignored, and the JVM installs no
   * handler for an ignored signal ({@code sun.misc.Signal.handle} returns {@code SIG_IGN}).
   */
  public static native Pointer signal(int sig, Pointer handler);

  // Netlink sockets (tc-classifier lists and removes clsact filters with RTM_GETTFILTER dumps).
  public static final int AF_NETLINK = 16;
  public static final int SOCK_RAW = 3;
  public static final int SOCK_CLOEXEC = 02000000;
  public static final int NETLINK_ROUTE = 0;
  public static final int SOL_SOCKET = 1;
  public static final int SO_RCVTIMEO = 20;

  public static native int socket(int domain, int type, int protocol);

  public static native long send(int fd, Pointer buffer, long length, int flags);

  public static native long recv(int fd, Pointer buffer, long length, int flags);

  public static native int setsockopt(int fd, int level, int option, Pointer value, int length);

  /** Size in bytes of a {@code struct epoll_event} on this architecture (packed on x86_64). */
  public static int epollEventSize() {
    return "amd64".equals(System.getProperty("os.arch")) || "x86_64".equals(System.getProperty("os.arch")) ? 12 : 16;
  }
}

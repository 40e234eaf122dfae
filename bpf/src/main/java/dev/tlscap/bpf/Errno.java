// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.bpf;

import com.sun.jna.Memory;
import com.sun.jna.Native;

/** Turns errno values into text users understand. */
public final class Errno {
  public static final int EPERM = 1;
  public static final int ENOENT = 2;
  public static final int ESRCH = 3;
  public static final int EINTR = 4;
  public static final int EBADF = 9;
  public static final int EAGAIN = 11;
  public static final int ENOMEM = 12;
  public static final int EACCES = 13;
  public static final int EFAULT = 14;
  public static final int EBUSY = 16;
  public static final int EEXIST = 17;
  public static final int ENODEV = 19;
  public static final int EINVAL = 22;
  public static final int ENOSPC = 28;
  public static final int E2BIG = 7;
  public static final int ENOTSUP = 95;
  public static final int EOPNOTSUPP = 95;

  private Errno() {}

  /** The errno of the last native call on this thread. */
  public static int last() {
    return Native.getLastError();
  }

  /**
   * The symbolic name of an errno, e.g. {@code "EEXIST"}, for the errors tlscap meets; {@code
   * "errno N"} for others (libbpf's own codes, 4000+, included).
   */
  public static String name(int errno) {
    return switch (Math.abs(errno)) {
      case EPERM -> "EPERM";
      case ENOENT -> "ENOENT";
      case ESRCH -> "ESRCH";
      case EINTR -> "EINTR";
      case E2BIG -> "E2BIG";
      case EBADF -> "EBADF";
      case EAGAIN -> "EAGAIN";
      case ENOMEM -> "ENOMEM";
      case EACCES -> "EACCES";
      case EFAULT -> "EFAULT";
      case EBUSY -> "EBUSY";
      case EEXIST -> "EEXIST";
      case ENODEV -> "ENODEV";
      case EINVAL -> "EINVAL";
      case ENOSPC -> "ENOSPC";
      case EOPNOTSUPP -> "EOPNOTSUPP";
      default -> "errno " + Math.abs(errno);
    };
  }

  /** Text for an errno, e.g. {@code "No such file or directory"}; libbpf's own codes (4000+) included. */
  public static String describe(int errno) {
    int e = Math.abs(errno);
    if (e == ENOENT) {
      return "no such file or entry";
    }
    try {
      Memory buffer = new Memory(256);
      buffer.clear();
      LibBpf.libbpf_strerror(e, buffer, buffer.size());
      String text = buffer.getString(0);
      if (!text.isEmpty()) {
        return lowerFirst(text);
      }
    } catch (LinkageError ignored) {
      // libbpf missing: fall back to libc
    }
    return lowerFirst(Libc.strerror(e));
  }

  private static String lowerFirst(String s) {
    if (s.length() > 1 && Character.isUpperCase(s.charAt(0)) && Character.isLowerCase(s.charAt(1))) {
      return Character.toLowerCase(s.charAt(0)) + s.substring(1);
    }
    return s;
  }
}

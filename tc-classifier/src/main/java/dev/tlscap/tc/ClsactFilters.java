// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.tc;

import com.sun.jna.Memory;
import dev.tlscap.bpf.BpfException;
import dev.tlscap.bpf.Errno;
import dev.tlscap.bpf.Posix;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Lists the TC filters on an interface's {@code clsact} hooks over rtnetlink ({@code RTM_GETTFILTER}
 * dump), the way {@code tc filter show dev X ingress} does, without running {@code tc}. libbpf's
 * {@code bpf_tc_query} can only ask about one known handle and priority; finding the filters a
 * killed run left needs the whole list. Internal; stateless, thread-safe.
 *
 * <p>Mirrors (include/uapi/linux/netlink.h, rtnetlink.h, pkt_cls.h):
 * <pre>
 * struct nlmsghdr { __u32 nlmsg_len; __u16 nlmsg_type; __u16 nlmsg_flags; __u32 nlmsg_seq; __u32 nlmsg_pid; };  // 16
 * struct tcmsg { unsigned char tcm_family, tcm__pad1; unsigned short tcm__pad2; int tcm_ifindex;
 *                __u32 tcm_handle; __u32 tcm_parent; __u32 tcm_info; };                                      // 20
 * struct rtattr { unsigned short rta_len; unsigned short rta_type; };                                          // 4, 4-aligned
 * tcm_info = TC_H_MAKE(priority &lt;&lt; 16, protocol); TCA_KIND = 1, TCA_OPTIONS = 2; TCA_BPF_NAME = 7, TCA_BPF_ID = 11
 * </pre>
 */
final class ClsactFilters {
  static final int RTM_NEWTFILTER = 44;
  static final int RTM_GETTFILTER = 46;
  static final int NLMSG_ERROR = 2;
  static final int NLMSG_DONE = 3;
  static final int NLM_F_REQUEST = 0x1;
  static final int NLM_F_DUMP = 0x300;
  static final int TCA_KIND = 1;
  static final int TCA_OPTIONS = 2;
  static final int TCA_BPF_NAME = 7;
  static final int TCA_BPF_ID = 11;
  /** TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_INGRESS) and ..._EGRESS (pkt_sched.h). */
  static final int PARENT_INGRESS = 0xFFFFFFF2;
  static final int PARENT_EGRESS = 0xFFFFFFF3;

  private ClsactFilters() {}

  /** One filter: its handle, priority, classifier kind and, for {@code bpf}, the program's name and id. */
  record Filter(int ifindex, boolean ingress, int handle, int priority, String kind, String programName, int programId) {}

  /**
   * The filters on the ingress or egress hook of {@code ifindex}; empty when the interface has no
   * clsact qdisc (the kernel answers the dump with an error then) or is gone.
   */
  static List<Filter> list(int ifindex, boolean ingress) {
    // a 2 s receive timeout, so a lost reply cannot hang the capture
    try (Posix.NetlinkSocket socket = Posix.NetlinkSocket.open(2)) {
      int seq = (int) (System.nanoTime() & 0x7fffffff);
      ByteBuffer request = ByteBuffer.allocate(36).order(ByteOrder.nativeOrder());
      request.putInt(0, 36);
      request.putShort(4, (short) RTM_GETTFILTER);
      request.putShort(6, (short) (NLM_F_REQUEST | NLM_F_DUMP));
      request.putInt(8, seq);
      request.put(16, (byte) 0); // AF_UNSPEC
      request.putInt(20, ifindex);
      request.putInt(28, ingress ? PARENT_INGRESS : PARENT_EGRESS);
      socket.send(request.array());
      List<Filter> filters = new ArrayList<>();
      while (true) {
        if (parse(socket.receive(), seq, ifindex, ingress, filters)) {
          return filters;
        }
      }
    } catch (java.io.IOException e) {
      throw new BpfException("cannot list the TC filters of ifindex " + ifindex + ": " + e.getMessage());
    }
  }

  /** Parses one datagram of the dump into {@code out}; true at the end of the dump. */
  static boolean parse(ByteBuffer b, int seq, int ifindex, boolean ingress, List<Filter> out) {
    int at = 0;
    while (at + 16 <= b.limit()) {
      int length = b.getInt(at);
      int type = b.getShort(at + 4) & 0xffff;
      int messageSeq = b.getInt(at + 8);
      if (length < 16 || at + length > b.limit()) {
        return true;
      }
      if (messageSeq == seq) {
        if (type == NLMSG_DONE || type == NLMSG_ERROR) {
          return true; // an error (ENOENT/EINVAL: no clsact qdisc, ENODEV: gone) lists nothing
        }
        if (type == RTM_NEWTFILTER && length >= 36) {
          Filter f = filter(b, at, length, ifindex, ingress);
          if (f != null) {
            out.add(f);
          }
        }
      }
      at += (length + 3) & ~3;
    }
    return false;
  }

  private static Filter filter(ByteBuffer b, int at, int length, int ifindex, boolean ingress) {
    int handle = b.getInt(at + 16 + 8);
    int info = b.getInt(at + 16 + 16);
    int priority = info >>> 16;
    String kind = null;
    String name = null;
    int id = 0;
    int attr = at + 36;
    int end = at + length;
    while (attr + 4 <= end) {
      int attrLength = b.getShort(attr) & 0xffff;
      int attrType = b.getShort(attr + 2) & 0x3fff;
      if (attrLength < 4 || attr + attrLength > end) {
        break;
      }
      if (attrType == TCA_KIND) {
        kind = string(b, attr + 4, attrLength - 4);
      } else if (attrType == TCA_OPTIONS) {
        int nested = attr + 4;
        int nestedEnd = attr + attrLength;
        while (nested + 4 <= nestedEnd) {
          int l = b.getShort(nested) & 0xffff;
          int t = b.getShort(nested + 2) & 0x3fff;
          if (l < 4 || nested + l > nestedEnd) {
            break;
          }
          if (t == TCA_BPF_NAME) {
            name = string(b, nested + 4, l - 4);
          } else if (t == TCA_BPF_ID && l >= 8) {
            id = b.getInt(nested + 4);
          }
          nested += (l + 3) & ~3;
        }
      }
      attr += (attrLength + 3) & ~3;
    }
    if (handle == 0) {
      return null; // the entry of a priority's classifier itself, not a filter
    }
    return new Filter(ifindex, ingress, handle, priority, kind, name, id);
  }

  private static String string(ByteBuffer b, int at, int length) {
    byte[] bytes = new byte[length];
    b.get(at, bytes);
    int n = 0;
    while (n < length && bytes[n] != 0) {
      n++;
    }
    return new String(bytes, 0, n, StandardCharsets.UTF_8);
  }
}

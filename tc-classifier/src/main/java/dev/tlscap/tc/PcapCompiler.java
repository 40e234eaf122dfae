// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.tc;

import com.sun.jna.Library;
import com.sun.jna.Native;
import com.sun.jna.Pointer;
import com.sun.jna.Structure;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;

/**
 * tcpdump's filter language, compiled by libpcap itself ({@code pcap_compile} on a "dead" handle,
 * through JNA) into classic BPF, once per link layer the classifier sees: Ethernet (Ethernet, veth,
 * loopback) and raw IP (tun, WireGuard). The TC classifier runs the result ({@code cbpf_matches}),
 * so every filter tcpdump accepts is accepted and keeps the same packets.
 */
final class PcapCompiler {
  static final int DLT_EN10MB = 1;
  static final int DLT_RAW = 12;
  /** {@code CBPF_MAX_INSNS} of packet_abi.h. */
  static final int MAX_INSNS = 4096;
  static final int LINKS = 2;
  static final int INSN_SIZE = 8;
  private static final int PCAP_NETMASK_UNKNOWN = 0xffffffff;

  /** The two programs in the layout of the classifier's .rodata. */
  record Programs(int[] lengths, byte[] encoded) {}

  /** libpcap's compiler. */
  public interface Pcap extends Library {
    Pointer pcap_open_dead(int linktype, int snaplen);

    int pcap_compile(Pointer p, BpfProgram program, String expression, int optimize, int netmask);

    void pcap_freecode(BpfProgram program);

    String pcap_geterr(Pointer p);

    void pcap_close(Pointer p);
  }

  /** {@code struct bpf_program}. */
  @Structure.FieldOrder({"bf_len", "bf_insns"})
  public static final class BpfProgram extends Structure {
    public int bf_len;
    public Pointer bf_insns;
  }

  private static Pcap library;
  private static String missing;

  private PcapCompiler() {}

  /** libpcap, or null (then {@link #missing} says what to install). */
  private static synchronized Pcap library() {
    if (library == null && missing == null) {
      for (String name : List.of("pcap", "libpcap.so.1", "libpcap.so.0.8")) {
        try {
          library = Native.load(name, Pcap.class);
          break;
        } catch (UnsatisfiedLinkError e) {
          missing = "it is not installed (apt-get install libpcap0.8)";
        }
      }
      if (library != null) {
        missing = null;
      }
    }
    return library;
  }

  /** Why libpcap cannot compile anything here, or null when it is present. */
  static String unavailable() {
    library();
    return missing;
  }

  /**
   * Compiles {@code expression} for both link layers.
   *
   * @throws CaptureException with libpcap's message when it refuses the expression
   * @throws IllegalStateException when libpcap is missing ({@link #unavailable()})
   */
  static synchronized Programs compile(String expression) {
    Pcap pcap = library();
    if (pcap == null) {
      throw new IllegalStateException("libpcap: " + missing);
    }
    ByteBuffer out = ByteBuffer.allocate(LINKS * MAX_INSNS * INSN_SIZE).order(ByteOrder.nativeOrder());
    int[] lengths = new int[LINKS];
    int[] dlts = {DLT_EN10MB, DLT_RAW};
    for (int link = 0; link < LINKS; link++) {
      Pointer handle = pcap.pcap_open_dead(dlts[link], 262144);
      if (handle == null) {
        throw new IllegalStateException("libpcap could not open a handle to compile the filter");
      }
      BpfProgram program = new BpfProgram();
      try {
        if (pcap.pcap_compile(handle, program, expression, 1, PCAP_NETMASK_UNKNOWN) != 0) {
          if (link > 0) {
            continue; // e.g. 'ether host X' on raw IP: as in tcpdump there, no packet of such an interface matches
          }
          throw new CaptureException("the filter '" + expression + "' does not compile: " + pcap.pcap_geterr(handle));
        }
        program.read();
        int n = program.bf_len;
        if (n <= 0 || n > MAX_INSNS) {
          throw new CaptureException("the filter '" + expression + "' compiles to " + n + " instructions; at most "
              + MAX_INSNS + " run in the kernel");
        }
        byte[] insns = program.bf_insns.getByteArray(0, n * INSN_SIZE); // struct bpf_insn, native order
        out.put(link * MAX_INSNS * INSN_SIZE, insns);
        lengths[link] = n;
        pcap.pcap_freecode(program);
      } finally {
        pcap.pcap_close(handle);
      }
    }
    return new Programs(lengths, out.array());
  }
}

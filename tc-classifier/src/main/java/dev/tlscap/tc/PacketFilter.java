// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.tc;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * The in-kernel packet filter: the common cases of tcpdump's filter language, evaluated by the TC
 * classifier before it copies anything, so packets that do not match cost no copy.
 *
 * <p>What the kernel evaluates: {@code host}, {@code net} (CIDR), {@code port}, {@code portrange},
 * each with {@code src}, {@code dst}, {@code src or dst}, {@code src and dst}; the protocols
 * {@code tcp}, {@code udp}, {@code sctp}, {@code icmp}, {@code icmp6}, {@code ip}, {@code ip6},
 * {@code arp}, {@code rarp}, alone or qualifying the above ({@code tcp port 443},
 * {@code ip6 host ::1}); {@code and}/{@code &&}, {@code or}/{@code ||}, parentheses, and tcpdump's
 * short forms ({@code port 80 or 443}). IPv4 and IPv6. The meaning is libpcap's: {@code host} also
 * matches ARP/RARP packets about the address, {@code port} means TCP, UDP or SCTP and never matches
 * IPv4 fragments after the first, {@code and} and {@code or} bind equally tight, left to right.
 * Service names ({@code port https}) are looked up in {@code /etc/services}.
 *
 * <p>Anything else ({@code not}, {@code ether ...}, {@code vlan}, {@code greater}, byte tests such as
 * {@code tcp[13] & 2 != 0}, host names) is compiled by libpcap ({@link PcapCompiler}) and its
 * classic BPF runs in the classifier's interpreter: every expression tcpdump accepts. Without
 * libpcap, or for an expression libpcap refuses, {@link #compile(String)} returns a filter that lets
 * a <b>superset</b> through (the unsupported part counts as "matches"), with {@link #inKernel()}
 * false and the reason in {@link #notInKernelReason()}; {@link #parse(String)} refuses such an
 * expression with a one-line {@link CaptureException} instead.
 *
 * <p>In the kernel the filter is a disjunction of at most {@value #MAX_CLAUSES} clauses, each a
 * conjunction of a protocol set, a network-protocol set, up to two host/net conditions and up to
 * two port conditions ({@code struct filter_clause} of {@code packet_abi.h}). Immutable, thread-safe.
 */
public final class PacketFilter {
  /** {@code FILTER_MAX_CLAUSES}. */
  public static final int MAX_CLAUSES = 16;
  /** Host and port conditions one clause holds. */
  static final int MAX_CONDITIONS = 2;

  // enums of packet_abi.h, checked against BTF by PacketAbiEnumTest: filter_host/filter_port.direction
  static final int DIR_SRC = 1;
  static final int DIR_DST = 2;
  static final int DIR_BOTH = 4;
  // filter_clause.protocols
  static final int PROTO_TCP = 1;
  static final int PROTO_UDP = 2;
  static final int PROTO_SCTP = 4;
  static final int PROTO_ICMP = 8;
  static final int PROTO_ICMPV6 = 16;
  static final int PORT_PROTOCOLS = PROTO_TCP | PROTO_UDP | PROTO_SCTP;
  // filter_clause.families
  static final int FAMILY_IPV4 = 1;
  static final int FAMILY_IPV6 = 2;
  static final int FAMILY_ARP = 4;
  static final int FAMILY_RARP = 8;
  static final int FAMILY_NEVER = 1 << 31;
  static final int IP_FAMILIES = FAMILY_IPV4 | FAMILY_IPV6;

  // struct filter_clause layout (packet_abi.h), checked against BTF by PacketAbiLayoutTest
  static final int CLAUSE_SIZE = 104;
  static final int CLAUSE_PROTOCOLS = 0;
  static final int CLAUSE_FAMILIES = 4;
  static final int CLAUSE_HOSTS = 8;
  static final int HOST_SIZE = 40;
  static final int HOST_ADDR = 0;
  static final int HOST_MASK = 16;
  static final int HOST_FAMILY = 32;
  static final int HOST_DIRECTION = 36;
  static final int CLAUSE_PORTS = 88;
  static final int PORT_SIZE = 8;
  static final int PORT_LOW = 0;
  static final int PORT_HIGH = 2;
  static final int PORT_DIRECTION = 4;

  /** Captures every packet: no in-kernel filter at all. */
  public static final PacketFilter ALL = new PacketFilter("", List.of(), null);

  /** Which addresses or ports a condition looks at. */
  public enum Direction {
    SRC(DIR_SRC),
    DST(DIR_DST),
    SRC_OR_DST(DIR_SRC | DIR_DST),
    SRC_AND_DST(DIR_SRC | DIR_DST | DIR_BOTH);

    final int bits;

    Direction(int bits) {
      this.bits = bits;
    }
  }

  /**
   * {@code host}/{@code net}: the packet's address (IPv4: also ARP/RARP sender/target) masked by
   * the prefix equals {@code address}.
   *
   * @param address 4 or 16 bytes, network order, host bits zero
   */
  public record HostCondition(byte[] address, int prefixLength, Direction direction) {
    public HostCondition {
      address = address.clone();
      if (address.length != 4 && address.length != 16) {
        throw new IllegalArgumentException("an address has 4 or 16 bytes");
      }
      if (prefixLength < 0 || prefixLength > address.length * 8) {
        throw new IllegalArgumentException("prefix length " + prefixLength + " out of range");
      }
    }

    @Override
    public byte[] address() {
      return address.clone();
    }

    boolean ipv4() {
      return address.length == 4;
    }

    byte[] mask() {
      byte[] mask = new byte[address.length];
      for (int bit = 0; bit < prefixLength; bit++) {
        mask[bit / 8] |= (byte) (0x80 >>> (bit % 8));
      }
      return mask;
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof HostCondition h && java.util.Arrays.equals(address, h.address)
          && prefixLength == h.prefixLength && direction == h.direction;
    }

    @Override
    public int hashCode() {
      return java.util.Arrays.hashCode(address) * 31 + prefixLength * 7 + direction.hashCode();
    }

    @Override
    public String toString() {
      return direction + " " + FilterValues.formatAddress(address) + "/" + prefixLength;
    }
  }

  /** {@code port}/{@code portrange}: the TCP/UDP/SCTP port is in {@code [low, high]}. */
  public record PortCondition(int low, int high, Direction direction) {
    public PortCondition {
      if (low < 0 || high > 65535 || low > high) {
        throw new IllegalArgumentException("bad port range " + low + "-" + high);
      }
    }

    @Override
    public String toString() {
      return direction + " port " + (low == high ? Integer.toString(low) : low + "-" + high);
    }
  }

  /**
   * One conjunction: the packet's protocol is in {@code protocols} (0: any), its network protocol
   * in {@code families} (0: any), and every condition holds.
   */
  public record Clause(int protocols, int families, List<HostCondition> hosts, List<PortCondition> ports) {
    public Clause {
      hosts = List.copyOf(hosts);
      ports = List.copyOf(ports);
      if (hosts.size() > MAX_CONDITIONS || ports.size() > MAX_CONDITIONS) {
        throw new IllegalArgumentException("a clause holds at most " + MAX_CONDITIONS + " hosts and ports");
      }
    }

    static final Clause ANY = new Clause(0, 0, List.of(), List.of());
    static final Clause NEVER = new Clause(0, FAMILY_NEVER, List.of(), List.of());

    boolean matchesEverything() {
      return protocols == 0 && families == 0 && hosts.isEmpty() && ports.isEmpty();
    }
  }

  private final String expression;
  private final List<Clause> clauses;
  private final String notInKernelReason;
  /** libpcap's programs for what the clauses cannot express, or null. */
  private final PcapCompiler.Programs cbpf;

  PacketFilter(String expression, List<Clause> clauses, String notInKernelReason) {
    this(expression, clauses, notInKernelReason, null);
  }

  private PacketFilter(String expression, List<Clause> clauses, String notInKernelReason, PcapCompiler.Programs cbpf) {
    this.expression = Objects.requireNonNull(expression);
    this.clauses = List.copyOf(clauses);
    this.notInKernelReason = notInKernelReason;
    this.cbpf = cbpf;
    if (clauses.size() > MAX_CLAUSES) {
      throw new IllegalArgumentException("at most " + MAX_CLAUSES + " clauses");
    }
  }

  /**
   * Compiles a tcpdump filter expression for the kernel. Never refuses: what the kernel cannot
   * evaluate widens the filter ({@link #inKernel()} is then false). Null or blank: {@link #ALL}.
   */
  public static PacketFilter compile(String expression) {
    if (expression == null || expression.isBlank()) {
      return ALL;
    }
    PacketFilter common = FilterParser.compile(expression.trim());
    if (common.inKernel()) {
      return common; // the common cases as clauses: no interpreter per packet
    }
    String noLibpcap = PcapCompiler.unavailable();
    if (noLibpcap != null) {
      return new PacketFilter(expression.trim(), common.clauses, common.notInKernelReason
          + "; the rest of tcpdump's syntax needs libpcap: " + noLibpcap); // a superset, and what to install
    }
    try {
      return new PacketFilter(expression.trim(), List.of(), null, PcapCompiler.compile(expression.trim()));
    } catch (CaptureException e) {
      return new PacketFilter(expression.trim(), common.clauses, e.getMessage());
    }
  }

  /**
   * Compiles an expression the kernel must evaluate entirely.
   *
   * @throws CaptureException naming the part the kernel cannot do, e.g. {@code the in-kernel filter
   *     cannot do 'not port 22' (it takes host, net, port, portrange, tcp, udp, ... joined by and/or)}
   */
  public static PacketFilter parse(String expression) {
    PacketFilter filter = compile(expression);
    if (!filter.inKernel()) {
      throw new CaptureException(filter.notInKernelReason);
    }
    return filter;
  }

  /**
   * The filter of {@code --port} and {@code --host} options: any of the ports, and any of the hosts
   * (both when both are given). Each host is an IPv4/IPv6 address or CIDR network.
   */
  public static PacketFilter forPortsAndHosts(List<Integer> ports, List<String> hosts) {
    List<String> parts = new ArrayList<>();
    if (!ports.isEmpty()) {
      List<String> p = new ArrayList<>();
      for (int port : ports) {
        if (port < 0 || port > 65535) {
          throw new CaptureException("--port " + port + " is not a port number (0-65535)");
        }
        p.add("port " + port);
      }
      parts.add(ports.size() == 1 ? p.get(0) : "(" + String.join(" or ", p) + ")");
    }
    if (!hosts.isEmpty()) {
      List<String> h = new ArrayList<>();
      for (String host : hosts) {
        h.add((host.contains("/") ? "net " : "host ") + host);
      }
      parts.add(hosts.size() == 1 ? h.get(0) : "(" + String.join(" or ", h) + ")");
    }
    return parse(String.join(" and ", parts));
  }

  /** The expression as given (empty for {@link #ALL}): the pcapng {@code if_filter}. */
  public String expression() {
    return expression;
  }

  /** The clauses the kernel evaluates (any matching clause lets a packet through); empty: every packet. */
  public List<Clause> clauses() {
    return clauses;
  }

  /** True when every packet passes the in-kernel filter (no filter, or one widened to everything). */
  public boolean matchesEverything() {
    return clauses.isEmpty() && cbpf == null;
  }

  /** True when the kernel runs libpcap's compiled filter ({@code cbpf_enabled}) rather than the clauses. */
  public boolean usesLibpcap() {
    return cbpf != null;
  }

  /** {@code cbpf_length[CBPF_LINKS]} in native byte order. */
  byte[] encodeCbpfLengths() {
    ByteBuffer b = ByteBuffer.allocate(4 * PcapCompiler.LINKS).order(ByteOrder.nativeOrder());
    if (cbpf != null) {
      for (int i = 0; i < PcapCompiler.LINKS; i++) {
        b.putInt(4 * i, cbpf.lengths()[i]);
      }
    }
    return b.array();
  }

  /** {@code cbpf_program[CBPF_LINKS][CBPF_MAX_INSNS]}. */
  byte[] encodeCbpfProgram() {
    return cbpf != null ? cbpf.encoded() : new byte[PcapCompiler.LINKS * PcapCompiler.MAX_INSNS * PcapCompiler.INSN_SIZE];
  }

  /** True when the kernel evaluates the whole expression: nothing to re-check in user space. */
  public boolean inKernel() {
    return notInKernelReason == null;
  }

  /** Why the kernel only applies a superset of the expression; null when {@link #inKernel()}. */
  public String notInKernelReason() {
    return notInKernelReason;
  }

  /** {@code filter_clause_count}. */
  int clauseCount() {
    return clauses.size();
  }

  /** {@code filter_clauses[FILTER_MAX_CLAUSES]} in native byte order, for the object's .rodata. */
  byte[] encodeClauses() {
    ByteBuffer b = ByteBuffer.allocate(MAX_CLAUSES * CLAUSE_SIZE).order(ByteOrder.nativeOrder());
    for (int i = 0; i < clauses.size(); i++) {
      Clause c = clauses.get(i);
      int base = i * CLAUSE_SIZE;
      b.putInt(base + CLAUSE_PROTOCOLS, c.protocols());
      b.putInt(base + CLAUSE_FAMILIES, c.families());
      for (int h = 0; h < c.hosts().size(); h++) {
        HostCondition host = c.hosts().get(h);
        int at = base + CLAUSE_HOSTS + h * HOST_SIZE;
        b.put(at + HOST_ADDR, host.address); // network order: the bytes as they are on the wire
        b.put(at + HOST_MASK, host.mask());
        b.putInt(at + HOST_FAMILY, host.ipv4() ? 4 : 6);
        b.putInt(at + HOST_DIRECTION, host.direction().bits);
      }
      for (int p = 0; p < c.ports().size(); p++) {
        PortCondition port = c.ports().get(p);
        int at = base + CLAUSE_PORTS + p * PORT_SIZE;
        b.putShort(at + PORT_LOW, (short) port.low());
        b.putShort(at + PORT_HIGH, (short) port.high());
        b.putInt(at + PORT_DIRECTION, port.direction().bits);
      }
    }
    return b.array();
  }

  @Override
  public String toString() {
    return "PacketFilter['" + expression + "' -> " + (cbpf != null ? "libpcap" : clauses.isEmpty() ? "everything" : clauses)
        + (inKernel() ? "" : ", superset: " + notInKernelReason) + "]";
  }
}

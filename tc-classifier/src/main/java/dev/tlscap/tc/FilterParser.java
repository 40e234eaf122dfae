// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.tc;

import dev.tlscap.tc.PacketFilter.Clause;
import dev.tlscap.tc.PacketFilter.Direction;
import dev.tlscap.tc.PacketFilter.HostCondition;
import dev.tlscap.tc.PacketFilter.PortCondition;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Turns the in-kernel subset of tcpdump's filter language into {@link PacketFilter} clauses
 * (disjunctive normal form). Parts outside the subset become "matches everything" so the result
 * is always a superset of the expression; the first such part is the reason the filter is not
 * {@link PacketFilter#inKernel()}. Addresses and ports are read by {@link FilterValues}, the tree is
 * brought into normal form by {@link FilterNormalForm}. Stateless apart from one parse; internal.
 */
final class FilterParser {
  private static final String SUBSET = "it takes host, net, port, portrange, tcp, udp, sctp, icmp, icmp6, ip, ip6,"
      + " arp, rarp with src/dst, joined by and/or";

  private static final Set<String> PROTOCOLS = Set.of("ip", "ip6", "arp", "rarp", "tcp", "udp", "sctp", "icmp", "icmp6");
  private static final Set<String> TYPES = Set.of("host", "net", "port", "portrange");
  private static final Set<String> DIRECTIONS = Set.of("src", "dst");
  private static final Pattern RANGE = Pattern.compile("(\\w[\\w-]*?)-(\\w[\\w-]*)");

  /** A parsed expression tree. */
  sealed interface Node permits Leaf, Unsupported, And, Or {}

  record Leaf(Clause clause) implements Node {}

  /** A part the kernel cannot do: "matches everything" in the superset. */
  record Unsupported(String reason) implements Node {}

  record And(Node left, Node right) implements Node {}

  record Or(Node left, Node right) implements Node {}

  /** Thrown inside the parser for text it cannot follow at all. */
  private static final class Unparseable extends RuntimeException {
    private static final long serialVersionUID = 1L;

    Unparseable(String message) {
      super(message, null, false, false);
    }
  }

  /** The qualifiers of the last primitive, for tcpdump's short forms ("port 80 or 443"). */
  private record Qualifiers(String protocol, Direction direction, String type) {}

  private final String expression;
  private final List<String> tokens;
  private int pos;
  private Qualifiers last;

  private FilterParser(String expression) {
    this.expression = expression;
    this.tokens = tokenize(expression);
  }

  static PacketFilter compile(String expression) {
    FilterParser parser = new FilterParser(expression);
    Node tree;
    try {
      tree = parser.parseExpression();
      if (parser.pos < parser.tokens.size()) {
        throw new Unparseable("unexpected '" + parser.tokens.get(parser.pos) + "'");
      }
    } catch (Unparseable e) {
      return new PacketFilter(expression, List.of(),
          "the in-kernel filter cannot parse '" + expression + "' (" + e.getMessage() + "; " + SUBSET + ")");
    }
    FilterNormalForm.Normal normal = FilterNormalForm.normalize(tree);
    if (normal.clauses().size() > PacketFilter.MAX_CLAUSES) {
      return new PacketFilter(expression, List.of(), "'" + expression + "' needs more than " + PacketFilter.MAX_CLAUSES
          + " alternatives in the in-kernel filter");
    }
    List<Clause> clauses = normal.clauses();
    if (clauses.stream().anyMatch(Clause::matchesEverything)) {
      clauses = List.of();
    } else if (clauses.isEmpty()) {
      clauses = List.of(Clause.NEVER);
    }
    return new PacketFilter(expression, clauses, normal.reason());
  }

  // ------------------------------------------------------------------ tokens

  static List<String> tokenize(String text) {
    List<String> out = new ArrayList<>();
    int i = 0;
    int n = text.length();
    while (i < n) {
      char c = text.charAt(i);
      if (Character.isWhitespace(c)) {
        i++;
      } else if (c == '(' || c == ')') {
        out.add(String.valueOf(c));
        i++;
      } else if (text.startsWith("&&", i) || text.startsWith("||", i)) {
        out.add(text.substring(i, i + 2));
        i += 2;
      } else if (c == '!' && !text.startsWith("!=", i)) {
        out.add("!");
        i++;
      } else {
        int start = i;
        int brackets = 0;
        while (i < n) {
          char d = text.charAt(i);
          if (d == '[') {
            brackets++;
          } else if (d == ']') {
            brackets--;
          } else if (brackets == 0 && (Character.isWhitespace(d) || d == '(' || d == ')'
              || text.startsWith("&&", i) || text.startsWith("||", i))) {
            break;
          }
          i++;
        }
        out.add(text.substring(start, i));
      }
    }
    return out;
  }

  private String peek() {
    return pos < tokens.size() ? tokens.get(pos).toLowerCase(Locale.ROOT) : null;
  }

  private String next() {
    if (pos >= tokens.size()) {
      throw new Unparseable("it ends too early");
    }
    return tokens.get(pos++);
  }

  private static boolean isAnd(String t) {
    return "and".equals(t) || "&&".equals(t);
  }

  private static boolean isOr(String t) {
    return "or".equals(t) || "||".equals(t);
  }

  private static boolean isNot(String t) {
    return "not".equals(t) || "!".equals(t);
  }

  // ------------------------------------------------------------------ grammar

  /** expr := unary (('and' | 'or') unary)*, left to right with equal precedence, as in pcap-filter(7). */
  private Node parseExpression() {
    Node left = parseUnary();
    while (true) {
      String t = peek();
      if (isAnd(t)) {
        pos++;
        left = new And(left, parseUnary());
      } else if (isOr(t)) {
        pos++;
        left = new Or(left, parseUnary());
      } else {
        return left;
      }
    }
  }

  private Node parseUnary() {
    String t = peek();
    if (t == null) {
      throw new Unparseable("it ends too early");
    }
    if (isNot(t)) {
      int start = pos;
      pos++;
      parseUnary();
      return new Unsupported("the in-kernel filter cannot do '" + text(start, pos) + "' (" + SUBSET + ")");
    }
    if (t.equals("(")) {
      pos++;
      Node inner = parseExpression();
      if (!")".equals(peek())) {
        throw new Unparseable("a '(' is not closed");
      }
      pos++;
      return inner;
    }
    if (t.equals(")")) {
      throw new Unparseable("unexpected ')'");
    }
    return parsePrimitive();
  }

  private Node parsePrimitive() {
    int start = pos;
    String protocol = null;
    Direction direction = null;
    String type = null;
    String value = null;
    while (pos < tokens.size()) {
      String t = peek();
      if (protocol == null && direction == null && type == null && PROTOCOLS.contains(t)) {
        protocol = t;
        pos++;
      } else if (direction == null && type == null && DIRECTIONS.contains(t)) {
        direction = parseDirection();
      } else if (type == null && TYPES.contains(t)) {
        type = t;
        pos++;
        value = next();
        break;
      } else {
        break;
      }
    }
    if (start == pos) {
      // a bare value right after and/or: tcpdump's short form, with the last primitive's qualifiers
      String t = peek();
      if (last != null && last.type != null && looksLikeValue(t)) {
        value = next();
        return primitive(start, last.protocol, last.direction, last.type, value);
      }
      return opaque(start);
    }
    if (type == null && direction != null && looksLikeValue(peek())) {
      type = "host"; // 'src 10.0.0.1' means 'src host 10.0.0.1'
      value = next();
    }
    if (!atPrimitiveEnd()) {
      pos = start;
      return opaque(start);
    }
    return primitive(start, protocol, direction, type, value);
  }

  private Direction parseDirection() {
    String first = next().toLowerCase(Locale.ROOT);
    String joiner = peek();
    if ((isOr(joiner) || isAnd(joiner)) && pos + 1 < tokens.size()) {
      String second = tokens.get(pos + 1).toLowerCase(Locale.ROOT);
      if (DIRECTIONS.contains(second) && !second.equals(first)) {
        pos += 2;
        return isOr(joiner) ? Direction.SRC_OR_DST : Direction.SRC_AND_DST;
      }
    }
    return first.equals("src") ? Direction.SRC : Direction.DST;
  }

  private boolean atPrimitiveEnd() {
    String t = peek();
    return t == null || isAnd(t) || isOr(t) || t.equals(")");
  }

  /** Consumes an unsupported primitive: tokens up to the next and/or/')' outside parentheses. */
  private Node opaque(int start) {
    int depth = 0;
    while (pos < tokens.size()) {
      String t = peek();
      if (depth == 0 && (isAnd(t) || isOr(t) || t.equals(")"))) {
        break;
      }
      if (t.equals("(")) {
        depth++;
      } else if (t.equals(")")) {
        depth--;
      }
      pos++;
    }
    if (pos == start) {
      throw new Unparseable("unexpected '" + (pos < tokens.size() ? tokens.get(pos) : "end") + "'");
    }
    last = null;
    return new Unsupported("the in-kernel filter cannot do '" + text(start, pos) + "' (" + SUBSET + ")");
  }

  private String text(int from, int to) {
    return String.join(" ", tokens.subList(from, to));
  }

  private static boolean looksLikeValue(String t) {
    if (t == null || t.equals("(") || t.equals(")") || isAnd(t) || isOr(t) || isNot(t)) {
      return false;
    }
    if (PROTOCOLS.contains(t) || TYPES.contains(t) || DIRECTIONS.contains(t)) {
      return false;
    }
    return Character.isLetterOrDigit(t.charAt(0)) || t.charAt(0) == ':';
  }

  /** Builds the clause of one primitive, or an Unsupported node for the forms the kernel lacks. */
  private Node primitive(int start, String protocol, Direction direction, String type, String value) {
    last = new Qualifiers(protocol, direction, type);
    String text = text(start, pos);
    Direction dir = direction == null ? Direction.SRC_OR_DST : direction;
    if (type == null) {
      // a protocol alone
      switch (protocol) {
        case "tcp": return leaf(PacketFilter.PROTO_TCP, 0, null, null);
        case "udp": return leaf(PacketFilter.PROTO_UDP, 0, null, null);
        case "sctp": return leaf(PacketFilter.PROTO_SCTP, 0, null, null);
        case "icmp": return leaf(PacketFilter.PROTO_ICMP, PacketFilter.FAMILY_IPV4, null, null);
        case "icmp6": return leaf(PacketFilter.PROTO_ICMPV6, PacketFilter.FAMILY_IPV6, null, null);
        case "ip": return leaf(0, PacketFilter.FAMILY_IPV4, null, null);
        case "ip6": return leaf(0, PacketFilter.FAMILY_IPV6, null, null);
        case "arp": return leaf(0, PacketFilter.FAMILY_ARP, null, null);
        case "rarp": return leaf(0, PacketFilter.FAMILY_RARP, null, null);
        default: throw new IllegalStateException(protocol);
      }
    }
    if (type.equals("host") || type.equals("net")) {
      int families;
      if (protocol == null) {
        families = 0;
      } else if (protocol.equals("ip")) {
        families = PacketFilter.FAMILY_IPV4;
      } else if (protocol.equals("ip6")) {
        families = PacketFilter.FAMILY_IPV6;
      } else if (protocol.equals("arp")) {
        families = PacketFilter.FAMILY_ARP;
      } else if (protocol.equals("rarp")) {
        families = PacketFilter.FAMILY_RARP;
      } else {
        return unsupported(text);
      }
      HostCondition host = type.equals("host") ? FilterValues.parseHost(value, dir) : FilterValues.parseNet(value, dir);
      if (host == null) {
        return new Unsupported("the in-kernel filter cannot do '" + text + "': '" + value
            + "' is not an IPv4 or IPv6 " + (type.equals("host") ? "address" : "network (CIDR)")
            + (type.equals("host") ? " (host names need a DNS lookup; give the address)" : ""));
      }
      return leaf(0, families, host, null);
    }
    // port, portrange
    int protocols;
    int families = 0;
    if (protocol == null) {
      protocols = PacketFilter.PORT_PROTOCOLS;
    } else {
      switch (protocol) {
        case "tcp": protocols = PacketFilter.PROTO_TCP; break;
        case "udp": protocols = PacketFilter.PROTO_UDP; break;
        case "sctp": protocols = PacketFilter.PROTO_SCTP; break;
        case "ip": protocols = PacketFilter.PORT_PROTOCOLS; families = PacketFilter.FAMILY_IPV4; break;
        case "ip6": protocols = PacketFilter.PORT_PROTOCOLS; families = PacketFilter.FAMILY_IPV6; break;
        default: return unsupported(text);
      }
    }
    PortCondition port;
    if (type.equals("port")) {
      int p = FilterValues.parsePort(value, protocol);
      if (p < 0) {
        return unsupportedValue(text, value);
      }
      port = new PortCondition(p, p, dir);
    } else {
      Matcher m = RANGE.matcher(value);
      if (!m.matches()) {
        return unsupportedValue(text, value);
      }
      int a = FilterValues.parsePort(m.group(1), protocol);
      int b = FilterValues.parsePort(m.group(2), protocol);
      if (a < 0 || b < 0) {
        return unsupportedValue(text, value);
      }
      port = new PortCondition(Math.min(a, b), Math.max(a, b), dir);
    }
    return leaf(protocols, families, null, port);
  }

  private static Node leaf(int protocols, int families, HostCondition host, PortCondition port) {
    return new Leaf(new Clause(protocols, families, host == null ? List.of() : List.of(host),
        port == null ? List.of() : List.of(port)));
  }

  private static Node unsupported(String text) {
    return new Unsupported("the in-kernel filter cannot do '" + text + "' (" + SUBSET + ")");
  }

  private static Node unsupportedValue(String text, String value) {
    return new Unsupported("the in-kernel filter cannot do '" + text + "': '" + value + "' is not a port number or a known service");
  }
}

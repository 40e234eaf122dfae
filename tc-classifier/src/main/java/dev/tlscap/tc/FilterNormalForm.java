// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.tc;

import dev.tlscap.tc.FilterParser.And;
import dev.tlscap.tc.FilterParser.Leaf;
import dev.tlscap.tc.FilterParser.Node;
import dev.tlscap.tc.FilterParser.Or;
import dev.tlscap.tc.FilterParser.Unsupported;
import dev.tlscap.tc.PacketFilter.Clause;
import dev.tlscap.tc.PacketFilter.HostCondition;
import dev.tlscap.tc.PacketFilter.PortCondition;
import java.util.ArrayList;
import java.util.List;

/**
 * Brings a parsed filter tree into disjunctive normal form: at most {@link PacketFilter#MAX_CLAUSES}
 * clauses, each narrowed to what its conditions imply, and the first reason the result is only a
 * superset of the expression. Stateless; internal to {@link FilterParser}.
 */
final class FilterNormalForm {
  private FilterNormalForm() {}

  /** Clauses in disjunctive normal form, and the first reason the result is only a superset. */
  record Normal(List<Clause> clauses, String reason) {}

  static Normal normalize(Node node) {
    if (node instanceof Leaf leaf) {
      Clause c = consistent(leaf.clause());
      return new Normal(c == null ? List.of() : List.of(c), null);
    }
    if (node instanceof Unsupported u) {
      return new Normal(List.of(Clause.ANY), u.reason());
    }
    if (node instanceof Or or) {
      Normal a = normalize(or.left());
      Normal b = normalize(or.right());
      List<Clause> all = new ArrayList<>(a.clauses);
      for (Clause c : b.clauses) {
        if (!all.contains(c)) {
          all.add(c);
        }
      }
      String reason = first(a.reason, b.reason);
      if (all.stream().anyMatch(Clause::matchesEverything)) {
        all = List.of(Clause.ANY);
      } else if (all.size() > PacketFilter.MAX_CLAUSES) {
        return new Normal(List.of(Clause.ANY), first(reason, "the expression needs more than "
            + PacketFilter.MAX_CLAUSES + " alternatives in the in-kernel filter"));
      }
      return new Normal(all, reason);
    }
    And and = (And) node;
    Normal a = normalize(and.left());
    Normal b = normalize(and.right());
    String reason = first(a.reason, b.reason);
    List<Clause> all = new ArrayList<>();
    for (Clause x : a.clauses) {
      for (Clause y : b.clauses) {
        Merged m = merge(x, y);
        reason = first(reason, m.reason);
        if (m.clause != null && !all.contains(m.clause)) {
          all.add(m.clause);
        }
      }
    }
    if (all.size() > PacketFilter.MAX_CLAUSES) {
      return new Normal(List.of(Clause.ANY), first(reason, "the expression needs more than "
          + PacketFilter.MAX_CLAUSES + " alternatives in the in-kernel filter"));
    }
    return new Normal(all, reason);
  }

  private static String first(String a, String b) {
    return a != null ? a : b;
  }

  private record Merged(Clause clause, String reason) {}

  /** The conjunction of two clauses; null clause when it can never match. */
  private static Merged merge(Clause x, Clause y) {
    int protocols = intersect(x.protocols(), y.protocols());
    int families = intersect(x.families(), y.families());
    if (protocols == -1 || families == -1) {
      return new Merged(null, null);
    }
    String reason = null;
    List<HostCondition> hosts = new ArrayList<>(x.hosts());
    for (HostCondition h : y.hosts()) {
      if (!hosts.contains(h)) {
        hosts.add(h);
      }
    }
    List<PortCondition> ports = new ArrayList<>(x.ports());
    for (PortCondition p : y.ports()) {
      if (!ports.contains(p)) {
        ports.add(p);
      }
    }
    if (hosts.size() > PacketFilter.MAX_CONDITIONS || ports.size() > PacketFilter.MAX_CONDITIONS) {
      reason = "the in-kernel filter holds at most " + PacketFilter.MAX_CONDITIONS
          + " host and " + PacketFilter.MAX_CONDITIONS + " port conditions joined by 'and'";
      hosts = hosts.subList(0, Math.min(hosts.size(), PacketFilter.MAX_CONDITIONS));
      ports = ports.subList(0, Math.min(ports.size(), PacketFilter.MAX_CONDITIONS));
    }
    Clause c = consistent(new Clause(protocols, families, hosts, ports));
    return new Merged(c, reason);
  }

  /** a AND b of two sets where 0 means "any": -1 when they exclude each other. */
  private static int intersect(int a, int b) {
    if (a == 0) {
      return b;
    }
    if (b == 0) {
      return a;
    }
    int both = a & b;
    return both == 0 ? -1 : both;
  }

  /** Narrows a clause to what its conditions imply; null if nothing can match it. */
  private static Clause consistent(Clause c) {
    int protocols = c.protocols();
    int families = c.families();
    if (!c.ports().isEmpty()) {
      protocols = intersect(protocols, PacketFilter.PORT_PROTOCOLS);
    }
    if (protocols != 0) {
      families = protocols == -1 ? -1 : intersect(families, PacketFilter.IP_FAMILIES);
    }
    for (HostCondition h : c.hosts()) {
      int compatible = h.ipv4()
          ? PacketFilter.FAMILY_IPV4 | PacketFilter.FAMILY_ARP | PacketFilter.FAMILY_RARP
          : PacketFilter.FAMILY_IPV6;
      if (families == -1) {
        break;
      }
      if (families != 0) {
        families = intersect(families, compatible);
      } else if (c.hosts().size() == 2 && c.hosts().get(0).ipv4() != c.hosts().get(1).ipv4()) {
        families = -1;
      }
    }
    if (protocols == -1 || families == -1) {
      return null;
    }
    return new Clause(protocols, families, c.hosts(), c.ports());
  }
}

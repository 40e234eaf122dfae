// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.bpf;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Checks the Java copies of an enum of a {@code *_abi.h} (codes and flags) against the enum as
 * compiled into the object's BTF, as the layout tests do for structs. Used by TlsAbiEnumTest and
 * tc-classifier's PacketAbiEnumTest.
 */
public final class AbiEnums {
  private AbiEnums() {}

  /**
   * Asserts that C {@code enum name} has exactly the enumerators named in {@code java} and
   * {@code notReadByJava}, and that each Java constant equals its C value (as the {@code __u32}
   * field both sides read and write). A new C enumerator fails the test until Java maps it or
   * lists it as not read.
   *
   * @param java C enumerator name to the Java constant that stands for it
   * @param notReadByJava C enumerators Java neither reads nor writes
   */
  public static void assertMatch(Btf btf, String name, Map<String, Integer> java, String... notReadByJava) {
    Btf.Enumeration c = btf.enumeration(name);
    assertEquals(4, c.size(), "enum " + name + " size");
    Set<String> expected = new TreeSet<>(java.keySet());
    expected.addAll(Set.of(notReadByJava));
    assertEquals(expected, new TreeSet<>(c.values().keySet()), "enumerators of enum " + name);
    Map<String, String> mismatches = new TreeMap<>();
    for (Map.Entry<String, Integer> e : java.entrySet()) {
      long value = c.value(e.getKey());
      assertTrue(value >= Integer.MIN_VALUE && value <= 0xffff_ffffL, e.getKey() + " = " + value + " is not 32-bit");
      if ((int) value != e.getValue()) {
        mismatches.put(e.getKey(), "C " + value + ", Java " + Integer.toUnsignedString(e.getValue()));
      }
    }
    assertEquals(Map.of(), mismatches, "enum " + name + ": Java constants that differ from C");
  }
}

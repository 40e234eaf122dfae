// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.bpf;

/** The test BPF objects built from src/test/bpf into the test classes. */
final class TestObjects {
  private TestObjects() {}

  static BpfObject open(String name) {
    return BpfObject.open(TestObjects.class, "/bpf/" + name);
  }
}

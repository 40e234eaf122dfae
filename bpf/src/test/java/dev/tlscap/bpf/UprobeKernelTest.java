// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.bpf;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tlscap.testing.CCompiler;
import dev.tlscap.testing.Command;
import dev.tlscap.testing.Requirements;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Uprobes from Java: a real binary calls a function N times, exactly N records arrive. */
@Tag("kernel")
class UprobeKernelTest {
  static final String FUNCTION = "tlscap_test_function";
  @TempDir static Path dir;
  static Path target;

  @BeforeAll
  static void build() {
    Requirements.requireRoot();
    target = CCompiler.compile(CCompiler.testSource("uprobe_target.c"), dir.resolve("uprobe_target"));
  }

  @Test
  void everyCallAndReturnArrivesExactlyOnceInOrder() throws Exception {
    int calls = 10_000;
    try (Command.Background process = Command.Background.start(target.toString(), Integer.toString(calls));
        BpfObject object = TestObjects.open("uprobe_test.bpf.o")) {
      int pid = (int) process.pid();
      object.setRodataU32("target_tgid", pid).load();
      object.program("on_entry").attachUprobe(target, FUNCTION, false, pid);
      object.program("on_return").attachUprobe(target, FUNCTION, true, pid);
      RingBufferReader reader = new RingBufferReader(object.map("events"));
      object.closeWith(reader);

      process.process().getOutputStream().write("go\n".getBytes(StandardCharsets.US_ASCII));
      process.process().getOutputStream().flush();
      assertEquals(0, process.waitFor(Duration.ofSeconds(30)));

      List<long[]> records = new ArrayList<>();
      while (records.size() < 2 * calls) {
        int n = reader.poll((data, at, length) -> {
          assertEquals(TestRecord.SIZE, length);
          records.add(new long[] {TestRecord.seq(data, at), TestRecord.kind(data, at), TestRecord.value(data, at),
              TestRecord.pid(data, at)});
        }, 2000);
        if (n == 0) {
          break;
        }
      }
      assertEquals(2 * calls, records.size(), "one record per call and per return");
      assertEquals(0, object.globalU64(".bss", "dropped"));
      for (int i = 0; i < calls; i++) {
        long[] entry = records.get(2 * i);
        long[] exit = records.get(2 * i + 1);
        assertEquals(2L * i, entry[0]);
        assertEquals(TestRecord.KIND_ENTRY, entry[1]);
        assertEquals(i, entry[2], "the argument of call " + i);
        assertEquals(pid, entry[3]);
        assertEquals(TestRecord.KIND_RETURN, exit[1]);
        assertEquals(2L * i + 1, exit[2], "the return value of call " + i);
      }
      assertEquals(0, reader.poll((d, a, l) -> { }, 100), "nothing more");
    }
  }

  @Test
  void rodataFiltersOtherProcessesAndAttachWithoutPidSeesNewProcesses() throws Exception {
    // Attached for every process (pid -1) before the program starts; target_tgid picks one of two runs.
    try (BpfObject object = TestObjects.open("uprobe_test.bpf.o");
        Command.Background first = Command.Background.start(target.toString(), "5");
        Command.Background second = Command.Background.start(target.toString(), "7")) {
      object.setRodataU32("target_tgid", (int) second.pid()).load();
      object.program("on_entry").attachUprobe(target, FUNCTION, false, -1);
      RingBufferReader reader = new RingBufferReader(object.map("events"));
      object.closeWith(reader);
      for (Command.Background p : List.of(first, second)) {
        p.process().getOutputStream().write("go\n".getBytes(StandardCharsets.US_ASCII));
        p.process().getOutputStream().flush();
        assertEquals(0, p.waitFor(Duration.ofSeconds(30)));
      }
      List<Integer> pids = new ArrayList<>();
      reader.poll((data, at, length) -> pids.add(TestRecord.pid(data, at)), 1000);
      assertEquals(7, pids.size());
      assertTrue(pids.stream().allMatch(p -> p == second.pid()));
    }
  }

  @Test
  void closingTheObjectDetachesTheProbes() throws Exception {
    BpfLink link;
    try (BpfObject object = TestObjects.open("uprobe_test.bpf.o")) {
      object.load();
      link = object.program("on_entry").attachUprobe(target, FUNCTION, false, -1);
      assertTrue(link.isAttached());
      assertTrue(uprobeCount() > 0, "the kernel lists the uprobe");
    }
    assertFalse(link.isAttached());
    assertEquals(0, uprobeCount(), "no uprobe left in the kernel");
  }

  /** Uprobes tlscap_test_function has in the kernel: count our perf-event uprobes on the target file via /proc. */
  private static long uprobeCount() throws Exception {
    // Each attached uprobe holds a perf event fd named "anon_inode:[perf_event]" in this process.
    long n = 0;
    try (var fds = Files.list(Path.of("/proc/self/fd"))) {
      for (Path fd : (Iterable<Path>) fds::iterator) {
        try {
          if (Files.readSymbolicLink(fd).toString().equals("anon_inode:[perf_event]")) {
            n++;
          }
        } catch (java.io.IOException ignored) {
          // the fd closed meanwhile
        }
      }
    }
    return n;
  }

  @Test
  void badTargetsFailWithOneClearLine() throws Exception {
    try (BpfObject object = TestObjects.open("uprobe_test.bpf.o")) {
      object.load();
      BpfProgram program = object.program("on_entry");
      BpfException missing = assertThrows(BpfException.class,
          () -> program.attachUprobe(dir.resolve("no-such-binary"), FUNCTION, false, -1));
      assertEquals("cannot attach uprobe 'on_entry' to " + dir.resolve("no-such-binary") + ":" + FUNCTION + ": "
          + dir.resolve("no-such-binary") + " does not exist", missing.getMessage());

      BpfException symbol = assertThrows(BpfException.class,
          () -> program.attachUprobe(target, "no_such_function", false, -1));
      assertEquals("cannot attach uprobe 'on_entry' to " + target + ":no_such_function: symbol no_such_function not found in "
          + target, symbol.getMessage());

      Path text = Files.writeString(dir.resolve("not-elf"), "hello\n");
      BpfException notElf = assertThrows(BpfException.class, () -> program.attachUprobe(text, FUNCTION, false, -1));
      assertTrue(notElf.getMessage().startsWith("cannot attach uprobe 'on_entry' to " + text + ":" + FUNCTION + ": "),
          notElf.getMessage());
      assertFalse(notElf.getMessage().contains("\n"));
    }
  }

  @Test
  void verifierRejectionNamesProgramAndReason() {
    try (BpfObject object = TestObjects.open("verifier_reject.bpf.o")) {
      BpfException e = assertThrows(BpfException.class, object::load);
      assertEquals("BPF program 'missing_null_check' (verifier_reject.bpf.o) was rejected by the kernel verifier: "
          + "R0 invalid mem access 'map_value_or_null' (--debug-bpf prints the verifier log)", e.getMessage());
      assertTrue(e.details().contains("BEGIN PROG LOAD LOG"), "the log is kept for --debug-bpf");
    }
  }
}

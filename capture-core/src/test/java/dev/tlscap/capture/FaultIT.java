// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.capture;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tlscap.pcapng.InterfaceStatisticsBlock;
import dev.tlscap.testing.CCompiler;
import dev.tlscap.testing.Command;
import dev.tlscap.testing.KeyLogs;
import dev.tlscap.testing.NetworkNamespace;
import dev.tlscap.testing.Nginx;
import dev.tlscap.testing.OpenSslServer;
import dev.tlscap.testing.Requirements;
import dev.tlscap.testing.Tshark;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Fault tests of the whole tlscap.jar: the ring buffers overflow, the process is killed with
 * {@code kill -9} while it rotates and compresses, the disk fills up, an interface is deleted, traced
 * processes die mid-handshake and hundreds of short-lived TLS clients come and go. Each checks the
 * files with the reader and tshark, that every packet is in a file or counted, and that nothing
 * stays attached to the kernel.
 */
@Tag("e2e")
class FaultIT {
  @TempDir Path dir;

  /** Keeps the captures of a failed test in target/failed-captures, for the CI log's reader. */
  @org.junit.jupiter.api.extension.RegisterExtension
  final org.junit.jupiter.api.extension.TestWatcher keepCaptures = new org.junit.jupiter.api.extension.TestWatcher() {
    @Override
    public void testFailed(org.junit.jupiter.api.extension.ExtensionContext context, Throwable cause) {
      Path keep = Path.of("target", "failed-captures", context.getRequiredTestMethod().getName());
      try (java.util.stream.Stream<Path> files = Files.walk(dir, 2)) {
        Files.createDirectories(keep);
        for (Path f : files.filter(p -> p.getFileName().toString().contains("pcapng") && Files.isRegularFile(p))
            .collect(Collectors.toList())) {
          Files.copy(f, keep.resolve(f.getFileName()), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        }
      } catch (IOException ignored) {
        // best effort: the assertion message says what failed
      }
    }
  };

  @BeforeAll
  static void machine() {
    Requirements.requireRoot();
    Requirements.requireCommand("tshark", "tshark");
    Requirements.requireCommand("curl", "curl");
    Requirements.requireCommand("openssl", "openssl");
    KernelObjects.require();
  }

  // ---------------------------------------------------------------- ring buffers

  /**
   * A 64 KiB packet ring ({@code -B 64}), a consumer stopped for a moment (SIGSTOP) and then a flood:
   * every datagram sent is in the file or counted as dropped, in the summary and in the ISB.
   */
  @Test
  void aTinyPacketRingOverflowsAndEveryDatagramIsKeptOrCountedAsDropped() throws Exception {
    try (UdpSink sink = UdpSink.open()) {
      Path out = dir.resolve("flood.pcapng");
      long sent = 0;
      try (TlscapProcess tlscap = TlscapProcess.start(dir, "-i", "lo", "-B", "64", "-w", out.toString(), "udp", "dst",
          "port", Integer.toString(sink.port()))) {
        sent += sink.send(2_000, 64, false); // caught up with
        Thread.sleep(200);
        Command.run(Duration.ofSeconds(5), "kill", "-STOP", Long.toString(tlscap.pid())).check();
        try {
          sent += sink.send(20_000, 64, false); // the ring holds a few hundred
        } finally {
          Command.run(Duration.ofSeconds(5), "kill", "-CONT", Long.toString(tlscap.pid())).check();
        }
        sent += sink.send(200_000, 64, false);
        Thread.sleep(500);
        assertEquals(0, tlscap.terminate(), tlscap.stderr());
        ExitSummary s = ExitSummary.of(tlscap.stderr());
        assertTrue(s.dropped() >= 15_000, "the stopped consumer let the ring overflow: " + s);
        assertEquals(sent, s.captured() + s.dropped(), "kept + counted as dropped = sent, exactly: " + s);
        assertEquals(0, s.notWritten(), s.toString());

        CaptureFiles.Contents file = CaptureFiles.assertComplete(out);
        assertEquals(s.captured(), file.packets().size(), "the summary counts the packets in the file");
        InterfaceStatisticsBlock isb = file.statisticsOf(0);
        assertEquals(sent, isb.received().orElseThrow(), "isb_ifrecv: every datagram sent");
        assertEquals(s.dropped(), isb.droppedByInterface().orElseThrow(), "isb_ifdrop: the drops of the summary");
        assertEquals(file.packets().size(), isb.deliveredToUser().orElseThrow(), "isb_usrdeliv: the EPBs");
        System.out.printf("packet ring overflow (-B 64): %d sent, %d in the file, %d counted as dropped%n", sent,
            file.packets().size(), s.dropped());
      }
    }
  }

  /**
   * A 4 KiB secrets ring ({@code --secrets-buffer-size 4}) and 300 handshakes in a row, both ends
   * traced, the consumer stopped for a second in the middle: the secrets received plus those counted as lost are every secret the two processes
   * derived (their own key logs say how many), and every session is keyed or counted as not.
   */
  @Test
  void aTinySecretsRingOverflowsAndTheLostSecretsAreCounted() throws Exception {
    int connections = 300;
    try (OpenSslServer server = OpenSslServer.start(dir)) {
      Path out = dir.resolve("secrets.pcapng");
      Path clientKeys = dir.resolve("curl.keys");
      try (TlscapProcess tlscap = TlscapProcess.start(dir, "-i", "lo", "--secrets-buffer-size", "4", "-w",
          out.toString(), "port", Integer.toString(server.port()))) {
        String codes;
        try (Command.Background curl = Command.Background.start(dir, Map.of("SSLKEYLOGFILE", clientKeys.toString()),
            "curl", "-sS", "-k", "--no-sessionid", "--tlsv1.3", "-o", "/dev/null", "-w", "%{http_code}\\n",
            server.url() + "s[1-" + connections + "]")) {
          // The consumer stops for a second while handshakes go on: the ring overflows however fast this machine is.
          Thread.sleep(200);
          Command.run(Duration.ofSeconds(5), "kill", "-STOP", Long.toString(tlscap.pid())).check();
          try {
            Thread.sleep(1000);
          } finally {
            Command.run(Duration.ofSeconds(5), "kill", "-CONT", Long.toString(tlscap.pid())).check();
          }
          assertEquals(0, curl.waitFor(Duration.ofSeconds(120)), curl.stderr());
          codes = curl.stdout();
        }
        assertEquals(connections, codes.lines().filter("200"::equals).count(), codes);
        Thread.sleep(300);
        assertEquals(0, tlscap.terminate(), tlscap.stderr());
        ExitSummary s = ExitSummary.of(tlscap.stderr());
        long derived = server.keyLogLines().size() + KeyLogs.read(clientKeys).size();
        assertEquals(10L * connections, derived, "five TLS 1.3 secrets a side");
        assertTrue(s.secretsLost() > 0, "a 4 KiB ring (19 secrets) overflows: " + tlscap.stderr());
        assertEquals(derived, s.secrets() + s.secretsLost(), "received + counted as lost = derived:\n" + tlscap.stderr());
        assertTrue(tlscap.stderr().contains(s.secretsLost() + " more lost: the secrets buffer was full; raise"
            + " --secrets-buffer-size"), tlscap.stderr());
        assertEquals(connections, s.tlsSessions(), s.toString());
        assertEquals(connections, s.tlsSessionsKeyed() + s.sessionsReleasedWithoutSecrets(),
            "every session keyed or counted as released without its secrets: " + s);
        assertTrue(s.sessionsReleasedWithoutSecrets() > 0, s.toString());

        CaptureFiles.Contents file = CaptureFiles.assertComplete(out);
        assertTrue(file.statisticsOf(0).options().comments().stream()
            .anyMatch(c -> c.contains(s.secretsLost() + " TLS secrets lost to a full secrets buffer")),
            "the ISB says so too: " + file.statisticsOf(0).options().comments());
        // a session released with some of its secrets (the client's, say) may decrypt in part
        assertTrue(new HashSet<>(CaptureFiles.tlsColumn(out, "http.request", "http.request.uri", server.port())).size()
            >= s.tlsSessionsKeyed(),
            "the keyed sessions decrypt");
        System.out.printf("secrets ring overflow: %d derived, %d received, %d counted as lost; %d of %d sessions keyed%n",
            derived, s.secrets(), s.secretsLost(), s.tlsSessionsKeyed(), connections);
      }
    }
  }

  // ---------------------------------------------------------------- kill -9

  /**
   * {@code kill -9} while files rotate and compress, twice ({@code -C 1 --compress zstd} with TCX
   * links, {@code -G 1 --compress gzip} with clsact filters): every completed file is intact, the one
   * being written reads to its last whole block, nothing of the first run stays in the kernel, the
   * clsact filters of the second stay until the next run removes them and says so, and that run
   * captures and decrypts.
   */
  @Test
  void kill9DuringRotationAndCompressionLeavesIntactFilesAndTheNextRunStartsClean() throws Exception {
    Requirements.requireCommand("zstd", "zstd");
    boolean clsactBefore = KernelObjects.hasClsact("lo");
    String uprobesBefore = KernelObjects.uprobeEvents();
    try (OpenSslServer server = OpenSslServer.start(dir); UdpSink sink = UdpSink.open();
         Traffic traffic = Traffic.start(server, sink)) {
      String filter = "port " + server.port() + " or udp port " + sink.port();

      Map<Integer, String> before = KernelObjects.tlscapPrograms();
      Path zstd = Files.createDirectory(dir.resolve("zstd"));
      TlscapProcess first = TlscapProcess.start(dir, "-i", "lo", "-C", "1", "--compress", "zstd", "-w",
          zstd.resolve("k.pcapng").toString(), filter);
      Map<Integer, String> firstPrograms = KernelObjects.newSince(before, KernelObjects.tlscapPrograms());
      try (first) {
        assertTrue(firstPrograms.values().containsAll(List.of("tlscap_ingress", "tlscap_egress"))
            && firstPrograms.values().stream().anyMatch(n -> n.startsWith("kdf_derive")), firstPrograms.toString());
        awaitFiles(zstd, ".pcapng.zst", 4, first);
        first.kill9();
      }
      assertEquals(Map.of(), KernelObjects.stillLoaded(firstPrograms), "TCX links and uprobes die with the process");
      assertFalse(KernelObjects.tcFilters("lo").contains("tlscap_"), KernelObjects.tcFilters("lo"));
      checkFilesAfterKill(zstd, "k", ".zst");

      Path gzip = Files.createDirectory(dir.resolve("gzip"));
      before = KernelObjects.tlscapPrograms();
      TlscapProcess second = TlscapProcess.start(dir, "-i", "lo", "-G", "1", "--compress", "gzip", "--tc-mode",
          "clsact", "-w", gzip.resolve("g.pcapng").toString(), filter);
      Map<Integer, String> secondPrograms = KernelObjects.newSince(before, KernelObjects.tlscapPrograms());
      try (second) {
        awaitFiles(gzip, ".pcapng.gz", 3, second);
        second.kill9();
      }
      // on lo only ingress is captured (libpcap's copy): one filter there
      Map<Integer, String> left = KernelObjects.stillLoaded(secondPrograms);
      assertFalse(left.isEmpty(), "clsact filters outlive a killed process");
      assertTrue(Set.of("tlscap_ingress", "tlscap_egress").containsAll(left.values()), "its uprobes do not: " + left);
      assertTrue(KernelObjects.tcFilters("lo").contains("tlscap_"), KernelObjects.tcFilters("lo"));
      checkFilesAfterKill(gzip, "g", ".gz");

      before = KernelObjects.tlscapPrograms();
      Path next = dir.resolve("next.pcapng");
      Map<Integer, String> thirdPrograms;
      try (TlscapProcess third = TlscapProcess.start(dir, "-i", "lo", "-w", next.toString(), "port",
          Integer.toString(server.port()))) {
        thirdPrograms = KernelObjects.newSince(before, KernelObjects.tlscapPrograms());
        String removed = "tlscap: removed " + left.size() + " TC filter" + (left.size() == 1 ? "" : "s")
            + " left on lo by a tlscap run that was killed (pid " + second.pid() + ")";
        assertTrue(third.stderr().contains(removed), removed + "\n" + third.stderr());
        assertEquals(Map.of(), KernelObjects.stillLoaded(secondPrograms), "the leftovers are gone");
        CaptureIT.curl("--tlsv1.3", server.url() + "after-kill");
        assertEquals(0, third.terminate(), third.stderr());
      }
      assertTrue(CaptureFiles.tlsColumn(next, "http.request", "http.request.uri", server.port()).contains("/after-kill"),
          "the new run decrypts");
      assertEquals(Map.of(), KernelObjects.stillLoaded(thirdPrograms), "a stopped run leaves nothing loaded");
      assertFalse(KernelObjects.tcFilters("lo").contains("tlscap_"), KernelObjects.tcFilters("lo"));
      assertEquals(uprobesBefore, KernelObjects.uprobeEvents(), "no uprobe left in tracefs");
    } finally {
      if (!clsactBefore && KernelObjects.hasClsact("lo")) {
        // the killed clsact run's qdisc (a later run cannot tell it from an administrator's and leaves it)
        Command.run(Duration.ofSeconds(10), "tc", "qdisc", "del", "dev", "lo", "clsact");
      }
    }
  }

  /** Waits until {@code count} files ending in {@code suffix} are complete in {@code dir}. */
  private static void awaitFiles(Path dir, String suffix, int count, TlscapProcess tlscap) throws Exception {
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    while (CaptureFiles.list(dir, "").stream().filter(p -> p.toString().endsWith(suffix)).count() < count) {
      assertTrue(tlscap.isAlive(), tlscap.stderr());
      assertTrue(System.nanoTime() < deadline, "no " + count + " " + suffix + " files in 30 s: "
          + CaptureFiles.everything(dir, "") + "\n" + tlscap.stderr());
      Thread.sleep(50);
    }
  }

  /**
   * After a kill: compressed files are complete; an uncompressed file is complete (its compression
   * had not finished) or, the last one only, readable to its last whole block; a compressor's
   * temporary file may remain; nothing else.
   */
  private static void checkFilesAfterKill(Path dir, String prefix, String compressedSuffix) {
    List<Path> all = CaptureFiles.everything(dir, prefix);
    List<Path> uncompressed = all.stream().filter(p -> p.toString().endsWith(".pcapng")).toList();
    assertFalse(uncompressed.isEmpty(), "the file being written: " + all);
    Path current = uncompressed.get(uncompressed.size() - 1);
    int completed = 0;
    long decrypted = 0;
    for (Path f : all) {
      String name = f.getFileName().toString();
      if (f.equals(current)) {
        CaptureFiles.assertReadableToLastWholeBlock(f);
      } else if (name.endsWith(".pcapng" + compressedSuffix) || name.endsWith(".pcapng")) {
        CaptureFiles.assertComplete(f);
        completed++;
        if (name.endsWith(compressedSuffix)) {
          decrypted += Tshark.packetCount(f, "http.request");
        }
      } else {
        assertTrue(name.endsWith(compressedSuffix + ".tmp"), "unexpected file " + f + " in " + all);
      }
    }
    assertTrue(completed >= 3, all.toString());
    assertTrue(decrypted > 0, "the completed files decrypt: " + all);
  }

  // ---------------------------------------------------------------- disk full

  /**
   * A 2 MiB tmpfs as the output directory, {@code -C 1} and incompressible traffic until it is full:
   * one line names the cause and the fix, tlscap stops on its own with exit code 1, the files are
   * intact (the last one cut back to its last whole block), every packet it reports captured is in
   * them, and nothing stays in the kernel.
   */
  @Test
  void aFullDiskIsOneClearLineAnOrderlyStopAndIntactFiles() throws Exception {
    Path mount = Files.createDirectory(dir.resolve("tiny"));
    Command.run(Duration.ofSeconds(10), "mount", "-t", "tmpfs", "-o", "size=2m", "tlscap-fault", mount.toString()).check();
    try (UdpSink sink = UdpSink.open()) {
      Map<Integer, String> before = KernelObjects.tlscapPrograms();
      Map<Integer, String> programs;
      long sent = 0;
      try (TlscapProcess tlscap = TlscapProcess.start(dir, "-i", "lo", "-C", "1", "-w",
          mount.resolve("full.pcapng").toString(), "udp", "dst", "port", Integer.toString(sink.port()))) {
        programs = KernelObjects.newSince(before, KernelObjects.tlscapPrograms());
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (tlscap.isAlive()) {
          assertTrue(System.nanoTime() < deadline, "tlscap did not stop on a full disk:\n" + tlscap.stderr());
          sent += sink.send(200, 1200, true);
          Thread.sleep(2);
        }
        assertEquals(1, tlscap.process.waitFor(Duration.ofSeconds(10)), tlscap.stderr());
        String stderr = tlscap.stderr();
        List<String> problems = stderr.lines()
            .filter(l -> l.startsWith("tlscap:") && !l.startsWith("tlscap: TLS secrets from")).toList();
        assertEquals(1, problems.size(), "one line:\n" + stderr);
        assertTrue(problems.get(0).matches("tlscap: cannot write " + mount + "/full-\\d{5}\\.pcapng: No space left on device"
            + " \\(free some space, or bound the capture with -C and -W\\)"), problems.get(0));
        assertFalse(stderr.contains("Exception") || stderr.contains("\tat "), stderr);

        ExitSummary s = ExitSummary.of(stderr);
        assertTrue(s.notWritten() > 0, s.toString());
        assertTrue(s.captured() + s.dropped() + s.notWritten() <= sent, s + " of " + sent + " sent");
        List<Path> files = CaptureFiles.everything(mount, "full");
        assertTrue(files.size() >= 2, files.toString());
        long packets = 0;
        for (Path f : files.subList(0, files.size() - 1)) {
          packets += CaptureFiles.assertComplete(f).packets().size();
        }
        CaptureFiles.Contents last = CaptureFiles.assertReadableToLastWholeBlock(files.get(files.size() - 1));
        assertFalse(last.cut(), "the failing write was cut back to the last whole block");
        packets += last.packets().size();
        assertEquals(s.captured(), packets, "the summary counts the packets in the files, no more:\n" + stderr);
      }
      assertEquals(Map.of(), KernelObjects.stillLoaded(programs), "nothing stays attached");
    } finally {
      Command.run(Duration.ofSeconds(10), "umount", mount.toString()).check();
    }
  }

  // ---------------------------------------------------------------- interfaces

  /**
   * A veth captured beside lo is deleted mid-capture: one line says so, the capture of lo goes on,
   * and the counts of both add up in the summary and the ISBs. When the only interface goes, tlscap
   * says so, completes its file and exits 1 (as tcpdump does).
   */
  @Test
  void anInterfaceDeletedMidCaptureStopsOnlyItsCaptureAndTheLastOneEndsIt() throws Exception {
    String net = "10.219." + ThreadLocalRandom.current().nextInt(1, 250);
    try (NetworkNamespace ns = NetworkNamespace.create("tlsfault"); UdpSink sink = UdpSink.open()) {
      NetworkNamespace.Veth veth = ns.addVeth(net + ".1/24", net + ".2/24");
      NetworkNamespace.Veth only = ns.addVeth(net.replace("10.219.", "10.218.") + ".1/24",
          net.replace("10.219.", "10.218.") + ".2/24");
      for (NetworkNamespace.Veth v : List.of(veth, only)) {
        sink.sendTo(v.peerAddress(), 1, 64); // resolves the neighbour now: no counted datagram waits for ARP
      }
      Thread.sleep(300);
      String port = Integer.toString(sink.port());

      Path out = dir.resolve("two.pcapng");
      try (TlscapProcess tlscap = TlscapProcess.start(dir, "-i", veth.hostName(), "-i", "lo", "-w", out.toString(),
          "udp", "dst", "port", port)) {
        sink.sendTo(veth.peerAddress(), 100, 64);
        sink.send(100, 64, false);
        Thread.sleep(300);
        NetworkNamespace.deleteLink(veth.hostName());
        tlscap.process.awaitOutput("tlscap: interface " + veth.hostName() + " went away; its capture stops here, the"
            + " capture of the others goes on", Duration.ofSeconds(10));
        sink.send(100, 64, false);
        Thread.sleep(300);
        assertTrue(tlscap.isAlive(), tlscap.stderr());
        assertEquals(0, tlscap.terminate(), tlscap.stderr());
        ExitSummary s = ExitSummary.of(tlscap.stderr());
        assertEquals(300, s.captured(), tlscap.stderr());
        assertEquals(0, s.dropped());
      }
      CaptureFiles.Contents two = CaptureFiles.assertComplete(out);
      int v = two.interfaceId(veth.hostName());
      int lo = two.interfaceId("lo");
      assertEquals(100, two.packetsOn(v));
      assertEquals(200, two.packetsOn(lo));
      assertEquals(100, two.statisticsOf(v).received().orElseThrow(), "the gone interface keeps its final counters");
      assertEquals(200, two.statisticsOf(lo).received().orElseThrow());

      Path alone = dir.resolve("alone.pcapng");
      try (TlscapProcess tlscap = TlscapProcess.start(dir, "-i", only.hostName(), "-w", alone.toString(), "udp", "dst",
          "port", port)) {
        sink.sendTo(only.peerAddress(), 50, 64);
        Thread.sleep(300);
        NetworkNamespace.deleteLink(only.hostName());
        assertEquals(1, tlscap.process.waitFor(Duration.ofSeconds(15)), tlscap.stderr());
        assertTrue(tlscap.stderr().contains("tlscap: interface " + only.hostName() + " went away; its capture stops"
            + " here, no interface is left to capture on"), tlscap.stderr());
        assertEquals(50, ExitSummary.of(tlscap.stderr()).captured(), tlscap.stderr());
      }
      CaptureFiles.Contents one = CaptureFiles.assertComplete(alone);
      assertEquals(50, one.packets().size());
      assertEquals(50, one.statisticsOf(0).received().orElseThrow());
    }
  }

  // ---------------------------------------------------------------- traced processes

  /**
   * Traced processes that die mid-handshake (clients killed after their ClientHello, a server killed
   * with connections waiting) and an exec storm of short-lived curl and openssl clients, some killed
   * at random moments: tlscap keeps running, every connection whose request got its answer decrypts,
   * every TLS session is keyed or counted as released without its secrets, and every packet is in
   * the file.
   */
  @Test
  void processesDyingMidHandshakeAndAnExecStormOfShortLivedClients() throws Exception {
    Requirements.requireCommand("nginx", "nginx-light");
    Requirements.requireCommand("timeout", "coreutils");
    try (Nginx nginx = Nginx.start(dir, List.of(), "127.0.0.1"); SilentServer silent = SilentServer.open();
         OpenSslServer stalled = OpenSslServer.start(dir)) {
      Path out = dir.resolve("storm.pcapng");
      String filter = "port " + nginx.port() + " or port " + silent.port() + " or port " + stalled.port();
      try (TlscapProcess tlscap = TlscapProcess.start(dir, "-i", "lo", "--hold", "1", "-w", out.toString(), filter)) {
        // 1. Clients killed after their ClientHello, which a silent server never answers.
        List<Command.Background> clients = new ArrayList<>();
        try {
          for (int i = 0; i < 10; i++) {
            clients.add(Command.Background.start("openssl", "s_client", "-connect", "127.0.0.1:" + silent.port()));
            clients.add(Command.Background.start("curl", "-sk", "--max-time", "30", "https://127.0.0.1:" + silent.port()));
          }
          silent.awaitClientHellos(clients.size(), Duration.ofSeconds(20));
        } finally {
          clients.forEach(Command.Background::close); // SIGKILL
        }
        // 2. A server stopped with connections waiting in its backlog, then killed.
        Command.run(Duration.ofSeconds(5), "kill", "-STOP", Long.toString(stalled.pid())).check();
        List<Command.Background> waiting = new ArrayList<>();
        try {
          for (int i = 0; i < 10; i++) {
            waiting.add(Command.Background.start("curl", "-sk", "--max-time", "30", stalled.url() + "w" + i));
          }
          Thread.sleep(1000);
          stalled.close(); // SIGKILL: the waiting connections are reset
          for (Command.Background w : waiting) {
            w.waitFor(Duration.ofSeconds(30));
          }
        } finally {
          waiting.forEach(Command.Background::close);
        }
        // 3. The exec storm: loops of curl and openssl s_client, one curl loop killing its clients at random.
        ExecStorm storm = ExecStorm.run(dir, nginx.port(), Duration.ofSeconds(10));
        assertTrue(tlscap.isAlive(), tlscap.stderr());
        Thread.sleep(500);
        assertEquals(0, tlscap.terminate(), tlscap.stderr());

        ExitSummary s = ExitSummary.of(tlscap.stderr());
        System.out.printf("exec storm: %d clients in %.1f s (%.0f/s), %d answered, %d killed at random; %s%n",
            storm.started, storm.seconds, storm.started / storm.seconds, storm.answered.size(), storm.killed, s);
        assertTrue(storm.answered.size() >= 200, "the storm ran: " + storm.answered.size() + " answered clients");
        Set<String> decrypted = new HashSet<>(CaptureFiles.tlsColumn(out, "http.request", "http.request.uri", nginx.port()));
        Set<String> missing = new HashSet<>(storm.answered);
        missing.removeAll(decrypted);
        assertEquals(Set.of(), missing, "every answered request decrypts (" + storm.answered.size() + " answered)\n"
            + tlscap.stderr());
        assertEquals(s.tlsSessions(), s.tlsSessionsKeyed() + s.sessionsReleasedWithoutSecrets() + s.sessionsCutByMemory(),
            "every TLS session keyed or counted: " + s);
        assertTrue(s.sessionsReleasedWithoutSecrets() >= 30, "the sessions of the dead processes: " + s);
        assertEquals(s.tlsSessions(), CaptureFiles.tlsColumn(out, "tls.handshake.type == 1", "frame.number", nginx.port(),
            silent.port(), stalled.port()).size(), "one session per ClientHello");
        CaptureFiles.Contents file = CaptureFiles.assertComplete(out);
        assertEquals(s.captured(), file.packets().size());
        InterfaceStatisticsBlock isb = file.statisticsOf(0);
        assertEquals(isb.received().orElseThrow(), file.packets().size() + isb.droppedByInterface().orElseThrow(),
            "received = in the file + dropped");
      }
    }
  }

  /**
   * Short-lived clients get their port back within seconds (found by the exec storm: one answered
   * request in twenty did not decrypt): each connection on a reused 4-tuple is a new TLS session,
   * keyed with its own secrets, not a packet of the closed one.
   */
  @Test
  void aClientPortReusedWithinSecondsOpensANewSessionThatDecrypts() throws Exception {
    Requirements.requireCommand("nginx", "nginx-light");
    int connections = 4;
    try (Nginx nginx = Nginx.start(dir, List.of(), "127.0.0.1")) {
      Path out = dir.resolve("reuse.pcapng");
      int clientPort = OpenSslServer.freePort();
      try (TlscapProcess tlscap = TlscapProcess.start(dir, "-i", "lo", "-w", out.toString(), "port",
          Integer.toString(nginx.port()))) {
        for (int i = 1; i <= connections; i++) {
          // the server closes first (Connection: close), so the client may bind the same port again
          assertEquals(Nginx.BODY, CaptureIT.curl("--http1.1", "--local-port", Integer.toString(clientPort), "-H",
              "Connection: close", "https://127.0.0.1:" + nginx.port() + "/reuse-" + i).stdout());
        }
        Thread.sleep(300);
        assertEquals(0, tlscap.terminate(), tlscap.stderr());
        assertTrue(tlscap.stderr().contains(connections + " TLS sessions, " + connections + " with secrets"),
            tlscap.stderr());
      }
      assertEquals(connections, CaptureFiles.tlsColumn(out, "tls.handshake.type == 1 && tcp.srcport == " + clientPort,
          "frame.number", nginx.port()).size(),
          "one 4-tuple, " + connections + " connections");
      assertEquals(List.of("/reuse-1", "/reuse-2", "/reuse-3", "/reuse-4"),
          CaptureFiles.tlsColumn(out, "http.request", "http.request.uri", nginx.port()));
    }
  }

  /**
   * A kept-alive connection that outlives its file ({@code -G 1}): in the later files Wireshark
   * cannot decrypt it (TLS 1.3 needs the record numbers from the handshake on), which tlscap counts.
   */
  @Test
  void aSessionThatGoesOnIntoLaterFilesDecryptsInEachAndIsCounted() throws Exception {
    Requirements.requireCommand("nginx", "nginx-light");
    try (Nginx nginx = Nginx.start(dir, List.of(), "127.0.0.1")) {
      Path out = dir.resolve("long.pcapng");
      String summary;
      try (TlscapProcess tlscap = TlscapProcess.start(dir, "-i", "lo", "-G", "1", "-w", out.toString(), "port",
          Integer.toString(nginx.port()))) {
        // one connection, a request every 250 ms for 3 s
        CaptureIT.curl("--http1.1", "--rate", "4/s", "-o", "/dev/null", "https://127.0.0.1:" + nginx.port() + "/long-[1-12]");
        Thread.sleep(300);
        assertEquals(0, tlscap.terminate(), tlscap.stderr());
        summary = tlscap.stderr();
      }
      List<Path> files = CaptureFiles.list(dir, "long");
      int start = 0;
      while (start < files.size()
          && CaptureFiles.tlsColumn(files.get(start), "tls.handshake.type == 1", "frame.number", nginx.port()).isEmpty()) {
        start++;
      }
      assertTrue(start + 2 < files.size(), "the session spans three files or more: " + files);
      List<String> uris = new java.util.ArrayList<>();
      int carried = 0;
      for (Path file : files.subList(start, files.size())) {
        List<String> here = CaptureFiles.tlsColumn(file, "http.request", "http.request.uri", nginx.port());
        uris.addAll(here);
        carried += Tshark.packetCount(file, "tls.handshake.type == 1 && frame.comment contains \"tlscap synthetic\"");
      }
      assertEquals(java.util.stream.IntStream.rangeClosed(1, 12).mapToObj(i -> "/long-" + i).toList(), uris,
          "each file alone decrypts the requests it holds");
      assertTrue(carried >= 2, "its handshake replayed in the later files: " + carried);
      assertTrue(summary.contains("1 TLS sessions, 1 with secrets; " + carried + " times a TLS session went on into a"
          + " later file and was made to decrypt there"), summary);
      assertFalse(summary.contains("where it does not decrypt"), summary);
    }
  }

  // ---------------------------------------------------------------- traffic

  /** A bound UDP socket that never reads (no ICMP replies) and the sender of datagrams to it. */
  static final class UdpSink implements AutoCloseable {
    private final DatagramChannel sink;
    private final DatagramChannel sender;
    private final SplittableRandom random = new SplittableRandom(7);
    private final byte[] noise = new byte[1 << 20];

    private UdpSink(DatagramChannel sink, DatagramChannel sender) {
      this.sink = sink;
      this.sender = sender;
      random.nextBytes(noise);
    }

    static UdpSink open() throws IOException {
      DatagramChannel sink = DatagramChannel.open().bind(new InetSocketAddress("0.0.0.0", 0));
      return new UdpSink(sink, DatagramChannel.open());
    }

    int port() {
      return ((InetSocketAddress) uncheckedLocalAddress()).getPort();
    }

    private java.net.SocketAddress uncheckedLocalAddress() {
      try {
        return sink.getLocalAddress();
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }

    /** Sends {@code count} datagrams of {@code size} bytes to 127.0.0.1 (random bytes: incompressible); returns count. */
    long send(int count, int size, boolean incompressible) throws IOException {
      return sendTo("127.0.0.1", count, size, incompressible);
    }

    long sendTo(String address, int count, int size) throws IOException {
      return sendTo(address, count, size, false);
    }

    synchronized long sendTo(String address, int count, int size, boolean incompressible) throws IOException {
      InetSocketAddress to = new InetSocketAddress(address, port());
      ByteBuffer b = ByteBuffer.allocate(size);
      for (int i = 0; i < count; i++) {
        b.clear();
        if (incompressible) {
          b.put(noise, random.nextInt(noise.length - size), size);
        } else {
          b.putInt(i);
          b.position(size);
        }
        b.flip();
        if (sender.send(b, to) != size) {
          throw new IOException("datagram " + i + " not sent");
        }
      }
      return count;
    }

    @Override
    public void close() throws IOException {
      sender.close();
      sink.close();
    }
  }

  /** Steady TLS requests to an openssl server and incompressible datagrams, until closed. */
  static final class Traffic implements AutoCloseable {
    private final Command.Background requests;
    private final Thread datagrams;
    private final AtomicBoolean stop;

    private Traffic(Command.Background requests, Thread datagrams, AtomicBoolean stop) {
      this.requests = requests;
      this.datagrams = datagrams;
      this.stop = stop;
    }

    static Traffic start(OpenSslServer server, UdpSink sink) {
      Command.Background requests = Command.Background.start("bash", "-c",
          "i=0; while true; do i=$((i+1)); curl -sk --tlsv1.3 -o /dev/null --max-time 5 " + server.url() + "r$i; done");
      AtomicBoolean stop = new AtomicBoolean();
      Thread datagrams = new Thread(() -> {
        try {
          while (!stop.get()) {
            sink.send(100, 1200, true); // about 1.2 MB/s: a -C 1 file every second or so
            Thread.sleep(100);
          }
        } catch (IOException | InterruptedException e) {
          // stopped
        }
      }, "fault-datagrams");
      datagrams.setDaemon(true);
      datagrams.start();
      return new Traffic(requests, datagrams, stop);
    }

    @Override
    public void close() throws InterruptedException {
      stop.set(true);
      datagrams.join(5000);
      requests.close();
    }
  }

  /** A TCP server that accepts, reads what clients send and never answers. */
  static final class SilentServer implements AutoCloseable {
    private final ServerSocket server;
    private final List<Socket> accepted = new CopyOnWriteArrayList<>();
    private final AtomicLong hellos = new AtomicLong();
    private final Thread acceptor;

    private SilentServer(ServerSocket server) {
      this.server = server;
      this.acceptor = new Thread(this::acceptAll, "silent-server");
      acceptor.setDaemon(true);
      acceptor.start();
    }

    static SilentServer open() throws IOException {
      return new SilentServer(new ServerSocket(0, 100, java.net.InetAddress.getLoopbackAddress()));
    }

    int port() {
      return server.getLocalPort();
    }

    private void acceptAll() {
      try {
        while (true) {
          Socket s = server.accept();
          accepted.add(s);
          Thread reader = new Thread(() -> {
            try (InputStream in = s.getInputStream()) {
              if (in.read() == 0x16) {
                hellos.incrementAndGet(); // a TLS handshake record: the ClientHello
              }
              in.transferTo(OutputStreamSink.INSTANCE);
            } catch (IOException e) {
              // the client was killed
            }
          }, "silent-reader");
          reader.setDaemon(true);
          reader.start();
        }
      } catch (IOException e) {
        // closed
      }
    }

    void awaitClientHellos(int count, Duration timeout) throws InterruptedException {
      long deadline = System.nanoTime() + timeout.toNanos();
      while (hellos.get() < count) {
        assertTrue(System.nanoTime() < deadline, hellos.get() + " of " + count + " ClientHellos arrived");
        Thread.sleep(20);
      }
    }

    @Override
    public void close() throws IOException {
      server.close();
      for (Socket s : accepted) {
        s.close();
      }
    }
  }

  /** Discards bytes. */
  private static final class OutputStreamSink extends java.io.OutputStream {
    static final OutputStreamSink INSTANCE = new OutputStreamSink();

    @Override
    public void write(int b) {
      // discarded
    }

    @Override
    public void write(byte[] b, int off, int len) {
      // discarded
    }
  }

  /**
   * Short-lived TLS clients against nginx for a while: {@code exec_storm.c} keeps eight running, each
   * a fresh exec, and kills every tenth 0-20 ms after its start; beside it a loop of curl and a loop
   * of openssl s_client. Each answered client prints its request path.
   */
  static final class ExecStorm {
    long started;
    long killed;
    double seconds;
    final Set<String> answered = new HashSet<>();

    static ExecStorm run(Path dir, int port, Duration duration) {
      Requirements.requireCommand("gcc", "gcc libssl-dev");
      Path storm = CCompiler.compile(CCompiler.testSource("exec_storm.c"), dir.resolve("exec_storm"), "-lssl", "-lcrypto");
      String url = "https://127.0.0.1:" + port;
      long s = duration.toSeconds();
      String curl = "end=$((SECONDS+" + s + ")); n=0; while [ $SECONDS -lt $end ]; do n=$((n+1)); echo start;"
          + " curl -sk --tlsv1.3 --http1.1 -o /dev/null --max-time 5 -H 'Connection: close' -w '%{http_code} /c-'$n'\\n' "
          + url + "/c-$n; done";
      String openssl = "end=$((SECONDS+" + s + ")); n=0; while [ $SECONDS -lt $end ]; do n=$((n+1)); echo start;"
          + " printf 'GET /o-'$n' HTTP/1.0\\r\\nHost: x\\r\\n\\r\\n' | timeout 5 openssl s_client -quiet -connect 127.0.0.1:"
          + port + " 2>/dev/null | head -c 12 | grep -q 'HTTP/1.1 200' && echo \"200 /o-$n\"; done";
      List<Command.Background> running = new ArrayList<>();
      long t0 = System.nanoTime();
      ExecStorm result = new ExecStorm();
      try {
        running.add(Command.Background.start(storm.toString(), Integer.toString(port), Long.toString(s), "8", "10"));
        running.add(Command.Background.start("bash", "-c", curl));
        running.add(Command.Background.start("bash", "-c", openssl));
        for (Command.Background b : running) {
          b.waitFor(duration.plusSeconds(30));
        }
      } finally {
        running.forEach(Command.Background::close);
      }
      result.seconds = (System.nanoTime() - t0) / 1e9;
      for (Command.Background b : running) {
        for (String line : b.stdout().lines().collect(Collectors.toList())) {
          if (line.equals("start")) {
            result.started++;
          } else if (line.startsWith("200 ")) {
            result.answered.add(line.substring(4));
          } else if (line.startsWith("started ")) {
            String[] w = line.split(" "); // started S answered A killed K failed F
            result.started += Long.parseLong(w[1]);
            result.killed += Long.parseLong(w[5]);
          }
        }
      }
      return result;
    }
  }
}

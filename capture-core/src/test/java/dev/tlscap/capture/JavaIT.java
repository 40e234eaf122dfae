// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.capture;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tlscap.testing.Command;
import dev.tlscap.testing.Nginx;
import dev.tlscap.testing.OpenSslServer;
import dev.tlscap.testing.Requirements;
import dev.tlscap.testing.Tshark;
import dev.tlscap.testing.TrustAll;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@code --java} end to end: real JVMs ({@link JavaTlsPeer}: {@code HttpClient} over HTTP/2 and
 * HTTP/1.1, {@code HttpsURLConnection}, an {@code HttpsServer}) on JDK 17 (the JVM running the
 * tests) and JDK 25 (Temurin, as another user), TLS 1.3 and 1.2, against nginx or curl. Secrets
 * come from the JVM only: each JVM runs under a name of its own ({@code --comm}, a link to its
 * {@code java}) or is named by {@code --pid}; the OpenSSL peer is not traced. tshark reads the
 * requests with no key file.
 */
@Tag("e2e")
class JavaIT {
  static final Path TEMURIN_25 = Path.of("/usr/lib/jvm/temurin-25-jdk-amd64");

  @TempDir Path dir;

  @BeforeAll
  static void machine() {
    Requirements.requireRoot();
    Requirements.requireCommand("tshark", "tshark");
    Requirements.requireCommand("curl", "curl");
  }

  @ParameterizedTest(name = "JDK {0}")
  @ValueSource(strings = {"17", "25"})
  void jvmsStartedAfterListeningOnDecrypt(String jdk) throws Exception {
    String comm = "jsse-client-" + jdk;
    try (Nginx nginx = Nginx.start(dir, List.of(), "127.0.0.1")) {
      Path out = dir.resolve("java.pcapng");
      String url = "https://127.0.0.1:" + nginx.port();
      try (TlscapProcess tlscap = TlscapProcess.start(dir, "-i", "lo", "-w", out.toString(), "--java", "--comm", comm,
          "port", Integer.toString(nginx.port()))) {
        // JDK 25 runs as nobody: root attaches to a JVM of another user, whose socket it owns
        try (Jvm client = Jvm.client(dir, jdk, comm, jdk.equals("25") ? "nobody" : null)) {
          awaitAttached(tlscap); // about a second after the JVM starts: its handshakes before are not keyed
          List<String> uris = new ArrayList<>();
          for (String line : List.of("h2 TLSv1.3 /h2-tls13", "h1 TLSv1.3 /h1-tls13", "urlconnection TLSv1.3 /uc-tls13",
              "h2 TLSv1.2 /h2-tls12", "urlconnection TLSv1.2 /uc-tls12")) {
            String[] f = line.split(" ");
            client.request(f[0], f[1], url + f[2]);
            uris.add(f[2]);
          }
          assertEquals(0, tlscap.interrupt(), tlscap.stderr());
          assertTrue(tlscap.stderr().contains("a JVM (java " + jdk), tlscap.stderr());
          // attached before its first handshake: JSSE patched as it loaded, nothing redefined
          assertFalse(tlscap.stderr().contains("JSSE was in use"), tlscap.stderr());
          assertTrue(tlscap.stderr().contains("5 TLS sessions, 5 with secrets"), tlscap.stderr());
          assertTrue(tlscap.stderr().contains("1 JVMs attached (--java)"), tlscap.stderr());
          assertEquals(new TreeSet<>(uris), requests(out), "decrypted with no key file");
        }
      }
    }
  }

  @Test
  void manyJvmsAtOnce() throws Exception {
    try (Nginx nginx = Nginx.start(dir, List.of(), "127.0.0.1")) {
      Path out = dir.resolve("many.pcapng");
      try (TlscapProcess tlscap = TlscapProcess.start(dir, "-i", "lo", "-w", out.toString(), "--java", "--comm",
          "jsse-many", "port", Integer.toString(nginx.port()))) {
        List<Jvm> jvms = new ArrayList<>();
        try {
          for (int i = 0; i < 3; i++) {
            jvms.add(Jvm.start(dir, "17", "jsse-many", i == 1 ? "nobody" : null, "client"));
          }
          long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
          while (tlscap.stderr().lines().filter(l -> l.contains("a JVM (java ")).count() < 3) {
            assertTrue(System.nanoTime() < deadline, tlscap.stderr());
            Thread.sleep(50);
          }
          for (int i = 0; i < jvms.size(); i++) {
            jvms.get(i).request("h1", "TLSv1.3", "https://127.0.0.1:" + nginx.port() + "/jvm-" + i);
          }
          assertEquals(0, tlscap.interrupt(), tlscap.stderr());
          assertTrue(tlscap.stderr().contains("3 JVMs attached (--java)"), tlscap.stderr());
        } finally {
          jvms.forEach(Jvm::close);
        }
      }
      assertEquals(new TreeSet<>(List.of("/jvm-0", "/jvm-1", "/jvm-2")), requests(out));
    }
  }

  @Test
  void aJvmInAContainerWithItsOwnPidsAndTmp() throws Exception {
    try (Nginx nginx = Nginx.start(dir, List.of(), "127.0.0.1")) {
      Path out = dir.resolve("container.pcapng");
      try (TlscapProcess tlscap = TlscapProcess.start(dir, "-i", "lo", "-w", out.toString(), "--java", "--comm",
          "jsse-container", "port", Integer.toString(nginx.port()))) {
        // pid 1 of its own pid namespace, with a /tmp of its own: the agent's files go there, through
        // /proc/PID/root. The host's /tmp (this test's files) stays reachable in it at /mnt.
        try (Jvm client = Jvm.start(dir, "17", "jsse-container", null, List.of(), List.of("unshare", "--pid", "--fork",
            "--mount", "--mount-proc", "sh", "-c",
            "mount --bind /tmp /mnt && mount -t tmpfs tmpfs /tmp && exec \"$0\" \"$@\""), "client")) {
          client.process.awaitOutput("ready", Duration.ofSeconds(30));
          awaitAttached(tlscap);
          client.request("h2", "TLSv1.3", "https://127.0.0.1:" + nginx.port() + "/from-a-container");
          assertEquals(0, tlscap.interrupt(), tlscap.stderr());
        }
      }
      assertEquals(new TreeSet<>(List.of("/from-a-container")), requests(out));
    }
  }

  @Test
  void aRunningHttpsServerJvmDecryptsBothVersions() throws Exception {
    int port = OpenSslServer.freePort();
    Path p12 = pkcs12(dir);
    try (Jvm server = Jvm.start(dir, "17", "jsse-server", null, "server", Integer.toString(port), p12.toString(),
        "secret")) {
      server.process.awaitOutput("listening", Duration.ofSeconds(30));
      // a handshake before tlscap: JSSE's classes are loaded and must be patched in place
      curl("1.3", "https://127.0.0.1:" + port + "/before");
      Path out = dir.resolve("server.pcapng");
      try (TlscapProcess tlscap = TlscapProcess.start(dir, "-i", "lo", "-w", out.toString(), "--java", "--pid",
          Long.toString(server.pid()), "port", Integer.toString(port))) {
        awaitAttached(tlscap);
        curl("1.3", "https://127.0.0.1:" + port + "/curl-tls13");
        curl("1.2", "https://127.0.0.1:" + port + "/curl-tls12");
        assertEquals(0, tlscap.interrupt(), tlscap.stderr());
        assertTrue(tlscap.stderr().contains("2 TLS sessions, 2 with secrets"), tlscap.stderr());
        assertTrue(tlscap.stderr().contains("(JSSE was in use: the JVM recompiles"), tlscap.stderr());
      }
      assertEquals(new TreeSet<>(List.of("/curl-tls12", "/curl-tls13")), requests(out));
    }
  }

  @Test
  void killedTlscapLeavesTheJvmWorkingAndALaterTlscapAttachesAgain() throws Exception {
    try (Nginx nginx = Nginx.start(dir, List.of(), "127.0.0.1");
        Jvm client = Jvm.client(dir, "17", "jsse-kill9", "nobody")) {
      String url = "https://127.0.0.1:" + nginx.port();
      Path first = dir.resolve("first.pcapng");
      try (TlscapProcess tlscap = TlscapProcess.start(dir, "-i", "lo", "-w", first.toString(), "--java", "--pid",
          Long.toString(client.pid()), "port", Integer.toString(nginx.port()))) {
        awaitAttached(tlscap);
        client.request("h1", "TLSv1.3", url + "/before-kill");
        tlscap.kill9();
      }
      for (int i = 0; i < 3; i++) {
        client.request("h2", "TLSv1.3", url + "/after-kill-" + i); // asserts 200: the JVM is unharmed
      }
      assertEquals(List.of(), tlscapFilesIn(Path.of("/tmp")), "nothing of tlscap's left in the JVM's /tmp");
      Path second = dir.resolve("second.pcapng");
      try (TlscapProcess tlscap = TlscapProcess.start(dir, "-i", "lo", "-w", second.toString(), "--java", "--pid",
          Long.toString(client.pid()), "port", Integer.toString(nginx.port()))) {
        awaitAttached(tlscap);
        client.request("h2", "TLSv1.3", url + "/second-tlscap");
        assertEquals(0, tlscap.interrupt(), tlscap.stderr());
      }
      assertEquals(new TreeSet<>(List.of("/second-tlscap")), requests(second), "the agent serves a later tlscap");
    }
  }

  @Test
  void aJvmThatRefusesAttachIsOneLineAndTheCaptureGoesOn() throws Exception {
    try (Nginx nginx = Nginx.start(dir, List.of(), "127.0.0.1");
        Jvm refusing = Jvm.start(dir, "17", "jsse-refuse", null, List.of("-XX:+DisableAttachMechanism"), "client")) {
      refusing.process.awaitOutput("ready", Duration.ofSeconds(30));
      Path out = dir.resolve("refused.pcapng");
      try (TlscapProcess tlscap = TlscapProcess.start(dir, "-i", "lo", "-w", out.toString(), "--java", "--comm",
          "jsse-refuse", "port", Integer.toString(nginx.port()))) {
        refusing.request("h1", "TLSv1.3", "https://127.0.0.1:" + nginx.port() + "/refused");
        awaitLine(tlscap, "not attached");
        assertTrue(tlscap.isAlive());
        assertEquals(0, tlscap.interrupt(), tlscap.stderr());
        String stderr = tlscap.stderr();
        assertEquals(1, stderr.lines().filter(l -> l.contains("not attached")).count(), stderr);
        assertTrue(stderr.contains("pid " + refusing.pid() + " (jsse-refuse) not attached: it was started with"
            + " -XX:+DisableAttachMechanism; its TLS sessions are not keyed"), stderr);
        assertTrue(stderr.contains("0 JVMs attached (--java), 1 not (see above)"), stderr);
        assertFalse(stderr.contains("Exception"), stderr);
      }
    }
  }

  @Test
  void withoutJavaTheSummarySaysOnceThatJavaWouldKeyIt() throws Exception {
    try (Nginx nginx = Nginx.start(dir, List.of(), "127.0.0.1");
        Jvm client = Jvm.client(dir, "17", "jsse-nohint", null)) {
      Path out = dir.resolve("hint.pcapng");
      try (TlscapProcess tlscap = TlscapProcess.start(dir, "-i", "lo", "-w", out.toString(), "--hold", "0.5",
          "--comm", "jsse-nohint", "port", Integer.toString(nginx.port()))) {
        client.request("h1", "TLSv1.3", "https://127.0.0.1:" + nginx.port() + "/no-java-1");
        client.request("h2", "TLSv1.3", "https://127.0.0.1:" + nginx.port() + "/no-java-2");
        Thread.sleep(1500); // the hold ends while the connections are still open (the client pools them)
        assertEquals(0, tlscap.interrupt(), tlscap.stderr());
        String stderr = tlscap.stderr();
        assertEquals(1, stderr.lines().filter(l -> l.contains("--java")).count(), stderr);
        assertTrue(stderr.contains("TLS sessions of Java programs ended without secrets (pid " + client.pid()
            + " (jsse-nohint) is a JVM; JSSE has no library to probe): run with --java to key them"), stderr);
      }
    }
  }

  private static void awaitAttached(TlscapProcess tlscap) throws InterruptedException {
    awaitLine(tlscap, "a JVM (java ");
  }

  private static void awaitLine(TlscapProcess tlscap, String text) throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofSeconds(40).toNanos();
    while (!tlscap.stderr().contains(text)) {
      if (System.nanoTime() > deadline || !tlscap.isAlive()) {
        throw new AssertionError("no '" + text + "' from tlscap: " + tlscap.stderr());
      }
      Thread.sleep(50);
    }
  }

  /** Request URIs tshark decrypts: HTTP/1.1 request lines and HTTP/2 :path headers. */
  private static TreeSet<String> requests(Path capture) {
    TreeSet<String> uris = new TreeSet<>(Tshark.column(capture, "http.request", "http.request.uri"));
    for (String path : Tshark.column(capture, "http2.headers.path", "http2.headers.path")) {
      uris.addAll(List.of(path.split(",")));
    }
    return uris;
  }

  private static void curl(String version, String url) {
    Command.run(Duration.ofSeconds(30), "curl", "-sSk", "--tlsv" + version, "--tls-max", version, url).check();
  }

  private static List<Path> tlscapFilesIn(Path tmp) throws IOException {
    try (Stream<Path> files = Files.list(tmp)) {
      return files.filter(p -> p.getFileName().toString().startsWith(".tlscap-")
          || p.getFileName().toString().startsWith("tlscap-agent-")).toList();
    }
  }

  private static Path pkcs12(Path dir) {
    OpenSslServer.certificate(dir);
    Path p12 = dir.resolve("server.p12");
    Command.run(Duration.ofSeconds(30), "openssl", "pkcs12", "-export", "-in", dir.resolve("cert.pem").toString(),
        "-inkey", dir.resolve("key.pem").toString(), "-out", p12.toString(), "-passout", "pass:secret").check();
    return p12;
  }

  /** A {@link JavaTlsPeer} JVM named {@code comm} (a link to the JDK's java), as {@code user} or root. */
  static final class Jvm implements AutoCloseable {
    final Command.Background process;
    private final OutputStream stdin;

    private Jvm(Command.Background process) {
      this.process = process;
      this.stdin = process.process().getOutputStream();
    }

    static Jvm client(Path dir, String jdk, String comm, String user) {
      Jvm jvm = start(dir, jdk, comm, user, List.of(), "client");
      jvm.process.awaitOutput("ready", Duration.ofSeconds(30));
      return jvm;
    }

    static Jvm start(Path dir, String jdk, String comm, String user, String... args) {
      return start(dir, jdk, comm, user, List.of(), args);
    }

    static Jvm start(Path dir, String jdk, String comm, String user, List<String> jvmOptions, String... args) {
      return start(dir, jdk, comm, user, jvmOptions, List.of(), args);
    }

    /** {@code prefix}: a command that runs the JVM (its argv follows) with its own /tmp and the host's at /mnt. */
    static Jvm start(Path dir, String jdk, String comm, String user, List<String> jvmOptions, List<String> prefix,
        String... args) {
      Path home = jdk.equals("17") ? Path.of(System.getProperty("java.home")) : TEMURIN_25;
      if (!Files.isExecutable(home.resolve("bin/java"))) {
        Requirements.requireCommand(home.resolve("bin/java").toString(), "temurin-" + jdk + "-jdk");
      }
      try {
        Path bin = dir.resolve("bin");
        Files.createDirectories(bin);
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        Files.setPosixFilePermissions(bin, PosixFilePermissions.fromString("rwxr-xr-x"));
        Path java = bin.resolve(comm);
        Files.deleteIfExists(java);
        Files.createSymbolicLink(java, home.resolve("bin/java"));
        List<String> argv = new ArrayList<>();
        if (user != null) {
          argv.addAll(List.of("runuser", "-u", user, "--"));
        }
        argv.addAll(prefix);
        // under a prefix that mounts its own /tmp, the host's is at /mnt
        java.util.function.UnaryOperator<String> here = prefix.isEmpty() ? p -> p
            : p -> p.replaceAll("(^|:)/tmp/", "$1/mnt/");
        argv.add(here.apply(java.toString()));
        argv.addAll(jvmOptions);
        argv.addAll(List.of("-cp", here.apply(classes(dir)), JavaTlsPeer.class.getName()));
        argv.addAll(List.of(args));
        return new Jvm(Command.Background.start(Path.of("/"), Map.of(), argv.toArray(new String[0])));
      } catch (IOException e) {
        throw new AssertionError(e);
      }
    }

    /** The classes JavaTlsPeer runs with; copied out of the build (a user other than root may not read a clone in /root). */
    static final List<Class<?>> PEER_CLASSES = List.of(JavaTlsPeer.class, TrustAll.class);

    /** JavaTlsPeer's class path: its classes (and their nested ones) copied into {@code dir/classes}, readable by all. */
    private static String classes(Path dir) throws IOException {
      Path root = dir.resolve("classes");
      for (Class<?> c : PEER_CLASSES) {
        String name = c.getName().replace('.', '/');
        for (String suffix : List.of("", "$1", "$2")) {
          try (java.io.InputStream in = c.getResourceAsStream("/" + name + suffix + ".class")) {
            if (in == null) {
              assertFalse(suffix.isEmpty(), "no class file for " + c);
              continue;
            }
            Path file = root.resolve(name + suffix + ".class");
            Files.createDirectories(file.getParent());
            Files.write(file, in.readAllBytes());
          }
        }
      }
      try (Stream<Path> all = Files.walk(root)) {
        for (Path p : all.toList()) {
          Files.setPosixFilePermissions(p, PosixFilePermissions.fromString(Files.isDirectory(p) ? "rwxr-xr-x" : "rw-r--r--"));
        }
      }
      return root.toString();
    }

    /** The JVM's pid (runuser's child when run as another user). */
    long pid() {
      long pid = process.pid();
      return process.process().children().findFirst().map(ProcessHandle::pid).orElse(pid);
    }

    /** Makes one request on a new connection; asserts it answered 200. */
    void request(String kind, String protocol, String url) throws IOException {
      stdin.write((kind + " " + protocol + " " + url + "\n").getBytes(StandardCharsets.UTF_8));
      stdin.flush();
      process.awaitOutput(" " + url + "\n", Duration.ofSeconds(30));
      assertTrue(process.stdout().contains("200 " + kind + " " + url + "\n"), process.stdout());
    }

    @Override
    public void close() {
      try {
        stdin.write("quit\n".getBytes(StandardCharsets.UTF_8));
        stdin.flush();
      } catch (IOException ignored) {
        // gone already
      }
      process.close();
    }
  }
}

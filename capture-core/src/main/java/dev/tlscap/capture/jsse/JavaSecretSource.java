// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.capture.jsse;

import dev.tlscap.secrets.SecretSource;
import dev.tlscap.secrets.TlsLibrary;
import dev.tlscap.secrets.TlsSecret;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * {@code --java}: the TLS secrets of Java programs (JSSE, pure Java: nothing for a uprobe). Every
 * JVM on the host (or the {@code --pid}/{@code --comm} ones), running or started later, gets
 * tlscap's agent through the Attach API ({@link JvmAttacher}, on threads of its own, 4 JVMs at once); the agent
 * patches JSSE's secret derivations and sends each secret, with its client random, as a key log
 * line over a Unix socket that only tlscap and the JVM's user can open ({@link AgentChannel}).
 * The capture proves each secret on the packets, as any other source's.
 *
 * <p>A JVM that refuses attach, dies while attaching or fails to load the agent gets one line and
 * is counted; the capture goes on. When tlscap stops (or is killed) the agents see the socket
 * close and go idle; the programs run on unharmed.
 *
 * <p>Event-loop thread for the {@link SecretSource} methods; the attacher and the channels' reader
 * threads hand over through {@link #inbox}.
 */
public final class JavaSecretSource implements SecretSource {
  /** Where tlscap.jar carries the agent jar (the java-agent module, copied in at package time). */
  static final String AGENT_RESOURCE = "/dev/tlscap/capture/jsse/tlscap-agent.jar";
  /** JVMs attached at once (each attach mostly waits: for the JVM's signal handler, its listener, the agent). */
  static final int ATTACH_THREADS = 4;

  /**
   * @param pid {@code --pid} (0: all)
   * @param comm {@code --comm} (null: all)
   * @param proc /proc
   */
  public record Options(int pid, String comm, Path proc) {}

  private final Options options;
  private final Consumer<String> messages;
  private final int self = (int) ProcessHandle.current().pid();
  /** JVMs attached to or tried (event loop). */
  private final Set<Integer> handled = new HashSet<>();
  /** Processes found not to be JVMs (looked at again when they exec). */
  private final Set<Integer> notJvm = new HashSet<>();
  private final ConcurrentLinkedQueue<Object> inbox = new ConcurrentLinkedQueue<>();
  private final ExecutorService attachThread;
  private final JvmAttacher attacher;
  final AtomicLong secrets = new AtomicLong();
  final AtomicLong lost = new AtomicLong();
  final AtomicLong unreadable = new AtomicLong();
  final AtomicLong malformed = new AtomicLong();
  final AtomicLong jvmsAttached = new AtomicLong();
  final AtomicLong jvmsNotAttached = new AtomicLong();
  private volatile boolean closed;

  JavaSecretSource(Options options, Consumer<String> messages, byte[] agentJar) {
    this.options = options;
    this.messages = messages;
    this.attacher = new JvmAttacher(this, agentJar, agentName(agentJar), self);
    this.attachThread = Executors.newFixedThreadPool(ATTACH_THREADS, r -> {
      Thread t = new Thread(r, "tlscap-java-attach");
      t.setDaemon(true);
      return t;
    });
  }

  /**
   * Ready to attach (nothing attached yet: {@link #scan()} starts). Throws with the line to print when
   * this tlscap cannot attach at all (no agent jar, or a JVM without the Attach API).
   */
  public static JavaSecretSource open(Options options, Consumer<String> messages) {
    try {
      Class.forName("com.sun.tools.attach.VirtualMachine");
    } catch (ClassNotFoundException | LinkageError e) {
      throw new IllegalArgumentException("--java: this Java runtime has no Attach API (module jdk.attach): run tlscap"
          + " with a JDK's java (" + System.getProperty("java.home") + " is not one)");
    }
    try (InputStream in = JavaSecretSource.class.getResourceAsStream(AGENT_RESOURCE)) {
      if (in == null) {
        throw new IllegalArgumentException("--java: the agent jar is missing from tlscap.jar (" + AGENT_RESOURCE
            + "): rebuild it with the README's build command");
      }
      return new JavaSecretSource(options, messages, in.readAllBytes());
    } catch (IOException e) {
      throw new IllegalArgumentException("--java: cannot read the agent jar from tlscap.jar: " + e.getMessage());
    }
  }

  /** {@code tlscap-agent-<first 12 hex digits of its SHA-256>}: the agent jar's name, with the JVM's pid and {@code .jar}. */
  static String agentName(byte[] jar) {
    try {
      byte[] hash = MessageDigest.getInstance("SHA-256").digest(jar);
      return "tlscap-agent-" + HexFormat.of().formatHex(hash, 0, 6);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  @Override
  public String library() {
    return "JSSE";
  }

  /** Every JVM on the host not looked at yet (at start, and every 5 s): attached to in the background. */
  @Override
  public List<TlsLibrary> scan() {
    List<Integer> pids = JvmProcess.pids(options.proc());
    Set<Integer> running = new HashSet<>(pids);
    handled.retainAll(running); // a pid used again later is a new process
    notJvm.retainAll(running);
    for (int pid : pids) {
      consider(pid);
    }
    return List.of();
  }

  /** A program started (or mapped its libraries): a JVM now if it was not before (a script that exec'd java). */
  @Override
  public List<TlsLibrary> scanProcess(int pid) {
    notJvm.remove(pid);
    consider(pid);
    return List.of();
  }

  private void consider(int pid) {
    if (closed || pid == self || handled.contains(pid) || notJvm.contains(pid)
        || (options.pid() != 0 && options.pid() != pid)) {
      return;
    }
    JvmProcess process = new JvmProcess(options.proc(), pid);
    if (options.comm() != null && !options.comm().equals(process.comm())) {
      return;
    }
    if (!process.isJvm()) {
      if (process.alive()) {
        notJvm.add(pid);
      }
      return;
    }
    handled.add(pid);
    attachThread.execute(() -> attacher.attach(process));
  }

  @Override
  public Optional<TlsLibrary> examine(Path file, String origin) {
    return Optional.empty(); // JSSE is not in a file a uprobe could trace
  }

  @Override
  public List<TlsLibrary> libraries() {
    return List.of();
  }

  /** Hands over the secrets the agents sent and prints what the attacher reported (event loop). */
  @Override
  public int drain(Consumer<TlsSecret> sink) {
    int n = 0;
    for (Object item; (item = inbox.poll()) != null; n++) {
      if (item instanceof TlsSecret secret) {
        sink.accept(secret);
      } else {
        messages.accept((String) item);
      }
    }
    return n;
  }

  /** From the attacher and the channels' threads. */
  void deliver(Object secretOrMessage) {
    if (!closed) {
      inbox.add(secretOrMessage);
    }
  }

  boolean closed() {
    return closed;
  }

  @Override
  public SecretCounters counters() {
    return new SecretCounters(secrets.get(), lost.get(), unreadable.get(), malformed.get());
  }

  /** For the exit summary: {@code N JVMs attached (--java)[, M not (see above)]}. */
  public String summary() {
    long not = jvmsNotAttached.get();
    return jvmsAttached.get() + " JVMs attached (--java)" + (not > 0 ? ", " + not + " not (see above)" : "");
  }

  /** Stops attaching, closes every agent's socket (the agents go idle) and removes what tlscap put in the JVMs' roots. */
  @Override
  public void close() {
    closed = true;
    attachThread.shutdownNow();
    attacher.close();
  }
}

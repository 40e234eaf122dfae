// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.capture.jsse;

import com.sun.tools.attach.AgentInitializationException;
import com.sun.tools.attach.AgentLoadException;
import com.sun.tools.attach.AttachNotSupportedException;
import com.sun.tools.attach.VirtualMachine;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Loads the agent into a JVM (on one of the attach threads): waits until the JVM handles the
 * attach signal, puts the agent jar and a listening socket in the JVM's own /tmp (through
 * /proc/PID/root, so containers work: the JDK's Attach API finds the JVM there too), the socket
 * owned by the JVM's user, mode 0600; attaches; takes the agent's connection; and removes both
 * files at once. Root may attach to a JVM of any user (HotSpot accepts root's connection).
 */
final class JvmAttacher {
  /** How long a JVM that just started may take to install its signal handlers (the attach trigger). */
  static final long READY_NANOS = TimeUnit.SECONDS.toNanos(20);
  static final long CONNECT_NANOS = TimeUnit.SECONDS.toNanos(5);

  private final JavaSecretSource source;
  private final byte[] agentJar;
  private final String agentName;
  private final int self;
  private final List<AgentChannel> channels = new ArrayList<>();

  JvmAttacher(JavaSecretSource source, byte[] agentJar, String agentName, int self) {
    this.source = source;
    this.agentJar = agentJar;
    this.agentName = agentName;
    this.self = self;
  }

  /** Attaches to {@code jvm}; reports one line either way, counts a failure. Attach thread. */
  void attach(JvmProcess jvm) {
    String comm = jvm.comm();
    String name = JvmProcess.display(jvm.pid(), comm);
    Path tmp = jvm.dir().resolve("root").resolve("tmp");
    String socketName = ".tlscap-" + self + "-" + jvm.pid() + ".sock";
    Path socket = tmp.resolve(socketName);
    String jarName = agentName + "-" + self + "-" + jvm.pid() + ".jar"; // one per JVM: a root's JVMs attach at once
    Path jar = tmp.resolve(jarName);
    removeLeftovers(tmp);
    try {
      waitUntilReady(jvm);
      if (jvm.attachDisabled()) {
        throw new AttachFailure("it was started with " + JvmProcess.DISABLE_ATTACH);
      }
      int[] owner = jvm.owner();
      if (owner == null) {
        throw new AttachFailure("it exited");
      }
      try (ServerSocketChannel server = listen(socket, owner)) {
        writeAgentJar(jar);
        long attachStart = System.nanoTime();
        load(jvm, "/tmp/" + jarName, "socket=/tmp/" + socketName + ",hello=pid " + jvm.pid());
        SocketChannel channel = accept(server);
        long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - attachStart);
        AgentChannel agent = new AgentChannel(source, channel, jvm.pid(), comm, millis);
        synchronized (channels) {
          if (source.closed()) {
            agent.close();
            return;
          }
          channels.add(agent);
        }
        agent.start(); // counts the JVM attached (or not) by the agent's first line
      }
    } catch (AttachFailure | IOException | RuntimeException e) {
      if (source.closed()) {
        return;
      }
      source.jvmsNotAttached.incrementAndGet();
      String why = !jvm.alive() ? "it exited while being attached" : e.getMessage();
      source.deliver("warning: --java: " + name + " not attached: " + why + "; its TLS sessions are not keyed");
    } finally {
      delete(socket);
      delete(jar);
    }
  }

  private void waitUntilReady(JvmProcess jvm) throws AttachFailure {
    long deadline = System.nanoTime() + READY_NANOS;
    while (!jvm.readyForAttach()) {
      if (!jvm.alive()) {
        throw new AttachFailure("it exited");
      }
      if (System.nanoTime() > deadline || source.closed()) {
        throw new AttachFailure("its JVM does not handle SIGQUIT, the attach signal (-Xrs?)");
      }
      sleep(20);
    }
  }

  /** A socket only root and the JVM's user can connect to, in the JVM's /tmp. */
  private static ServerSocketChannel listen(Path socket, int[] owner) throws IOException {
    Files.deleteIfExists(socket);
    ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
    try {
      server.bind(UnixDomainSocketAddress.of(socket));
      Files.setPosixFilePermissions(socket, PosixFilePermissions.fromString("rw-------"));
      Files.setAttribute(socket, "unix:gid", owner[1]);
      Files.setAttribute(socket, "unix:uid", owner[0]);
      server.configureBlocking(false);
      return server;
    } catch (IOException | RuntimeException e) {
      server.close();
      throw new IOException("cannot make its socket " + socket + ": " + e.getMessage(), e);
    }
  }

  /** The agent jar (code, no secret: world-readable, so that a JVM of any user can load it). */
  private void writeAgentJar(Path jar) throws IOException {
    Path part = jar.resolveSibling(jar.getFileName() + "." + self + ".part");
    try {
      Files.write(part, agentJar);
      Files.setPosixFilePermissions(part, PosixFilePermissions.fromString("rw-r--r--"));
      Files.move(part, jar, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    } finally {
      Files.deleteIfExists(part);
    }
  }

  private static void load(JvmProcess jvm, String jar, String options) throws AttachFailure {
    VirtualMachine vm;
    try {
      vm = VirtualMachine.attach(Integer.toString(jvm.pid()));
    } catch (AttachNotSupportedException | IOException e) {
      throw new AttachFailure("the Attach API failed: " + e.getMessage());
    }
    try {
      vm.loadAgent(jar, options);
    } catch (AgentInitializationException e) {
      throw new AttachFailure("the agent failed to start (JDK 17 or later needed): " + e.getMessage());
    } catch (AgentLoadException | IOException e) {
      throw new AttachFailure("the agent did not load: " + e.getMessage());
    } finally {
      try {
        vm.detach();
      } catch (IOException ignored) {
        // the JVM closed the connection first
      }
    }
  }

  /** The agent connects before loadAgent returns; a short wait covers a slow JVM. */
  private SocketChannel accept(ServerSocketChannel server) throws IOException, AttachFailure {
    long deadline = System.nanoTime() + CONNECT_NANOS;
    while (true) {
      SocketChannel channel = server.accept();
      if (channel != null) {
        channel.configureBlocking(true);
        return channel;
      }
      if (System.nanoTime() > deadline) {
        throw new AttachFailure("the agent loaded but did not connect");
      }
      sleep(5);
    }
  }

  /**
   * Files a tlscap killed while attaching left in a JVM's /tmp ({@code .tlscap-<its pid>-<jvm>.sock},
   * {@code tlscap-agent-<hash>-<its pid>-<jvm>.jar}): removed when that tlscap is gone.
   */
  static void removeLeftovers(Path tmp) {
    try (java.util.stream.Stream<Path> files = Files.list(tmp)) {
      files.forEach(file -> {
        String name = file.getFileName().toString();
        String[] parts = name.startsWith(".tlscap-") ? name.split("[-.]")
            : name.startsWith("tlscap-agent-") ? name.substring("tlscap-agent-".length()).split("[-.]") : null;
        // ".tlscap-T-J.sock" -> ["", "tlscap", T, J, "sock"]; "HASH-T-J.jar[.T.part]" -> [HASH, T, J, "jar", ...]
        String owner = parts == null ? null : name.startsWith(".") ? (parts.length > 2 ? parts[2] : null)
            : (parts.length > 1 ? parts[1] : null);
        if (owner != null && owner.chars().allMatch(Character::isDigit) && !owner.isEmpty()
            && ProcessHandle.of(Long.parseLong(owner)).isEmpty()) {
          delete(file);
        }
      });
    } catch (IOException | RuntimeException e) {
      // no /tmp there, or it is not ours to list: nothing to clean
    }
  }

  private static void delete(Path file) {
    try {
      Files.deleteIfExists(file);
    } catch (IOException ignored) {
      // gone with the JVM's root, or its /tmp is read-only now
    }
  }

  private static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** Closes every agent's socket: each agent sees it close and stops sending. */
  void close() {
    synchronized (channels) {
      for (AgentChannel channel : channels) {
        channel.close();
      }
      channels.clear();
    }
  }

  /** Why a JVM was not attached, as the warning line says it. */
  static final class AttachFailure extends Exception {
    private static final long serialVersionUID = 1L;

    AttachFailure(String message) {
      super(message, null, false, false);
    }
  }
}

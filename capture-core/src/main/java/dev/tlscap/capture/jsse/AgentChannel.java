// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.capture.jsse;

import com.sun.jna.Memory;
import dev.tlscap.bpf.Posix;
import dev.tlscap.secrets.TlsLabel;
import dev.tlscap.secrets.TlsSecret;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;

/**
 * One attached JVM's agent: reads its key log lines on a thread of its own and hands each as a
 * {@link TlsSecret} (with its client random, from the JVM's process) to the source. Lines:
 * {@code LABEL <random hex> <secret hex>}; {@code # tlscap-agent pid P [redefined N] java V} (the first;
 * N: JSSE classes in use already, redefined in place), {@code # dropped N}
 * (secrets the agent's queue could not hold), {@code # unreadable LABEL} (a secret whose bytes JSSE's
 * provider did not give). Anything else is counted malformed. Closing it tells the agent to go idle.
 */
final class AgentChannel implements Runnable {
  /** The longest line a key log holds (label, 32-byte random, 48-byte secret) with room to spare. */
  static final int MAX_LINE = 512;

  private final JavaSecretSource source;
  private final SocketChannel channel;
  private final int pid;
  private final String comm;
  private final String name;
  private final long attachMillis;
  /** clock_gettime's buffer (the reader thread's). */
  private final Memory timespec = new Memory(16);
  /** The agent said hello (or why it failed): its JVM is counted. */
  private boolean counted;

  AgentChannel(JavaSecretSource source, SocketChannel channel, int pid, String comm, long attachMillis) {
    this.source = source;
    this.channel = channel;
    this.pid = pid;
    this.comm = comm;
    this.name = JvmProcess.display(pid, comm);
    this.attachMillis = attachMillis;
  }

  void start() {
    Thread thread = new Thread(this, "tlscap-java-" + pid);
    thread.setDaemon(true);
    thread.start();
  }

  @Override
  public void run() {
    try (BufferedReader in = new BufferedReader(new InputStreamReader(Channels.newInputStream(channel),
        StandardCharsets.US_ASCII), MAX_LINE)) {
      for (String line; (line = in.readLine()) != null; ) {
        accept(line);
      }
    } catch (IOException | RuntimeException e) {
      // closed by tlscap, or the JVM exited: its sessions so far are in
    }
    if (!counted && !source.closed()) {
      notAttached("the agent closed its socket without a word");
    }
  }

  private void notAttached(String why) {
    counted = true;
    source.jvmsNotAttached.incrementAndGet();
    source.deliver("warning: --java: " + name + " not attached: " + why + "; its TLS sessions are not keyed");
  }

  void accept(String line) {
    if (line.length() > MAX_LINE) {
      source.malformed.incrementAndGet();
    } else if (line.startsWith("# error ") && !counted) {
      notAttached("the agent failed in the JVM: " + line.substring("# error ".length()));
    } else if (line.startsWith("# tlscap-agent ") && !counted) {
      counted = true;
      source.jvmsAttached.incrementAndGet();
      source.deliver("TLS secrets from " + name + ", a JVM (" + line.substring(line.indexOf(" java ") + 1)
          + "), through tlscap's agent: attached in " + attachMillis + " ms" + (line.contains(" redefined 0 ")
              || !line.contains(" redefined ") ? "" : " (JSSE was in use: the JVM recompiles its code, all of it"
              + " before JDK 23, and runs slower for some seconds)"));
    } else if (line.startsWith("# dropped ")) {
      source.lost.addAndGet(parseCount(line.substring("# dropped ".length())));
    } else if (line.startsWith("# unreadable ")) {
      source.unreadable.incrementAndGet();
    } else {
      TlsSecret secret = parse(line);
      if (secret == null) {
        source.malformed.incrementAndGet();
      } else {
        source.secrets.incrementAndGet();
        source.deliver(secret);
      }
    }
  }

  /** A key log line from this JVM, or null when it is not one. */
  TlsSecret parse(String line) {
    String[] fields = line.split(" ");
    if (fields.length != 3) {
      return null;
    }
    TlsLabel label;
    try {
      label = TlsLabel.valueOf(fields[0]);
      byte[] random = HexFormat.of().parseHex(fields[1]);
      byte[] secret = HexFormat.of().parseHex(fields[2]);
      if (random.length != 32 || secret.length < 32 || secret.length > 64
          || (label == TlsLabel.CLIENT_RANDOM && secret.length != 48)) {
        return null;
      }
      return new TlsSecret(Posix.clockNanos(Posix.CLOCK_BOOTTIME, timespec), pid, pid, comm, null, random, label, secret, "JSSE");
    } catch (IllegalArgumentException e) {
      return null;
    }
  }

  private long parseCount(String text) {
    try {
      return Long.parseLong(text.strip());
    } catch (NumberFormatException e) {
      source.malformed.incrementAndGet();
      return 0;
    }
  }

  void close() {
    try {
      channel.close();
    } catch (IOException ignored) {
      // closed either way
    }
  }
}

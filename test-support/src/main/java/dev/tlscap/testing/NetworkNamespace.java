// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.testing;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/**
 * A network namespace for one test, with {@code lo} up, made and removed with {@code ip netns}
 * (iproute2; needs root): veth pairs into it, and commands run inside it with {@code ip netns exec}.
 *
 * <p>Closing kills every process started inside with {@link #start}, deletes the veth pairs made by
 * {@link #addVeth} (also their host ends) and the namespace, so nothing is left even when the test
 * failed. Names are random ({@code PREFIX-xxxxxx}), so tests may run in parallel and a leftover of
 * a crashed run never collides. Not thread-safe.
 *
 * <pre>{@code
 * try (NetworkNamespace ns = NetworkNamespace.create("tc")) {
 *   NetworkNamespace.Veth veth = ns.addVeth("10.201.0.1/24", "10.201.0.2/24");
 *   try (Command.Background server = ns.start("iperf3", "-s", "-1")) { ... traffic to veth.peerAddress() ... }
 * }
 * }</pre>
 */
public final class NetworkNamespace implements AutoCloseable {
  private static final Duration TIMEOUT = Duration.ofSeconds(30);

  private final String name;
  private final List<Command.Background> processes = new ArrayList<>();
  private final List<String> hostLinks = new ArrayList<>();
  private boolean closed;

  /**
   * One veth pair: {@code hostName} in the caller's namespace, {@code peerName} in this one; both
   * up. Addresses are without prefix length ({@code 10.201.0.2}); null when none was given.
   */
  public record Veth(String hostName, String hostAddress, String peerName, String peerAddress) {}

  private NetworkNamespace(String name) {
    this.name = name;
  }

  /** Creates a namespace named {@code PREFIX-xxxxxx} with {@code lo} up. Needs root and {@code ip}. */
  public static NetworkNamespace create(String prefix) {
    Requirements.requireRoot();
    Requirements.requireCommand("ip", "iproute2");
    String name = prefix + "-" + randomSuffix();
    Command.run(TIMEOUT, "ip", "netns", "add", name).check();
    NetworkNamespace ns = new NetworkNamespace(name);
    try {
      ns.run("ip", "link", "set", "lo", "up").check();
    } catch (RuntimeException | AssertionError e) {
      ns.close();
      throw e;
    }
    return ns;
  }

  private static String randomSuffix() {
    return Integer.toHexString(0x100000 + ThreadLocalRandom.current().nextInt(0xEFFFFF));
  }

  public String name() {
    return name;
  }

  /**
   * Adds a veth pair named {@code tvXXXXXXh} (here) / {@code tvXXXXXXp} (inside), brings both up and
   * gives them the addresses ({@code "10.201.0.1/24"}; IPv6 addresses get {@code nodad} so they work
   * at once; null: no address). Neither end runs duplicate address detection or sends router
   * solicitations, so the only packets on the pair are the ones a test causes (the kernel's own
   * would arrive at random times and race with captures started one after another).
   */
  public Veth addVeth(String hostCidr, String peerCidr) {
    String base = "tv" + randomSuffix();
    String host = base + "h";
    String peer = base + "p";
    Command.run(TIMEOUT, "ip", "link", "add", host, "type", "veth", "peer", "name", peer, "netns", name).check();
    hostLinks.add(host);
    quietIpv6(null, host);
    quietIpv6(name, peer);
    if (hostCidr != null) {
      addAddress(null, host, hostCidr);
    }
    if (peerCidr != null) {
      addAddress(name, peer, peerCidr);
    }
    Command.run(TIMEOUT, "ip", "link", "set", host, "up").check();
    run("ip", "link", "set", peer, "up").check();
    return new Veth(host, hostCidr == null ? null : stripPrefix(hostCidr), peer,
        peerCidr == null ? null : stripPrefix(peerCidr));
  }

  private void quietIpv6(String namespace, String link) {
    String conf = "/proc/sys/net/ipv6/conf/" + link + "/";
    String script = "echo 0 > " + conf + "accept_dad && echo 0 > " + conf + "router_solicitations";
    if (namespace == null) {
      Command.run(TIMEOUT, "sh", "-c", script).check();
    } else {
      run("sh", "-c", script).check();
    }
  }

  /** Adds another address to an interface here (namespace null) or inside this namespace. */
  public void addAddress(String namespace, String link, String cidr) {
    List<String> argv = new ArrayList<>();
    argv.add("ip");
    if (namespace != null) {
      argv.addAll(List.of("-n", namespace));
    }
    argv.addAll(List.of(cidr.contains(":") ? "-6" : "-4", "addr", "add", cidr, "dev", link));
    if (cidr.contains(":")) {
      argv.add("nodad");
    }
    Command.run(TIMEOUT, argv.toArray(new String[0])).check();
  }

  private static String stripPrefix(String cidr) {
    int slash = cidr.indexOf('/');
    return slash < 0 ? cidr : cidr.substring(0, slash);
  }

  /** Runs {@code argv} inside the namespace to completion. */
  public Command.Result run(String... argv) {
    return run(TIMEOUT, argv);
  }

  /** Runs {@code argv} inside the namespace to completion, killed after {@code timeout}. */
  public Command.Result run(Duration timeout, String... argv) {
    return Command.run(timeout, exec(argv));
  }

  /** Starts {@code argv} inside the namespace in the background; {@link #close()} kills it. */
  public Command.Background start(String... argv) {
    Command.Background b = Command.Background.start(exec(argv));
    processes.add(b);
    return b;
  }

  private String[] exec(String... argv) {
    List<String> all = new ArrayList<>(List.of("ip", "netns", "exec", name));
    all.addAll(List.of(argv));
    return all.toArray(new String[0]);
  }

  /** Deletes a link in the caller's namespace (e.g. a veth end, to test an interface that goes away). */
  public static void deleteLink(String link) {
    Command.run(TIMEOUT, "ip", "link", "del", link);
  }

  /** True when the caller's namespace has an interface called {@code link}. */
  public static boolean linkExists(String link) {
    return Files.exists(Path.of("/sys/class/net", link));
  }

  /** Kills what runs inside, deletes the veth pairs and the namespace. Idempotent. */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    for (Command.Background p : processes) {
      p.close();
    }
    // Anything else still running inside (started by the test some other way) would keep the namespace alive.
    for (String pid : output("ip", "netns", "pids", name).split("\\s+")) {
      if (!pid.isBlank()) {
        Command.run(TIMEOUT, "kill", "-9", pid.trim());
      }
    }
    for (String link : hostLinks) {
      if (linkExists(link)) {
        deleteLink(link);
      }
    }
    Command.run(TIMEOUT, "ip", "netns", "del", name);
  }

  /**
   * What a short command prints on stdout, read to the end before it returns (stderr discarded).
   * For commands whose output a test parses.
   */
  public static String output(String... argv) {
    ProcessBuilder pb = new ProcessBuilder(argv).redirectError(ProcessBuilder.Redirect.DISCARD);
    try {
      Process p = pb.start();
      p.getOutputStream().close();
      String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
      if (!p.waitFor(TIMEOUT.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS)) {
        p.destroyForcibly();
        throw new AssertionError("timed out: " + String.join(" ", argv));
      }
      return out;
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException("cannot run " + String.join(" ", argv), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  @Override
  public String toString() {
    return "netns " + name;
  }
}

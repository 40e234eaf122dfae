// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.secrets;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * Where TLS secrets come from: one TLS library family (OpenSSL 3 through {@link OpenSslSecretSource};
 * Go's crypto/tls, BoringSSL, GnuTLS, NSS and JSSE plug in here the same way). A source finds what
 * it can trace (a shared library, an executable with the library linked in, a process), attaches
 * to it, and hands over what it collected as {@link TlsSecret}s; the capture proves each one on the
 * packets before it writes it, whatever source it came from.
 *
 * <p>A uprobe applies to a file, so one attach covers every process that maps it, now and later.
 *
 * <p>Lifecycle: created open (attached to nothing, or to what the user named) -> {@link #scan()},
 * {@link #scanProcess(int)} and {@link #examine} as programs appear -> {@link #drain} -> 
 * {@link #close()}, which detaches everything and leaves nothing behind. Not thread-safe: one thread
 * (the capture's event loop) calls every method. Problems with what a source found on its own are
 * reported as one-line messages (the capture goes on); problems with what the user named are
 * {@link IllegalArgumentException}s whose message is the line to print.
 */
public interface SecretSource extends AutoCloseable {
  /** The library family, as shown to users: {@code "OpenSSL 3"}. */
  String library();

  /** Finds and traces what is new on the host (system libraries, files of running processes); returns it. */
  List<TlsLibrary> scan();

  /** Finds and traces what process {@code pid} maps, if new (a program that just started); returns it. */
  List<TlsLibrary> scanProcess(int pid);

  /**
   * Process {@code pid} started a program a moment ago, and its executable was {@link #examine}d
   * then: traces what it mapped since (the libraries its dynamic linker loaded), if new; returns it.
   * Its executable is not looked at again. {@link #scanProcess} unless a source knows better.
   */
  default List<TlsLibrary> scanLoadedLibraries(int pid) {
    return scanProcess(pid);
  }

  /**
   * A program just started in process {@code pid}: traces the libraries its root holds that it
   * may map (a container's or a chroot's own files), before its dynamic linker maps them; returns
   * what is new. Sources whose targets are executables (Go) have nothing to do here.
   */
  default List<TlsLibrary> scanRoot(int pid) {
    return List.of();
  }

  /**
   * Traces {@code file} (a library or an executable) if this source can read secrets from it and
   * does not yet; returns it then, else empty. {@code origin} says how it was found ("--libssl",
   * "pid 1234").
   */
  Optional<TlsLibrary> examine(Path file, String origin);

  /** The files traced so far. */
  List<TlsLibrary> libraries();

  /** Hands every secret collected since the last call to {@code sink}; returns how many records were read. */
  int drain(Consumer<TlsSecret> sink);

  /** What this source counted so far. */
  SecretCounters counters();

  /** Detaches everything; never throws. */
  @Override
  void close();

  /**
   * What a source counted.
   *
   * @param secrets secrets handed over
   * @param lost secrets that could not be kept (the kernel's buffer was full)
   * @param unreadable secrets whose arguments could not be read (paged out, bad pointer)
   * @param malformed records that could not be decoded (counted, skipped)
   */
  record SecretCounters(long secrets, long lost, long unreadable, long malformed) {
    public static final SecretCounters ZERO = new SecretCounters(0, 0, 0, 0);

    public SecretCounters plus(SecretCounters o) {
      return new SecretCounters(secrets + o.secrets, lost + o.lost, unreadable + o.unreadable, malformed + o.malformed);
    }
  }
}

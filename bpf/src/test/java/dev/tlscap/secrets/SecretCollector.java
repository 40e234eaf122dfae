// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.secrets;

import dev.tlscap.pcapng.KeyLogFile;
import dev.tlscap.pcapng.KeyLogLine;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Test harness around {@link OpenSslSecretSource}: drains it on a thread of its own into a
 * {@link KeyLogFile} (what {@code --keylog-file} writes) and keeps every event.
 */
final class SecretCollector implements AutoCloseable {
  final OpenSslSecretSource source;
  final List<TlsSecret> secrets = new CopyOnWriteArrayList<>();
  final List<ClientHelloEvent> hellos = new CopyOnWriteArrayList<>();
  final List<String> messages = new CopyOnWriteArrayList<>();
  final Path keyLogPath;
  private final KeyLogFile keyLog;
  private final AtomicBoolean running = new AtomicBoolean(true);
  private final AtomicReference<Throwable> failure = new AtomicReference<>();
  private final Thread thread;

  SecretCollector(OpenSslSecretSource.Options options, Path keyLogPath) {
    this.keyLogPath = keyLogPath;
    this.source = OpenSslSecretSource.open(options, messages::add);
    this.keyLog = KeyLogFile.open(keyLogPath);
    TlsEventListener listener = new TlsEventListener() {
      @Override
      public void onSecret(TlsSecret event) {
        secrets.add(event);
        if (event.clientRandom() != null) {
          keyLog.write(new KeyLogLine(event.label().keyLogLabel(), event.clientRandom(), event.secret()));
        }
      }

      @Override
      public void onClientHello(ClientHelloEvent event) {
        hellos.add(event);
      }
    };
    thread = new Thread(() -> {
      try {
        while (running.get()) {
          source.poll(listener, 50);
          keyLog.flush();
        }
        source.drain(listener);
        keyLog.flush();
      } catch (Throwable t) {
        failure.set(t);
      }
    }, "secret-collector");
    thread.start();
  }

  /** Waits for the events already in the ring, then stops draining. */
  void finish() throws InterruptedException {
    Thread.sleep(300);
    running.set(false);
    thread.join(10_000);
    if (failure.get() != null) {
      throw new AssertionError("the collector failed", failure.get());
    }
  }

  List<String> keyLogLines() {
    return dev.tlscap.testing.KeyLogs.read(keyLogPath);
  }

  List<String> linesOf(long pid) {
    List<String> lines = new ArrayList<>();
    for (TlsSecret e : secrets) {
      if (e.pid() == pid && e.clientRandom() != null) {
        lines.add(new KeyLogLine(e.label().keyLogLabel(), e.clientRandom(), e.secret()).toString());
      }
    }
    return lines;
  }

  @Override
  public void close() throws InterruptedException {
    if (thread.isAlive()) {
      finish();
    }
    keyLog.close();
    source.close();
  }
}

// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.secrets;

import dev.tlscap.pcapng.KeyLogFile;
import dev.tlscap.pcapng.KeyLogLine;
import java.nio.file.Path;

/**
 * Benchmark helper (not a test): traces TLS secrets into a key log file until killed, printing
 * "tracing" when attached and the counters at exit; run openssl s_time with and without it to price
 * the hooks alone (bench/tls-path.sh measures the same through tlscap.jar). {@code -Dbench.sockets=true} adds the socket tracing; {@code -Dbench.idle=true}
 * attaches nothing (an A/A check of the method).
 */
public final class SecretTracingBench {
  private SecretTracingBench() {}

  static final boolean WRITE = !Boolean.getBoolean("nowrite");

  public static void main(String[] args) throws Exception {
    Path keyLog = Path.of(args[0]);
    try (OpenSslSecretSource source = OpenSslSecretSource.open(
        new OpenSslSecretSource.Options(0, null, java.util.List.of(), 4 << 20, !Boolean.getBoolean("bench.idle"),
            Boolean.getBoolean("bench.sockets")), m -> { });
        KeyLogFile file = KeyLogFile.open(keyLog)) {
      Runtime.getRuntime().addShutdownHook(new Thread(() -> System.err.println("counters " + source.counters())));
      System.err.println("tracing");
      TlsEventListener listener = event -> {
        if (WRITE && event.clientRandom() != null) {
          file.write(new KeyLogLine(event.label().keyLogLabel(), event.clientRandom(), event.secret()));
        }
      };
      while (true) {
        source.poll(listener, 1000);
        file.flush();
      }
    }
  }
}

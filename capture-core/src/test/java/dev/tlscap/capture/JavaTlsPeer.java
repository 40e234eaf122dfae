// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.capture;

import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import dev.tlscap.testing.TrustAll;
import java.io.BufferedReader;
import java.io.FileInputStream;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.HttpURLConnection;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.KeyStore;
import javax.net.ssl.HttpsURLConnection;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;

/**
 * A JSSE program for JavaIT, run in a JVM of its own (any JDK 17+: plain JDK API only).
 *
 * <p>{@code client}: reads lines {@code <kind> <protocol> <url>} from stdin (kind {@code h2} or
 * {@code h1} for {@code java.net.http.HttpClient}, {@code urlconnection} for
 * {@code HttpsURLConnection}; protocol {@code TLSv1.3} or {@code TLSv1.2}); makes each request on a
 * new connection and prints {@code <status> <kind> <url>} (or {@code fail (<why>) <kind> <url>});
 * {@code quit} ends.
 *
 * <p>{@code server <port> <pkcs12> <password>}: an {@code HttpsServer} answering 200 {@code jsse-server}
 * to every request; prints {@code listening} once it does.
 */
public final class JavaTlsPeer {
  private JavaTlsPeer() {
  }

  public static void main(String[] args) throws Exception {
    if (args[0].equals("server")) {
      server(Integer.parseInt(args[1]), args[2], args[3].toCharArray());
    } else {
      client();
    }
  }

  private static void client() throws Exception {
    System.setProperty("jdk.internal.httpclient.disableHostnameVerification", "true");
    System.setProperty("http.keepAlive", "false"); // every HttpsURLConnection request: a new handshake
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    System.out.println("ready");
    for (String line; (line = in.readLine()) != null && !line.equals("quit"); ) {
      String[] f = line.split(" ");
      try {
        SSLContext tls = TrustAll.context(f[1]);
        int status;
        if (f[0].equals("urlconnection")) {
          HttpsURLConnection c = (HttpsURLConnection) URI.create(f[2]).toURL().openConnection();
          c.setSSLSocketFactory(tls.getSocketFactory());
          c.setHostnameVerifier((host, session) -> true);
          status = c.getResponseCode();
          try (InputStream body = c.getInputStream()) {
            body.readAllBytes();
          }
          c.disconnect();
        } else {
          SSLParameters params = tls.getDefaultSSLParameters();
          params.setProtocols(new String[] {f[1]});
          HttpClient client = HttpClient.newBuilder().sslContext(tls).sslParameters(params)
              .version(f[0].equals("h2") ? HttpClient.Version.HTTP_2 : HttpClient.Version.HTTP_1_1).build();
          HttpResponse<String> r = client.send(HttpRequest.newBuilder(URI.create(f[2])).build(),
              HttpResponse.BodyHandlers.ofString());
          status = r.statusCode();
          if (r.version() != (f[0].equals("h2") ? HttpClient.Version.HTTP_2 : HttpClient.Version.HTTP_1_1)) {
            throw new IllegalStateException("answered with " + r.version());
          }
        }
        System.out.println(status + " " + f[0] + " " + f[2]);
      } catch (Exception e) {
        System.out.println("fail (" + e + ") " + f[0] + " " + f[2]);
      }
    }
  }

  private static void server(int port, String pkcs12, char[] password) throws Exception {
    KeyStore keys = KeyStore.getInstance("PKCS12");
    try (FileInputStream f = new FileInputStream(pkcs12)) {
      keys.load(f, password);
    }
    KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
    kmf.init(keys, password);
    SSLContext tls = SSLContext.getInstance("TLS");
    tls.init(kmf.getKeyManagers(), null, null);
    HttpsServer server = HttpsServer.create(new InetSocketAddress("127.0.0.1", port), 16);
    server.setHttpsConfigurator(new HttpsConfigurator(tls));
    server.createContext("/", exchange -> {
      byte[] body = "jsse-server".getBytes(StandardCharsets.US_ASCII);
      exchange.getResponseHeaders().add("Connection", "close");
      exchange.sendResponseHeaders(HttpURLConnection.HTTP_OK, body.length);
      try (OutputStream out = exchange.getResponseBody()) {
        out.write(body);
      }
    });
    server.start();
    System.out.println("listening");
  }
}

// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.testing;

import java.security.GeneralSecurityException;
import java.security.cert.X509Certificate;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;

/** A JSSE client context that trusts any certificate: the tests' and benchmarks' self-signed peers. */
public final class TrustAll {
  private TrustAll() {
  }

  /** An initialised context for {@code protocol} ("TLS", "TLSv1.3", "TLSv1.2") trusting every server. */
  public static SSLContext context(String protocol) throws GeneralSecurityException {
    TrustManager[] all = {new X509TrustManager() {
      @Override
      public void checkClientTrusted(X509Certificate[] chain, String authType) {
      }

      @Override
      public void checkServerTrusted(X509Certificate[] chain, String authType) {
      }

      @Override
      public X509Certificate[] getAcceptedIssuers() {
        return new X509Certificate[0];
      }
    }};
    SSLContext tls = SSLContext.getInstance(protocol);
    tls.init(null, all, null);
    return tls;
  }
}

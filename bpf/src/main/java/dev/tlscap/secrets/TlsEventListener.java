// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.secrets;

/** Receives what {@link OpenSslSecretSource} decodes, on the thread that drains it. */
public interface TlsEventListener {
  void onSecret(TlsSecret event);

  default void onClientHello(ClientHelloEvent event) {}
}

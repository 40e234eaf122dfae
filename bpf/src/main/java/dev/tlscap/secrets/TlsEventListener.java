// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.secrets;

/** Receives what {@link TlsSecretSource} decodes, on the thread that drains it. */
public interface TlsEventListener {
  void onSecret(TlsSecretEvent event);

  default void onClientHello(ClientHelloEvent event) {}
}

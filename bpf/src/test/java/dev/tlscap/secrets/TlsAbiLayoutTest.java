// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.secrets;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.tlscap.bpf.BpfObject;
import dev.tlscap.bpf.Btf;
import org.junit.jupiter.api.Test;

/** The Java view of tls_abi.h matches what clang compiled into tls_secrets.bpf.o; needs no privileges. */
class TlsAbiLayoutTest {
  @Test
  void tlsEventMatchesBtf() {
    try (BpfObject object = BpfObject.open(OpenSslSecretSource.class, OpenSslSecretSource.OBJECT)) {
      Btf.StructLayout event = object.btf().struct("tls_event");
      assertEquals(TlsEventView.SIZE, event.size());
      assertEquals(TlsEventView.TIMESTAMP, event.member("timestamp_ns").offset());
      assertEquals(TlsEventView.KIND, event.member("kind").offset());
      assertEquals(TlsEventView.LABEL, event.member("label").offset());
      assertEquals(TlsEventView.PID, event.member("pid").offset());
      assertEquals(TlsEventView.TID, event.member("tid").offset());
      assertEquals(TlsEventView.FLAGS, event.member("flags").offset());
      assertEquals(TlsEventView.SECRET_LEN, event.member("secret_len").offset());
      assertEquals(TlsEventView.COMM, event.member("comm").offset());
      assertEquals(TlsEventView.SOCKET, event.member("socket").offset());
      assertEquals(TlsEventView.CLIENT_RANDOM, event.member("client_random").offset());
      assertEquals(TlsEventView.SECRET, event.member("secret").offset());
      assertEquals(TlsEventView.SECRET_MAX, event.member("secret").size());

      Btf.StructLayout socket = object.btf().struct("tls_socket");
      assertEquals(TlsEventView.SOCKET_SIZE, socket.size());
      assertEquals(TlsEventView.SOCK, socket.member("sock").offset());
      assertEquals(TlsEventView.NETNS, socket.member("netns").offset());
      assertEquals(TlsEventView.FAMILY, socket.member("family").offset());
      assertEquals(TlsEventView.LOCAL_PORT, socket.member("local_port").offset());
      assertEquals(TlsEventView.REMOTE_PORT, socket.member("remote_port").offset());
      assertEquals(TlsEventView.LOCAL_ADDR, socket.member("local_addr").offset());
      assertEquals(TlsEventView.REMOTE_ADDR, socket.member("remote_addr").offset());

      Btf.StructLayout counters = object.btf().struct("tls_counters");
      assertEquals(OpenSslSecretSource.COUNTER_SECRETS, counters.member("secrets").offset());
      assertEquals(OpenSslSecretSource.COUNTER_CLIENT_HELLOS, counters.member("client_hellos").offset());
      assertEquals(OpenSslSecretSource.COUNTER_RING_FULL, counters.member("ring_full").offset());
      assertEquals(OpenSslSecretSource.COUNTER_PARAMS_UNREADABLE, counters.member("params_unreadable").offset());
      assertEquals(OpenSslSecretSource.COUNTER_KDF_CALLS, counters.member("kdf_calls").offset());
    }
  }

  @Test
  void labelsKeepTheirCodes() {
    for (TlsLabel label : TlsLabel.values()) {
      assertEquals(label, TlsLabel.ofCode(label.code()));
    }
    assertEquals("CLIENT_RANDOM", TlsLabel.CLIENT_RANDOM.keyLogLabel());
    assertEquals(null, TlsLabel.ofCode(99));
  }
}

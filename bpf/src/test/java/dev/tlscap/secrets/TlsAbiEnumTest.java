// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.secrets;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.tlscap.bpf.AbiEnums;
import dev.tlscap.bpf.BpfObject;
import dev.tlscap.bpf.Btf;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The codes and flags Java reads from {@code struct tls_event} (TlsEventView, TlsLabel) are the
 * enums of tls_abi.h as clang compiled them into tls_secrets.bpf.o (its BTF). Needs no privileges.
 */
class TlsAbiEnumTest {
  private static BpfObject open() {
    return BpfObject.open(OpenSslSecretSource.class, OpenSslSecretSource.OBJECT);
  }

  @Test
  void eventKindsMatchBtf() {
    try (BpfObject object = open()) {
      AbiEnums.assertMatch(object.btf(), "tls_event_kind", Map.of(
          "TLS_EVENT_SECRET", TlsEventView.KIND_SECRET,
          "TLS_EVENT_CLIENT_HELLO", TlsEventView.KIND_CLIENT_HELLO));
    }
  }

  @Test
  void eventFlagsMatchBtf() {
    try (BpfObject object = open()) {
      AbiEnums.assertMatch(object.btf(), "tls_event_flag", Map.of(
          "TLS_FLAG_RANDOM_KNOWN", TlsEventView.FLAG_RANDOM_KNOWN,
          "TLS_FLAG_SOCKET_KNOWN", TlsEventView.FLAG_SOCKET_KNOWN,
          "TLS_FLAG_IO_WRITE", TlsEventView.FLAG_IO_WRITE,
          "TLS_FLAG_SECRET_CUT", TlsEventView.FLAG_SECRET_CUT),
          "TLS_FLAG_IO_READ"); // a ClientHello is read when it is not written: Java tests IO_WRITE only
    }
  }

  /** Every TlsLabel has the code of its C label, and every C label has a TlsLabel. */
  @Test
  void secretLabelsMatchBtf() {
    Map<TlsLabel, String> cName = new LinkedHashMap<>();
    cName.put(TlsLabel.CLIENT_EARLY_TRAFFIC_SECRET, "TLS_LABEL_CLIENT_EARLY_TRAFFIC");
    cName.put(TlsLabel.CLIENT_HANDSHAKE_TRAFFIC_SECRET, "TLS_LABEL_CLIENT_HANDSHAKE_TRAFFIC");
    cName.put(TlsLabel.SERVER_HANDSHAKE_TRAFFIC_SECRET, "TLS_LABEL_SERVER_HANDSHAKE_TRAFFIC");
    cName.put(TlsLabel.CLIENT_TRAFFIC_SECRET_0, "TLS_LABEL_CLIENT_TRAFFIC_0");
    cName.put(TlsLabel.SERVER_TRAFFIC_SECRET_0, "TLS_LABEL_SERVER_TRAFFIC_0");
    cName.put(TlsLabel.EXPORTER_SECRET, "TLS_LABEL_EXPORTER");
    cName.put(TlsLabel.CLIENT_RANDOM, "TLS_LABEL_MASTER_SECRET");
    assertEquals(Arrays.asList(TlsLabel.values()), cName.keySet().stream().toList(), "a TlsLabel without its C name here");
    Map<String, Integer> java = new LinkedHashMap<>();
    cName.forEach((label, name) -> java.put(name, label.code()));
    try (BpfObject object = open()) {
      AbiEnums.assertMatch(object.btf(), "tls_secret_label", java);
    }
  }

  /** The array lengths Java assumes: comm, client_random and secret of struct tls_event. */
  @Test
  void arrayLengthsMatchBtf() {
    try (BpfObject object = open()) {
      Btf.StructLayout event = object.btf().struct("tls_event");
      assertEquals(TlsEventView.COMM_LEN, event.member("comm").size());
      assertEquals(TlsEventView.RANDOM_LEN, event.member("client_random").size());
      assertEquals(TlsEventView.SECRET_MAX, event.member("secret").size());
    }
  }
}

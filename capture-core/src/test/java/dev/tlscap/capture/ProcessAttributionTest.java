// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.capture;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;

import dev.tlscap.capture.tls.RecordedTraffic;
import dev.tlscap.secrets.TlsSecret;
import java.util.List;
import org.junit.jupiter.api.Test;

/** {@link ProcessAttribution}: which end each process is, and annotations shared between connections. */
class ProcessAttributionTest {
  private static final RecordedTraffic TRAFFIC = RecordedTraffic.load("tls13-aes128-gcm");

  private static FlowProcesses bothEnds(ProcessAttribution attribution, int clientPid, int serverPid) {
    String random = TRAFFIC.randoms().get(0);
    List<String> lines = TRAFFIC.keyLog.stream().filter(l -> RecordedTraffic.randomHex(l).equals(random)).toList();
    FlowProcesses flow = new FlowProcesses();
    for (TlsSecret s : RecordedTraffic.events(lines, RecordedTraffic.CLIENT_ORDER, clientPid, clientPid, false)) {
      attribution.learn(flow, s);
    }
    for (TlsSecret s : RecordedTraffic.events(lines, RecordedTraffic.SERVER_ORDER, serverPid, serverPid, false)) {
      attribution.learn(flow, s);
    }
    return flow;
  }

  @Test
  void connectionsBetweenTheSameTwoProcessesShareTheirAnnotations() {
    ProcessAttribution attribution = new ProcessAttribution();
    FlowProcesses a = bothEnds(attribution, 1, 2);
    FlowProcesses b = bothEnds(attribution, 1, 2);
    FlowProcesses other = bothEnds(attribution, 3, 2);
    assertEquals(1, a.client.process().pid());
    assertEquals(2, a.server.process().pid());
    assertEquals(a.client.process().comment(), a.server.process().comment(), "one comment names both ends");
    assertSame(a.client.process(), b.client.process(), "every packet reads it: one object for all such connections");
    assertSame(a.server.process(), b.server.process());
    assertNotSame(a.client.process(), a.server.process(), "each end's packets carry its own pid");
    assertEquals(3, other.client.process().pid());
    assertNotSame(a.server.process(), other.server.process(), "another pair of processes: another comment");
  }
}

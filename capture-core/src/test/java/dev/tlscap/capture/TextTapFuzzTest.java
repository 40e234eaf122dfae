// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.capture;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.tlscap.capture.text.JsonText;
import dev.tlscap.pcapng.DecryptionSecretsBlock;
import dev.tlscap.pcapng.EnhancedPacketBlock;
import dev.tlscap.pcapng.PcapngBlock;
import dev.tlscap.pcapng.PcapngReader;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Timeout;

/**
 * Coverage-guided fuzzing (Jazzer) of {@code --text} ({@link TextTap}: TCP reassembly, TLS records
 * and handshake, record opening, HTTP/1.x, HTTP/2 and HPACK through Netty, gzip) on what a hostile
 * capture file or network can hand it: the fixture's packets (curl and nginx, HTTP/1.1 and HTTP/2
 * over TLS 1.2 and 1.3, gzip bodies) with their key log, fed in order, dropped, repeated, cut,
 * with bytes overwritten anywhere (headers, records, plaintext after a key that opens them), or
 * replaced by the fuzzer's own bytes. Nothing may escape: every problem is a message.
 */
class TextTapFuzzTest {
  record Packet(int linkType, byte[] data, String comment) {}

  static final String KEY_LOG;
  static final List<Packet> PACKETS = new ArrayList<>();

  static {
    StringBuilder keys = new StringBuilder();
    try {
      PcapngReader reader = PcapngReader.open(TextReaderTest.FIXTURE);
      PcapngBlock b;
      while ((b = reader.next()) != null) {
        if (b instanceof DecryptionSecretsBlock dsb) {
          keys.append(dsb.keyLog()).append('\n');
        } else if (b instanceof EnhancedPacketBlock epb) {
          PACKETS.add(new Packet(reader.interfaces().get(epb.interfaceId()).linkType(), epb.data(),
              epb.comments().isEmpty() ? null : epb.comments().get(0)));
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    KEY_LOG = keys.toString();
  }

  @FuzzTest(maxDuration = "20s")
  @Timeout(10)
  void anyPackets(FuzzedDataProvider data) {
    TextTap tap = new TextTap(new JsonText(OutputStream.nullOutputStream()), data.consumeInt(1, 8192));
    if (data.consumeBoolean()) {
      tap.keyLog(KEY_LOG);
    }
    long time = 1_000_000_000L;
    for (int i = 0; i < PACKETS.size() && data.remainingBytes() > 0; i++) {
      Packet p = PACKETS.get(i);
      byte[] bytes = p.data();
      switch (data.consumeInt(0, 7)) {
        case 0 -> { continue; } // dropped
        case 1 -> i = Math.max(-1, i - data.consumeInt(1, 4)); // repeated from a few packets back
        case 2 -> bytes = Arrays.copyOf(bytes, data.consumeInt(0, bytes.length)); // cut
        case 3 -> {
          bytes = bytes.clone();
          for (int n = data.consumeInt(1, 8); n > 0 && bytes.length > 0; n--) {
            bytes[data.consumeInt(0, bytes.length - 1)] = data.consumeByte();
          }
        }
        case 4 -> {
          // the fuzzer's payload after the packet's own headers (54 bytes: Ethernet, IPv4, TCP)
          byte[] tail = data.consumeBytes(data.consumeInt(0, 4096));
          bytes = Arrays.copyOf(bytes, Math.min(bytes.length, 54) + tail.length);
          System.arraycopy(tail, 0, bytes, Math.min(p.data().length, 54), tail.length);
        }
        default -> { } // as captured
      }
      time += data.consumeInt(0, 1_000_000);
      tap.packet(time, data.consumeBoolean() ? p.linkType() : data.consumeInt(0, 300), ByteBuffer.wrap(bytes), 0,
          bytes.length, data.consumeBoolean() ? p.comment() : data.consumeString(40));
    }
    tap.close();
    tap.summary();
  }
}

// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.capture;

import dev.tlscap.capture.text.Conversation;
import dev.tlscap.capture.text.TextBudget;
import dev.tlscap.capture.text.TextMessage;
import dev.tlscap.capture.text.TextOutput;
import dev.tlscap.capture.tls.TlsPlaintext;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code --text}: reads packets and key log lines in the order a pcapng file holds them (each TLS
 * connection's secrets before its packets: tlscap's file, or any file with Decryption Secrets
 * Blocks) and prints each TCP connection's application data through a {@link TextOutput}. The same
 * code serves a live capture (fed as the capture writes) and {@code -r FILE}.
 *
 * <p>Processes come from the packet comments tlscap writes ({@code "PID: 1234\nCmd: curl"} for the
 * sender, {@code "client: pid 1234 curl\nserver: pid 1200 nginx"} for both ends). Bounded: at most
 * {@link #MAX_CONNECTIONS} connections (the longest idle is closed, counted) and
 * {@link #MAX_SECRETS} key log lines (the oldest go: a connection takes its keys at its handshake).
 * Not thread-safe.
 */
public final class TextTap implements AutoCloseable {
  /** Connections followed at once: each holds up to two TLS records (18 KiB each) while they arrive. */
  static final int MAX_CONNECTIONS = 4_096;
  /** Bytes of bodies still arriving, for all connections (see {@link TextBudget}). */
  static final long BODY_BUDGET = 32L << 20;
  static final int MAX_SECRETS = 262_144;
  /** A connection without packets this long is closed (its pending messages printed). */
  static final long IDLE_NANOS = 300_000_000_000L;

  private static final Pattern BOTH_ENDS = Pattern.compile("(client|server): pid (\\d+) (.+?)(?: \\[container [^]]*])?");
  private static final Pattern PID = Pattern.compile("PID: (\\d+)");
  private static final Pattern CMD = Pattern.compile("Cmd: (.+)");

  private final TextOutput out;
  private final int maxBytes;
  private final TextBudget budget = new TextBudget(BODY_BUDGET);
  private final PacketHeaders headers = new PacketHeaders();
  private final LinkedHashMap<String, byte[]> secrets = new LinkedHashMap<>(1024, 0.75f, false) {
    @Override
    protected boolean removeEldestEntry(Map.Entry<String, byte[]> eldest) {
      return size() > MAX_SECRETS;
    }
  };
  private final LinkedHashMap<ConnectionKey, Connection> connections = new LinkedHashMap<>(1024, 0.75f, true);
  private final TlsPlaintext.Keys keys = (label, clientRandom) -> secrets.get(label + " " + HexFormat.of().formatHex(clientRandom));
  private long numbered;
  private long messages;
  private long tlsConnections;
  private long notDecrypted;
  private long closedForRoom;
  private long now;

  public TextTap(TextOutput out, int maxBytes) {
    this.out = out;
    this.maxBytes = maxBytes;
  }

  /** A key log line ({@code label} e.g. CLIENT_TRAFFIC_SECRET_0). */
  public void secret(String label, byte[] clientRandom, byte[] secret) {
    secrets.put(label + " " + HexFormat.of().formatHex(clientRandom), secret.clone());
  }

  /** A key log (a DSB's text): its lines; comments and lines that do not parse are skipped. */
  public void keyLog(String text) {
    for (String line : text.split("\n")) {
      String[] f = line.trim().split("\\s+");
      if (f.length == 3 && !f[0].startsWith("#") && f[1].length() == 64) {
        try {
          secret(f[0], HexFormat.of().parseHex(f[1]), HexFormat.of().parseHex(f[2]));
        } catch (IllegalArgumentException ignored) {
          // not hex: not a key log line
        }
      }
    }
  }

  /**
   * One captured packet: {@code captured} bytes of {@code data} from {@code offset}, of link type
   * {@code linkType}; {@code comment} is its pcapng comment (process), or null.
   */
  public void packet(long timestampNanos, int linkType, ByteBuffer data, int offset, int captured, String comment) {
    now = timestampNanos;
    headers.parse(data, offset, captured, linkType);
    if (headers.protocol != PacketHeaders.TCP) {
      return;
    }
    int flags = headers.tcpFlags;
    boolean syn = (flags & PacketHeaders.SYN) != 0;
    ConnectionKey key = ConnectionKey.of(headers);
    Connection c = connections.get(key);
    if (c == null) {
      if (!syn && headers.payloadLength == 0 || (flags & (PacketHeaders.FIN | PacketHeaders.RST)) != 0 && !syn) {
        return; // nothing to show of a connection seen only from its end
      }
      c = open(key, data, syn, (flags & PacketHeaders.ACK) != 0);
    }
    boolean fromClient = c.clientIsA == key.aSends;
    c.lastSeen = timestampNanos;
    c.processes(fromClient, comment);
    if (syn) {
      c.tls.syn(fromClient, headers.tcpSeq);
    }
    if (headers.payloadLength > 0) {
      c.tls.segment(fromClient, headers.payloadSequence(), data, headers.payloadOffset, headers.payloadLength,
          headers.payloadCut);
    }
    if ((flags & PacketHeaders.RST) != 0) {
      close(key, c);
    } else if ((flags & PacketHeaders.FIN) != 0) {
      if (fromClient) {
        c.clientFin = true;
      } else {
        c.serverFin = true;
      }
      if (c.clientFin && c.serverFin) {
        close(key, c);
      }
    }
    expire();
  }

  private Connection open(ConnectionKey key, ByteBuffer data, boolean syn, boolean ack) {
    // Who is the client: the SYN's sender; else the sender of a ClientHello; else the higher port.
    boolean senderIsClient;
    if (syn) {
      senderIsClient = !ack;
    } else if (headers.startsClientHello(data)) {
      senderIsClient = true;
    } else {
      senderIsClient = headers.srcPort > headers.dstPort;
    }
    boolean clientIsA = senderIsClient == key.aSends;
    Connection c = new Connection(++numbered, clientIsA, address(data, true), headers.srcPort, address(data, false),
        headers.dstPort, senderIsClient);
    connections.put(key, c);
    if (connections.size() > MAX_CONNECTIONS) {
      Iterator<Map.Entry<ConnectionKey, Connection>> eldest = connections.entrySet().iterator();
      Map.Entry<ConnectionKey, Connection> e = eldest.next();
      eldest.remove();
      closedForRoom++;
      finish(e.getValue());
    }
    return c;
  }

  private void expire() {
    Iterator<Map.Entry<ConnectionKey, Connection>> it = connections.entrySet().iterator();
    while (it.hasNext()) {
      Connection c = it.next().getValue();
      if (now - c.lastSeen < IDLE_NANOS) {
        return; // access order: the rest were seen later
      }
      it.remove();
      finish(c);
    }
  }

  private void close(ConnectionKey key, Connection c) {
    connections.remove(key);
    finish(c);
  }

  private void finish(Connection c) {
    c.conversation.close();
    if (c.tls.isTls()) {
      tlsConnections++;
    }
    if (c.conversation.undecryptable()) {
      notDecrypted++;
    }
  }

  /** Hands the messages printed so far to the output (see {@link TextOutput#flush}). */
  public void flush() {
    out.flush();
  }

  /** Ends every connection (the end of the file, or the capture stopping): pending messages are printed. */
  @Override
  public void close() {
    for (Connection c : connections.values()) {
      finish(c);
    }
    connections.clear();
    out.close();
  }

  /** The summary line: what was shown, what could not be. */
  public String summary() {
    return "text: " + messages + " messages; " + tlsConnections + " TLS connections, " + notDecrypted
        + " not decrypted (listed)" + (closedForRoom > 0 ? "; " + closedForRoom
        + " connections closed early (more than " + MAX_CONNECTIONS + " open)" : "")
        + (budget.refused() > 0 ? "; " + budget.refused() + " bodies cut (more than " + (BODY_BUDGET >> 20)
        + " MiB arriving at once)" : "");
  }

  private String address(ByteBuffer b, boolean source) {
    int ip = headers.ipOffset;
    byte[] a;
    if (headers.ipVersion == 4) {
      a = new byte[4];
      b.get(ip + (source ? 12 : 16), a);
    } else {
      a = new byte[16];
      b.get(ip + (source ? 8 : 24), a);
    }
    try {
      return InetAddress.getByAddress(a).getHostAddress();
    } catch (UnknownHostException e) {
      return "?";
    }
  }

  /** A connection's 4-tuple, the same both ways: {@code a} is the lower end. */
  private record ConnectionKey(long aHigh, long aLow, int aPort, long bHigh, long bLow, int bPort, boolean aSends) {
    static ConnectionKey of(PacketHeaders h) {
      int cmp = Long.compareUnsigned(h.srcHigh, h.dstHigh);
      if (cmp == 0) {
        cmp = Long.compareUnsigned(h.srcLow, h.dstLow);
      }
      if (cmp == 0) {
        cmp = Integer.compare(h.srcPort, h.dstPort);
      }
      return cmp <= 0 ? new ConnectionKey(h.srcHigh, h.srcLow, h.srcPort, h.dstHigh, h.dstLow, h.dstPort, true)
          : new ConnectionKey(h.dstHigh, h.dstLow, h.dstPort, h.srcHigh, h.srcLow, h.srcPort, false);
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof ConnectionKey k && k.aHigh == aHigh && k.aLow == aLow && k.aPort == aPort
          && k.bHigh == bHigh && k.bLow == bLow && k.bPort == bPort;
    }

    @Override
    public int hashCode() {
      return Long.hashCode(aHigh * 31 + aLow) * 31 + Long.hashCode(bHigh * 31 + bLow) * 17 + aPort * 65_537 + bPort;
    }
  }

  private final class Connection implements Conversation.Context {
    final long number;
    final boolean clientIsA;
    final String clientAddress;
    final int clientPort;
    final String serverAddress;
    final int serverPort;
    int clientPid;
    String clientCommand;
    String clientComment;
    String serverComment;
    int serverPid;
    String serverCommand;
    long lastSeen;
    boolean clientFin;
    boolean serverFin;
    final Conversation conversation;
    final TlsPlaintext tls;

    Connection(long number, boolean clientIsA, String srcAddress, int srcPort, String dstAddress, int dstPort,
        boolean senderIsClient) {
      this.number = number;
      this.clientIsA = clientIsA;
      this.clientAddress = senderIsClient ? srcAddress : dstAddress;
      this.clientPort = senderIsClient ? srcPort : dstPort;
      this.serverAddress = senderIsClient ? dstAddress : srcAddress;
      this.serverPort = senderIsClient ? dstPort : srcPort;
      this.conversation = new Conversation(this, maxBytes, budget, m -> {
        messages++;
        out.message(m);
      });
      this.tls = new TlsPlaintext(keys, conversation);
    }

    /** Learns the processes a packet's comment names. */
    void processes(boolean fromClient, String comment) {
      if (comment == null || comment.isEmpty() || comment.equals(fromClient ? clientComment : serverComment)) {
        return; // the same comment as this direction's last one (live: the very same string)
      }
      if (fromClient) {
        clientComment = comment;
      } else {
        serverComment = comment;
      }
      int pid = 0;
      String command = null;
      for (String line : comment.split("\n")) {
        Matcher both = BOTH_ENDS.matcher(line);
        if (both.matches()) {
          if (both.group(1).equals("client")) {
            clientPid = Integer.parseInt(both.group(2));
            clientCommand = both.group(3);
          } else {
            serverPid = Integer.parseInt(both.group(2));
            serverCommand = both.group(3);
          }
          continue;
        }
        Matcher p = PID.matcher(line);
        if (p.matches()) {
          pid = Integer.parseInt(p.group(1));
        }
        Matcher cmd = CMD.matcher(line);
        if (cmd.matches()) {
          command = cmd.group(1);
        }
      }
      if (pid > 0 && command != null) {
        if (fromClient) {
          clientPid = pid;
          clientCommand = command;
        } else {
          serverPid = pid;
          serverCommand = command;
        }
      }
    }

    @Override
    public long connection() {
      return number;
    }

    @Override
    public TextMessage.Endpoint end(boolean fromClient) {
      return fromClient ? new TextMessage.Endpoint(clientAddress, clientPort, clientPid, clientCommand)
          : new TextMessage.Endpoint(serverAddress, serverPort, serverPid, serverCommand);
    }

    @Override
    public long nowNanos() {
      return now;
    }
  }
}

// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.capture.text;

import io.netty.buffer.ByteBuf;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.compression.ZlibCodecFactory;
import io.netty.handler.codec.compression.ZlibWrapper;
import java.util.Arrays;
import java.util.Locale;

/**
 * A message body as {@code --text} shows it: its first {@code max} bytes, inflated when its content
 * coding is gzip or deflate (Netty's zlib decoder), and its length. Inflation stops at the cap (a
 * small body may inflate to gigabytes), so the inflated length of a larger body is not known.
 */
final class Body {
  private final int max;
  private final TextBudget budget;
  /** Cut short by the budget ({@link TextBudget}), not by {@code --text-max}. */
  private boolean overBudget;
  private byte[] kept = new byte[0];
  private int keptLength;
  private long total;
  private long sent;
  private final String coding;
  private EmbeddedChannel inflater;
  private boolean inflationStopped;
  private String problem;

  /** {@code contentEncoding}: the Content-Encoding header's value, or null. */
  Body(int max, String contentEncoding, TextBudget budget) {
    this.max = max;
    this.budget = budget;
    String c = contentEncoding == null ? null : contentEncoding.trim().toLowerCase(Locale.ROOT);
    ZlibWrapper wrapper = c == null ? null : switch (c) {
      case "gzip", "x-gzip" -> ZlibWrapper.GZIP;
      case "deflate" -> ZlibWrapper.ZLIB_OR_NONE;
      default -> null;
    };
    this.coding = c == null || c.isEmpty() || c.equals("identity") ? null : c;
    if (wrapper != null) {
      inflater = new EmbeddedChannel(ZlibCodecFactory.newZlibDecoder(wrapper, 0));
    }
  }

  /** Appends {@code data} (not released here). */
  void add(ByteBuf data) {
    int n = data.readableBytes();
    sent += n;
    if (inflater == null) {
      total += n;
      keep(data);
      return;
    }
    if (inflationStopped) {
      return;
    }
    try {
      inflater.writeInbound(data.retainedDuplicate());
      drainInflater();
    } catch (RuntimeException e) {
      problem = coding + " body does not inflate (" + e.getClass().getSimpleName() + ")";
      stopInflating();
    }
  }

  private void drainInflater() {
    ByteBuf out;
    while ((out = inflater.readInbound()) != null) {
      try {
        total += out.readableBytes();
        keep(out);
      } finally {
        out.release();
      }
    }
    if (keptLength >= max) {
      stopInflating();
    }
  }

  private void stopInflating() {
    inflationStopped = true;
    inflater.finishAndReleaseAll();
  }

  private void keep(ByteBuf data) {
    int want = Math.min(data.readableBytes(), max - keptLength);
    if (want <= 0) {
      return;
    }
    int n = budget.take(want);
    if (n < want) {
      overBudget = true;
    }
    if (n <= 0) {
      return;
    }
    if (kept.length < keptLength + n) {
      kept = Arrays.copyOf(kept, Math.min(max, Math.max(keptLength + n, 2 * kept.length + 256)));
    }
    data.getBytes(data.readerIndex(), kept, keptLength, n);
    keptLength += n;
  }

  /** Ends the body (the decoder keeps nothing). */
  void finish() {
    if (inflater != null && !inflationStopped) {
      try {
        inflater.finish();
        drainInflater();
      } catch (RuntimeException e) {
        problem = coding + " body does not inflate (" + e.getClass().getSimpleName() + ")";
      }
      inflater.finishAndReleaseAll();
      inflationStopped = true;
    }
  }

  byte[] bytes() {
    return keptLength == kept.length ? kept : Arrays.copyOf(kept, keptLength);
  }

  /** The body was shown: its bytes go back to the budget. */
  void release() {
    budget.release(keptLength);
    kept = new byte[0];
    keptLength = 0;
  }

  /** The shown length: inflated when inflating; -1 when inflation stopped at the cap. */
  long length() {
    return inflater != null && inflationStopped && keptLength >= max ? -1 : total;
  }

  private long budgetMebibytes() {
    return budget.max() >> 20;
  }

  boolean isEmpty() {
    return sent == 0;
  }

  /** What the reader should know: the content coding and its bytes as sent, or why it does not inflate. */
  String note() {
    if (overBudget) {
      return "cut: --text holds at most " + (budgetMebibytes()) + " MiB of bodies still arriving";
    }
    if (problem != null) {
      return problem;
    }
    if (coding == null) {
      return null;
    }
    return inflater != null ? coding + ", " + sent + " bytes as sent, shown inflated" : coding + ", shown as sent";
  }
}

// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.tc;

/**
 * What a {@link PacketCapture} tells its user besides packets. Called on the thread that opened the
 * capture or calls {@link PacketCapture#maintain()} (the event loop); must not block.
 */
public interface CaptureListener {
  /** An interface the capture now captures on: at open, and later ones found by {@code -i any}. */
  default void interfaceAdded(CaptureInterface iface) {}

  /** An interface went away mid-capture (deleted, or moved to another namespace); it stays in {@link PacketCapture#interfaces()}. */
  default void interfaceGone(CaptureInterface iface) {}

  /**
   * One line for the user, without the {@code "tlscap: "} prefix: a warning (an interface went
   * away, a guessed link type) or a notice (leftover filters removed). Default: printed to stderr.
   */
  default void notice(String line) {
    System.err.println("tlscap: " + line);
  }

  /** A listener that prints notices to stderr and ignores the rest. */
  CaptureListener STDERR = new CaptureListener() {};
}

// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.capture;

/** Told a TCP connection's two ports (the {@link ConnectionTable} tells the {@code --java} hint). */
interface PortsListener {
  void ports(int portA, int portB);
}

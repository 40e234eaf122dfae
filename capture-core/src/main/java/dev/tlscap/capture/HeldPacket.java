// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.capture;

import dev.tlscap.pcapng.Direction;

/**
 * A copy of a packet held back until its TLS flow's secrets are known (the ring's bytes are reused
 * as soon as the handler returns). Only TLS handshakes are held, so a copy per packet is fine.
 */
record HeldPacket(int interfaceId, long timestampNanos, byte[] bytes, int originalLength, Direction direction,
    boolean fromClient) {}

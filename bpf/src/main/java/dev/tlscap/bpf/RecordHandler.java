// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.bpf;

import java.nio.ByteBuffer;

/**
 * Receives ring-buffer records without a copy. {@code data} is a read-only view of the ring's data
 * pages in native byte order, shared by every record; the record is {@code length} bytes at the
 * absolute index {@code offset}. Read it with absolute gets only (never its position), and only
 * during the call: once the call returns, the kernel may overwrite those bytes.
 */
@FunctionalInterface
public interface RecordHandler {
  void onRecord(ByteBuffer data, int offset, int length);
}

// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.bpf;

import com.sun.jna.Pointer;

/**
 * An attachment of a program (uprobe, raw tracepoint, tracepoint...). Closing detaches it; the
 * owning {@link BpfObject} closes every link it still has when it closes. Idempotent, thread-safe.
 */
public final class BpfLink implements AutoCloseable {
  private final BpfObject owner;
  private final String description;
  private Pointer link;

  BpfLink(BpfObject owner, Pointer link, String description) {
    this.owner = owner;
    this.link = link;
    this.description = description;
    owner.track(this);
  }

  /** What this link attaches, e.g. {@code uprobe /usr/lib/.../libcrypto.so.3:EVP_KDF_derive}. */
  public String description() {
    return description;
  }

  public synchronized boolean isAttached() {
    return link != null;
  }

  @Override
  public void close() {
    Pointer l;
    synchronized (this) {
      l = link;
      link = null;
    }
    if (l != null) {
      LibBpf.bpf_link__destroy(l);
      owner.untrack(this);
    }
  }

  @Override
  public String toString() {
    return description;
  }
}

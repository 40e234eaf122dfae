// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.pcapng;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Records every listener event (thread-safe: the compressor thread reports too). */
class RecordingListener implements CaptureFileListener {
  final List<Path> opened = new ArrayList<>();
  final List<Path> completed = new ArrayList<>();
  final List<Long> completedSizes = new ArrayList<>();
  final List<Path> deleted = new ArrayList<>();
  final List<String> failures = new ArrayList<>();
  final List<String> compressionFailures = new ArrayList<>();
  int completeAfterFiles = -1;

  @Override
  public synchronized void fileOpened(Path file) {
    opened.add(file);
  }

  @Override
  public synchronized void fileCompleted(Path file, long size) {
    completed.add(file);
    completedSizes.add(size);
  }

  @Override
  public synchronized void fileDeleted(Path file) {
    deleted.add(file);
  }

  @Override
  public synchronized void writeFailed(PcapngWriteException failure) {
    failures.add(failure.getMessage());
  }

  @Override
  public synchronized void compressionFailed(Path file, String message) {
    compressionFailures.add(message);
  }

  @Override
  public synchronized void captureComplete(int files) {
    completeAfterFiles = files;
  }
}

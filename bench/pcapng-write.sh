#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds the bench module and runs PcapngWriteBenchmark (JMH, GC profiler): EPB encode+write rate of
# the pcapng writer beside a plain FileChannel writing the same bytes, as one table.
# Usage: bench/pcapng-write.sh [iterations] [forks]   (files go to $TMPDIR, or -Dbench.dir via JAVA_OPTS)
set -euo pipefail
cd "$(dirname "$0")/.."
mvn -B -ntp -q -pl bench -am package -DskipTests
cp="bench/target/classes:$(cat bench/target/classpath.txt)"
exec java ${JAVA_OPTS:-} -cp "$cp" dev.tlscap.bench.PcapngWriteReport "$@"

#!/usr/bin/env bash
# Records/s drained from a full BPF ring buffer: tlscap's RingBufferReader (Java, over the mmap)
# beside libbpf's ring_buffer__consume (C, callback per record), same object, same ring, alternated
# A B A B in one run; prints one table of medians. Needs root, clang, libbpf-dev, gcc.
#   bench/ringbuf-drain.sh [RING_MIB=64] [ROUNDS=15] [PAIRS=5]
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh" # median
cd "$(dirname "$0")/.."
ring_mib=${1:-64}
rounds=${2:-15}
pairs=${3:-5}
mvn -B -ntp -q -pl bpf -am install -DskipTests >/dev/null
cp=bpf/target/test-classes:bpf/target/classes:$(mvn -B -ntp -q -pl bpf dependency:build-classpath -Dmdep.outputFile=/dev/stdout)
obj=bpf/target/test-classes/bpf/ringbuf_stress.bpf.o
bin=$(mktemp -d)/ringbuf_drain
trap 'rm -rf "$(dirname "$bin")"' EXIT
gcc -O2 -o "$bin" bench/c/ringbuf_drain.c -lbpf

printf '%-8s %14s %14s %8s\n' record "java rec/s" "C rec/s" java/C
for size in 64 1500; do
  java_rates=(); c_rates=()
  for ((i = 0; i < pairs; i++)); do
    java_rates+=("$(java -cp "$cp" dev.tlscap.bpf.RingBufferDrainBench "$size" "$ring_mib" "$rounds" | awk '{print $3}')")
    c_rates+=("$("$bin" "$obj" "$size" "$ring_mib" "$rounds" | awk '{print $3}')")
  done
  j=$(printf '%s\n' "${java_rates[@]}" | median)
  c=$(printf '%s\n' "${c_rates[@]}" | median)
  printf '%-8s %14.0f %14.0f %8.2f\n' "${size}B" "$j" "$c" "$(echo "$j / $c" | bc -l)"
done
echo "($(nproc) cores, $(uname -r), $(java -version 2>&1 | head -1), ring ${ring_mib} MiB, medians of $pairs alternated runs x $rounds rounds)"

#!/usr/bin/env bash
# ns of tlscap's loop per packet of an established connection (headers parsed, connection found,
# Enhanced Packet Block written to /dev/null), in tlscap's JVM settings (C1 only, serial collector):
# raw memory access (RawMemory, the default) beside -Dtlscap.rawMemory=false (the buffers' own methods),
# alternated A B A B in one run; prints one table of medians. No root or kernel needed.
#   bench/packet-loop.sh [FLOWS=400] [PAYLOAD=150] [MILLION_PACKETS=4] [ROUNDS=5] [PAIRS=5]
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh" # median
cd "$(dirname "$0")/.."
flows=${1:-400}
payload=${2:-150}
million=${3:-4}
rounds=${4:-5}
pairs=${5:-5}
mvn -B -ntp -q -pl capture-core -am install -DskipTests -Dtlscap.fuzz=0 >/dev/null
cp=capture-core/target/test-classes:capture-core/target/classes:$(mvn -B -ntp -q -pl capture-core dependency:build-classpath -Dmdep.outputFile=/dev/stdout)
jvm=(-XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xmn24m -Xmx256m)
raw=(); buffers=()
for ((i = 0; i < pairs; i++)); do
  raw+=("$(java "${jvm[@]}" -cp "$cp" dev.tlscap.capture.PacketPathBench "$flows" "$payload" "$million" "$rounds" | awk '{print $3}')")
  buffers+=("$(java "${jvm[@]}" -Dtlscap.rawMemory=false -cp "$cp" dev.tlscap.capture.PacketPathBench "$flows" "$payload" "$million" "$rounds" | awk '{print $3}')")
done
r=$(printf '%s\n' "${raw[@]}" | median)
b=$(printf '%s\n' "${buffers[@]}" | median)
printf '%-34s %10s\n' "memory access" "ns/packet"
printf '%-34s %10.1f\n' "by address (RawMemory)" "$r" "through the buffers" "$b"
printf '%-34s %10.2f\n' "ratio" "$(echo "$r / $b" | bc -l)"
echo "($(nproc) cores, $(uname -r), $(java -version 2>&1 | head -1), $flows connections, $payload-byte payloads, medians of $pairs alternated runs x $rounds rounds of ${million}M packets)"

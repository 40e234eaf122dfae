#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Runs the side-by-side benchmarks one after the other -- bench/packet-path.sh, bench/tls-path.sh,
# bench/startup.sh -- on one build of tlscap.jar, and writes their tables with the machine and the
# commands to bench/results/<date>.md (their progress and raw lines to bench/results/<date>.log).
# Full run: about 15 minutes; QUICK=1: about 4. Run it on a quiet machine: the numbers are ratios
# measured in one run, but other load still moves them.
#
# usage: bench/run-all.sh      (root; see each script for its tools)
# env:   QUICK=1, ROUNDS, SECONDS (passed to each script), TLSCAP_JAR, SKIP_BUILD (see lib.sh)
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
bench_init run-all
TLSCAP_SOURCE=${TLSCAP_JAR:-$bench_repo/target/tlscap.jar}
bench_jar # one build, one copy for all three
export TLSCAP_JAR=$jar
seconds=$(env_at_start SECONDS)
# bash turns SECONDS into its clock (and would pass on its current value): give each script the value given here
run_script() { if [ -n "$seconds" ]; then env SECONDS="$seconds" "$@"; else env -u SECONDS "$@"; fi; }

results=$bench_repo/bench/results
mkdir -p "$results"
stamp=$(date -u +%Y-%m-%d-%H%M)
md=$results/$stamp.md
log=$results/$stamp.log
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
commit=$(git -C "$bench_repo" rev-parse --short HEAD 2>/dev/null || echo unknown)
git -C "$bench_repo" diff --quiet HEAD 2>/dev/null || commit="$commit (with uncommitted changes in the working tree)"
settings="${QUICK:+QUICK=$QUICK }${ROUNDS:+ROUNDS=$ROUNDS }${seconds:+SECONDS=$seconds }"
started=$(date +%s)

{
  echo "# tlscap benchmarks, $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo
  echo "- command: \`${settings}bench/run-all.sh\` (as root)"
  echo "- machine: $(nproc) CPUs, $(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo), $(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo) RAM;" \
    "kernel $(uname -r); $(java -version 2>&1 | head -1 | tr -d '"'); $(openssl version | cut -d' ' -f1-2);" \
    "$(tcpdump --version 2>&1 | head -1), $(dumpcap --version 2>&1 | head -1 | cut -d' ' -f1-3), iperf3 $(iperf3 --version | head -1 | cut -d' ' -f2), nginx $(nginx -v 2>&1 | cut -d/ -f2), $(wrk --version 2>&1 | head -1 | cut -d' ' -f1-2)"
  echo "- tlscap.jar: sha256 $(sha256sum "$jar" | cut -c1-12), built $(date -u -r "${TLSCAP_SOURCE:-$jar}" '+%Y-%m-%d %H:%M UTC'); repository at commit $commit"
  echo "- load average before: $load_before"
} >"$md"

for script in packet-path tls-path startup; do
  bench_log "running bench/$script.sh (progress in $log)"
  echo "== bench/$script.sh" >>"$log"
  {
    echo
    echo "## bench/$script.sh"
    echo
    echo '```'
  } >>"$md"
  if ! run_script "$bench_repo/bench/$script.sh" >>"$md" 2>>"$log"; then
    echo "(bench/$script.sh failed: see $(basename "$log"))" >>"$md"
    bench_log "bench/$script.sh failed; see $log"
  fi
  echo '```' >>"$md"
done
{
  echo
  took=$(($(date +%s) - started))
  echo "Took $((took / 60)) min $((took % 60)) s; load average after: $(cut -d' ' -f1-3 /proc/loadavg)."
} >>"$md"
cat "$md"
bench_log "written to $md"

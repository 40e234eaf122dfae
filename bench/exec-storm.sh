#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Exec storm: what tlscap's discovery of programs started later (the exec watcher: each new
# program's executable examined at once, its mapped libraries looked at 100 ms later (and 1 s later
# in another root or without the dlopen probe), a new root's libraries listed) costs a host that
# starts thousands of short processes. N processes are started one after the other (a shell loop), with
#   off     tlscap not running
#   tlscap  `java -jar tlscap.jar -i lo -w FILE` running (discovery on, as by default)
# rotated every round; medians over the rounds. Two workloads: /bin/true (no TLS library) and
# `openssl version` (maps libcrypto: the finder looks at every one). Goal: execs/s ratio >= 0.9.
# Also the CPU tlscap spent per exec. A third workload, spaced: N/20 times `openssl version; sleep 0.1`
# (a server's occasional scripts: the code that looks at a program stays cold), tlscap's CPU per exec
# only, its idle CPU (measured over 10 s before: two of its 5 s rescans) taken off; with BASE_JAR, that
# jar's tlscap runs beside it through the same execs (an A/B in one run). Prints one table (stdout);
# raw lines on stderr.
#
# runtime: ~2 min with the defaults (3 workloads x 2 modes x 3 rounds), ~40 s with QUICK=1.
# usage: bench/exec-storm.sh      (root; java, openssl)
# env:   N=2000, ROUNDS=3, QUICK=1 (N=500 ROUNDS=1), WORKLOADS="true openssl spaced", BASE_JAR, TLSCAP_JAR,
#        SKIP_BUILD, KEEP_WORK (see lib.sh)
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
n=${N:-2000}
rounds=${ROUNDS:-3}
read -ra workloads <<<"${WORKLOADS:-true openssl spaced}"
if [ "${QUICK:-0}" = 1 ]; then n=${N:-500}; rounds=${ROUNDS:-1}; fi

bench_init exec-storm
bench_need java openssl
bench_jar

# storm WORKLOAD -> "execs_per_second"
storm() {
  local t0 t1 i
  t0=$(now)
  case $1 in
    true) for ((i = 0; i < n; i++)); do /bin/true; done ;;
    openssl) for ((i = 0; i < n; i++)); do openssl version >/dev/null; done ;;
    spaced) for ((i = 0; i < n / 20; i++)); do openssl version >/dev/null; sleep 0.1; done ;;
  esac
  t1=$(now)
  awk -v n="$n" -v s="$(elapsed "$t0" "$t1")" 'BEGIN {printf "%.0f\n", n / s}'
}

# spaced ROUND: tlscap (and BASE_JAR's beside it) through N/20 x (openssl version; sleep 0.1); raw lines
# "spaced-tlscap ROUND - us_per_exec" (and spaced-base)
spaced() {
  local r=$1 kinds=(tlscap) kind pids=() i0=() i1=() c0=() c1=() w0 w1 w2 k
  [ -n "${BASE_JAR:-}" ] && kinds+=(base)
  for kind in "${kinds[@]}"; do
    local j=$jar
    [ "$kind" = base ] && j=$BASE_JAR
    bench_spawn "" java ${JAVA_OPTS:-} -jar "$j" -q -i lo -w "$work/spaced-$kind.pcapng" port 9 2>"$work/spaced-$kind.log"
    pids+=("$spawned")
    await_line "$work/spaced-$kind.log" "^listening on" "$spawned"
  done
  sleep 8 # the JVMs settle (their start-up compilations)
  for k in "${!pids[@]}"; do i0[k]=$(proc_ticks "${pids[k]}"); done
  w0=$(now)
  sleep 10 # idle: two of the 5 s rescans
  for k in "${!pids[@]}"; do i1[k]=$(proc_ticks "${pids[k]}"); c0[k]=${i1[k]}; done
  w1=$(now)
  storm spaced >/dev/null
  sleep 1.2 # the rescans after each exec are part of the cost
  for k in "${!pids[@]}"; do c1[k]=$(proc_ticks "${pids[k]}"); done
  w2=$(now)
  for k in "${!pids[@]}"; do
    local us
    us=$(awk -v i0="${i0[k]}" -v i1="${i1[k]}" -v c0="${c0[k]}" -v c1="${c1[k]}" -v idle="$(elapsed "$w0" "$w1")" \
      -v busy="$(elapsed "$w1" "$w2")" -v hz="$bench_clk" -v n="$((n / 20 * 2))" \
      'BEGIN {printf "%.1f", ((c1 - c0) - (i1 - i0) * busy / idle) / hz * 1e6 / n}')
    echo "spaced-${kinds[k]} $r - $us" >>"$raw"
    bench_log "spaced ${kinds[k]} $r: ${us} us of tlscap CPU per exec"
    bench_reap "${pids[k]}" TERM
  done
}

raw=$work/raw.txt
: >"$raw"
bench_log "$rounds rounds, $n execs per storm, workloads /bin/true, 'openssl version' and spaced"
for ((r = 1; r <= rounds; r++)); do
  for workload in "${workloads[@]}"; do
    for mode in $(rotate $((r - 1)) off tlscap); do
      ticks=-
      if [ "$workload" = spaced ]; then
        [ "$mode" = tlscap ] && spaced "$r"
        continue # the rate of a loop that sleeps says nothing
      fi
      if [ "$mode" = tlscap ]; then
        cap_start tlscap "" lo "$work/storm.pcapng" port 9
        sleep 1 # the JVM settles before the clock runs
        c0=$(proc_ticks "$cap_pid")
      else
        sleep 1
      fi
      rate=$(storm "$workload")
      if [ "$mode" = tlscap ]; then
        sleep 1.2 # the rescans 100 ms and 1 s after each exec are part of the cost
        c1=$(proc_ticks "$cap_pid")
        ticks=$(awk -v a="$c0" -v b="$c1" -v hz="$bench_clk" -v n="$n" 'BEGIN {printf "%.1f", (b - a) / hz * 1e6 / n}')
        cap_stop
      fi
      echo "$workload-$mode $r $rate $ticks" >>"$raw"
      bench_log "$workload $mode $r $rate execs/s, tlscap ${ticks} us CPU per exec"
    done
  done
done

{
  printf "Exec storm: %s short processes one after the other, with and without tlscap running; medians of %s rounds\n" "$n" "$rounds"
  printf "%-22s %14s %14s %8s %22s\n" workload "off execs/s" "tlscap execs/s" ratio "tlscap CPU us/exec"
  for workload in "${workloads[@]}"; do
    off=$(col "$raw" "$workload-off" 3 | median)
    on=$(col "$raw" "$workload-tlscap" 3 | median)
    cpu=$(col "$raw" "$workload-tlscap" 4 | median)
    case $workload in true) label=/bin/true ;; openssl) label="openssl version" ;; *) label="spaced (+ sleep 0.1)" ;; esac
    if [ "$workload" = spaced ]; then
      printf "%-22s %14s %14s %8s %22s\n" "$label" - - - "$cpu"
      if [ -n "${BASE_JAR:-}" ]; then
        printf "%-22s %14s %14s %8s %22s\n" "  the same, BASE_JAR" - - - "$(col "$raw" spaced-base 4 | median)"
      fi
    else
      printf "%-22s %14s %14s %8s %22s\n" "$label" "$off" "$on" "$(ratio "$on" "$off")" "$cpu"
    fi
  done
  echo "tlscap CPU us/exec: the capturing JVM's CPU (all threads) from before the storm to 1.2 s after it, per exec;"
  echo "spaced: openssl version and sleep 0.1 alternating ($((n / 20 * 2)) execs), tlscap's idle CPU (10 s before) taken off."
  echo "machine: $(machine)"
}
echo "# raw: workload-mode round execs/s tlscap_cpu_us/exec" >&2
cat "$raw" >&2

#!/usr/bin/env bash
# A session's GPU work in one device call, so that the machine's start is paid once: the GPU suite (check.sh), then
# the side-by-side benchmark (side-by-side.sh) with what is left of TOTAL_S seconds (default 500). The benchmark runs
# even when a check fails: the anchor's numbers on the card and our step's profile tell what to do next either way
# (a failing check says the speed of a wrong step means nothing, and the table is read with that in mind).
# Everything lands under $OUT: check.log, check-isolated.log, environment.txt, reports/ and side-by-side/.
#
#   device run, carry [".device/gpu"], timeout_s = TOTAL_S + 40:  benchmarks/gpu/device-run.sh
# Exit status: check.sh's.
set -uo pipefail
cd "$(dirname "$0")/../.."
TOTAL_S=${TOTAL_S:-500}
START=$(date +%s)
benchmarks/gpu/check.sh
status=$?
left=$(( TOTAL_S - ($(date +%s) - START) ))
echo "device-run: check.sh took $(( $(date +%s) - START )) s (exit $status); the side-by-side gets $left s"
BUDGET_S=$left benchmarks/gpu/side-by-side.sh
exit "$status"

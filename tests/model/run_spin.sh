#!/usr/bin/env bash
# Model-checks tests/model/ring.pml with SPIN, exhaustively, in a fresh temporary directory.
#   run_spin.sh pass <model.pml> [-DNAME[=value]...]   every assertion holds in every state
#   run_spin.sh fail <model.pml> -DSEEDED_...           the search finds a violation
# `pass` succeeds only if the whole state space was searched with no error (not cut short by
# the depth bound or the memory limit); `fail` succeeds only if pan reports an assertion
# violation, and prints the counterexample's last steps. Pan files never touch the source tree.
# Needs spin and a C compiler (CC, default gcc). Memory: about 1 GiB for the largest run.
# Environment: CC, PAN_OPT (default -O2), SPIN_MEMLIM_MB (default 4096).
set -euo pipefail

if [ $# -lt 2 ] || { [ "$1" != pass ] && [ "$1" != fail ]; }; then
  echo "usage: $0 pass|fail <model.pml> [spin -D options...]" >&2
  exit 2
fi
expect=$1
model=$(realpath "$2")
shift 2
cc=${CC:-gcc}
# -O2 for the large searches; PAN_OPT=-O0 for small ones, where compiling pan.c dominates.
pan_opt=${PAN_OPT:--O2}
# Depth bound: far above the deepest path (~300 steps); MEMLIM (MiB) stops a run that grew
# beyond what a CI machine has, which then counts as a failure, never as a pass.
depth=100000
memlim=${SPIN_MEMLIM_MB:-4096}

work=$(mktemp -d "${TMPDIR:-/tmp}/tickring-spin.XXXXXX")
trap 'rm -rf "$work"' EXIT
cp "$(dirname "$model")"/*.pml "$work"/
cd "$work"
name=$(basename "$model")

echo "spin $* -a $name   (in $work)"
spin "$@" -a "$name" >spin.log 2>&1 || { cat spin.log; echo "spin failed" >&2; exit 1; }
# SAFETY: assertions and invalid end states only (no never claim); COLLAPSE: lossless state
# compression, so the search stays exhaustive.
"$cc" "$pan_opt" -w -DSAFETY -DCOLLAPSE -DMEMLIM="$memlim" -o pan pan.c
start=$(date +%s)
./pan -m"$depth" >pan.log 2>&1 || true
echo "pan finished in $(( $(date +%s) - start )) s"
grep -E "errors:|states, stored|total actual memory" pan.log || true

if grep -qE "max search depth too small|reached -DMEMLIM|out of memory" pan.log; then
  cat pan.log
  echo "FAIL: the search was cut short; no verdict" >&2
  exit 1
fi
errors=$(sed -n 's/.*errors: \([0-9][0-9]*\).*/\1/p' pan.log | head -1)
if [ -z "$errors" ]; then
  cat pan.log
  echo "FAIL: could not read pan's result" >&2
  exit 1
fi

if [ "$expect" = pass ]; then
  if [ "$errors" != 0 ]; then
    grep -E "assertion violated|invalid end state" pan.log || true
    spin "$@" -t -p "$name" 2>&1 | grep -E "proc +[0-9]+ \((writer|reader)" | tail -60 || true
    echo "FAIL: the model violates a property (counterexample above)" >&2
    exit 1
  fi
  echo "PASS: full state space searched, no violation"
else
  if [ "$errors" = 0 ] || ! grep -q "assertion violated" pan.log; then
    cat pan.log
    echo "FAIL: the seeded bug was not found" >&2
    exit 1
  fi
  grep "assertion violated" pan.log
  echo "counterexample (last steps):"
  spin "$@" -t -p "$name" 2>&1 | grep -E "proc +[0-9]+ \((writer|reader)" | tail -30 | cut -c1-150 || true
  echo "PASS: the seeded bug is found"
fi

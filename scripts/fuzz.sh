#!/usr/bin/env bash
# Runs every fuzz target of the module for a given time each (default 60s),
# JOBS at a time (default 2), and writes a record: the machine, then one
# line per target with its package, time, executions and result. A
# failing input is kept by `go test -fuzz` under the package's
# testdata/fuzz/<Target>/ (commit it with the fix).
#
#   scripts/fuzz.sh [fuzztime] [jobs] [tags] [targets]   e.g. scripts/fuzz.sh 60s 2 faiss
#
# targets is an extended regular expression of target names (default all);
# RECORD=path writes the record elsewhere.
#
# The record goes to stdout and to testdata/fuzz/record.txt.
set -uo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"
time=${1:-60s}
jobs=${2:-2}
tags=${3:-}
record=${RECORD:-testdata/fuzz/record.txt}
only=${4:-.}
logdir=$(mktemp -d)
{
  echo "# fuzz record $(date -u +%Y-%m-%dT%H:%MZ), -fuzztime $time per target, $jobs at a time, tags '${tags}'"
  echo "# CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(nproc) cores; kernel $(uname -r); $(go version)"
  echo "# commit $(git rev-parse --short HEAD)$(git diff --quiet -- . ':!testdata/fuzz/record.txt' || echo ' (with local changes)')"
} | tee "$record"
targets=()
for pkg in $(go list ${tags:+-tags $tags} ./...); do
  dir=$(go list ${tags:+-tags $tags} -f '{{.Dir}}' "$pkg")
  for name in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/^func //' | sort -u | grep -E "$only"); do
    targets+=("$pkg $name")
  done
done
echo "# ${#targets[@]} targets" | tee -a "$record"
run_one() {
  local pkg=$1 name=$2 log=$3
  local start=$(date +%s)
  go test ${tags:+-tags $tags} -run='^$' -fuzz="^${name}\$" -fuzztime="$time" -parallel=1 "$pkg" >"$log" 2>&1
  local rc=$? secs=$(( $(date +%s) - start ))
  local execs=$(grep -o 'execs: [0-9]*' "$log" | tail -1 | awk '{print $2}')
  local res=ok; [ $rc -ne 0 ] && res="FAIL (see below)"
  local short=${pkg#github.com/gometric/gometric}
  printf '%-30s %-28s %4ss %12s execs  %s\n' "${short:-/}" "$name" "$secs" "${execs:-?}" "$res"
}
export -f run_one
export time tags
i=0
for t in "${targets[@]}"; do
  set -- $t
  echo "$1 $2 $logdir/$i.log"
  i=$((i+1))
done | xargs -P "$jobs" -L 1 bash -c 'run_one "$0" "$1" "$2"' | tee -a "$record"
fail=0
for f in "$logdir"/*.log; do
  if grep -q -- '--- FAIL\|^FAIL' "$f"; then fail=1; echo "== $f"; tail -30 "$f"; fi
done | tee -a "$record"
grep -q 'FAIL (see below)' "$record" && exit 1
exit 0

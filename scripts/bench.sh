#!/usr/bin/env bash
# bench.sh — the benchmarks the README quotes, in the default build and with
# GOEXPERIMENT=simd, in one run on this machine. Compare with PML's CPU
# figures in ../shared/bench/pml-cpu-2threads.json (2 threads, float32,
# batch 256×128, 32 classes × 8). Usage: scripts/bench.sh [count]
#
# With PMLPATH set (PML's source; Debian's python3-torch, python3-sklearn,
# python3-faiss installed), PML's own figures are measured first, in the
# same run, with ../shared/tools/pml_bench.py.
set -euo pipefail
cd "$(dirname "$0")/.."
count="${1:-5}"
# Losses: 200 calls per figure (Go reports the mean, so the first calls'
# buffer-pool warm-up must not weigh); the N = 1024 case: 10 calls.
losses='^(BenchmarkTripletMarginAll|BenchmarkContrastive|BenchmarkMultiSimilarity|BenchmarkNTXent|BenchmarkArcFace|BenchmarkProxyAnchor)$'
big='^BenchmarkTripletMarginAll1024$'
miners='^BenchmarkMinerThenTripletMarginLoss$'
acc='^BenchmarkCalculator10k$'
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
if [ -n "${PMLPATH:-}" ]; then
  echo "== PML (side by side)"
  /usr/bin/python3 ../shared/tools/pml_bench.py 2>&1 | grep -E 'median|loadavg'
fi
for exp in "" simd; do
  echo "== build: ${exp:+GOEXPERIMENT=$exp}${exp:-default}"
  GOEXPERIMENT="$exp" go test -run='^$' -bench="$losses" -benchtime=200x -count="$count" ./losses | grep -E '^Benchmark'
  GOEXPERIMENT="$exp" go test -run='^$' -bench="$big" -benchtime=10x -count="$count" ./losses | grep -E '^Benchmark'
  GOEXPERIMENT="$exp" go test -run='^$' -bench="$miners" -benchtime=20x -count="$count" ./miners | grep -E '^Benchmark'
  GOEXPERIMENT="$exp" go test -run='^$' -bench="$acc" -benchtime=1x -count=3 ./utils/accuracy | grep -E '^Benchmark'
done
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"

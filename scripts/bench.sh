#!/usr/bin/env bash
# bench.sh — the benchmarks the README quotes, in the default build and with
# GOEXPERIMENT=simd, in one run on this machine. Compare with PML's CPU
# figures in ../shared/bench/pml-cpu-2threads.json (2 threads, float32,
# batch 256×128, 32 classes × 8). Usage: scripts/bench.sh [count]
set -euo pipefail
cd "$(dirname "$0")/.."
count="${1:-5}"
losses='^(BenchmarkTripletMarginAll|BenchmarkContrastive|BenchmarkMultiSimilarity|BenchmarkNTXent|BenchmarkArcFace|BenchmarkProxyAnchor|BenchmarkTripletMarginAll1024)$'
miners='^BenchmarkMinerThenTripletMarginLoss$'
acc='^BenchmarkCalculator10k$'
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
for exp in "" simd; do
  echo "== build: ${exp:+GOEXPERIMENT=$exp}${exp:-default}"
  GOEXPERIMENT="$exp" go test -run='^$' -bench="$losses" -benchtime=20x -count="$count" ./losses | grep -E '^Benchmark'
  GOEXPERIMENT="$exp" go test -run='^$' -bench="$miners" -benchtime=20x -count="$count" ./miners | grep -E '^Benchmark'
  GOEXPERIMENT="$exp" go test -run='^$' -bench="$acc" -benchtime=1x -count=3 ./utils/accuracy | grep -E '^Benchmark'
done
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"

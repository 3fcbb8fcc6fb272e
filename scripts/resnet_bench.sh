#!/usr/bin/env bash
# resnet_bench.sh — torchvision's ResNet-18 and ResNet-50 in Go
# (models.BenchmarkResNet) and in torch (scripts/torchvision_bench.py, 2
# threads), case by case so that both see the same machine load:
# eval-mode forward and train-mode forward+backward, 224×224, batch 8 and
# 32. Usage: scripts/resnet_bench.sh [reps]
set -euo pipefail
cd "$(dirname "$0")/.."
reps="${1:-3}"
grep -m1 'model name' /proc/cpuinfo
go test -c -o /tmp/gometric-models.test ./models
for arch in resnet18 resnet50; do
  for n in 8 32; do
    for mode in eval train; do
      c="$arch/$mode/batch$n"
      echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
      /usr/bin/python3 scripts/torchvision_bench.py "$reps" "^$c\$"
      (cd models && /tmp/gometric-models.test -test.run '^$' -test.bench "^BenchmarkResNet/$c\$" -test.benchtime "${reps}x") | grep -E '^Benchmark'
    done
  done
done

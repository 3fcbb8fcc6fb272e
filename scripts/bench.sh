#!/usr/bin/env bash
# bench.sh [count] — the README's benchmark table is now `gometric bench` (go run ./cmd/gometric bench -h); PML side by side with PMLPATH set.
cd "$(dirname "$0")/.." && exec go run ./cmd/gometric bench -count "${1:-5}"

#!/usr/bin/env bash
# The main job, short: a search for the MLPerf Tiny reference board (`stm32`) on Fashion-MNIST
# with a tight budget and a small training budget (a few minutes on a laptop CPU), then the
# chosen model measured on the emulated board and gated as CI would gate it.
set -euo pipefail
tinynas=".venv/bin/tinynas"
out="runs/demo-$(date +%Y%m%d-%H%M%S)"

echo "== search (explore 500 candidates, train a shortlist of 3 on 6,000 images)"
# the default metric: the ranker of the shipped proxy validation (docs/benchmarks.md)
$tinynas search --device=stm32 --max-flash 48KiB --max-ram 48KiB \
  --candidates 500 --shortlist 3 --halving-epochs 0.5 --epochs 3 --train-subset 6000 \
  --out "$out"

echo; echo "== the chosen model on the emulated board (latency emulated, outputs real TFLM)"
$tinynas profile "$out/model.tflite" --emulate stm32 --runs 5 --run "$out"

echo; echo "== the CI gate"
$tinynas check "$out/model.tflite" --device stm32   # the board: arena + runtime reserve <= SRAM
echo; echo "report: $out/report.md"

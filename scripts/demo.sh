#!/usr/bin/env bash
# What tinynas does today, end to end on one architecture: the board catalogue, a sampled
# architecture that fits the MLPerf Tiny reference board, its estimates, its int8 conversion
# checked in TFLite Micro, and `inspect` of the resulting file against the board.
set -euo pipefail
tinynas=".venv/bin/tinynas"
out="runs/demo"
mkdir -p "$out"

echo "== the board catalogue"
$tinynas devices

echo; echo "== a seeded architecture for 28x28x1 inputs that fits 'stm32' (nucleo-l4r5zi)"
$tinynas arch sample --input-shape 28x28x1 --classes 10 --seed 7 --device stm32 \
  --out "$out/arch.json"

echo; echo "== its int8 conversion, run in TFLite Micro (random weights: no training yet)"
$tinynas arch convert "$out/arch.json" --out "$out/model.tflite"

echo; echo "== inspect of the converted file against the board"
$tinynas inspect "$out/model.tflite" --device stm32
echo; echo "files are in $out/"

#!/usr/bin/env bash
# A git pre-commit hook that refuses a commit whose staged .tflite models do not fit the board.
#
# Install it in the repository that holds your model:
#     cp docs/pre-commit-hook.sh .git/hooks/pre-commit && chmod +x .git/hooks/pre-commit
# Configure it once per repository (git config) or per shell (environment, which wins):
#     git config tinynas.device nucleo-l4r5zi     # TINYNAS_DEVICE; required; several: "a b"
#     git config tinynas.maxRam 256KiB            # TINYNAS_MAX_RAM      (optional)
#     git config tinynas.maxFlash 1MB             # TINYNAS_MAX_FLASH    (optional)
#     git config tinynas.maxLatency 200           # TINYNAS_MAX_LATENCY  (optional, ms)
# TINYNAS names the command to run (default: tinynas on PATH).
#
# The staged version of each model is checked (not the working copy), so what is gated is what
# gets committed. Exit status: 0 lets the commit through; 1 (over budget) and 2 (bad input or
# configuration) stop it. `git commit --no-verify` skips the hook.
set -euo pipefail

tinynas=${TINYNAS:-tinynas}

setting() {  # setting ENV_NAME git-key: the environment's value, else git config's, else empty
  local from_env=${!1:-}
  if [ -n "$from_env" ]; then echo "$from_env"; else git config --get "tinynas.$2" || true; fi
}

models=()
while IFS= read -r -d '' path; do
  models+=("$path")
done < <(git diff --cached --name-only --diff-filter=ACMR -z -- '*.tflite')
[ ${#models[@]} -eq 0 ] && exit 0

device=$(setting TINYNAS_DEVICE device)
if [ -z "$device" ]; then
  echo "pre-commit: no board to check against; run: git config tinynas.device nucleo-l4r5zi" >&2
  exit 2
fi

args=()
for board in $device; do args+=(--device "$board"); done
max_ram=$(setting TINYNAS_MAX_RAM maxRam)
max_flash=$(setting TINYNAS_MAX_FLASH maxFlash)
max_latency=$(setting TINYNAS_MAX_LATENCY maxLatency)
[ -n "$max_ram" ] && args+=(--max-ram "$max_ram")
[ -n "$max_flash" ] && args+=(--max-flash "$max_flash")
[ -n "$max_latency" ] && args+=(--max-latency "$max_latency")

staged=$(mktemp -d)
trap 'rm -rf "$staged"' EXIT
git checkout-index --prefix="$staged/" -- "${models[@]}"  # the staged blobs, same paths
files=()
for path in "${models[@]}"; do files+=("$staged/$path"); done

echo "pre-commit: tinynas check of ${#models[@]} staged model(s) on $device"
"$tinynas" check "${files[@]}" "${args[@]}"

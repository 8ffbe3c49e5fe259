#!/usr/bin/env bash
# Creates the virtual environment and installs tinynas with everything it needs.
# torch is pinned and installed first: an unpinned torch would pull a multi-GB CUDA build.
set -euo pipefail
python=${1:-python3}
venv=${2:-.venv}

if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ] \
    && [ ! -d /usr/share/datasets/fashion-mnist ]; then
  echo "setup: installing Debian's dataset-fashion-mnist"
  (apt-get update -qq && apt-get install -y -qq dataset-fashion-mnist) >/dev/null \
    || echo "setup: could not install dataset-fashion-mnist; Fashion-MNIST will need --data-dir"
fi

# the profiler firmware's Cortex-M build and QEMU, which the tests run it on (skipped without)
if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ] \
    && ! { command -v arm-none-eabi-gcc && command -v qemu-system-arm; } >/dev/null 2>&1; then
  echo "setup: installing Debian's gcc-arm-none-eabi, libnewlib-arm-none-eabi, qemu-system-arm"
  (apt-get update -qq && apt-get install -y -qq --no-install-recommends gcc-arm-none-eabi \
      libnewlib-arm-none-eabi qemu-system-arm) >/dev/null \
    || echo "setup: could not install them; the QEMU firmware tests will be skipped"
fi

if [ ! -x "$venv/bin/python" ]; then
  "$python" -m venv "$venv"
fi
"$venv/bin/python" -m pip install -q --upgrade pip
"$venv/bin/python" -m pip install -q "torch==2.13.0"
"$venv/bin/python" -m pip install -q -e ".[dev,ray]"  # the tests start a local Ray
echo "setup: done ($("$venv/bin/python" --version))"

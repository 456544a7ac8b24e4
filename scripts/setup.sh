#!/usr/bin/env bash
# Installs the Debian packages groundwork builds against, if any is missing.
# Run as root it installs them with apt-get; otherwise it prints the command to run.
set -euo pipefail

packages=(
  build-essential pkg-config
  libopenblas-openmp-dev   # sgemm, sharing one OpenMP thread pool with our loops
  libhdf5-dev              # checkpoints and data sets
  libstb-dev               # PNG/JPEG decoding and PNG writing
  libyaml-dev              # configs
  libjansson-dev           # JSON annotations
  libcriterion-dev         # tests
  chromium                 # the report test renders RUN_DIR/report.html headless
)

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ $status == "install ok installed" ]] || missing+=("$p")
done

if ((${#missing[@]} == 0)); then
  echo "setup: all build dependencies are installed"
  exit 0
fi

echo "setup: missing Debian packages: ${missing[*]}"
if [[ $(id -u) -ne 0 ]]; then
  echo "setup: error: not running as root, so they cannot be installed here." >&2
  echo "HINT: run   sudo apt-get install -y ${missing[*]}   and then make again." >&2
  exit 1
fi
if ! command -v apt-get >/dev/null; then
  echo "setup: error: apt-get not found; install these packages with your system's package manager: ${missing[*]}" >&2
  exit 1
fi
echo "setup: installing ${missing[*]} with apt-get"
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y --no-install-recommends "${missing[@]}"; then
  echo "setup: the package lists may be stale; running apt-get update and trying again"
  apt-get update
  apt-get install -y --no-install-recommends "${missing[@]}"
fi
echo "setup: done"

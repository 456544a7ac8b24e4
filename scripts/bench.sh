#!/usr/bin/env bash
# make bench: gw bench and the PyTorch mirror, one after the other in this sitting, side by
# side. The ratio is gw's time over PyTorch's (below 1: gw is faster); for GFLOP/s rows it is
# PyTorch's rate over gw's, which is the same time ratio. Pass THREADS=1 or 2 to run one count.
set -euo pipefail
cd "$(dirname "$0")/.."
threads_arg=()
[[ -n ${THREADS:-} ]] && threads_arg=(--threads "$THREADS")
only=gemm-512,gemm-1024,gemm-2048,overhead,conv,attn,cnn-step,cnn-step-rss,laconvnet-step,clip-step
gw_out=$(mktemp) pt_out=$(mktemp)
trap 'rm -f "$gw_out" "$pt_out"' EXIT
echo "running gw bench ..." >&2
./gw bench "${threads_arg[@]}" | tee "$gw_out" >&2
if ! /usr/bin/python3 -c 'import torch' 2>/dev/null; then
  echo "bench: PyTorch is not installed for /usr/bin/python3; install Debian's python3-torch" \
       "(apt-get install python3-torch) to compare. gw's figures are above." >&2
  exit 1
fi
echo "running bench/torch_mirror.py ..." >&2
/usr/bin/python3 bench/torch_mirror.py "${threads_arg[@]}" --only "$only" | tee "$pt_out" >&2
awk '
  NR == FNR { pt[$1 " " $2] = $3; next }
  {
    key = $1 " " $2
    if (!(key in pt)) { printf "%-16s %2s %10.4g %-8s %10s %8s\n", $1, $2, $3, $4, "-", "-"; next }
    ratio = ($4 == "GFLOP/s") ? pt[key] / $3 : $3 / pt[key]
    printf "%-16s %2s %10.4g %-8s %10.4g %8.2f\n", $1, $2, $3, $4, pt[key], ratio
  }
  BEGIN { printf "%-16s %2s %10s %-8s %10s %8s\n", "workload", "T", "gw", "unit", "PyTorch", "gw/PT" }
' "$pt_out" "$gw_out"

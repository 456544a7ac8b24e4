#!/usr/bin/env bash
# make demo: set-up and build are done by make before this runs. Then, on 2 cores in about
# 12 minutes: generate shapes world (small preset, ~25 s), train LaConvNet for referring
# expressions for a few minutes, evaluate it on testA and testB (every prediction written beside
# the truth) and write the report (curves, sample pictures, config). Each run goes to a new directory, runs/demo-<date>;
# nothing earlier is touched. DEMO_STEPS=N changes the training length (default 4000 steps).
set -euo pipefail
cd "$(dirname "$0")/.."

data=data/shapesworld-small
run=runs/demo-$(date +%Y%m%d-%H%M%S)
steps=${DEMO_STEPS:-4000}

say() { printf '\n== %s\n' "$*"; }

if [[ -f $data/meta.json ]]; then
  say "shapes world: $data is there already (delete it to generate it again)"
else
  say "generating shapes world (small preset: 20k training images at 64 px) into $data"
  ./gw data synth --preset small --out "$data"
fi

say "training LaConvNet (configs/laconvnet_rec.yaml) for $steps steps into $run"
./gw train configs/laconvnet_rec.yaml --out "$run" "train.steps=$steps" \
  train.eval_every=1000 train.eval_max=1000 train.ckpt_every=1000 train.warmup_steps=200 \
  data.eval_splits=testA,testB

for split in testA testB; do
  say "evaluating on $split: metrics-$split.json and every prediction in predictions-$split.jsonl"
  ./gw eval "$run" --split "$split"
done

say "try it on one image (the box goes to $run/predict.png, LaConv's insides to $run/explain/):"
image=$run/example.png
./gw data synth --preset tiny --out "$run/tiny" --png >/dev/null 2>&1 &&
  cp "$(ls "$run"/tiny/png/testA/*.png | head -n 1)" "$image" &&
  ./gw predict "$run/ckpt/best.h5" --image "$image" --text "the leftmost shape" --out "$run/predict.png" \
    --explain "$run/explain" || echo "   (skipped: $image could not be made)"
rm -rf "$run/tiny"

report=$(realpath "$run/report.html")
say "done"
echo "report: $report"

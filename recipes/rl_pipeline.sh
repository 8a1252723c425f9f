#!/usr/bin/env bash
# The seed's whole chain on SST-2, offline, with the shipped configs:
#   1. pretrain a small GPT-2-style LM (and its tokenizer) on SST-2's sentences, labels unused (clm.py);
#   2. train the SST-2 sentiment classifier, the reward function (classify.py, 4,000 sentences, 1 epoch);
#   3. GRPO: the LM learns to write positive reviews, rewarded by the classifier's P(positive) (rl.py).
# Then it prints the held-out reward before and after, the KL to the starting model, each stage's time and
# three samples before and after. About 11 minutes on 2 CPU cores (measured: README, "Reinforcement learning").
#
#   bash recipes/rl_pipeline.sh [OUTPUT_ROOT]        # default outputs/rl-pipeline
#   ACCELERATE_CONFIG=accelerate_configs/single_gpu.yaml bash recipes/rl_pipeline.sh
#
# Data: ../shared/data/sst2/{train,dev}.tsv beside the checkout (the configs' paths); extra arguments for
# every stage can go in CLM_ARGS, CLASSIFY_ARGS and RL_ARGS.
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"  # this checkout's mossrl_hf, beside its recipes
OUT=${1:-outputs/rl-pipeline}
LAUNCH=(accelerate launch --config_file "${ACCELERATE_CONFIG:-accelerate_configs/cpu.yaml}")
CONFIGS=recipes/configs
mkdir -p "$OUT"
: > "$OUT/stage_seconds.txt"

stage() {  # stage NAME COMMAND...: run it and record its wall-clock seconds
    local name=$1 start=$SECONDS
    shift
    echo "=== $name: $*" >&2
    "$@"
    echo "$name $((SECONDS - start))" >> "$OUT/stage_seconds.txt"
}

# shellcheck disable=SC2086  # the *_ARGS are word lists on purpose
stage clm "${LAUNCH[@]}" recipes/clm.py --config $CONFIGS/clm/sst2_gpt2-small_scratch.yaml \
    --output_dir "$OUT/clm" --disable_tqdm true ${CLM_ARGS:-}
# shellcheck disable=SC2086
stage classify "${LAUNCH[@]}" recipes/classify.py --config $CONFIGS/classify/sst2_minilm_reward.yaml \
    --output_dir "$OUT/classify" --disable_tqdm true ${CLASSIFY_ARGS:-}
# shellcheck disable=SC2086
stage rl "${LAUNCH[@]}" recipes/rl.py --config $CONFIGS/rl/sst2-positive_gpt2-small_grpo.yaml \
    --model_name_or_path "$OUT/clm" --reward_model "$OUT/classify" --output_dir "$OUT/rl" \
    --disable_tqdm true ${RL_ARGS:-}

python -m mossrl_hf.tasks.rl_report "$OUT"

#!/bin/bash
# Converts ./images into 8 shards with a Slurm job array: each task gets SLURM_ARRAY_TASK_ID
# (and SLURM_ARRAY_TASK_MIN / SLURM_ARRAY_TASK_COUNT), from which `imgstore convert` picks its shard,
# so the command line is the same for every task. A requeued task resumes its shard (--resume).
#
#   sbatch examples/slurm/convert-array.sh
#   # when all 8 tasks are done:
#   npx @imgstore/cli manifest "$OUT"
#
#SBATCH --job-name=imgstore-convert
#SBATCH --array=0-7
#SBATCH --cpus-per-task=2
#SBATCH --mem=2G
#SBATCH --time=04:00:00
#SBATCH --requeue
#SBATCH --output=imgstore-convert-%A_%a.log
set -euo pipefail

IMAGES="${IMAGES:-$PWD/images}"
OUT="${OUT:-$PWD/train-shards}"

npx --yes @imgstore/cli convert "$IMAGES" "$OUT" --resume --size 256x256 --progress-interval 30000

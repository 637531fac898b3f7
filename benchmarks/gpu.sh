#!/usr/bin/env bash
# Every check that needs a GPU, in one call of a few minutes: the `gpu`-marked tests, then
# train_many.py on cuda for 1,024 and 4,096 models, then the counter-based trainer against
# the hand-written bmm trainer at M = 1,024, 4,096 and 16,384 (models/s of both in the same
# run, and the trainer's peak GPU memory). Needs torch with CUDA, numpy, scipy,
# scikit-learn, attrs, rich, hypothesis and pytest; runs from a checkout without installing.
#
#     bash benchmarks/gpu.sh [--device cuda] [--models 1024,4096,16384] [--steps 200]
#                            [--no-tests] [OUTDIR]
#
# Logs go to OUTDIR (default $OUT or /tmp/advantage-gpu). `--device cpu` stands in for a GPU
# (no nvidia-smi, the train_many tables at `--models`' sizes); with small `--models` and
# `--steps` it checks the script end to end in seconds (tests/test_benchmarks_gpu.py does).
set -uo pipefail
cd "$(dirname "$0")/.."
device=cuda
sizes=1024,4096,16384
steps=200
tests=1
out=
while [ $# -gt 0 ]; do
    case $1 in
        --device) device=$2; shift 2 ;;
        --models) sizes=$2; shift 2 ;;
        --steps) steps=$2; shift 2 ;;
        --no-tests) tests=0; shift ;;
        -*) echo "gpu.sh: unknown option $1" >&2; exit 2 ;;
        *) out=$1; shift ;;
    esac
done
out=${out:-${OUT:-/tmp/advantage-gpu}}
mkdir -p "$out"
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1
py=${PYTHON:-python3}
status=0
{
    if [ "$device" != cpu ]; then
        nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
    fi
    $py -c "import platform, torch; print(platform.python_version(), torch.__version__, torch.cuda.get_device_name() if torch.cuda.is_available() else 'no cuda')"
} 2>&1 | tee "$out/machine.txt"
if [ "$tests" = 1 ]; then
    $py -m pytest -q -p no:cacheprovider -m gpu \
        tests/games/test_privacy_training.py tests/games/test_privacy_counter.py \
        tests/games/test_privacy_membership.py tests/games/test_privacy_one_run.py \
        tests/games/test_robustness.py 2>&1 |
        tee "$out/tests.txt" || status=1
fi
if [ "$device" = cpu ]; then
    table_sizes=${sizes%%,*}  # one table at the smallest size: the CPU only stands in
    extra=(--loop-models 2 --repeats 1 --steps "$steps" --memory-models "${sizes%%,*}")
else
    table_sizes="1024 4096"
    extra=(--repeats 3)
fi
for models in ${table_sizes//,/ }; do
    $py benchmarks/train_many.py --device "$device" --models "$models" "${extra[@]}" 2>&1 |
        tee "$out/train_many_$models.txt" || status=1
done
$py benchmarks/train_many.py --device "$device" --scale "$sizes" --steps "$steps" --repeats 3 \
    2>&1 | tee "$out/train_scale.txt" || status=1
exit $status

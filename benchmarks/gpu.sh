#!/usr/bin/env bash
# Every check that needs a GPU, in one call of a few minutes: the `gpu`-marked tests, then
# train_many.py on cuda for 1,024 and 4,096 models. Needs torch with CUDA, numpy, scipy,
# scikit-learn, attrs, rich, hypothesis and pytest; runs from a checkout without installing.
#
#     bash benchmarks/gpu.sh [OUTDIR]      (logs go to OUTDIR, default $OUT or /tmp/advantage-gpu)
set -uo pipefail
cd "$(dirname "$0")/.."
out=${1:-${OUT:-/tmp/advantage-gpu}}
mkdir -p "$out"
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1
py=${PYTHON:-python3}
status=0
{
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
    $py -c "import platform, torch; print(platform.python_version(), torch.__version__, torch.cuda.get_device_name())"
} 2>&1 | tee "$out/machine.txt"
$py -m pytest -q -p no:cacheprovider -m gpu \
    tests/games/test_privacy_training.py tests/games/test_privacy_membership.py \
    tests/games/test_privacy_one_run.py tests/games/test_robustness.py 2>&1 |
    tee "$out/tests.txt" || status=1
for models in 1024 4096; do
    $py benchmarks/train_many.py --device cuda --models "$models" --repeats 3 2>&1 |
        tee "$out/train_many_$models.txt" || status=1
done
exit $status

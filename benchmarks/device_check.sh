#!/usr/bin/env bash
# The decisive sweep's device check: one prepared script, with its own time limits.
#
#   On the GPU machine (the device tool gives an empty $OUT whose files come back; carry data_cache):
#       bash benchmarks/device_check.sh
#   The same steps at toy scale on a CPU, in well under a minute (tests/test_device_check_dry_run.py):
#       OUT=/tmp/check bash benchmarks/device_check.sh --device cpu
#   Pack the gutenberg409 token cache for carrying (once, here; ~2 min of one core, ~40 MB):
#       bash benchmarks/device_check.sh --pack-corpus
#
# Steps, each logged to $OUT/device_check.log:
#   1. $OUT/device.txt: nvidia-smi, and the device, torch and CUDA as torch sees them.
#   2. benchmarks/bench_gpu_engine.py, stopped after BENCH_LIMIT_S: tokens/s and MFU of four sizes,
#      three ways -> $OUT/bench_gpu_engine.txt (the table) and .jsonl (one row a line).
#   3. the decisive sweep (python -m scalinglaws.sweeps.gpu_sweep), seeds one after another, stopped
#      after SWEEP_LIMIT_S, into $WORK/sweep; then packed, with its device.json, into $OUT/sweep.tar.gz.
#      It is resumable: a run cut off is trained again, finished ones never. To go on in a later call,
#      carry the last sweep.tar.gz and set SWEEP_RESUME_FROM to it.
#
# Settings (environment): PYTHON (python3), BENCH_LIMIT_S (150; 60 dry), SWEEP_LIMIT_S (330; 90 dry),
# SWEEP_SEEDS (0,...,7; 0 dry), SWEEP_JOBS (8; 2 dry), BENCH_K (8; 2 dry), BENCH_WAYS
# (single,procs,batched), CORPUS_ARCHIVE (data_cache/gutenberg409-tokens.tar.xz), SWEEP_RESUME_FROM,
# SCALINGLAWS_COMPILE (0: eager; torch.compile per run shape costs more than it saves in this sweep),
# WORK (a scratch directory; default a fresh one under /tmp).
set -uo pipefail

DEVICE=cuda
case "${1:-}" in
  "") ;;
  --device) DEVICE="${2:-}" ;;
  --pack-corpus)
    CACHE="${SCALINGLAWS_CACHE:-$HOME/.cache/scalinglaws}"
    ARCHIVE="${CORPUS_ARCHIVE:-data_cache/gutenberg409-tokens.tar.xz}"
    mkdir -p "$(dirname "$ARCHIVE")"
    ls "$CACHE"/tokens/gutenberg409-*.json >/dev/null 2>&1 || {
      echo "no gutenberg409 token cache in $CACHE/tokens: build it first with" >&2
      echo "  python -c \"from scalinglaws.data.corpus import corpus_info; corpus_info('gutenberg409')\"" >&2
      exit 2; }
    (cd "$CACHE" && tar -cJf - tokens/gutenberg409-*) > "$ARCHIVE" && ls -l "$ARCHIVE"
    exit $? ;;
  *) echo "usage: $0 [--device cuda|cpu | --pack-corpus], got: $*" >&2; exit 2 ;;
esac
if [[ "$DEVICE" != cuda && "$DEVICE" != cpu ]]; then
  echo "unknown device '$DEVICE': choose cuda or cpu" >&2
  exit 2
fi
: "${OUT:?set OUT to the folder to write into (the device tool sets it)}"
mkdir -p "$OUT"

cd "$(dirname "$0")/.."  # the repository root: the package runs from src/, uninstalled
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
export SCALINGLAWS_COMPILE="${SCALINGLAWS_COMPILE:-0}"
PY="${PYTHON:-python3}"
WORK="${WORK:-$(mktemp -d /tmp/device_check.XXXXXX)}"
LOG="$OUT/device_check.log"
if [[ "$DEVICE" == cuda ]]; then
  BENCH_LIMIT_S="${BENCH_LIMIT_S:-150}" SWEEP_LIMIT_S="${SWEEP_LIMIT_S:-330}"
  SWEEP_SEEDS="${SWEEP_SEEDS:-0,1,2,3,4,5,6,7}" SWEEP_JOBS="${SWEEP_JOBS:-8}" BENCH_K="${BENCH_K:-8}"
  BENCH_ARGS=(--device cuda) SWEEP_ARGS=()
else
  BENCH_LIMIT_S="${BENCH_LIMIT_S:-60}" SWEEP_LIMIT_S="${SWEEP_LIMIT_S:-90}"
  SWEEP_SEEDS="${SWEEP_SEEDS:-0}" SWEEP_JOBS="${SWEEP_JOBS:-2}" BENCH_K="${BENCH_K:-2}"
  BENCH_ARGS=(--device cpu --quick) SWEEP_ARGS=(--toy)
fi
BENCH_WAYS="${BENCH_WAYS:-single,procs,batched}"
STARTED=$SECONDS

log() { echo "[device_check $(date -u +%H:%M:%S) +$((SECONDS - STARTED))s] $*" | tee -a "$LOG"; }

# Run "$@" for at most $1 seconds (then TERM, and KILL 15 s later), its output into the log too.
capped() {
  local limit=$1; shift
  timeout --kill-after=15 "$limit" "$@" 2>&1 | tee -a "$LOG"
  local status=${PIPESTATUS[0]}
  if [[ $status == 124 || $status == 137 ]]; then log "stopped at its ${limit} s limit: $*"; fi
  return "$status"
}

log "device $DEVICE; OUT=$OUT; WORK=$WORK; limits: benchmark ${BENCH_LIMIT_S} s, sweep ${SWEEP_LIMIT_S} s"

# 1. The machine.
{
  echo "== nvidia-smi"
  if command -v nvidia-smi >/dev/null; then nvidia-smi 2>&1; else echo "nvidia-smi: not installed here"; fi
  echo "== torch"
  "$PY" - <<'EOF' 2>&1
import os, platform, torch
print(f"python {platform.python_version()}, torch {torch.__version__}, CUDA {torch.version.cuda}, "
      f"{os.cpu_count()} CPUs, {platform.platform()}")
if torch.cuda.is_available():
    p = torch.cuda.get_device_properties(0)
    print(f"{torch.cuda.device_count()} GPU(s); GPU 0: {p.name}, {p.total_memory / 2**30:.1f} GiB, "
          f"compute capability {p.major}.{p.minor}, {p.multi_processor_count} multiprocessors")
else:
    print("torch sees no CUDA device")
EOF
} > "$OUT/device.txt"
tee -a "$LOG" < "$OUT/device.txt"
if [[ "$DEVICE" == cuda ]] && ! "$PY" -c "import sys, torch; sys.exit(not torch.cuda.is_available())"; then
  log "FAILED: --device cuda, but torch sees no GPU; nothing else is run (dry run: --device cpu)"
  exit 2
fi

# 2. The benchmark (synthetic bytes: it needs no corpus).
log "benchmark: $PY benchmarks/bench_gpu_engine.py ${BENCH_ARGS[*]} --k $BENCH_K --ways $BENCH_WAYS"
capped "$BENCH_LIMIT_S" "$PY" benchmarks/bench_gpu_engine.py "${BENCH_ARGS[@]}" --k "$BENCH_K" --ways "$BENCH_WAYS" \
  --time-limit "$((BENCH_LIMIT_S * 3 / 4))" --out "$OUT/bench_gpu_engine.txt" --json "$OUT/bench_gpu_engine.jsonl"
BENCH_STATUS=$?
log "benchmark exit status $BENCH_STATUS"

# 3. The sweep. Its corpus must be in the token cache already: the device machine is offline.
if [[ "$DEVICE" == cuda ]]; then
  export SCALINGLAWS_CACHE="${SCALINGLAWS_CACHE:-$WORK/cache}"
  ARCHIVE="${CORPUS_ARCHIVE:-data_cache/gutenberg409-tokens.tar.xz}"
  if [[ -f "$ARCHIVE" ]]; then
    log "unpacking $ARCHIVE into $SCALINGLAWS_CACHE"
    "$PY" -c "import sys, tarfile; tarfile.open(sys.argv[1]).extractall(sys.argv[2], filter='data')" \
      "$ARCHIVE" "$SCALINGLAWS_CACHE" 2>&1 | tee -a "$LOG"
  fi
  if ! ls "$SCALINGLAWS_CACHE"/tokens/gutenberg409-*.json >/dev/null 2>&1; then
    log "FAILED: no gutenberg409 token cache in $SCALINGLAWS_CACHE and no $ARCHIVE; the sweep is not run" \
        "(pack it here with: bash benchmarks/device_check.sh --pack-corpus, then carry data_cache)"
    exit 3
  fi
fi
mkdir -p "$WORK/sweep"
if [[ -n "${SWEEP_RESUME_FROM:-}" ]]; then
  log "resuming from $SWEEP_RESUME_FROM"
  "$PY" -c "import sys, tarfile; tarfile.open(sys.argv[1]).extractall(sys.argv[2], filter='data')" \
    "$SWEEP_RESUME_FROM" "$WORK" 2>&1 | tee -a "$LOG"
fi
count_runs() {  # finished runs per seed: every line of a results file after its header
  local summary="" file
  for file in "$WORK"/sweep/seed*/results.jsonl; do
    [[ -f "$file" ]] && summary+="$(basename "$(dirname "$file")"): $(($(wc -l < "$file") - 1)) runs; "
  done
  echo "${summary:-no runs finished yet}"
}
reporter() {  # a progress line every 30 s; its sleep ends with it, so no pipe stays open after the script
  trap 'kill "$nap" 2>/dev/null; exit 0' TERM
  while true; do sleep 30 & nap=$!; wait "$nap"; log "sweep so far: $(count_runs)"; done
}
reporter &
REPORTER=$!
log "sweep: $PY -m scalinglaws.sweeps.gpu_sweep ${SWEEP_ARGS[*]} --out $WORK/sweep" \
    "--seeds $SWEEP_SEEDS --jobs $SWEEP_JOBS"
capped "$SWEEP_LIMIT_S" "$PY" -m scalinglaws.sweeps.gpu_sweep "${SWEEP_ARGS[@]}" --out "$WORK/sweep" \
  --seeds "$SWEEP_SEEDS" --jobs "$SWEEP_JOBS" --no-progress
SWEEP_STATUS=$?
kill "$REPORTER" 2>/dev/null
wait "$REPORTER" 2>/dev/null
log "sweep exit status $SWEEP_STATUS; $(count_runs)"

# Everything the sweep wrote (results, READMEs, device.json), in one file: $OUT returns at most 8.
(cd "$WORK" && tar -czf "$OUT/sweep.tar.gz" --exclude='.results*.lock' sweep)
log "packed $OUT/sweep.tar.gz; done in $((SECONDS - STARTED)) s"
ls -l "$OUT" | tee -a "$LOG"
# 0 when both finished; the sweep stopped at its limit (124) counts as done: it is meant to run out of time.
if [[ $BENCH_STATUS != 0 && $BENCH_STATUS != 124 ]]; then exit 4; fi
if [[ $SWEEP_STATUS != 0 && $SWEEP_STATUS != 124 ]]; then exit 5; fi
exit 0

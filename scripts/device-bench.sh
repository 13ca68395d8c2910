#!/usr/bin/env bash
# The whole GPU benchmark in one command, on a GPU machine, from the kit scripts/device-kit.sh prepared here
# (.device/, carried along). Stages, each with its own time limit so that a slow one cannot starve the rest,
# and every result written as soon as it exists:
#   1. unpack Node (unless the machine has Node ≥ 20), Dawn, the bundle and onnxruntime-web's wasm; bring the
#      Vulkan loader if the machine lacks one; point it at NVIDIA's driver
#   2. the Node benchmark, full size (base-size models are generated from skeletons in memory)
#   3. the PyTorch CUDA anchor on the same rows, then the report again with it merged
#   4. optional work beside the benchmark: WEBVL_DEVICE_BACKGROUND (a command, CPU only, e.g. exporting test
#      models) runs from the start in the background and is waited for at the end
# Usage: bash scripts/device-bench.sh OUTDIR      (8 minutes at most; see bench/README.md)
#        bash scripts/device-bench.sh --unpack-only  (stage 1 into $WEBVL_KIT_ROOT, for the check here)
set -uo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)
KIT=${WEBVL_KIT:-$REPO/.device}
ROOT=${WEBVL_KIT_ROOT:-/tmp/webvl-kit}

unxz_to() { # unxz_to SRC.xz DEST: xz if present, else Python's lzma
  if command -v xz >/dev/null 2>&1; then
    xz -dc "$1" >"$2"
  else
    python3 -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], "wb"))' "$1" "$2"
  fi
}

unpack() {
  mkdir -p "$ROOT/bench/ort" "$ROOT/bench/node_modules/webgpu/dist/linux-x64"
  unxz_to "$KIT/bench.mjs.xz" "$ROOT/bench/bench.mjs"
  unxz_to "$KIT/dawn.node.xz" "$ROOT/bench/node_modules/webgpu/dist/linux-x64/dawn.node"
  cp "$KIT/webgpu/index.js" "$KIT/webgpu/package.json" "$ROOT/bench/node_modules/webgpu/"
  for f in "$KIT"/ort/*.xz; do unxz_to "$f" "$ROOT/bench/ort/$(basename "$f" .xz)"; done
  if [ -z "${WEBVL_KIT_FORCE_NODE:-}" ] && command -v node >/dev/null 2>&1 && node -e 'process.exit(+process.versions.node.split(".")[0] >= 20 ? 0 : 1)'; then
    ln -sf "$(command -v node)" "$ROOT/node"
  else
    unxz_to "$KIT/node.xz" "$ROOT/node"
    chmod +x "$ROOT/node"
  fi
}

if [ "${1:-}" = "--unpack-only" ]; then
  unpack
  exit 0
fi

OUT=${1:?usage: scripts/device-bench.sh OUTDIR}
mkdir -p "$OUT"
exec > >(tee -a "$OUT/device-bench.log") 2>&1
start=$SECONDS
stage() { echo "== [$((SECONDS - start)) s] $*"; }

stage "unpack"
unpack
NODE="$ROOT/node"
"$NODE" --version
if ! ldconfig -p 2>/dev/null | grep -q 'libvulkan.so.1'; then
  mkdir -p "$ROOT/vulkan"
  dpkg -x "$KIT"/libvulkan1_*.deb "$ROOT/vulkan"
  export LD_LIBRARY_PATH="$ROOT/vulkan/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  echo "Vulkan loader from the kit"
fi
# NVIDIA's Vulkan ICD is libGLX_nvidia.so.0, which needs GLVND's libraries: bring them where they are missing.
if [ -d "$KIT/gl" ] && ! ldconfig -p 2>/dev/null | grep -q 'libGLdispatch.so.0'; then
  for f in "$KIT"/gl/*.deb; do dpkg -x "$f" /; done
  ldconfig
  echo "GLVND libraries from the kit"
fi
for icd in /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.json \
  /etc/vulkan/icd.d/nvidia_icd.json; do
  if [ -f "$icd" ]; then
    export VK_DRIVER_FILES="$icd" VK_ICD_FILENAMES="$icd"
    echo "Vulkan driver: $icd"
    break
  fi
done
egl=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
[ -f "$egl" ] && export __EGL_VENDOR_LIBRARY_FILENAMES="$egl"
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv 2>&1 | tee "$OUT/nvidia-smi.csv"
python3 -c 'import torch; print("torch", torch.__version__, torch.cuda.get_device_name())' 2>&1

if [ -n "${WEBVL_DEVICE_BACKGROUND:-}" ]; then
  stage "background: $WEBVL_DEVICE_BACKGROUND"
  (timeout "${WEBVL_BACKGROUND_SECONDS:-300}" bash -c "$WEBVL_DEVICE_BACKGROUND" >"$OUT/background.log" 2>&1
    echo "background exit $?" >>"$OUT/background.log") &
  background=$!
fi

# --no-liftoff: ORT wasm on V8's optimizing compiler from the first call, as a long-lived page runs it.
BENCH=("$NODE" --no-liftoff "$ROOT/bench/bench.mjs" --root "$REPO")
"${BENCH[@]}" --print-suite "$OUT/suite.json"

stage "Node benchmark"
timeout "${WEBVL_BENCH_SECONDS:-300}" "${BENCH[@]}" --out "$OUT" ${WEBVL_BENCH_ARGS:-}
echo "node bench exit $?"

if [ "${WEBVL_ANCHOR:-1}" != 0 ]; then
  stage "PyTorch CUDA anchor"
  OMP_WAIT_POLICY=PASSIVE PYTHONUNBUFFERED=1 timeout "${WEBVL_ANCHOR_SECONDS:-120}" \
    python3 bench/node/torch_anchor.py "$OUT/suite.json" "$OUT/torch-anchor.json"
fi
results=$(ls -t "$OUT"/*-node-*.json 2>/dev/null | head -1)
if [ -n "$results" ] && [ -f "$OUT/torch-anchor.json" ]; then
  "${BENCH[@]}" --report-only "$results" --anchor "$OUT/torch-anchor.json" --out "$OUT"
fi

if [ -n "${background:-}" ]; then
  stage "waiting for the background work"
  wait "$background"
  tail -5 "$OUT/background.log"
fi
stage "done"
ls -la "$OUT"

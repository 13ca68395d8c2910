#!/usr/bin/env bash
# Prepares, on this machine, what a GPU machine needs to run scripts/device-bench.sh: the folder .device/
# (ignored by git), carried beside the working tree. The GPU machine may lack Node.js, the Vulkan loader and the
# npm registry, so everything the benchmark runs comes along, compressed:
#   node.xz           this machine's Node.js binary, stripped (it needs only glibc)
#   dawn.node.xz      Dawn for Node (the `webgpu` package's native addon) + the package's index.js
#   libvulkan1_*.deb  the Vulkan loader, from Debian (apt-get download), unpacked there only if missing
#   gl/*.deb          GLVND (libglvnd0, libglx0, …): NVIDIA's Vulkan ICD is libGLX_nvidia.so.0, which needs them
#   bench.mjs.xz      the Node benchmark bundle (vite.bench-node.config.ts)
#   ort/              onnxruntime-web's wasm build used by its WebGPU and wasm providers
# Then it checks, here: the kit unpacks into a scratch root, the bundle runs under the unpacked Node (a quick
# row on SwiftShader), and the working tree plus the kit fit the 64 MiB a device call carries.
#   bash scripts/device-kit.sh            # build .device/ and check it
set -euo pipefail
cd "$(dirname "$0")/.."
KIT=.device
LIMIT=$((64 * 1024 * 1024))

rm -rf "$KIT"
mkdir -p "$KIT/ort" "$KIT/webgpu" "$KIT/gl"
echo "bundling the Node benchmark"
npx vite build -c vite.bench-node.config.ts --logLevel warn
xz -T0 -9 -c dist/bench-node/bench.mjs >"$KIT/bench.mjs.xz"

echo "packing Node.js $(node --version)"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp "$(command -v node)" "$tmp/node"
strip "$tmp/node"
xz -T0 -9e -c "$tmp/node" >"$KIT/node.xz"

echo "packing Dawn (webgpu $(node -p "require('./node_modules/webgpu/package.json').version"))"
xz -T0 -9 -c node_modules/webgpu/dist/linux-x64/dawn.node >"$KIT/dawn.node.xz"
cp node_modules/webgpu/index.js node_modules/webgpu/package.json "$KIT/webgpu/"

for f in ort-wasm-simd-threaded.asyncify.mjs ort-wasm-simd-threaded.asyncify.wasm; do
  xz -T0 -9 -c "node_modules/onnxruntime-web/dist/$f" >"$KIT/ort/$f.xz"
done

echo "fetching the Vulkan loader (Debian libvulkan1)"
(cd "$KIT" && apt-get download -qq libvulkan1 2>/dev/null || apt-get download libvulkan1)
(cd "$KIT/gl" && apt-get download -qq libglvnd0 libglx0 libegl1 libgl1 libopengl0 libgles2 2>/dev/null)

echo "checking: unpack into a scratch root and run a quick row under the unpacked Node"
scratch=$(mktemp -d)
WEBVL_KIT_FORCE_NODE=1 WEBVL_KIT_ROOT="$scratch" bash scripts/device-bench.sh --unpack-only
"$scratch/node" --version
VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json \
  "$scratch/node" "$scratch/bench/bench.mjs" --quick --only 'fixture' --skip-kernels --out "$scratch/out" |
  grep -E '^fixture|^wrote'
rm -rf "$scratch"

# The call carries the tree as scripts/device-slim.sh `on` leaves it (the whole tree is far larger).
tree_bytes=$(bash scripts/device-slim.sh slimmed)
kit_bytes=$(du -sb "$KIT" | cut -f1)
total=$((tree_bytes + kit_bytes))
printf 'slimmed working tree %d bytes + kit %d bytes = %d bytes (%.1f MiB of %d MiB)\n' \
  "$tree_bytes" "$kit_bytes" "$total" "$(echo "$total / 1048576" | bc -l)" $((LIMIT / 1048576))
if [ "$total" -gt "$LIMIT" ]; then
  echo "too large for one device call" >&2
  exit 1
fi

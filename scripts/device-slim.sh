#!/usr/bin/env bash
# The device tool sends the whole working tree (tracked files and untracked ones git does not ignore) with each
# call, 64 MiB at most with the kit (.device/). The benchmark needs none of the project's test corpora, fp16
# model copies or earlier results, so before a device call `on` takes them out of git's index and ignores them
# locally (nothing is deleted, nothing is committed); `off` puts them back. Always run `off` after the call.
#   bash scripts/device-slim.sh on|off|size|slimmed (bytes of the tree `on` would leave, the index untouched)
set -euo pipefail
cd "$(dirname "$0")/.."
EXCLUDE=.git/info/exclude
MARK='# webvl device-slim'
PATHS=(tests/corpus/hf models/clip-tiny/onnx/model.onnx 'models/*/onnx/*_fp16.onnx' e2e/fixtures bench/results
  docs examples tests/runtime/fixtures models/llava-tiny models/blip2-tiny models/data/v2-test models/data/v2-comp
  'tests/corpus/*-random' tests/models models/clip-v2 models/blip-v2 models/vilt-tiny models/vlmo-tiny models/coca-tiny
  models/vilt-tiny-vqa models/vlmo-tiny-vqa models/data/v2-taxo)

# Bytes of the files git lists with these arguments, summed file by file (du's total would cover one xargs batch).
bytes() { git ls-files -z "$@" | xargs -0 -r stat -c %s | awk '{ s += $1 } END { print s + 0 }'; }

size() { # bytes that would travel: tracked + untracked-not-ignored files, and the kit
  local tree kit
  tree=$(($(bytes) + $(bytes --others --exclude-standard)))
  kit=$(du -sb .device 2>/dev/null | cut -f1 || echo 0)
  echo "tree $((tree / 1048576)) MiB + kit $((${kit:-0} / 1048576)) MiB = $(((tree + ${kit:-0}) / 1048576)) MiB of 64"
}

slimmed() { # bytes the tree would carry with `on`, without touching the index
  local excludes=() p
  for p in "${PATHS[@]}"; do excludes+=(":(glob,exclude)$p" ":(glob,exclude)$p/**"); done
  echo $(($(bytes -- . "${excludes[@]}") + $(bytes --others --exclude-standard -- . "${excludes[@]}")))
}

case "${1:-}" in
  on)
    grep -q "$MARK" "$EXCLUDE" 2>/dev/null || { echo "$MARK"; printf '/%s\n' "${PATHS[@]}"; echo "$MARK end"; } >>"$EXCLUDE"
    # shellcheck disable=SC2086
    git rm -r -q --cached --ignore-unmatch -- ${PATHS[*]} >/dev/null
    size
    ;;
  off)
    sed -i "/$MARK/,/$MARK end/d" "$EXCLUDE"
    git reset -q -- ${PATHS[*]} 2>/dev/null || git reset -q
    git status --short | head -5
    size
    ;;
  size) size ;;
  slimmed) slimmed ;;
  *) echo "usage: $0 on|off|size|slimmed" >&2; exit 2 ;;
esac

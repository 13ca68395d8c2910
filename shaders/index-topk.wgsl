// Cosine top-k for the embedding index: rows of `matrix` and `query` are unit vectors, so a dot product is
// the cosine. Two passes, so a large index spreads over the whole GPU instead of one workgroup:
//   partial: workgroup g scans rows [g·chunk, (g+1)·chunk); each invocation keeps a sorted top-k of the rows
//            it scores in private memory, then k rounds of a workgroup max-reduction write the workgroup's
//            top-k to `out` (candidates g·k … g·k+k-1; empty slots have row NO_ROW).
//   merge:   one workgroup runs the same selection over the candidates and writes the final top-k.
// Order: higher score first, ties to the lower row index (the CPU path breaks ties the same way).

const WG: u32 = 256u;
const MAX_K: u32 = 64u;
const NONE: f32 = -3.0e38;
const NO_ROW: u32 = 0xffffffffu;

struct Params {
  n: u32,
  d: u32,
  k: u32,
  chunk: u32,
}

struct Hit {
  score: f32,
  row: u32,
}

@group(0) @binding(0) var<storage, read> matrix: array<f32>;
@group(0) @binding(1) var<storage, read> query: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<Hit>;
@group(0) @binding(3) var<uniform> params: Params;
@group(0) @binding(4) var<storage, read> candidates: array<Hit>;

var<workgroup> bestScore: array<f32, WG>;
var<workgroup> bestRow: array<u32, WG>;
var<workgroup> bestOwner: array<u32, WG>;

var<private> scores: array<f32, MAX_K>;
var<private> rows: array<u32, MAX_K>;
var<private> count: u32;

fn better(s: f32, r: u32, t: f32, q: u32) -> bool {
  return s > t || (s == t && r < q);
}

/** Inserts (s, row) into this invocation's sorted list of at most k entries. */
fn insert(s: f32, row: u32, k: u32) {
  if (count == k && !better(s, row, scores[k - 1u], rows[k - 1u])) {
    return;
  }
  var pos = min(count, k - 1u);
  if (count < k) {
    count++;
  }
  while (pos > 0u && better(s, row, scores[pos - 1u], rows[pos - 1u])) {
    scores[pos] = scores[pos - 1u];
    rows[pos] = rows[pos - 1u];
    pos--;
  }
  scores[pos] = s;
  rows[pos] = row;
}

/** k rounds of a workgroup arg-max over the invocations' list heads; writes out[base .. base+k). */
fn selectTopK(tid: u32, k: u32, base: u32) {
  var next = 0u;
  for (var r = 0u; r < k; r++) {
    if (next < count) {
      bestScore[tid] = scores[next];
      bestRow[tid] = rows[next];
    } else {
      bestScore[tid] = NONE;
      bestRow[tid] = NO_ROW;
    }
    bestOwner[tid] = tid;
    workgroupBarrier();
    for (var stride = WG / 2u; stride > 0u; stride = stride / 2u) {
      if (tid < stride && better(bestScore[tid + stride], bestRow[tid + stride], bestScore[tid], bestRow[tid])) {
        bestScore[tid] = bestScore[tid + stride];
        bestRow[tid] = bestRow[tid + stride];
        bestOwner[tid] = bestOwner[tid + stride];
      }
      workgroupBarrier();
    }
    let winner = bestOwner[0];
    if (tid == 0u) {
      out[base + r] = Hit(bestScore[0], bestRow[0]);
    }
    if (tid == winner && bestRow[0] != NO_ROW) {
      next++;
    }
    workgroupBarrier();
  }
}

@compute @workgroup_size(256)
fn partial(@builtin(local_invocation_index) tid: u32, @builtin(workgroup_id) wg: vec3<u32>) {
  let k = min(params.k, MAX_K);
  count = 0u;
  let start = wg.x * params.chunk;
  let end = min(params.n, start + params.chunk);
  for (var row = start + tid; row < end; row += WG) {
    var s = 0.0;
    let base = row * params.d;
    for (var j = 0u; j < params.d; j++) {
      s += matrix[base + j] * query[j];
    }
    insert(s, row, k);
  }
  selectTopK(tid, k, wg.x * k);
}

@compute @workgroup_size(256)
fn merge(@builtin(local_invocation_index) tid: u32) {
  let k = min(params.k, MAX_K);
  count = 0u;
  // params.n here is the number of candidate slots (workgroups of the partial pass × k).
  for (var i = tid; i < params.n; i += WG) {
    let c = candidates[i];
    if (c.row != NO_ROW) {
      insert(c.score, c.row, k);
    }
  }
  selectTopK(tid, k, 0u);
}

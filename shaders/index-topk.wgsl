// Cosine top-k for the embedding index: rows of `matrix` and `query` are unit vectors, so a dot product is
// the cosine. One workgroup of 256 invocations: each scans rows tid, tid+256, … keeping its own sorted top-k
// in private memory; then k rounds of a workgroup max-reduction pick the global best, the winning thread
// advancing its list. Ties go to the lower row index (the CPU path breaks ties the same way).
// A single workgroup keeps the kernel one dispatch with no second pass; for the galleries we index
// (thousands of rows, D ≤ 512) the scan is far below a millisecond's worth of work.

const WG: u32 = 256u;
const MAX_K: u32 = 64u;
const NONE: f32 = -3.0e38;

struct Params {
  n: u32,
  d: u32,
  k: u32,
  _pad: u32,
}

struct Hit {
  score: f32,
  row: u32,
}

@group(0) @binding(0) var<storage, read> matrix: array<f32>;
@group(0) @binding(1) var<storage, read> query: array<f32>;
@group(0) @binding(2) var<storage, read_write> hits: array<Hit>;
@group(0) @binding(3) var<uniform> params: Params;

var<workgroup> bestScore: array<f32, WG>;
var<workgroup> bestRow: array<u32, WG>;
var<workgroup> bestOwner: array<u32, WG>;

@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) tid: u32) {
  var scores: array<f32, MAX_K>;
  var rows: array<u32, MAX_K>;
  var count = 0u;
  let k = min(params.k, MAX_K);

  for (var row = tid; row < params.n; row += WG) {
    var s = 0.0;
    let base = row * params.d;
    for (var j = 0u; j < params.d; j++) {
      s += matrix[base + j] * query[j];
    }
    if (count < k || s > scores[count - 1u]) {
      var pos = min(count, k - 1u);
      if (count < k) {
        count++;
      }
      // Strictly greater: an equal score found later (a higher row) stays behind the earlier one.
      while (pos > 0u && scores[pos - 1u] < s) {
        scores[pos] = scores[pos - 1u];
        rows[pos] = rows[pos - 1u];
        pos--;
      }
      scores[pos] = s;
      rows[pos] = row;
    }
  }

  var next = 0u;
  for (var r = 0u; r < k; r++) {
    if (next < count) {
      bestScore[tid] = scores[next];
      bestRow[tid] = rows[next];
    } else {
      bestScore[tid] = NONE;
      bestRow[tid] = 0xffffffffu;
    }
    bestOwner[tid] = tid;
    workgroupBarrier();
    for (var stride = WG / 2u; stride > 0u; stride = stride / 2u) {
      if (tid < stride) {
        let a = bestScore[tid];
        let b = bestScore[tid + stride];
        if (b > a || (b == a && bestRow[tid + stride] < bestRow[tid])) {
          bestScore[tid] = b;
          bestRow[tid] = bestRow[tid + stride];
          bestOwner[tid] = bestOwner[tid + stride];
        }
      }
      workgroupBarrier();
    }
    let winner = bestOwner[0];
    if (tid == 0u) {
      hits[r] = Hit(bestScore[0], bestRow[0]);
    }
    if (tid == winner) {
      next++;
    }
    workgroupBarrier();
  }
}

// Draws one token per row from its k best candidates (TopK's values, best first, and their vocabulary indices):
// the first top_k of them (top_k ≤ k; 1 is greedy), softmax of values / temperature, cut to the smallest prefix
// whose mass reaches top_p (nucleus sampling, at least one kept), then to those at least min_p times as likely as
// the best, then the first candidate whose cumulative share of that prefix passes the uniform draw.
// One thread per row: k is small (≤ 256) and the work is a few passes over it.
struct Params {
  rows: u32,
  k: u32,
  _pad0: u32,
  _pad1: u32,
}

@group(0) @binding(0) var<storage, read> values: array<f32>;
@group(0) @binding(1) var<storage, read> indices: array<i32>;
/** [temperature, top_p, uniform draw in [0, 1), top_k, min_p] per row. */
@group(0) @binding(2) var<storage, read> sampling: array<f32>;
@group(0) @binding(3) var<storage, read_write> token: array<i32>;
@group(0) @binding(4) var<uniform> u: Params;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let row = gid.x;
  if (row >= u.rows) {
    return;
  }
  let base = row * u.k;
  let temperature = max(sampling[row * 5u], 1e-6);
  let top_p = sampling[row * 5u + 1u];
  let draw = sampling[row * 5u + 2u];
  let k = clamp(u32(sampling[row * 5u + 3u]), 1u, u.k);
  let min_p = sampling[row * 5u + 4u];
  let best = values[base];
  var total = 0.0;
  for (var i = 0u; i < k; i++) {
    total += exp((values[base + i] - best) / temperature);
  }
  // The nucleus: candidates until their probability mass reaches top_p.
  var kept = 0u;
  var mass = 0.0;
  loop {
    mass += exp((values[base + kept] - best) / temperature);
    kept++;
    if (kept >= k || mass >= top_p * total) {
      break;
    }
  }
  // Weights fall from 1 (the best): min-p keeps a prefix too, its mass summed again.
  if (min_p > 0.0) {
    while (kept > 1u && exp((values[base + kept - 1u] - best) / temperature) < min_p) {
      kept--;
    }
    mass = 0.0;
    for (var i = 0u; i < kept; i++) {
      mass += exp((values[base + i] - best) / temperature);
    }
  }
  var chosen = kept - 1u;
  var running = 0.0;
  for (var i = 0u; i < kept; i++) {
    running += exp((values[base + i] - best) / temperature);
    if (running > draw * mass) {
      chosen = i;
      break;
    }
  }
  token[row] = indices[base + chosen];
}

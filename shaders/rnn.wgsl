// ONNX RNN, GRU and LSTM recurrences (ops/rnn.ts). X·Wᵀ for every step and direction comes precomputed (one
// matmul); one workgroup per direction walks the sequence, its threads splitting batch × hidden units. A step
// adds Wb + Rb and H_{t-1}·Rᵀ to each gate, applies the cell and writes H_t; a storage barrier ends the step
// (GRU also needs one between its update/reset gates and its hidden gate, which reads every unit's r ⊙ H_{t-1}).
// Batch entry b runs seq_lens[b] steps (the reverse direction from its last valid step back); its later outputs
// are 0 and its state stays (an entry of length 0 ends with zeros). state is [dirs, 5, batch, hidden]: H ping-pong (slots 0 and 1), C (2), GRU's z (3)
// and r ⊙ H_{t-1}, or r with linear_before_reset (4). bias is [dirs, 2·gates·hidden] (Wb then Rb), then the
// peepholes [dirs, 3·hidden] at peephole_at. Placeholders: CELL (0 RNN, 1 GRU, 2 LSTM), ACTIVATIONS (act()'s
// cases, one per direction and activation) and CLIP (the clamp of activation inputs, or x itself).
struct Params {
  seq: u32,
  batch: u32,
  hidden: u32,
  gates: u32,
  // X and Y are [batch, seq, …] (layout 1), else [seq, batch, …].
  batch_major: u32,
  dirs: u32,
  // Direction 0 walks backwards (direction = reverse).
  reverse_first: u32,
  linear_before_reset: u32,
  peephole_at: u32,
  // Activations per direction.
  acts: u32,
  clip: f32,
  _pad: u32,
}

@group(0) @binding(0) var<storage, read> xw: array<f32>;
@group(0) @binding(1) var<storage, read> r: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read> lens: array<i32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;
@group(0) @binding(5) var<storage, read_write> state: array<f32>;
@group(0) @binding(6) var<uniform> u: Params;

const CELL: u32 = {{CELL}}u;

fn act(slot: u32, x: f32) -> f32 {
  switch slot {
    {{ACTIVATIONS}}
    default: {
      return x;
    }
  }
}

fn clipped(x: f32) -> f32 {
  return {{CLIP}};
}

/** Row of X·Wᵀ (and of Y) holding step t of batch entry b. */
fn row_of(t: u32, b: u32) -> u32 {
  return select(t * u.batch + b, b * u.seq + t, u.batch_major == 1u);
}

/** Σ_k R[dir, gate row, k] · v[b, k], v at element `at` of state. */
fn recur(dir: u32, gate_row: u32, at: u32, b: u32) -> f32 {
  let h = u.hidden;
  let r_base = (dir * u.gates * h + gate_row) * h;
  var acc = 0.0;
  for (var k = 0u; k < h; k++) {
    acc += r[r_base + k] * state[at + b * h + k];
  }
  return acc;
}

/** X·Wᵀ + Wb + Rb of one gate row, at step t of batch entry b. */
fn projected(dir: u32, t: u32, b: u32, gate_row: u32) -> f32 {
  let gh = u.gates * u.hidden;
  return xw[(dir * u.seq * u.batch + row_of(t, b)) * gh + gate_row] + bias[dir * 2u * gh + gate_row] +
    bias[dir * 2u * gh + gh + gate_row];
}

fn peephole(dir: u32, gate: u32, j: u32) -> f32 {
  return bias[u.peephole_at + (dir * 3u + gate) * u.hidden + j];
}

fn write_y(dir: u32, t: u32, b: u32, j: u32, v: f32) {
  let h = u.hidden;
  let at = select((t * u.dirs + dir) * u.batch + b, (b * u.seq + t) * u.dirs + dir, u.batch_major == 1u);
  y[at * h + j] = v;
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let dir = wid.x;
  let reverse = dir == 1u || u.reverse_first == 1u;
  let h = u.hidden;
  let units = u.batch * h;
  let own = dir * 5u * units;
  let a = dir * u.acts;
  for (var s = 0u; s < u.seq; s++) {
    let prev = own + (s % 2u) * units;
    let next = own + ((s + 1u) % 2u) * units;
    if (CELL == 1u) {
      // GRU: z and r for every unit first (gates z = 0, r = 1, h = 2).
      for (var unit = lid; unit < units; unit += 256u) {
        let b = unit / h;
        let j = unit % h;
        let len = u32(clamp(lens[b], 0i, i32(u.seq)));
        if (s >= len) {
          continue;
        }
        let t = select(s, len - 1u - s, reverse);
        let z = act(a, clipped(projected(dir, t, b, j) + recur(dir, j, prev, b)));
        let rg = act(a, clipped(projected(dir, t, b, h + j) + recur(dir, h + j, prev, b)));
        state[own + 3u * units + unit] = z;
        state[own + 4u * units + unit] = select(rg * state[prev + unit], rg, u.linear_before_reset == 1u);
      }
      storageBarrier();
    }
    for (var unit = lid; unit < units; unit += 256u) {
      let b = unit / h;
      let j = unit % h;
      let len = u32(clamp(lens[b], 0i, i32(u.seq)));
      if (s >= len) {
        state[next + unit] = state[prev + unit];
        write_y(dir, s, b, j, 0.0);
        continue;
      }
      let t = select(s, len - 1u - s, reverse);
      let h_prev = state[prev + unit];
      var h_new = 0.0;
      if (CELL == 0u) {
        h_new = act(a, clipped(projected(dir, t, b, j) + recur(dir, j, prev, b)));
      } else if (CELL == 1u) {
        let z = state[own + 3u * units + unit];
        let gh = u.gates * h;
        var pre = 0.0;
        if (u.linear_before_reset == 1u) {
          // r ⊙ (H_{t-1}·Rhᵀ + Rbh): the projection without Rbh, then Rbh inside.
          let rbh = bias[dir * 2u * gh + gh + 2u * h + j];
          let wx = projected(dir, t, b, 2u * h + j) - rbh;
          pre = wx + state[own + 4u * units + unit] * (recur(dir, 2u * h + j, prev, b) + rbh);
        } else {
          pre = projected(dir, t, b, 2u * h + j) + recur(dir, 2u * h + j, own + 4u * units, b);
        }
        let candidate = act(a + 1u, clipped(pre));
        h_new = (1.0 - z) * candidate + z * h_prev;
      } else {
        // LSTM gates i = 0, o = 1, f = 2, c = 3; peepholes i, o, f.
        let c_at = own + 2u * units + unit;
        let c_prev = state[c_at];
        let i = act(a, clipped(projected(dir, t, b, j) + recur(dir, j, prev, b) + peephole(dir, 0u, j) * c_prev));
        let f = act(
          a,
          clipped(projected(dir, t, b, 2u * h + j) + recur(dir, 2u * h + j, prev, b) + peephole(dir, 2u, j) * c_prev),
        );
        let cell = act(a + 1u, clipped(projected(dir, t, b, 3u * h + j) + recur(dir, 3u * h + j, prev, b)));
        let c = f * c_prev + i * cell;
        let o = act(a, clipped(projected(dir, t, b, h + j) + recur(dir, h + j, prev, b) + peephole(dir, 1u, j) * c));
        state[c_at] = c;
        h_new = o * act(a + 2u, c);
      }
      state[next + unit] = h_new;
      write_y(dir, t, b, j, h_new);
    }
    storageBarrier();
  }
  // An entry of length 0 ends with zero state, as onnxruntime leaves it (not H_0 / C_0).
  for (var unit = lid; unit < units; unit += 256u) {
    if (lens[unit / h] <= 0i) {
      state[own + (u.seq % 2u) * units + unit] = 0.0;
      state[own + 2u * units + unit] = 0.0;
    }
  }
}

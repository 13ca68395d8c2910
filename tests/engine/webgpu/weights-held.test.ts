// RunStats.weightBytes: the GPU bytes a session holds for the model's constants, the figure the benchmarks give
// per dtype. Hand-computed sizes: f32 weights as words, 4-bit weights as their packed bytes.
import { afterAll, describe, expect, it } from 'vitest';
import { toHalfBits } from '../../../src/engine/half';
import { type HostTensor, hostTensor } from '../../../src/engine/tensor';
import { WebGpuBackend } from '../../../src/engine/webgpu/backend';
import type { Graph, Node } from '../../../src/engine/webgpu/ir/ir';
import { nodeGpu } from './gpu';

const backend = new WebGpuBackend({ gpu: nodeGpu() });
afterAll(async () => (await backend.engineDevice()).device.destroy());

const [K, N, BLOCK] = [64, 32, 32];
const BLOCKS = K / BLOCK;

function graph(node: Node, initializers: [string, HostTensor][]): Graph {
  return {
    nodes: [node],
    initializers: new Map(initializers),
    inputs: [{ name: 'x', dtype: 'float32', shape: [2, K] }],
    outputs: [{ name: 'y', dtype: 'float32', shape: [2, N] }],
    valueInfo: new Map(),
    opset: 17,
  };
}

/** A MatMulNBits node of x [2, K] by the packed weight w (K × N, blocks of BLOCK) with `bits`-bit codes. */
function matMulNBits(bits: number, inputs: string[]): Node {
  return {
    name: 'nbits',
    opType: 'MatMulNBits',
    domain: 'com.microsoft',
    attrs: {
      K: { type: 'int', value: K },
      N: { type: 'int', value: N },
      bits: { type: 'int', value: bits },
      block_size: { type: 'int', value: BLOCK },
    },
    inputs,
    outputs: ['y'],
  };
}

async function weightBytesAfterRun(g: Graph): Promise<number | undefined> {
  const session = await backend.loadGraph(g);
  try {
    await session.run({
      x: hostTensor(
        'float32',
        [2, K],
        Float32Array.from({ length: 2 * K }, (_, i) => i / K),
      ),
    });
    const before = session.lastRunStats()?.weightBytes;
    // A second run uploads nothing more.
    await session.run({ x: hostTensor('float32', [2, K], new Float32Array(2 * K)) });
    expect(session.lastRunStats()?.weightBytes).toBe(before);
    return before;
  } finally {
    await session.release();
  }
}

describe('weights held on the GPU', () => {
  it('a float32 MatMul weight is held as K·N words', async () => {
    const w = hostTensor(
      'float32',
      [K, N],
      Float32Array.from({ length: K * N }, (_, i) => Math.sin(i)),
    );
    const node: Node = {
      name: 'mm',
      opType: 'MatMul',
      domain: '',
      attrs: {},
      inputs: ['x', 'w'],
      outputs: ['y'],
    };
    expect(await weightBytesAfterRun(graph(node, [['w', w]]))).toBe(K * N * 4);
  });

  it.each([
    { scales: 'float32', bits: 5.25 },
    { scales: 'float16', bits: 4.75 },
  ] as const)(
    'a 4-bit MatMulNBits weight with $scales scales is held packed: $bits of 32 bits',
    async (c) => {
      const half = c.scales === 'float16';
      const node = matMulNBits(4, ['x', 'w', 's', 'z']);
      const blocks = N * BLOCKS;
      const scaleValues = Float32Array.from({ length: blocks }, (_, i) => (i + 1) / 64);
      const codes = N * BLOCKS * (BLOCK / 2); // two 4-bit codes a byte
      const zeros = N * Math.ceil(BLOCKS / 2); // two 4-bit zero points a byte in the file
      const held = await weightBytesAfterRun(
        graph(node, [
          [
            'w',
            hostTensor(
              'uint8',
              [N, BLOCKS, BLOCK / 2],
              Uint8Array.from({ length: codes }, (_, i) => i % 251),
            ),
          ],
          [
            's',
            half
              ? hostTensor('float16', [blocks], Uint16Array.from(scaleValues, toHalfBits))
              : hostTensor('float32', [blocks], scaleValues),
          ],
          // Zero points that differ from block to block (uniform ones are held in the shader, below).
          [
            'z',
            hostTensor(
              'uint8',
              [zeros],
              Uint8Array.from({ length: zeros }, (_, i) => (i * 37) % 256),
            ),
          ],
        ]),
      );
      // On the GPU: the scales as the file gives them (float16 ones stay half), then one zero-point byte per
      // block (passes/pack-quantized.ts), so the kernel reads bytes, then the codes.
      expect(held).toBe(codes + blocks * (half ? 2 : 4) + blocks);
      // Bits a weight: 4 for the code, 32 or 16 for the scale of each block of 32, 8 for its zero point.
      expect(held! / (K * N * 4)).toBeCloseTo(c.bits / 32, 6);
    },
  );

  // Other MatMulNBits forms: 8-bit codes held as bytes, 2-bit ones widened to nibbles (the kernels read nibbles
  // or bytes), and float zero points that are not whole codes dequantized to a float32 weight at load.
  it.each([
    { bits: 8, zeros: 'none', codeBytes: K * N, fractional: false },
    { bits: 2, zeros: 'none', codeBytes: (K * N) / 2, fractional: false },
    { bits: 4, zeros: 'whole floats', codeBytes: (K * N) / 2, fractional: false },
    { bits: 4, zeros: 'fractional floats', codeBytes: 0, fractional: true },
  ] as const)(
    'a $bits-bit MatMulNBits weight with $zeros zero points holds $codeBytes code bytes',
    async (c) => {
      const blocks = N * BLOCKS;
      const zeros: [string, HostTensor][] =
        c.zeros === 'none'
          ? []
          : [
              [
                'z',
                hostTensor(
                  'float32',
                  [N, BLOCKS],
                  Float32Array.from({ length: blocks }, (_, i) => (i % 15) + (c.fractional ? 0.5 : 0)),
                ),
              ],
            ];
      const node = matMulNBits(c.bits, ['x', 'w', 's', ...zeros.map(([name]) => name)]);
      const fileBytes = (N * K * c.bits) / 8;
      const held = await weightBytesAfterRun(
        graph(node, [
          ['w', hostTensor('uint8', [N, BLOCKS, (BLOCK * c.bits) / 8], new Uint8Array(fileBytes).fill(0x5a))],
          ['s', hostTensor('float32', [blocks], new Float32Array(blocks).fill(0.25))],
          ...zeros,
        ]),
      );
      // Packed: scales, one zero-point byte per block, the codes. Dequantized: K·N float32 words.
      // Zero points left out are all 2^(bits−1): uniform, so none are held.
      const zeroBytes = c.zeros === 'none' ? 0 : blocks;
      expect(held).toBe(c.fractional ? K * N * 4 : c.codeBytes + blocks * 4 + zeroBytes);
    },
  );

  // Opset 21 QDQ weights (DequantizeLinear blocked along K into a MatMul): packed at 4 bits when every code fits a
  // nibble (int4 files, held one code a byte after decoding), else at 8.
  it.each([
    { codes: 'int4 range', high: 7, codeBytes: (K * N) / 2 },
    { codes: 'int8 range', high: 100, codeBytes: K * N },
  ] as const)(
    'a blocked DequantizeLinear → MatMul weight with $codes codes holds $codeBytes code bytes',
    async (c) => {
      const blocks = N * BLOCKS;
      const g = graph(
        { name: 'mm', opType: 'MatMul', domain: '', attrs: {}, inputs: ['x', 'wf'], outputs: ['y'] },
        [
          [
            'w',
            hostTensor(
              'int8',
              [K, N],
              Int8Array.from({ length: K * N }, (_, i) => (i % (c.high + 9)) - 8),
            ),
          ],
          ['s', hostTensor('float32', [BLOCKS, N], new Float32Array(blocks).fill(0.5))],
        ],
      );
      g.nodes.unshift({
        name: 'dq',
        opType: 'DequantizeLinear',
        domain: '',
        attrs: { axis: { type: 'int', value: 0 }, block_size: { type: 'int', value: BLOCK } },
        inputs: ['w', 's'],
        outputs: ['wf'],
      });
      // No zero points: all 0 (offset with the codes), one uniform value, so none are held.
      expect(await weightBytesAfterRun(g)).toBe(c.codeBytes + blocks * 4);
    },
  );
});

// com.microsoft GatherBlockQuantized (the quantized embedding table of transformers.js q4 / q4f16 files) →
// webvl QGather on the table packed once at load in the layout the quantized matmuls read (pack-quantized.ts:
// block scales, zero points, 4- or 8-bit codes), so the table stays packed on the GPU (a 4-bit table takes an
// eighth of its f32 size plus the scales) and the gather kernel dequantizes only the rows it reads.
// Forms: uint8 data holding 4-bit (two per byte, low nibble first) or 8-bit codes, or int4 / uint4 data;
// gather_axis 0, blocks along the last axis (quantize_axis = last), float32 or float16 scales, optional zero
// points of the data's type (uint8 4-bit: two per byte; defaults 8, or 128 for 8-bit codes, and 0 for int4 /
// uint4), as onnxruntime's CPU kernel defines them.
import { WebvlError } from '../../../errors';
import { toValues } from '../ir/const-eval';
import { attrInt, type Graph, type Node, WEBVL_DOMAIN } from '../ir/ir';
import { layoutAttrs, packOnce } from './pack-quantized';
import { replaceNodes } from './pattern';

function invalid(node: Node, why: string): never {
  throw new WebvlError('INVALID_MODEL', `GatherBlockQuantized node '${node.name}': ${why}`);
}

/** Rewrites one GatherBlockQuantized node whose table is constant; false leaves it for load() to refuse. */
export function packGatherBlockQuantized(graph: Graph, node: Node): boolean {
  if (node.domain !== 'com.microsoft' || node.opType !== 'GatherBlockQuantized') return false;
  const [dataName, indices, scalesName, zerosName] = node.inputs;
  const data = graph.initializers.get(dataName);
  const scales = graph.initializers.get(scalesName);
  const zeros = zerosName ? graph.initializers.get(zerosName) : undefined;
  // int4 / uint4 data (the decoder's data_type, onnx-decode.ts) is held one code a byte; uint8 data packs 4-bit
  // codes two a byte (or holds 8-bit ones).
  const dataType = attrInt(node, 'data_type', 2);
  const nibbleTyped = dataType === 21 || dataType === 22;
  const signed = dataType === 22;
  if (!data || !scales || (zerosName && !zeros)) return false;
  if (data.dtype !== (signed ? 'int8' : 'uint8') || (!nibbleTyped && dataType !== 2)) return false;
  const rank = data.dims.length;
  const axis = (a: number) => (a < 0 ? a + rank : a);
  const bits = nibbleTyped ? 4 : attrInt(node, 'bits', 4);
  if (rank < 2 || axis(attrInt(node, 'gather_axis', 0)) !== 0) return false;
  if (axis(attrInt(node, 'quantize_axis', 1)) !== rank - 1 || (bits !== 4 && bits !== 8)) return false;
  const blockSize = attrInt(node, 'block_size', 128);
  if (blockSize < 16 || (blockSize & (blockSize - 1)) !== 0)
    invalid(node, `block_size ${blockSize} is not a power of two ≥ 16`);
  if (zeros && zeros.dtype !== data.dtype)
    invalid(node, `zero points are ${zeros.dtype}, data ${data.dtype}`);
  const perByte = nibbleTyped ? 1 : 8 / bits; // codes a stored element
  const stored = data.dims[rank - 1];
  const k = stored * perByte;
  const n = data.dims.slice(0, -1).reduce((a, b) => a * b, 1);
  const blocks = Math.ceil(k / blockSize);
  const expectScales = [...data.dims.slice(0, -1), blocks];
  if (scales.dims.join() !== expectScales.join())
    invalid(
      node,
      `scales are [${scales.dims}], data [${data.dims}] with block_size ${blockSize} needs [${expectScales}]`,
    );
  const zeroPerRow = Math.ceil(blocks / perByte);
  if (zeros && zeros.dims.join() !== [...data.dims.slice(0, -1), zeroPerRow].join())
    invalid(node, `zero points are [${zeros.dims}], expected [${[...data.dims.slice(0, -1), zeroPerRow]}]`);
  const codes = data.data as Uint8Array | Int8Array;
  const s = toValues(scales).data;
  const z = zeros?.data as Uint8Array | Int8Array | undefined;
  const mask = (1 << bits) - 1;
  // Signed int4 codes and zero points move to unsigned nibbles together: code − zero point is unchanged.
  const offset = signed ? 8 : 0;
  const packedName = `${dataName}_webvl_q${bits}_gather`;
  const layout = packOnce(graph, packedName, () => ({
    n,
    k,
    bits,
    blockSize,
    halfScales: scales.dtype === 'float16',
    code: (row, col) =>
      nibbleTyped
        ? codes[row * stored + col] + offset
        : (codes[row * stored + Math.floor(col / perByte)] >> ((col % perByte) * bits)) & mask,
    scale: (blk) => s[blk],
    zeroPoint: (blk) => {
      // onnxruntime's defaults: 0 for int4 / uint4 data, the middle code for uint8 data.
      if (!z) return nibbleTyped ? offset : 1 << (bits - 1);
      const row = Math.floor(blk / blocks);
      const j = blk % blocks;
      if (nibbleTyped) return z[row * zeroPerRow + j] + offset;
      return (z[row * zeroPerRow + Math.floor(j / perByte)] >> ((j % perByte) * bits)) & mask;
    },
  }));
  replaceNodes(graph, [node], {
    name: node.name,
    opType: 'QGather',
    domain: WEBVL_DOMAIN,
    attrs: {
      ...layoutAttrs(layout),
      // Logical dims of the table (the last one unpacked): the output is indices' dims + row_dims[1:].
      row_dims: { type: 'ints', value: [...data.dims.slice(0, -1), k] },
      // float16 scales make a float16 output (held as f32 on the GPU, like every float16 activation).
      to: { type: 'int', value: scales.dtype === 'float16' ? 10 : 1 },
    },
    inputs: [indices, packedName],
    outputs: [node.outputs[0]],
  });
  return true;
}

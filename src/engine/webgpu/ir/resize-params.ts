// ONNX Resize (opset 11+, and the older Resize-10 and Upsample forms): what a node asks for once its scales or sizes are known — output dims, per-axis
// scales and crop window, and the sampling modes — shared by shape inference (op-shapes.ts) and the lowering
// (plan/lowering.ts → ops/resize.ts). Arithmetic in f32 as onnxruntime does it: output dims
// floor(f32(scale · in)), scales derived from sizes f32(out / in); coordinates by the spec (see `lengths`).
import { WebvlError } from '../../../errors';
import { normAxis, type Values } from './const-eval';
import { attrFloat, attrFloats, attrInt, attrInts, attrString, type Node } from './ir';

export type ResizeMode = 'nearest' | 'linear' | 'cubic';
export type CoordinateMode =
  | 'half_pixel'
  | 'pytorch_half_pixel'
  | 'align_corners'
  | 'asymmetric'
  | 'tf_half_pixel_for_nn'
  | 'tf_crop_and_resize'
  | 'half_pixel_symmetric';
export type NearestMode = 'round_prefer_floor' | 'round_prefer_ceil' | 'floor' | 'ceil';

export const RESIZE_MODES: readonly ResizeMode[] = ['nearest', 'linear', 'cubic'];
export const COORDINATE_MODES: readonly CoordinateMode[] = [
  'half_pixel',
  'pytorch_half_pixel',
  'align_corners',
  'asymmetric',
  'tf_half_pixel_for_nn',
  'tf_crop_and_resize',
  'half_pixel_symmetric',
];
export const NEAREST_MODES: readonly NearestMode[] = [
  'round_prefer_floor',
  'round_prefer_ceil',
  'floor',
  'ceil',
];
const POLICIES = ['stretch', 'not_larger', 'not_smaller'];

export interface ResizeParams {
  readonly outDims: number[];
  /** Per axis, f32-rounded (1 on axes the node leaves alone). */
  readonly scales: number[];
  /**
   * The spec's length_resized per axis: f32(scale · in) when the node gives scales (or a keep-aspect policy
   * picks one scale), else the size given. The ONNX reference uses it (not the floored output length) in
   * align_corners, pytorch_half_pixel, tf_crop_and_resize and half_pixel_symmetric; onnxruntime uses the
   * output length, which differs only when scale · in is fractional.
   */
  readonly lengths: number[];
  /** Crop window per axis, as fractions of the input (tf_crop_and_resize only; else 0 and 1). */
  readonly roiStart: number[];
  readonly roiEnd: number[];
  readonly mode: ResizeMode;
  readonly coordinate: CoordinateMode;
  readonly nearest: NearestMode;
  readonly cubicA: number;
  readonly excludeOutside: boolean;
  readonly extrapolation: number;
}

/**
 * Why load() must refuse this Resize node (a form decidable from the node alone), or undefined: antialias
 * (opset 18) other than 0, unknown modes, and the opset-10 form (scales as input 1, no coordinate modes).
 */
export function resizeFormProblem(node: Node): string | undefined {
  if (attrInt(node, 'antialias', 0) !== 0) return 'antialias is not supported';
  const mode = attrString(node, 'mode', 'nearest');
  if (!RESIZE_MODES.includes(mode as ResizeMode)) return `mode '${mode}'`;
  const coord = attrString(node, 'coordinate_transformation_mode', 'half_pixel');
  if (!COORDINATE_MODES.includes(coord as CoordinateMode)) return `coordinate_transformation_mode '${coord}'`;
  const nearest = attrString(node, 'nearest_mode', 'round_prefer_floor');
  if (!NEAREST_MODES.includes(nearest as NearestMode)) return `nearest_mode '${nearest}'`;
  const policy = attrString(node, 'keep_aspect_ratio_policy', 'stretch');
  if (!POLICIES.includes(policy)) return `keep_aspect_ratio_policy '${policy}'`;
  return undefined;
}

function unsupported(node: Node, why: string): never {
  throw new WebvlError('UNSUPPORTED_OP', `${node.opType} node '${node.name}': ${why}`, {
    ops: [node.opType],
  });
}

function invalid(node: Node, why: string): never {
  throw new WebvlError('INVALID_MODEL', `${node.opType} node '${node.name}': ${why}`);
}

/**
 * Upsample (opsets 7-9) and Resize-10: scales only (the attribute before opset 9, then input 1), nearest or
 * linear, asymmetric coordinates. Nearest picks pixels as onnxruntime does for these opsets, per axis: floor
 * when enlarging, ceil when shrinking (a node that does both is refused, as our modes are per node).
 */
function legacyParams(
  node: Node,
  inDims: readonly number[],
  constant: (i: number) => Values | undefined,
  opset: number,
): ResizeParams {
  const fromAttribute = node.opType === 'Upsample' && opset < 9;
  const given = fromAttribute ? attrFloats(node, 'scales') : constant(1)?.data;
  if (!given) return unsupported(node, 'scales must be known at plan time');
  const rank = inDims.length;
  if (given.length !== rank) invalid(node, `${given.length} scales for rank ${rank}`);
  const scales = Array.from(given, (s) => Math.fround(s));
  if (scales.some((s) => !(s > 0))) invalid(node, `scales [${scales}] must be positive`);
  const mode = attrString(node, 'mode', 'nearest');
  if (mode !== 'nearest' && mode !== 'linear') return unsupported(node, `mode '${mode}'`);
  if (mode === 'nearest' && scales.some((s) => s > 1) && scales.some((s) => s < 1))
    unsupported(node, `nearest, enlarging and shrinking at once (scales [${scales}])`);
  const lengths = scales.map((s, a) => Math.fround(s * inDims[a]));
  return {
    outDims: lengths.map(Math.floor),
    scales,
    lengths,
    roiStart: new Array<number>(rank).fill(0),
    roiEnd: new Array<number>(rank).fill(1),
    mode,
    coordinate: 'asymmetric',
    nearest: scales.some((s) => s < 1) ? 'ceil' : 'floor',
    cubicA: -0.75,
    excludeOutside: false,
    extrapolation: 0,
  };
}

/** Resize's parameters for input dims `inDims`; roi/scales/sizes must be constants by now. */
export function resizeParams(
  node: Node,
  inDims: readonly number[],
  constant: (i: number) => Values | undefined,
  opset: number,
): ResizeParams {
  if (opset < 11 || node.opType === 'Upsample') return legacyParams(node, inDims, constant, opset);
  const problem = resizeFormProblem(node);
  if (problem) unsupported(node, problem);
  const rank = inDims.length;
  const given = (i: number): number[] | undefined => {
    if (!node.inputs[i]) return undefined;
    const v = constant(i);
    if (!v) unsupported(node, `input ${i} must be known at plan time`);
    return v.data.length > 0 ? Array.from(v.data) : undefined;
  };
  const axesAttr = attrInts(node, 'axes');
  const axes = axesAttr ? axesAttr.map((a) => normAxis(a, rank)) : [...Array(rank).keys()];
  const coordinate = attrString(node, 'coordinate_transformation_mode', 'half_pixel') as CoordinateMode;
  const scalesIn = given(2);
  const sizesIn = given(3);
  if (!!scalesIn === !!sizesIn) invalid(node, 'exactly one of scales and sizes must be given');
  const scales = new Array<number>(rank).fill(1);
  const outDims = [...inDims];
  const lengths = [...inDims];
  if (scalesIn) {
    if (scalesIn.length !== axes.length) invalid(node, `${scalesIn.length} scales for ${axes.length} axes`);
    axes.forEach((a, i) => {
      const s = Math.fround(scalesIn[i]);
      if (!(s > 0)) invalid(node, `scale ${scalesIn[i]} is not positive`);
      scales[a] = s;
      lengths[a] = Math.fround(s * inDims[a]);
      outDims[a] = Math.floor(lengths[a]);
    });
  } else if (sizesIn) {
    if (sizesIn.length !== axes.length) invalid(node, `${sizesIn.length} sizes for ${axes.length} axes`);
    const ratios = axes.map((a, i) => Math.fround(sizesIn[i] / inDims[a]));
    const policy = attrString(node, 'keep_aspect_ratio_policy', 'stretch');
    if (policy === 'stretch') {
      axes.forEach((a, i) => {
        outDims[a] = sizesIn[i];
        lengths[a] = sizesIn[i];
        scales[a] = ratios[i];
      });
    } else {
      // One scale for every listed axis, the smaller (not_larger) or larger (not_smaller) of the ratios.
      const s = policy === 'not_larger' ? Math.min(...ratios) : Math.max(...ratios);
      for (const a of axes) {
        scales[a] = s;
        lengths[a] = Math.fround(s * inDims[a]);
        outDims[a] = Math.round(lengths[a]);
      }
    }
  }
  const roiStart = new Array<number>(rank).fill(0);
  const roiEnd = new Array<number>(rank).fill(1);
  if (coordinate === 'tf_crop_and_resize') {
    const roi = given(1);
    if (!roi) invalid(node, 'tf_crop_and_resize needs a roi');
    if (roi.length !== 2 * axes.length) invalid(node, `${roi.length} roi values for ${axes.length} axes`);
    axes.forEach((a, i) => {
      roiStart[a] = roi[i];
      roiEnd[a] = roi[i + axes.length];
    });
  }
  return {
    outDims,
    scales,
    lengths,
    roiStart,
    roiEnd,
    mode: attrString(node, 'mode', 'nearest') as ResizeMode,
    coordinate,
    nearest: attrString(node, 'nearest_mode', 'round_prefer_floor') as NearestMode,
    cubicA: attrFloat(node, 'cubic_coeff_a', -0.75),
    excludeOutside: attrInt(node, 'exclude_outside', 0) === 1,
    extrapolation: attrFloat(node, 'extrapolation_value', 0),
  };
}

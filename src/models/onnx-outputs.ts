// The output names of an ONNX model, read straight from the protobuf wire format without decoding the rest
// (initializers are most of the bytes). Loading needs them before creating a session, to say which outputs
// stay on the GPU; asking a backend instead meant creating every GPU session twice.
import { WebvlError } from '../errors';

const MODEL_GRAPH = 7; // ModelProto.graph
const GRAPH_OUTPUT = 12; // GraphProto.output
const VALUE_INFO_NAME = 1; // ValueInfoProto.name

function invalid(what: string): WebvlError {
  return new WebvlError('INVALID_MODEL', `not an ONNX model: ${what}`);
}

class Reader {
  at: number;
  constructor(
    readonly bytes: Uint8Array,
    from: number,
    readonly end: number,
  ) {
    this.at = from;
  }

  varint(): number {
    let value = 0;
    for (let shift = 0; shift < 64; shift += 7) {
      if (this.at >= this.end) throw invalid('truncated varint');
      const b = this.bytes[this.at++];
      // Lengths and tags fit in 2^53; larger varints are only ever skipped.
      value += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return value;
    }
    throw invalid('varint longer than 10 bytes');
  }

  /** Calls `field` with each field's number, wire type and (for length-delimited fields) its extent. */
  fields(field: (num: number, start: number, end: number) => void): void {
    while (this.at < this.end) {
      const tag = this.varint();
      const num = Math.floor(tag / 8);
      const wire = tag % 8;
      if (wire === 0) this.varint();
      else if (wire === 1) this.at += 8;
      else if (wire === 5) this.at += 4;
      else if (wire === 2) {
        const len = this.varint();
        const start = this.at;
        this.at += len;
        if (this.at > this.end) throw invalid('field runs past its message');
        field(num, start, this.at);
      } else throw invalid(`wire type ${wire}`);
      if (this.at > this.end) throw invalid('field runs past its message');
    }
  }
}

export function onnxOutputNames(model: Uint8Array): string[] {
  const names: string[] = [];
  let graphs = 0;
  new Reader(model, 0, model.length).fields((num, start, end) => {
    if (num !== MODEL_GRAPH) return;
    graphs++;
    new Reader(model, start, end).fields((gnum, gstart, gend) => {
      if (gnum !== GRAPH_OUTPUT) return;
      let name = '';
      new Reader(model, gstart, gend).fields((vnum, vstart, vend) => {
        if (vnum === VALUE_INFO_NAME) name = new TextDecoder().decode(model.subarray(vstart, vend));
      });
      names.push(name);
    });
  });
  if (graphs !== 1) throw invalid(graphs ? 'more than one graph' : 'no graph');
  return names;
}

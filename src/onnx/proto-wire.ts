// The protobuf wire format, read in place: enough to walk an ONNX model's fields without decoding it (its
// tensors' bytes are skipped, never copied). Used by graph-io.ts and models/external-data.ts.

export interface Field {
  readonly no: number;
  /** Varint value (wire type 0). */
  readonly value?: number;
  /** Byte range of a length-delimited field (wire type 2). */
  readonly start?: number;
  readonly end?: number;
}

export class Cursor {
  constructor(
    private readonly bytes: Uint8Array,
    public at: number,
    private readonly end: number,
  ) {}

  get done(): boolean {
    return this.at >= this.end;
  }

  varint(): number {
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (this.at >= this.end) throw new Error('truncated varint');
      const b = this.bytes[this.at++];
      result += (b & 0x7f) * scale;
      if (b < 0x80) return result;
      scale *= 128;
    }
    throw new Error('varint too long');
  }

  next(): Field {
    const key = this.varint();
    const no = Math.floor(key / 8);
    switch (key & 7) {
      case 0:
        return { no, value: this.varint() };
      case 1:
        this.skip(8);
        return { no };
      case 2: {
        const length = this.varint();
        const start = this.at;
        this.skip(length);
        return { no, start, end: start + length };
      }
      case 5:
        this.skip(4);
        return { no };
      default:
        throw new Error(`unsupported wire type ${key & 7}`);
    }
  }

  private skip(n: number): void {
    if (this.at + n > this.end) throw new Error('truncated field');
    this.at += n;
  }
}

/** Every length-delimited field numbered `no` in [start, end). */
export function children(bytes: Uint8Array, start: number, end: number, no: number): [number, number][] {
  const out: [number, number][] = [];
  const c = new Cursor(bytes, start, end);
  while (!c.done) {
    const f = c.next();
    if (f.no === no && f.start !== undefined && f.end !== undefined) out.push([f.start, f.end]);
  }
  return out;
}

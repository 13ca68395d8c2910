// How gather.wgsl reads its table: one 32-bit word per element, whatever the dtype.
@group(0) @binding(0) var<storage, read> data: array<u32>;

fn table_word(e: u32) -> u32 {
  return data[e];
}

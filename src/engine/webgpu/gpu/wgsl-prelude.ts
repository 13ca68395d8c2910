// The index helpers of shaders/prelude.wgsl, spliced into every shader module this engine compiles (after the
// module's `enable` directives, which WGSL wants first), so kernels share one copy instead of each writing its own.
import preludeWgsl from '../../../../shaders/prelude.wgsl?raw';

export function withPrelude(wgsl: string): string {
  const lines = wgsl.split('\n');
  let at = 0;
  while (at < lines.length && /^\s*(enable\s|\/\/|$)/.test(lines[at])) at++;
  return [...lines.slice(0, at), preludeWgsl, ...lines.slice(at)].join('\n');
}

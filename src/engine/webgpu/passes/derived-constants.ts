// Constants a pass derives from the model's own (merged projection weights): made once per set of sources, so
// every input-shape signature's specialization gets the same tensor, and the session uploads it once and
// shares it between plans, as it does the model's initializers. Made anew per specialization, a 259M decoder's
// merged projections were concatenated on the host and uploaded again for every new past length.
import type { HostTensor } from '../../tensor';

const ids = new WeakMap<HostTensor, number>();
let nextId = 0;
const made = new WeakMap<HostTensor, Map<string, HostTensor>>();
const sourcesOf = new WeakMap<HostTensor, readonly HostTensor[]>();

function idOf(t: HostTensor): number {
  let id = ids.get(t);
  if (id === undefined) {
    id = nextId++;
    ids.set(t, id);
  }
  return id;
}

/** The tensor `make` builds from `sources` (for `tag`), built on the first call only. */
export function derivedConstant(
  sources: readonly HostTensor[],
  tag: string,
  make: () => HostTensor,
): HostTensor {
  const key = `${tag}:${sources.map(idOf).join(',')}`;
  let byKey = made.get(sources[0]);
  if (!byKey) {
    byKey = new Map();
    made.set(sources[0], byKey);
  }
  let t = byKey.get(key);
  if (!t) {
    t = make();
    sourcesOf.set(t, [...sources]);
    byKey.set(key, t);
  }
  return t;
}

/** The tensors `t` was derived from by derivedConstant, or undefined for any other tensor. */
export function derivedFrom(t: HostTensor): readonly HostTensor[] | undefined {
  return sourcesOf.get(t);
}

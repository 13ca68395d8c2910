// Writes models/<name>/manifest.json (size + sha256 of every file) for each model folder given, or for
// every folder under models/ that has a config.json.  Run: npx tsx src/models/make-manifest.ts [dir…]
// (for any other folder: npx webvl manifest DIR, the same code in bin/manifest.mjs).
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, sep } from 'node:path';
import { buildManifest as build, writeManifest } from '../../bin/manifest.mjs';
import type { ModelManifest } from './manifest';

export function buildManifest(dir: string): ModelManifest {
  return build(dir);
}

function modelDirs(args: string[]): string[] {
  if (args.length) return args;
  const root = 'models';
  return readdirSync(root)
    .map((n) => join(root, n))
    .filter((d) => statSync(d).isDirectory() && existsSync(join(d, 'config.json')));
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split(sep).pop() ?? '')) {
  for (const dir of modelDirs(process.argv.slice(2))) {
    const manifest = writeManifest(dir);
    const total = Object.values(manifest.files).reduce((s, f) => s + f.size, 0);
    console.log(`${dir}: ${Object.keys(manifest.files).length} files, ${total} bytes`);
  }
}

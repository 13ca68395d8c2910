// manifest.json for a model folder: every file with its size and SHA-256, so webvl shows byte progress up front
// and refuses a file whose bytes changed. Shared by the `webvl manifest` command and src/models/make-manifest.ts.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';

export const MANIFEST_FILE = 'manifest.json';

function listFiles(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...listFiles(path));
    else out.push(path);
  }
  return out;
}

/** The manifest of every file under `dir` except manifest.json itself and dot-files. */
export function buildManifest(dir) {
  const files = {};
  for (const path of listFiles(dir)) {
    const rel = relative(dir, path).split(sep).join('/');
    if (rel === MANIFEST_FILE || rel.split('/').some((part) => part.startsWith('.'))) continue;
    const bytes = readFileSync(path);
    files[rel] = { size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') };
  }
  return { version: 1, files };
}

/** Writes DIR/manifest.json and returns what it holds. */
export function writeManifest(dir) {
  const manifest = buildManifest(dir);
  writeFileSync(join(dir, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}

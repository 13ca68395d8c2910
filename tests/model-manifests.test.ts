// Every shipped model folder's manifest must describe the files actually committed: a stale hash makes the
// runtime refuse the model (INTEGRITY_MISMATCH) in users' browsers.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MANIFEST_FILE, parseManifest } from '../src/models/manifest';

const folders = readdirSync('models', { withFileTypes: true })
  .filter((d) => d.isDirectory() && existsSync(join('models', d.name, 'config.json')))
  .map((d) => join('models', d.name));

describe('model manifests', () => {
  it('there are model folders to check', () => {
    expect(folders.length).toBeGreaterThan(0);
  });

  for (const folder of folders) {
    it(`${folder}: every file the runtime loads is listed with its true size and sha256`, () => {
      const manifest = parseManifest(JSON.parse(readFileSync(join(folder, MANIFEST_FILE), 'utf8')), folder);
      for (const needed of ['config.json', 'tokenizer.json', 'preprocessor_config.json']) {
        expect(Object.keys(manifest.files)).toContain(needed);
      }
      for (const [path, entry] of Object.entries(manifest.files)) {
        const bytes = readFileSync(join(folder, path));
        expect(bytes.length, `${path} size`).toBe(entry.size);
        expect(createHash('sha256').update(bytes).digest('hex'), `${path} sha256`).toBe(entry.sha256);
      }
    });
  }
});

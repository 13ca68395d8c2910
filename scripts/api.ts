// The public API's declarations, report and docs, from the TSDoc of src/index.ts's exports:
//   .tmp/api/dts/      declarations emitted by tsc (tsconfig.api.json)
//   dist/webvl.d.ts    one rolled-up declaration file, what package.json's `types` points at
//   etc/webvl.api.md   the API report (committed): the public surface as reviewed
//   dist/docs/api/     markdown reference (API Documenter)
// Without --update this fails when the surface differs from etc/webvl.api.md, so a change to the public API
// cannot land (or be packed) without its report; `npm run api:update` rewrites the report to commit with it.
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { Extractor, ExtractorConfig } from '@microsoft/api-extractor';

const root = resolve(import.meta.dirname, '..');
const update = process.argv.includes('--update');
const bin = (name: string) => resolve(root, 'node_modules/.bin', name);

rmSync(resolve(root, '.tmp/api'), { recursive: true, force: true });
execFileSync(bin('tsc'), ['-p', 'tsconfig.api.json'], { cwd: root, stdio: 'inherit' });

const config = ExtractorConfig.loadFileAndPrepare(resolve(root, 'api-extractor.json'));
const result = Extractor.invoke(config, { localBuild: update, showVerboseMessages: false });
if (!result.succeeded) {
  console.error(
    result.apiReportChanged
      ? 'The public API changed and etc/webvl.api.md does not say so: run `npm run api:update`, review the ' +
          'report diff and commit it with the change.'
      : `API Extractor failed: ${result.errorCount} errors, ${result.warningCount} warnings.`,
  );
  process.exit(1);
}

const docs = resolve(root, 'dist/docs/api');
rmSync(docs, { recursive: true, force: true });
execFileSync(bin('api-documenter'), ['markdown', '-i', resolve(root, '.tmp/api'), '-o', docs], {
  cwd: root,
  stdio: ['ignore', 'ignore', 'inherit'],
});
console.log(`API report up to date; declarations in dist/webvl.d.ts, docs in ${docs}`);

// Packs the built package (`npm pack` of bindings-web/npm/dist), installs the tarball
// into a fresh temporary project, and uses it from there: imports it from Node through
// its "exports" (no path tricks), checks the file list is the "files" whitelist, the
// .wasm subpath export, and type-checks types.test.ts against the installed types.
// Needs no registry: the package has no dependencies.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, copyFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const dist = fileURLToPath(new URL('../dist/', import.meta.url));
const root = fileURLToPath(new URL('../../../', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'kiln-pack-'));
const sh = (cmd, args, cwd) => {
  try {
    return execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    throw new Error(`${cmd} ${args.join(' ')} failed:\n${e.stdout ?? ''}${e.stderr ?? ''}`);
  }
};
const npmFlags = ['--no-audit', '--no-fund', '--loglevel=error', '--offline'];

test.after(() => rmSync(tmp, { recursive: true, force: true }));

let tarball;
test('npm pack gives exactly the whitelisted files', () => {
  const [info] = JSON.parse(sh('npm', ['pack', '--json', '--pack-destination', tmp, dist], root));
  tarball = join(tmp, info.filename);
  const files = info.files.map((f) => f.path).sort();
  const pkg = JSON.parse(readFileSync(join(dist, 'package.json'), 'utf8'));
  assert.deepEqual(files, [...pkg.files, 'package.json'].sort());
  assert.equal(info.name, '@kiln/kernel');
  assert.ok(statSync(tarball).size > 100_000);
});

test('installs into a fresh project and imports from Node', () => {
  const app = join(tmp, 'app');
  sh('mkdir', ['-p', app]);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
  sh('npm', ['install', ...npmFlags, tarball], app);
  writeFileSync(
    join(app, 'main.js'),
    `import { run, describe, image, KilnError } from '@kiln/kernel';
import { KilnWorker } from '@kiln/kernel/worker';
import { readFileSync } from 'node:fs';
const photo = readFileSync(${JSON.stringify(join(root, 'tests/data/photo.jpg'))});
const a = run('resize width=32 | encode format=png', photo);
const b = await image(photo).resize({ width: 32 }).encode('png').run();
let code = null;
try { run('nope', photo); } catch (e) { code = e instanceof KilnError ? e.code : 'wrong class'; }
const wasm = import.meta.resolve('@kiln/kernel/kiln.wasm');
console.log(JSON.stringify({ width: a.meta.width, same: Buffer.compare(a.data, b.data) === 0, code,
  version: describe().version, worker: typeof KilnWorker, wasm: wasm.endsWith('/kiln_bg.wasm'),
  sha: (await import('node:crypto')).createHash('sha256').update(a.data).digest('hex') }));
`,
  );
  const result = JSON.parse(sh('node', ['main.js'], app));
  assert.equal(result.width, 32);
  assert.equal(result.same, true);
  assert.equal(result.code, 'bad_pipeline');
  assert.equal(result.worker, 'function');
  assert.equal(result.wasm, true);
  // The same bytes as the package in the repo.
  const local = execFileSync('node', ['--input-type=module', '-e', `
    import { run } from ${JSON.stringify(join(dist, 'node.js'))};
    import { readFileSync } from 'node:fs';
    import { createHash } from 'node:crypto';
    const out = run('resize width=32 | encode format=png', readFileSync(${JSON.stringify(join(root, 'tests/data/photo.jpg'))}));
    console.log(createHash('sha256').update(out.data).digest('hex'));`], { encoding: 'utf8' }).trim();
  assert.equal(result.sha, local);

  // The types resolve through "exports" (the "types" condition) in a fresh project.
  copyFileSync(fileURLToPath(new URL('types.test.ts', import.meta.url)), join(app, 'types.test.ts'));
  writeFileSync(
    join(app, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: { target: 'es2022', module: 'nodenext', moduleResolution: 'nodenext', lib: ['es2022', 'dom'], strict: true, noEmit: true, types: [] },
      files: ['types.test.ts'],
    }),
  );
  sh('node', [join(root, 'node_modules/typescript/bin/tsc'), '-p', app], app);
});

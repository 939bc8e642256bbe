// The packed package names no file it does not ship: no source map in it points at a missing
// source (maps of dist/ are not shipped: their sources, src/*.ts, are not in the package, and under
// --enable-source-maps users would see frames in files that do not exist), and no script's
// `//# sourceMappingURL=` comment names a missing map.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

const ROOT = path.join(__dirname, '..', '..');

test('no file of the packed package names a map or a source that is not in the package', () => {
  // --ignore-scripts: the suite runs on the dist/ that `npm test` has just built.
  const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const files = new Set<string>((JSON.parse(out) as { files: { path: string }[] }[])[0]!.files.map((f) => f.path));
  assert.ok(files.has('dist/index.js') && files.has('dist/own.js'), 'the pack lists dist/');
  let scripts = 0;
  for (const file of files) {
    const text = fs.readFileSync(path.join(ROOT, file), 'utf8');
    if (file.endsWith('.map')) {
      const map = JSON.parse(text) as { sources?: string[]; sourceRoot?: string };
      for (const source of map.sources ?? []) {
        const named = path.posix.normalize(path.posix.join(path.posix.dirname(file), map.sourceRoot ?? '', source));
        assert.ok(files.has(named), `${file} names ${source}, which the package does not ship`);
      }
    } else if (/\.(c|m)?js$/.test(file)) {
      scripts++;
      const url = /\/\/[#@] sourceMappingURL=(\S+)\s*$/.exec(text)?.[1];
      if (url === undefined || url.startsWith('data:')) continue;
      const named = path.posix.normalize(path.posix.join(path.posix.dirname(file), url));
      assert.ok(files.has(named), `${file} names its map ${url}, which the package does not ship`);
    }
  }
  assert.ok(scripts > 20, `${scripts} scripts checked`);
});

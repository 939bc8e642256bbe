'use strict';
// Marks every module of dist/ with the range it occupies, for src/own.ts: a call of `enter()`
// appended to its first line (after "use strict", before tsc's helpers) and a call of `leave()`
// as its last statement. Lines are not shifted, so the shipped source maps stay exact. Frames
// inside these ranges are the library's, in its own files as well as inside an app's bundle.
const fs = require('node:fs');
const path = require('node:path');

const dist = path.resolve(process.argv[2] ?? path.join(__dirname, '..', 'dist'));
const MARK = '__tracemallocOwnModule';

function* jsFiles(dir) {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) yield* jsFiles(file);
    else if (entry.isFile() && entry.name.endsWith('.js')) yield file;
  }
}

let marked = 0;
for (const file of jsFiles(dist)) {
  const rel = path.relative(dist, file);
  if (rel === 'own.js') continue; // marks itself
  const text = fs.readFileSync(file, 'utf8');
  if (text.includes(MARK)) continue; // already marked (an incremental build)
  const lines = text.split('\n');
  const strict = lines.indexOf('"use strict";');
  if (strict < 0 || strict > 1) throw new Error(`${file}: no "use strict"; on its first lines, cannot mark it`);
  let own = path.relative(path.dirname(file), path.join(dist, 'own.js')).split(path.sep).join('/');
  if (!own.startsWith('.')) own = `./${own}`;
  lines[strict] += ` const ${MARK} = require(${JSON.stringify(own)}).enter();`;
  let last = lines.length - 1;
  while (last > 0 && lines[last] === '') last--;
  const mapLine = lines[last].startsWith('//# sourceMappingURL=') ? last : last + 1;
  lines.splice(mapLine, 0, `${MARK}.leave();`);
  fs.writeFileSync(file, lines.join('\n'));
  marked++;
}
if (marked === 0 && !fs.existsSync(path.join(dist, 'own.js'))) throw new Error(`no module marked in ${dist}`);

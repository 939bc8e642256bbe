// Writes an ES module wrapper (and its .d.mts) beside each CommonJS entry point in dist/, so
// `import` and `require` share one implementation and one tracer state (no dual-package hazard).
const fs = require('node:fs');
const path = require('node:path');

const dist = path.join(__dirname, '..', 'dist');
const entries = [
  { name: 'index', sideEffectOnly: false },
  { name: 'testing', sideEffectOnly: false },
  { name: 'register', sideEffectOnly: true },
];

for (const { name, sideEffectOnly } of entries) {
  const cjsFile = path.join(dist, `${name}.js`);
  if (!fs.existsSync(cjsFile)) continue;
  let js;
  if (sideEffectOnly) {
    js = `import './${name}.js';\n`;
  } else {
    const names = Object.keys(require(cjsFile)).filter((k) => k !== 'default' && k !== '__esModule');
    js = `import cjs from './${name}.js';\n` +
      `export const { ${names.join(', ')} } = cjs;\n` +
      `export default cjs;\n`;
  }
  fs.writeFileSync(path.join(dist, `${name}.mjs`), js);
  // The ES module's default export is the CommonJS module's exports object: its typings say so,
  // so that \`import tm from 'tracemalloc'\` type-checks as it runs.
  const dts = sideEffectOnly
    ? 'export {};\n'
    : `export * from './${name}.js';\nimport * as cjs from './${name}.js';\nexport default cjs;\n`;
  fs.writeFileSync(path.join(dist, `${name}.d.mts`), dts);
}

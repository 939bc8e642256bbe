#!/usr/bin/env node
// Regenerates docs/bad-input.md from the case list in test/bad-input.test.ts, by running that test
// with BAD_INPUT_DOC=write. Build first (npm run build && npm run build:test).
'use strict';
const { spawnSync } = require('node:child_process');
const path = require('node:path');

const root = path.join(__dirname, '..');
const r = spawnSync(process.execPath, ['--test', path.join('build', 'test', 'bad-input.test.js')], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, BAD_INPUT_DOC: 'write' },
});
process.exit(r.status ?? 1);

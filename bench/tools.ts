/**
 * Real tools, side by side: each tool (installed as a pinned devDependency) runs on a realistic
 * input untraced, with the preload only (`node --import tracemalloc/register`, `NODE_TRACEMALLOC=1`:
 * the sampler runs, no exit report) and under `tracemalloc run` (the CLI's process, the preload and
 * the exit report: snapshot, conversion, source maps, the printed top). The measure is the CPU
 * time of the whole process tree (bench/procs.ts); every round runs every tool in every
 * configuration, in an order that rotates from round to round, and a ratio is the median of the
 * per-round ratios to the untraced run of the same round.
 *
 *   npm run bench -- tools                 every tool
 *   npm run bench -- tools:eslint,yaml     some of them (names: see TOOLS)
 *
 * TypeScript 7's `tsc` is a native (Go) program: no JavaScript heap to trace, and `tracemalloc run`
 * would only see its launcher. The type-check therefore runs TypeScript 5.9's JavaScript compiler
 * (typescript@5.9.3, installed once into build/tools/ts5 by scripts/fetch-ts5-tools.sh: an npm alias
 * as a devDependency would take over node_modules/.bin/tsc from TypeScript 7). esbuild is native too: its row
 * measures a Node.js program driving esbuild's Go binary through its JS API, where only the
 * JavaScript side is traced.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { QUICK, emit, formatBytes, formatMs, formatRatio, log, prng, tempDir, type BenchCheck, type BenchTable } from './lib.js';
import { CONFIGS, ROOT, commandFor, measureProcess, selectedCases, spread, type Config, type ProcResult } from './procs.js';

const ROUNDS = QUICK ? 2 : 5;
/** Warm-up rounds: every tool once, untraced only (page cache, disk), not measured. */
const WARMUP = QUICK ? 0 : 1;
const TARGET_RUN = 1.1;
const TARGET_PRELOAD = 1.05;

const NM = join(ROOT, 'node_modules');

interface Prepared {
  /** Arguments of `node`. */
  nodeArgs: string[];
  cwd: string;
  /** The input, in words, with its size. */
  input: string;
}

interface Tool {
  name: string;
  title: string;
  /** False for a tool whose work is mostly native code the tracer cannot see. */
  js: boolean;
  prepare(dir: string): Prepared;
}

// ---------------------------------------------------------------------------------------------
// Inputs: real code from node_modules (pinned versions, so identical on every run) or generated
// from a seeded PRNG.

function walkJs(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...walkJs(p));
    else if (e.name.endsWith('.js')) out.push(p);
  }
  return out;
}

/** A stream of Kubernetes-like manifests: maps, sequences, flow collections, quoted and block scalars, anchors. */
function generateYaml(targetBytes: number): string {
  const rand = prng(17);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const words = ['alpha', 'beta', 'gamma', 'delta', 'service', 'worker', 'cache', 'queue', 'gateway', 'billing', 'search', 'auth'];
  const parts: string[] = [];
  let size = 0;
  for (let i = 0; size < targetBytes; i++) {
    const name = `${pick(words)}-${pick(words)}-${i}`;
    const env = Array.from({ length: 3 + Math.floor(rand() * 8) }, (_, k) =>
      `            - name: ${pick(words).toUpperCase()}_${k}\n              value: "${pick(words)}:${Math.floor(rand() * 1e6)}"`).join('\n');
    const ports = Array.from({ length: 1 + Math.floor(rand() * 3) }, (_, k) => `{ containerPort: ${8000 + k}, protocol: TCP }`).join(', ');
    const doc = `---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
  namespace: ${pick(words)}
  labels: &labels
    app: ${name}
    tier: ${pick(['frontend', 'backend', 'data'])}
    version: "1.${i % 40}.${Math.floor(rand() * 20)}"
  annotations:
    description: >-
      ${name} handles ${pick(words)} requests for the ${pick(words)} team,
      and keeps a ${pick(words)} of ${Math.floor(rand() * 1000)} entries.
spec:
  replicas: ${1 + Math.floor(rand() * 9)}
  selector:
    matchLabels: *labels
  template:
    metadata:
      labels: *labels
    spec:
      containers:
        - name: main
          image: registry.example.com/${name}:${Math.floor(rand() * 100)}.${Math.floor(rand() * 100)}
          args: ["--port", "8080", "--log-level", "${pick(['debug', 'info', 'warn'])}"]
          ports: [${ports}]
          env:
${env}
          resources:
            limits: { cpu: "${Math.floor(rand() * 4000)}m", memory: ${Math.floor(rand() * 4096)}Mi }
            requests: { cpu: 100m, memory: 128Mi }
          livenessProbe:
            httpGet: { path: /healthz, port: 8080 }
            periodSeconds: ${5 + Math.floor(rand() * 30)}
      volumes:
        - name: config
          configMap:
            name: ${name}-config
            items:
              - key: app.yaml
                path: app.yaml
`;
    parts.push(doc);
    size += doc.length;
  }
  return parts.join('');
}

/** Documentation-like Markdown: headings, paragraphs with inline markup and links, lists, code blocks, tables. */
function generateMarkdown(targetBytes: number): string {
  const rand = prng(23);
  const words = ['memory', 'snapshot', 'trace', 'allocation', 'heap', 'sample', 'interval', 'frame', 'leak', 'buffer', 'profile', 'the', 'of', 'and', 'a'];
  const sentence = (): string => {
    const n = 6 + Math.floor(rand() * 14);
    const ws = Array.from({ length: n }, () => words[Math.floor(rand() * words.length)]!);
    const k = Math.floor(rand() * n);
    const r = rand();
    if (r < 0.2) ws[k] = `**${ws[k]}**`;
    else if (r < 0.4) ws[k] = `\`${ws[k]}()\``;
    else if (r < 0.55) ws[k] = `[${ws[k]}](https://example.com/${ws[k]}#${k})`;
    else if (r < 0.65) ws[k] = `_${ws[k]}_`;
    return `${ws.join(' ')}.`;
  };
  const parts: string[] = [];
  let size = 0;
  for (let s = 0; size < targetBytes; s++) {
    const block: string[] = [`${'#'.repeat(1 + (s % 3))} Section ${s}: ${sentence()}`, ''];
    for (let p = 0; p < 3; p++) block.push(Array.from({ length: 2 + Math.floor(rand() * 4) }, sentence).join(' '), '');
    for (let i = 0; i < 4; i++) block.push(`${rand() < 0.5 ? '-' : `${i + 1}.`} ${sentence()}`);
    block.push('', '```js', `const snapshot${s} = tracemalloc.takeSnapshot();`, `for (const stat of snapshot${s}.statistics('lineno').slice(0, ${s % 10})) console.log(String(stat));`, '```', '');
    block.push('| site | size | count |', '| --- | ---: | ---: |');
    for (let r = 0; r < 4; r++) block.push(`| src/file${r}.js:${Math.floor(rand() * 500)} | ${Math.floor(rand() * 1e6)} B | ${Math.floor(rand() * 1e4)} |`);
    block.push('', `> ${sentence()}`, '');
    const text = block.join('\n');
    parts.push(text);
    size += text.length;
  }
  return parts.join('\n');
}

/**
 * TypeScript 5.9's node_modules: scripts/fetch-ts5-tools.sh installs it once into build/tools/ts5
 * (it cannot be a devDependency: an alias of typescript@5 would take over node_modules/.bin/tsc
 * from TypeScript 7).
 */
function typescript5(): string {
  const out = execFileSync(join(ROOT, 'scripts', 'fetch-ts5-tools.sh'), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: 300_000 });
  return out.trim().split('\n').pop()!;
}

/** A driver script (CommonJS) in `dir`: `require`s go to the repository's node_modules by absolute path. */
function driver(dir: string, name: string, body: string): string {
  const file = join(dir, name);
  writeFileSync(file, `'use strict';\nconst NM = ${JSON.stringify(NM)};\n${body}\n`);
  return file;
}

const BUNDLE_ENTRY = `import { marked } from 'marked';
import jsyaml from 'js-yaml';
export function render(text) {
  return marked.parse(text) + JSON.stringify(jsyaml.load(text));
}
`;

const TOOLS: Tool[] = [
  {
    name: 'tsc',
    title: 'tsc (TypeScript 5.9)',
    js: true,
    prepare: () => ({
      nodeArgs: [join(typescript5(), 'typescript', 'bin', 'tsc'), '-p', join(ROOT, 'tsconfig.json'), '--noEmit'],
      cwd: ROOT,
      input: 'type-checks this repository\'s src/ (`tsc -p tsconfig.json --noEmit`)',
    }),
  },
  {
    name: 'eslint',
    title: 'eslint',
    js: true,
    prepare: (dir) => {
      const out = join(dir, 'eslint-project');
      mkdirSync(out, { recursive: true });
      // 200 of webpack's own source files, taken at a fixed stride (CommonJS, 20 to 1,500 lines each).
      const files = walkJs(join(NM, 'webpack', 'lib')).filter((f) => statSync(f).size <= 12_000);
      const stride = Math.max(1, Math.floor(files.length / 200));
      let bytes = 0;
      let n = 0;
      for (let i = 0; i < files.length && n < 200; i += stride, n++) {
        copyFileSync(files[i]!, join(out, `file${n}.js`));
        bytes += statSync(files[i]!).size;
      }
      // ESLint's recommended rules (from its built-in rule metadata), as warnings so the exit code is 0.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { builtinRules } = require('eslint/use-at-your-own-risk') as { builtinRules: Map<string, { meta?: { docs?: { recommended?: boolean } } }> };
      const rules: Record<string, string> = {};
      for (const [name, rule] of builtinRules) if (rule.meta?.docs?.recommended === true) rules[name] = 'warn';
      const globals = Object.fromEntries(['require', 'module', 'exports', '__dirname', '__filename', 'process', 'Buffer', 'console', 'setTimeout', 'clearTimeout']
        .map((g) => [g, 'writable']));
      writeFileSync(join(out, 'eslint.config.mjs'),
        `export default [{ files: ['**/*.js'], languageOptions: { sourceType: 'commonjs', ecmaVersion: 2024, globals: ${JSON.stringify(globals)} }, rules: ${JSON.stringify(rules)} }];\n`);
      return {
        nodeArgs: [join(NM, 'eslint', 'bin', 'eslint.js'), '--no-inline-config', '-c', 'eslint.config.mjs', '.'],
        cwd: out,
        input: `lints 200 of webpack 5's source files (${formatBytes(bytes)}) with the ${Object.keys(rules).length} recommended rules`,
      };
    },
  },
  {
    name: 'prettier',
    title: 'prettier',
    js: true,
    prepare: (dir) => {
      const out = join(dir, 'prettier-project');
      mkdirSync(out, { recursive: true });
      const sources = [join(NM, 'three', 'build', 'three.module.js'), join(NM, 'marked', 'lib', 'marked.esm.js'), join(NM, 'js-yaml', 'dist', 'js-yaml.mjs')];
      let bytes = 0;
      const names = sources.map((s, i) => {
        const name = `input${i}.js`;
        copyFileSync(s, join(out, name));
        bytes += statSync(s).size;
        return name;
      });
      return {
        nodeArgs: [join(NM, 'prettier', 'bin', 'prettier.cjs'), '--no-config', ...names],
        cwd: out,
        input: `formats three.module.js, marked.esm.js and js-yaml.mjs (${formatBytes(bytes)}) to stdout`,
      };
    },
  },
  {
    name: 'yaml',
    title: 'yaml',
    js: true,
    prepare: (dir) => {
      const text = generateYaml(1.5 * 1024 * 1024);
      const input = join(dir, 'manifests.yaml');
      writeFileSync(input, text);
      const script = driver(dir, 'yaml-parse.js', `const YAML = require(NM + '/yaml');
const text = require('fs').readFileSync(${JSON.stringify(input)}, 'utf8');
const docs = YAML.parseAllDocuments(text).map((d) => d.toJS());
console.log(docs.length, JSON.stringify(docs).length);`);
      return { nodeArgs: [script], cwd: dir, input: `parses ${formatBytes(text.length)} of Kubernetes-like manifests (\`parseAllDocuments\`, \`toJS\`)` };
    },
  },
  {
    name: 'js-yaml',
    title: 'js-yaml',
    js: true,
    prepare: (dir) => {
      const text = generateYaml(6 * 1024 * 1024);
      const input = join(dir, 'manifests-big.yaml');
      writeFileSync(input, text);
      const script = driver(dir, 'js-yaml-parse.js', `const jsyaml = require(NM + '/js-yaml');
const text = require('fs').readFileSync(${JSON.stringify(input)}, 'utf8');
const docs = jsyaml.loadAll(text);
console.log(docs.length, JSON.stringify(docs).length);`);
      return { nodeArgs: [script], cwd: dir, input: `parses ${formatBytes(text.length)} of the same kind of manifests (\`loadAll\`)` };
    },
  },
  {
    name: 'marked',
    title: 'marked',
    js: true,
    prepare: (dir) => {
      const text = generateMarkdown(3 * 1024 * 1024);
      const input = join(dir, 'docs.md');
      writeFileSync(input, text);
      const script = driver(dir, 'marked-parse.js', `const { marked } = require(NM + '/marked');
const text = require('fs').readFileSync(${JSON.stringify(input)}, 'utf8');
const html = marked.parse(text);
console.log(html.length);`);
      return { nodeArgs: [script], cwd: dir, input: `renders ${formatBytes(text.length)} of documentation-like Markdown to HTML` };
    },
  },
  {
    name: 'webpack',
    title: 'webpack',
    js: true,
    prepare: (dir) => {
      const out = join(dir, 'webpack-project');
      mkdirSync(out, { recursive: true });
      writeFileSync(join(out, 'entry.mjs'), BUNDLE_ENTRY);
      const script = driver(out, 'build.js', `const webpack = require(NM + '/webpack');
webpack({
  mode: 'production', context: __dirname, entry: './entry.mjs', devtool: false, cache: false,
  output: { path: __dirname + '/dist', filename: 'bundle.js', library: { type: 'commonjs2' } },
  resolve: { modules: [NM] }, infrastructureLogging: { level: 'error' },
}, (err, stats) => {
  if (err || stats.hasErrors()) { console.error(err || stats.toString('errors-only')); process.exitCode = 1; return; }
  console.log(Object.keys(stats.compilation.assets).join(','));
});`);
      return { nodeArgs: [script], cwd: out, input: 'bundles and minifies (terser) marked + js-yaml, production mode' };
    },
  },
  {
    name: 'esbuild',
    title: 'esbuild (native)',
    js: false,
    prepare: (dir) => {
      const out = join(dir, 'esbuild-project');
      mkdirSync(out, { recursive: true });
      writeFileSync(join(out, 'entry.mjs'), BUNDLE_ENTRY);
      const script = driver(out, 'build.js', `const esbuild = require(NM + '/esbuild');
const r = esbuild.buildSync({ entryPoints: [__dirname + '/entry.mjs'], bundle: true, minify: true, platform: 'node', format: 'cjs',
  outfile: __dirname + '/dist/bundle.js', nodePaths: [NM], metafile: true, logLevel: 'error' });
console.log(Object.keys(r.metafile.outputs).length);`);
      return { nodeArgs: [script], cwd: out, input: 'bundles and minifies the same entry through esbuild\'s JS API (the bundling runs in its Go binary)' };
    },
  },
];

// ---------------------------------------------------------------------------------------------

interface Measured {
  tool: Tool;
  prepared: Prepared;
  /** config -> results of the measured rounds, aligned by round. */
  runs: Record<Config, ProcResult[]>;
}

function main(): void {
  const only = selectedCases();
  const tools = only === null ? TOOLS : TOOLS.filter((t) => only.has(t.name));
  if (only !== null && tools.length !== only.size) {
    throw new Error(`unknown tool in ${[...only].join(',')}; known: ${TOOLS.map((t) => t.name).join(', ')}`);
  }
  const dir = join(tempDir(), 'tools');
  mkdirSync(dir, { recursive: true });
  const measured: Measured[] = tools.map((tool) => {
    const prepared = tool.prepare(dir);
    log(`${tool.name}: ${prepared.input}`);
    return { tool, prepared, runs: { untraced: [], preload: [], run: [] } };
  });
  const started = Date.now();
  for (let r = 0; r < WARMUP + ROUNDS; r++) {
    for (let t = 0; t < measured.length; t++) {
      const m = measured[(t + r) % measured.length]!;
      for (let c = 0; c < CONFIGS.length; c++) {
        const config = CONFIGS[(c + r + t) % CONFIGS.length]!;
        if (r < WARMUP && config !== 'untraced') continue;
        const { argv, env } = commandFor(config, m.prepared.nodeArgs);
        const res = measureProcess(argv, { cwd: m.prepared.cwd, env, outDir: dir });
        if (res.code !== 0) throw new Error(`${m.tool.name} (${config}) exited with ${res.code}:\nstderr: ${res.stderrTail}\nstdout: ${res.stdoutHead}`);
        if (r >= WARMUP) m.runs[config].push(res);
      }
    }
    log(`round ${r + 1}/${WARMUP + ROUNDS}${r < WARMUP ? ' (warm-up)' : ''} done after ${((Date.now() - started) / 1000).toFixed(0)} s`);
    // Cumulative: if run.ts has to stop this module at its time limit, the rounds done are kept.
    if (r >= WARMUP) report(measured, r + 1 - WARMUP, only);
  }
}

/** What the snapshots of one `run` cost, as its report lines say (summed over its traced processes). */
function snapshotCosts(res: ProcResult): { peakMs: number; peaks: number; exitMs: number } {
  let peakMs = 0;
  let peaks = 0;
  let exitMs = 0;
  for (const line of res.reportLines) {
    const peak = /at its peak of traced memory, .*\((\d+) peak snapshots?, (\d+) ms\)/.exec(line);
    if (peak !== null) {
      peaks += Number(peak[1]);
      peakMs += Number(peak[2]);
      continue;
    }
    const exit = / at exit\b.*, snapshot (\d+) ms$/.exec(line);
    if (exit !== null) exitMs += Number(exit[1]);
  }
  return { peakMs, peaks, exitMs };
}

function report(measured: Measured[], rounds: number, only: Set<string> | null): void {
  const ratioSpread = (m: Measured, config: Config) => spread(m.runs[config].map((x, i) => x.cpuMs / m.runs.untraced[i]!.cpuMs));
  const cell = (m: Measured, config: Config): string => {
    const s = ratioSpread(m, config);
    return `${formatRatio(s.median)} (${s.min.toFixed(2)}–${s.max.toFixed(2)})`;
  };
  const checks: BenchCheck[] = [];
  const rows = measured.map((m) => {
    const base = spread(m.runs.untraced.map((x) => x.cpuMs));
    const extra = spread(m.runs.run.map((x, i) => x.cpuMs - m.runs.untraced[i]!.cpuMs));
    const same = CONFIGS.every((c) => m.runs[c].every((x) => x.stdoutHash === m.runs.untraced[0]!.stdoutHash));
    if (m.tool.js) {
      const pre = ratioSpread(m, 'preload').median;
      const run = ratioSpread(m, 'run').median;
      checks.push({ what: `${m.tool.title}: preload CPU / untraced`, target: `<= ${TARGET_PRELOAD.toFixed(2)}x`, value: formatRatio(pre), ok: pre <= TARGET_PRELOAD });
      checks.push({ what: `${m.tool.title}: \`tracemalloc run\` CPU / untraced`, target: `<= ${TARGET_RUN.toFixed(2)}x`, value: formatRatio(run), ok: run <= TARGET_RUN });
    }
    return [m.tool.title, formatMs(base.median), cell(m, 'preload'), cell(m, 'run'), `${formatMs(extra.median)}`, same ? 'same' : '**differs**'];
  });
  const wallRows = measured.map((m) => {
    const w = (c: Config) => spread(m.runs[c].map((x) => x.wallMs)).median;
    const wr = (c: Config) => spread(m.runs[c].map((x, i) => x.wallMs / m.runs.untraced[i]!.wallMs)).median;
    return [m.tool.title, formatMs(w('untraced')), formatRatio(wr('preload')), formatRatio(wr('run'))];
  });
  const breakdownRows = measured.map((m) => {
    const costs = m.runs.run.map(snapshotCosts);
    const med = (xs: number[]) => spread(xs).median;
    const extra = med(m.runs.run.map((x, i) => x.cpuMs - m.runs.untraced[i]!.cpuMs));
    const preload = med(m.runs.preload.map((x, i) => x.cpuMs - m.runs.untraced[i]!.cpuMs));
    const peak = med(costs.map((c) => c.peakMs));
    const exit = med(costs.map((c) => c.exitMs));
    const taken = costs.map((c) => c.peaks).sort((a, b) => a - b);
    const ms = (x: number) => `${Math.round(x)} ms`;
    return [m.tool.title, ms(extra), ms(preload), `${ms(peak)} (${taken[0]}–${taken[taken.length - 1]})`, ms(exit), ms(extra - preload - peak - exit)];
  });
  const tables: BenchTable[] = [
    {
      caption: `CPU time (user + system, whole process tree) as a ratio to the untraced run of the same round: median of ${rounds} ` +
        'interleaved rounds, (min–max) of the per-round ratios. "extra" is the median of the per-round differences ' +
        '`run` − untraced. "output" compares stdout of every run with the first untraced one.',
      columns: ['tool', 'untraced CPU', 'preload', '`tracemalloc run`', 'extra CPU, run', 'output'],
      rows,
    },
    {
      caption: 'Where `run`\'s extra CPU goes, medians over the rounds: the preload (the preload column\'s extra over untraced), ' +
        'the peak snapshots and the snapshot at exit (each as `run` prints it: main-thread time from the start of the snapshot ' +
        'to its conversion, so not the CPU of V8\'s parallel GC threads), and the rest: the CLI\'s own Node.js process, ' +
        'printing the tops, the GC threads\' share of the snapshots, and the preload of child processes and workers, which ' +
        'only `run` traces (NODE_OPTIONS). The rest is a difference of medians: it carries their noise and can be negative.',
      columns: ['tool', 'extra CPU, run', 'preload', 'peak snapshots, ms (count min–max)', 'exit snapshot, ms', 'rest'],
      rows: breakdownRows,
    },
    {
      caption: 'Inputs (real code from the pinned devDependencies, or generated from a seeded PRNG: the same on every run).',
      columns: ['tool', 'what it does'],
      rows: measured.map((m) => [m.tool.title, m.prepared.input]),
    },
    {
      caption: 'Wall-clock time, for reference only (on a shared machine it measures the neighbours too): median untraced, median per-round ratios.',
      columns: ['tool', 'untraced wall', 'preload', '`tracemalloc run`'],
      rows: wallRows,
    },
  ];
  const notes = [
    '**preload**: `NODE_TRACEMALLOC=1 node --import tracemalloc/register <tool>`: V8\'s sampler at the default interval ' +
      '(64 KiB), the Buffer wrappers, no report at exit. **`tracemalloc run`**: `tracemalloc run -- node <tool>` with its ' +
      'defaults: the CLI\'s own Node.js process, the preload through NODE_OPTIONS, the peak snapshots (each with its ' +
      'settle GCs; after the first, at most 5 % of the time since start) and at exit the last snapshot (settled like every snapshot: two full GCs, the ' +
      'inspector\'s profile, the conversion, source maps) and the top 10 at exit and at the peak printed on stderr. ' +
      'What each part costs, and what was cut: docs/cli.md, "What `run` costs".',
    'CPU time, not wall time, because the machine running the benchmark may be shared: a process waiting for a core ' +
      'accumulates no CPU time. Figures taken on a loaded machine are still noisier (caches, frequency); the ' +
      '(min–max) spread shows how much. Rerun on a quiet machine for the real figures.',
    'TypeScript 7\'s `tsc` is a native Go binary (its npm package only `execve`s it): no JavaScript heap to trace. The ' +
      'type-check runs TypeScript 5.9.3\'s JavaScript compiler, installed once into build/tools/ts5 by ' +
      'scripts/fetch-ts5-tools.sh. ' +
      'esbuild\'s bundling runs in Go too, so its row is not held to the targets: it shows what tracing costs a short ' +
      'Node.js program that drives a native tool.',
  ];
  if (QUICK) notes.push(`--quick: ${ROUNDS} rounds, no warm-up.`);
  else notes.push('One warm-up round (every tool once, untraced, not measured) fills the page cache first.');
  emit({
    name: 'tools',
    title: 'Real tools: preload and `tracemalloc run`',
    description: 'CPU time of real tools (pinned devDependencies) on realistic inputs, untraced, with the preload only, and ' +
      `under \`tracemalloc run\`, run side by side: ${rounds}${rounds < ROUNDS ? ` of ${ROUNDS}` : ''} rounds, each running every tool in every configuration in a ` +
      'rotating order' + (only === null ? '.' : ` (cases: ${[...only].join(', ')}).`),
    target: `Every JavaScript tool: preload within ${TARGET_PRELOAD.toFixed(2)}x and \`tracemalloc run\` within ` +
      `${TARGET_RUN.toFixed(2)}x of its untraced CPU time (issue 17).`,
    tables,
    checks,
    notes,
  });
}

main();

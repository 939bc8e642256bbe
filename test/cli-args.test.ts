// The pure parts of the command line and the preload: argument parsing, the environment
// variables, the child's environment and the numbered dump names. No process, file or stream.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { parseDiffArgs, parseGlobalArgs, parseOptions, parseRunArgs, parseTopArgs, UsageError } from '#internal/cli/args';
import { dumpPathWith, ENV, EnvError, idleVariables, numberedDumpPath, parseEnv, parseStrictInt } from '#internal/preload-env';
import { childEnv, nodeOptionsWith, programOf } from '#internal/cli/commands/run';
import { commands } from '#internal/cli/commands/index';
import { mainUsage } from '#internal/cli/program';
import { PLAIN, styleFor } from '#internal/view';

const usage = (message: string | RegExp) => ({ name: 'UsageError', message });

test('parseOptions: flags, values (--x v and --x=v), lists, -- and positionals', () => {
  const specs = [
    { name: 'help', short: 'h', kind: 'flag' },
    { name: 'limit', kind: 'value' },
    { name: 'filter', kind: 'list' },
  ] as const;
  const p = parseOptions(['a', '--limit', '5', '--filter=*/x/*', '-h', '--filter', 'y', 'b', '--limit=7', '--', '--not-an-option', '-h'], specs);
  assert.deepEqual([...p.flags], ['help']);
  assert.equal(p.values.get('limit'), '7');
  assert.deepEqual(p.lists.get('filter'), ['*/x/*', 'y']);
  assert.deepEqual(p.positionals, ['a', 'b', '--not-an-option', '-h']);
  assert.deepEqual(parseOptions(['-', '--limit', '-1'], specs).positionals, ['-']);
  assert.equal(parseOptions(['--limit', '-1'], specs).values.get('limit'), '-1');
  assert.throws(() => parseOptions(['--nope'], specs), usage('unknown option --nope'));
  assert.throws(() => parseOptions(['--nope=3'], specs), usage('unknown option --nope'));
  assert.throws(() => parseOptions(['-x'], specs), usage('unknown option -x'));
  assert.throws(() => parseOptions(['--limit'], specs), usage('option --limit needs a value'));
  assert.throws(() => parseOptions(['--help=yes'], specs), usage('option --help takes no value'));
  assert.ok(new UsageError('x') instanceof Error);
});

test('parseOptions with stopAtPositional hands everything after the program to it', () => {
  const p = parseOptions(['--top', '3', 'node', '--top', '9', 'app.js'], [{ name: 'top', kind: 'value' }], true);
  assert.equal(p.values.get('top'), '3');
  assert.deepEqual(p.positionals, ['node', '--top', '9', 'app.js']);
});

test('parseGlobalArgs: the command and its arguments; -h and -v only before it', () => {
  assert.deepEqual(parseGlobalArgs([]), { help: false, version: false, command: null, args: [] });
  assert.deepEqual(parseGlobalArgs(['-v']), { help: false, version: true, command: null, args: [] });
  assert.deepEqual(parseGlobalArgs(['--help']), { help: true, version: false, command: null, args: [] });
  assert.deepEqual(parseGlobalArgs(['top', '-h', 'x.json']), { help: false, version: false, command: 'top', args: ['-h', 'x.json'] });
  assert.throws(() => parseGlobalArgs(['--what']), usage('unknown option --what'));
});

test('parseTopArgs: defaults, every option, and the errors', () => {
  assert.deepEqual(parseTopArgs(['heap.json']), {
    help: false, file: 'heap.json', keyType: 'lineno', cumulative: false, limit: 10, filters: [], json: false, interval: null, readSources: false,
  });
  assert.deepEqual(parseTopArgs(['--key', 'filename', '--cumulative', '--limit=0', '--filter', '*/src/*', '--exclude', 'node:*', '--filter', '*.ts', '--json', 'a.json.gz']), {
    help: false, file: 'a.json.gz', keyType: 'filename', cumulative: true, limit: 0, json: true, interval: null, readSources: false,
    filters: [{ inclusive: true, pattern: '*/src/*' }, { inclusive: true, pattern: '*.ts' }, { inclusive: false, pattern: 'node:*' }],
  });
  assert.equal(parseTopArgs(['--help']).help, true);
  assert.equal(parseTopArgs(['-h', 'a', 'b']).help, true);
  assert.throws(() => parseTopArgs([]), usage('a snapshot file is needed'));
  assert.throws(() => parseTopArgs(['a', 'b']), usage('one snapshot file is needed, not 2'));
  assert.throws(() => parseTopArgs(['--key', 'line', 'a']), usage('--key must be lineno, filename or traceback, not "line"'));
  for (const bad of ['-1', '1.5', 'ten', '0x5', ' 3', '']) {
    assert.throws(() => parseTopArgs(['--limit', bad, 'a']), usage(`--limit must be an integer in [0; 2147483647], not ${JSON.stringify(bad)}`));
  }
  assert.throws(() => parseTopArgs(['--key', 'traceback', '--cumulative', 'a']), usage("cumulative mode cannot by used with key type 'traceback'"));
});

test('parseDiffArgs: two files, old then new', () => {
  const d = parseDiffArgs(['--limit', '3', 'old.json', 'new.json']);
  assert.equal(d.oldFile, 'old.json');
  assert.equal(d.newFile, 'new.json');
  assert.equal(d.limit, 3);
  assert.throws(() => parseDiffArgs(['old.json']), usage('two snapshot files are needed (old, then new), not 1'));
  assert.equal(parseDiffArgs(['--help']).help, true);
});

test('parseRunArgs: options end at the program; nframe defaults to 16 (issue 16), not Python\'s 1', () => {
  assert.deepEqual(parseRunArgs(['app.js', '--top', '1']), {
    help: false, nframe: 16, interval: null, top: 10, keyType: 'lineno', dump: null, oomDump: null, oomThreshold: 60, command: ['app.js', '--top', '1'],
  });
  assert.deepEqual(parseRunArgs(['--nframe', '5', '--interval=4096', '--top', '0', '--key', 'filename', '--dump', 'h.json', '--', 'node', 'x.js']), {
    help: false, nframe: 5, interval: 4096, top: 0, keyType: 'filename', dump: 'h.json', oomDump: null, oomThreshold: 60, command: ['node', 'x.js'],
  });
  assert.equal(parseRunArgs(['--key', 'traceback', 'app.js']).nframe, 16);
  assert.deepEqual([parseRunArgs(['--oom-dump', 'o.json', '--oom-threshold', '90', 'app.js'])].map((a) => [a.oomDump, a.oomThreshold]), [['o.json', 90]]);
  assert.throws(() => parseRunArgs(['--oom-threshold', '100', 'a.js']), usage('--oom-threshold must be an integer in [10; 99], not "100"'));
  assert.throws(() => parseRunArgs(['--oom-dump', '', 'a.js']), usage('--oom-dump needs a file name'));
  assert.throws(() => parseRunArgs(['--dump', '-', 'a.js']), (err: unknown) => err instanceof UsageError && /^--dump needs a file name, not '-'/.test(err.message));
  assert.equal(parseRunArgs(['--key', 'traceback', '--nframe', '3', 'app.js']).nframe, 3);
  assert.equal(parseRunArgs(['--help']).help, true);
  assert.throws(() => parseRunArgs([]), usage('a program to run is needed'));
  assert.throws(() => parseRunArgs(['--nframe', '0', 'a.js']), usage('--nframe must be an integer in [1; 65535], not "0"'));
  assert.throws(() => parseRunArgs(['--nframe', '65536', 'a.js']), usage(/--nframe must be an integer in \[1; 65535\]/));
  assert.throws(() => parseRunArgs(['--interval', '0', 'a.js']), usage(/--interval must be an integer in \[1; 2147483647\]/));
  assert.throws(() => parseRunArgs(['--dump', '', 'a.js']), usage('--dump needs a file name'));
});

test('parseStrictInt accepts decimal digits only, in range', () => {
  assert.equal(parseStrictInt('25', 1, 65535), 25);
  assert.equal(parseStrictInt('065535', 1, 65535), 65535);
  for (const bad of ['-1', '65536', 'abc', '0x5', '7 ', ' 7', '1.5', '1e3', '+5', '', '99999999999']) {
    assert.equal(parseStrictInt(bad, 1, 65535), null, bad);
  }
});

test('parseEnv: NODE_TRACEMALLOC off, on, and every bad value named with its variable', () => {
  const cwd = '/work/dir';
  assert.equal(parseEnv({}, cwd, 42), null);
  assert.equal(parseEnv({ NODE_TRACEMALLOC: '' }, cwd, 42), null);
  assert.equal(parseEnv({ NODE_TRACEMALLOC: '0' }, cwd, 42), null);
  assert.deepEqual(parseEnv({ NODE_TRACEMALLOC: '25' }, cwd, 42), {
    nframe: 25, interval: null, dump: null, top: 0, keyType: 'lineno', signal: 'SIGUSR2', oomDump: null, oomThreshold: 60, announce: false, snapshotGC: 'full',
  });
  // NODE_TRACEMALLOC_OOM_DUMP alone turns tracing on (with run's default frames); NODE_TRACEMALLOC=0 still wins.
  assert.deepEqual(parseEnv({ NODE_TRACEMALLOC_OOM_DUMP: 'oom-%p.json', NODE_TRACEMALLOC_OOM_THRESHOLD: '90' }, cwd, 42), {
    nframe: 16, interval: null, dump: null, top: 0, keyType: 'lineno', signal: 'SIGUSR2', oomDump: path.resolve('/work/dir/oom-42.json'), oomThreshold: 90, announce: false, snapshotGC: 'full',
  });
  assert.equal(parseEnv({ NODE_TRACEMALLOC: '0', NODE_TRACEMALLOC_OOM_DUMP: 'oom.json' }, cwd, 42), null);
  for (const bad of ['9', '100', '80%', '0.8']) {
    assert.throws(() => parseEnv({ NODE_TRACEMALLOC_OOM_DUMP: 'o.json', NODE_TRACEMALLOC_OOM_THRESHOLD: bad }, cwd, 1), {
      name: 'EnvError',
      message: `NODE_TRACEMALLOC_OOM_THRESHOLD=${JSON.stringify(bad)} is not valid: expected a percentage of the heap limit, an integer in [10; 99]`,
    });
  }
  assert.deepEqual(parseEnv({
    NODE_TRACEMALLOC: '1', NODE_TRACEMALLOC_INTERVAL: '4096', NODE_TRACEMALLOC_DUMP: 'out/heap-%p.json',
    NODE_TRACEMALLOC_TOP: '5', NODE_TRACEMALLOC_KEY: 'traceback', NODE_TRACEMALLOC_SIGNAL: 'SIGHUP',
  }, cwd, 42), {
    nframe: 1, interval: 4096, dump: path.resolve('/work/dir/out/heap-42.json'), top: 5, keyType: 'traceback', signal: 'SIGHUP', oomDump: null, oomThreshold: 60, announce: false, snapshotGC: 'full',
  });
  assert.equal(parseEnv({ NODE_TRACEMALLOC: '1', NODE_TRACEMALLOC_SIGNAL: 'none' }, cwd, 1)?.signal, null);
  assert.equal(parseEnv({ NODE_TRACEMALLOC: '1', NODE_TRACEMALLOC_SNAPSHOT_GC: 'fast' }, cwd, 1)?.snapshotGC, 'fast');
  assert.equal(parseEnv({ NODE_TRACEMALLOC: '1', NODE_TRACEMALLOC_SNAPSHOT_GC: 'full' }, cwd, 1)?.snapshotGC, 'full');
  for (const bad of ['-1', '65536', 'abc', '0x5', '7 ', '1.5', ' 1', 'true']) {
    assert.throws(() => parseEnv({ NODE_TRACEMALLOC: bad }, cwd, 1), {
      name: 'EnvError',
      message: `NODE_TRACEMALLOC=${JSON.stringify(bad)} is not valid: expected an integer number of frames in [1; 65535], or 0 to disable tracing`,
    });
  }
  const cases: [string, string, RegExp][] = [
    [ENV.interval, '0', /^NODE_TRACEMALLOC_INTERVAL="0" is not valid: expected an integer number of bytes/],
    [ENV.interval, '64k', /^NODE_TRACEMALLOC_INTERVAL="64k"/],
    [ENV.top, '-3', /^NODE_TRACEMALLOC_TOP="-3" is not valid/],
    [ENV.key, 'line', /^NODE_TRACEMALLOC_KEY="line" is not valid: expected lineno, filename or traceback$/],
    [ENV.signal, 'SIGUSR1', /^NODE_TRACEMALLOC_SIGNAL="SIGUSR1" is not valid/],
    [ENV.signal, 'SIGKILL', /^NODE_TRACEMALLOC_SIGNAL="SIGKILL"/],
    [ENV.signal, 'USR2', /^NODE_TRACEMALLOC_SIGNAL="USR2"/],
    [ENV.snapshotGC, 'FAST', /^NODE_TRACEMALLOC_SNAPSHOT_GC="FAST" is not valid: expected 'full' \(two GCs/],
    // Issue 13: '-' is refused with the reason, never written as a file named '-'.
    [ENV.dump, '-', /^NODE_TRACEMALLOC_DUMP="-" is not valid: expected a file name, not '-': the preload writes several snapshot files/],
  ];
  for (const [name, value, message] of cases) {
    assert.throws(() => parseEnv({ NODE_TRACEMALLOC: '1', [name]: value }, cwd, 1), (err: unknown) => err instanceof EnvError && message.test(err.message));
  }
  // The other variables are not read (nor checked) while tracing is off.
  assert.equal(parseEnv({ NODE_TRACEMALLOC_INTERVAL: 'junk' }, cwd, 1), null);
  assert.deepEqual(idleVariables({ NODE_TRACEMALLOC_DUMP: 'x.json', NODE_TRACEMALLOC_TOP: '', NODE_TRACEMALLOC_KEY: 'lineno' }), [ENV.dump, ENV.key]);
});

test('numberedDumpPath puts the number before the extension, or names a file in cwd', () => {
  const dir = path.resolve('/srv/app');
  assert.equal(numberedDumpPath(path.join(dir, 'heap.json'), 1, '/x', 9), path.join(dir, 'heap.1.json'));
  assert.equal(numberedDumpPath(path.join(dir, 'heap.json.gz'), 2, '/x', 9), path.join(dir, 'heap.2.json.gz'));
  assert.equal(numberedDumpPath(path.join(dir, 'heap.gz'), 3, '/x', 9), path.join(dir, 'heap.3.gz'));
  // One rule for every file derived from the dump path: at the peak and per worker thread too.
  assert.equal(dumpPathWith(path.join(dir, 'heap.json.gz'), 'peak'), path.join(dir, 'heap.peak.json.gz'));
  assert.equal(dumpPathWith(path.join(dir, 'heap'), 'worker-3'), path.join(dir, 'heap.worker-3'));
  assert.equal(numberedDumpPath(path.join(dir, 'heap'), 4, '/x', 9), path.join(dir, 'heap.4'));
  assert.equal(numberedDumpPath(path.join(dir, 'heap.snap'), 5, '/x', 9), path.join(dir, 'heap.5.snap'));
  assert.equal(numberedDumpPath(path.join(dir, 'a.b.json'), 6, '/x', 9), path.join(dir, 'a.b.6.json'));
  assert.equal(numberedDumpPath(null, 7, dir, 9), path.join(dir, 'tracemalloc-9.7.json'));
});

test('run: NODE_OPTIONS gets a quoted --require; .js files run with this node; the env is set from the options', () => {
  assert.equal(nodeOptionsWith(undefined, '/a/register.js'), '--require "/a/register.js"');
  assert.equal(nodeOptionsWith('  --max-old-space-size=100 ', '/a b/"x"\\r.js'), '--max-old-space-size=100 --require "/a b/\\"x\\"\\\\r.js"');
  assert.deepEqual(programOf(['app.mjs', '-x'], '/bin/node'), ['/bin/node', ['app.mjs', '-x']]);
  assert.deepEqual(programOf(['dir/app.CJS'], '/bin/node'), ['/bin/node', ['dir/app.CJS']]);
  assert.deepEqual(programOf(['npm', 'start'], '/bin/node'), ['npm', ['start']]);
  const env = childEnv(parseRunArgs(['--dump', 'h.json', '--interval', '512', 'app.js']), {
    PATH: '/bin', NODE_OPTIONS: '--enable-source-maps', NODE_TRACEMALLOC_TOP: '99', NODE_TRACEMALLOC_INTERVAL: '7',
  }, '/cwd', '/pkg/dist/register.js');
  assert.deepEqual(env, {
    PATH: '/bin',
    NODE_OPTIONS: '--enable-source-maps --require "/pkg/dist/register.js"',
    NODE_TRACEMALLOC: '16',
    NODE_TRACEMALLOC_INTERVAL: '512',
    NODE_TRACEMALLOC_DUMP: path.resolve('/cwd', 'h.json'),
    NODE_TRACEMALLOC_TOP: '10',
    NODE_TRACEMALLOC_KEY: 'lineno',
    NODE_TRACEMALLOC_ANNOUNCE: '1',
    NODE_TRACEMALLOC_WORKERS: '1',
  });
  const oom = childEnv(parseRunArgs(['--oom-dump', 'o.json', 'app.js']), { NODE_TRACEMALLOC_OOM_THRESHOLD: '11' }, '/cwd');
  assert.deepEqual([oom.NODE_TRACEMALLOC_OOM_DUMP, oom.NODE_TRACEMALLOC_OOM_THRESHOLD], [path.resolve('/cwd', 'o.json'), '60']);
  assert.equal(childEnv(parseRunArgs(['app.js']), { NODE_TRACEMALLOC_DUMP: 'old.json' }, '/cwd').NODE_TRACEMALLOC_DUMP, undefined);
});

test('the registry: unique names, each with a summary, a usage that shows --help, and run()', () => {
  const names = commands.map((c) => c.name);
  assert.deepEqual(new Set(names).size, names.length);
  for (const name of ['run', 'top', 'diff']) assert.ok(names.includes(name), name);
  for (const c of commands) {
    assert.match(c.name, /^[a-z][a-z-]*$/);
    assert.ok(c.summary.length > 0 && !c.summary.includes('\n'), c.name);
    assert.match(c.usage, new RegExp(`^Usage: tracemalloc ${c.name} `));
    assert.match(c.usage, /-h, --help/);
    assert.equal(typeof c.run, 'function');
    assert.ok(mainUsage().includes(`  ${c.name} `), c.name);
  }
});

test('colour only on a terminal, and never with NO_COLOR set', () => {
  assert.equal(styleFor(false, {}), PLAIN);
  assert.notEqual(styleFor(true, {}), PLAIN);
  assert.equal(styleFor(true, { NO_COLOR: '1' }), PLAIN);
  assert.notEqual(styleFor(true, { NO_COLOR: '' }), PLAIN);
  assert.equal(styleFor(true, {}).bold('x'), '\u001b[1mx\u001b[22m');
});

// `tracemalloc report` and `tracemalloc export`: argument parsing (pure) and runs on files.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PassThrough } from 'node:stream';
import * as zlib from 'node:zlib';
import { Profile } from 'pprof-format';
import * as tracemalloc from 'tracemalloc';
import { UsageError } from '#internal/cli/args';
import { runCli } from '#internal/cli/program';
import { parseReportArgs } from '#internal/cli/commands/report';
import { defaultOutput } from '#internal/cli/input';
import { formatOfName, parseExportArgs } from '#internal/cli/commands/export';
import { olderSampleSnapshot, PKG, sampleSnapshot, statStrings, tempDir } from './fixtures/export/sample.js';

function io() {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  stdout.on('data', (b: Buffer) => out.push(b));
  stderr.on('data', (b: Buffer) => err.push(b));
  return {
    io: { stdout, stderr, isTTY: false },
    out: () => Buffer.concat(out),
    err: () => Buffer.concat(err).toString('utf8'),
  };
}

async function cli(...argv: string[]) {
  const s = io();
  const code = await runCli(argv, s.io);
  return { code, stdout: s.out(), stderr: s.err() };
}

test('parseReportArgs: file, --diff, -o, defaults and errors', () => {
  assert.deepEqual(parseReportArgs(['after.json', '--diff', 'before.json', '-o', 'r.html']), {
    help: false, file: 'after.json', diff: 'before.json', output: 'r.html', title: null, top: 50, filters: [], interval: null, readSources: false,
  });
  const a = parseReportArgs(['--output=x.html', '--title', 'T', '--top', '5', '--filter', '*/app/*', '--exclude', 'node:*', '--interval', '32768', '--read-sources', 'dir/heap.json.gz']);
  assert.deepEqual([a.file, a.output, a.title, a.top, a.interval, a.readSources], ['dir/heap.json.gz', 'x.html', 'T', 5, 32768, true]);
  assert.deepEqual(a.filters, [{ inclusive: true, pattern: '*/app/*' }, { inclusive: false, pattern: 'node:*' }]);
  assert.equal(parseReportArgs(['dir/heap.json.gz']).output, 'heap.html');
  assert.equal(parseReportArgs(['--help']).help, true);
  for (const [argv, message] of [
    [[], /a snapshot file is needed/],
    [['a.json', 'b.json'], /one snapshot file is needed, not 2 \(the old one goes after --diff\)/],
    [['a.json', '--diff'], /option --diff needs a value/],
    [['a.json', '--top', '0'], /--top must be an integer in \[1; 10000\]/],
    [['a.json', '--bogus'], /unknown option --bogus/],
  ] as [string[], RegExp][]) {
    assert.throws(() => parseReportArgs(argv), (e: Error) => e instanceof UsageError && message.test(e.message), String(message));
  }
});

test('parseExportArgs: the format from --format or the output name', () => {
  assert.deepEqual(parseExportArgs(['heap.json', '--format', 'pprof', '-o', 'out.pb.gz']), {
    help: false, file: 'heap.json', format: 'pprof', output: 'out.pb.gz', filters: [], interval: null, readSources: false,
  });
  assert.equal(parseExportArgs(['heap.json', '-o', 'x.heapprofile']).format, 'heapprofile');
  assert.equal(parseExportArgs(['heap.json', '-o', 'x.pb']).format, 'pprof');
  assert.equal(parseExportArgs(['a/heap.json.gz', '-f', 'heapprofile']).output, 'heap.heapprofile');
  assert.equal(parseExportArgs(['Heap.1.heapprofile', '-f', 'pprof']).output, 'Heap.1.pb.gz');
  assert.equal(formatOfName('x.pprof'), 'pprof');
  assert.equal(formatOfName('x.txt'), null);
  assert.equal(defaultOutput('.json', '.html'), 'tracemalloc.html');
  assert.throws(() => parseExportArgs(['heap.json']), /--format is needed \(pprof or heapprofile\)/);
  assert.throws(() => parseExportArgs(['heap.json', '--format', 'svg']), /--format must be pprof or heapprofile, not "svg"/);
});

test('tracemalloc report writes a self-contained HTML file, with a diff, from snapshot files', async () => {
  const dir = tempDir('cli-report');
  const after = path.join(dir, 'after.json.gz');
  const before = path.join(dir, 'before.json');
  sampleSnapshot().dump(after);
  olderSampleSnapshot().dump(before);
  const out = path.join(dir, 'leak.html');
  const r = await cli('report', after, '--diff', before, '-o', out, '--title', 'CLI <report>');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /wrote the report to .*leak\.html \(\d+(\.\d)? KiB\)/);
  const html = fs.readFileSync(out, 'utf8');
  assert.match(html, /<title>CLI &#60;report&#62;<\/title>/);
  assert.match(html, /"diff":true/);
  // To stdout with -o -.
  const s = await cli('report', after, '-o', '-', '--exclude', '/app/io.js');
  assert.equal(s.code, 0);
  assert.match(s.stdout.toString(), /^<!DOCTYPE html>/);
  assert.doesNotMatch(s.stdout.toString(), /readChunk/);
});

test('tracemalloc export: pprof and heapprofile; a .heapprofile is an input too', async () => {
  const dir = tempDir('cli-export');
  const file = path.join(dir, 'heap.json');
  sampleSnapshot().dump(file);
  const pb = path.join(dir, 'heap.pb.gz');
  const r = await cli('export', file, '--format', 'pprof', '-o', pb);
  assert.equal(r.code, 0, r.stderr);
  const profile = Profile.decode(zlib.gunzipSync(fs.readFileSync(pb)));
  assert.equal(profile.stringTable.strings[Number(profile.sampleType[1]!.type)], 'inuse_space');
  const hp = path.join(dir, 'heap.heapprofile');
  assert.equal((await cli('export', file, '-o', hp)).code, 0);
  assert.ok(JSON.parse(fs.readFileSync(hp, 'utf8')).head);
  // The .heapprofile reads back as the same snapshot, and can be reported and exported again.
  const back = tracemalloc.snapshotFromHeapProfile(fs.readFileSync(hp, 'utf8'));
  assert.deepEqual(statStrings(back), statStrings(sampleSnapshot()));
  const again = await cli('export', hp, '-f', 'pprof', '-o', '-');
  assert.equal(again.code, 0, again.stderr);
  assert.equal(again.stdout[0], 0x1f);
  const report = await cli('report', hp, '-o', path.join(dir, 'r.html'));
  assert.equal(report.code, 0, report.stderr);
  // A .heapprofile under another name is recognised after the snapshot reader rejects it.
  const renamed = path.join(dir, 'profile.json');
  fs.copyFileSync(hp, renamed);
  assert.equal((await cli('export', renamed, '-f', 'pprof', '-o', path.join(dir, 'p.pb.gz'))).code, 0);
});

test('errors: usage errors exit 2 with a hint, unreadable files exit 1 naming the file; --help', async () => {
  const u = await cli('export', 'x.json');
  assert.equal(u.code, 2);
  assert.match(u.stderr, /^tracemalloc export: --format is needed .*\nRun "tracemalloc export --help" for usage\.\n$/);
  const dir = tempDir('cli-errors');
  const bad = path.join(dir, 'bad.json');
  fs.writeFileSync(bad, '{"hello": 1}');
  const r = await cli('report', bad, '-o', path.join(dir, 'r.html'));
  assert.equal(r.code, 1);
  assert.match(r.stderr, /tracemalloc report: .*bad\.json: not a tracemalloc snapshot/);
  const missing = await cli('export', path.join(dir, 'nope.heapprofile'), '-f', 'pprof');
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /nope\.heapprofile: no such file/);
  for (const name of ['report', 'export']) {
    const h = await cli(name, '--help');
    assert.equal(h.code, 0);
    assert.match(h.stdout.toString(), new RegExp(`^Usage: tracemalloc ${name} \\[options\\] <file>`));
  }
  const main = await cli('--help');
  assert.match(main.stdout.toString(), /report\s+write a self-contained HTML report/);
  assert.match(main.stdout.toString(), /export\s+convert a snapshot to pprof/);
});

test('the bin runs export end to end', () => {
  const dir = tempDir('cli-bin');
  const file = path.join(dir, 'heap.json');
  sampleSnapshot().dump(file);
  const r = spawnSync(process.execPath, [path.join(PKG, 'dist', 'cli', 'main.js'), 'export', file, '-o', path.join(dir, 'out.heapprofile')], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.ok(fs.statSync(path.join(dir, 'out.heapprofile')).size > 100);
});

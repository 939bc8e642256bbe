// Runs a test runner on a fixture of test/runners/ and reads which checks of
// test/runners/shared/suite.cjs passed (each appends `<runner> <check> ok` to $SUITE_RESULTS).
import { spawn } from 'node:child_process';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const ROOT = path.join(__dirname, '..', '..', '..');
/** Each runner gets this long (a loaded shared machine is slow); it is killed after. */
const CAP_MS = 240_000;

/**
 * Runs `cmd` in `cwd` (relative to the package root) and asserts that it exits 0 and that every
 * check of the suite (plus `extra`, minus `missing`) recorded itself for `runner`.
 */
export async function runSuite(runner: string, cmd: string[], cwd: string, extra: string[], missing: string[] = [], env: Record<string, string> = {}): Promise<{ results: string[] }> {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tm-runner-')), 'results.txt');
  fs.writeFileSync(file, '');
  const dir = path.join(ROOT, cwd);
  const bin = path.isAbsolute(cmd[0]!) ? cmd[0]! : path.join(dir, cmd[0]!);
  const { code, output } = await new Promise<{ code: number | null; output: string }>((resolve) => {
    // Without NODE_TEST_CONTEXT: a node --test child that sees it reports to this run instead of running its files.
    const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env, SUITE_RESULTS: file, NODE_OPTIONS: '', CI: '1', FORCE_COLOR: '0' };
    delete childEnv.NODE_TEST_CONTEXT;
    const child = spawn(bin, cmd.slice(1), { cwd: dir, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out = (out + c.toString()).slice(-20_000)));
    child.stderr.on('data', (c: Buffer) => (out = (out + c.toString()).slice(-20_000)));
    const cap = setTimeout(() => child.kill('SIGKILL'), CAP_MS);
    child.on('close', (c) => {
      clearTimeout(cap);
      resolve({ code: c, output: out });
    });
  });
  const results = fs.readFileSync(file, 'utf8').split('\n').filter(Boolean);
  fs.rmSync(path.dirname(file), { recursive: true, force: true });
  assert.equal(code, 0, `${runner} exited with ${code}:\n${output}`);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const expected = [...(require(path.join(ROOT, 'test', 'runners', 'shared', 'suite.cjs')) as { EXPECTED: string[] }).EXPECTED, ...extra].filter((c) => !missing.includes(c));
  for (const check of expected) assert.ok(results.includes(`${runner} ${check} ok`), `${runner}: check ${check} did not pass\n${results.join('\n')}\n${output}`);
  return { results };
}

// Child processes for end-to-end tests: a clean environment, output collected, a hang killed.
import { spawn, type ChildProcess } from 'node:child_process';

/** A child that does not finish in this time has hung: kill it and fail. */
export const CHILD_TIMEOUT_MS = 20_000;

export interface Result {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Set by the test runner on a terminal (FORCE_COLOR=1) or by the user: children print plain text unless a test asks. */
const COLOR_VARIABLES = new Set(['FORCE_COLOR', 'NO_COLOR']);

/** This environment without any NODE_TRACEMALLOC* variable, the test runner's NODE_OPTIONS or colour variables, plus `extra`. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('NODE_TRACEMALLOC') && k !== 'NODE_OPTIONS' && k !== 'NODE_TEST_CONTEXT' && !COLOR_VARIABLES.has(k)) env[k] = v;
  return { ...env, ...extra };
}

/** Starts `command args` in `cwd` with `cleanEnv(env)`; `done` resolves when it has closed. */
export function launch(command: string, args: readonly string[], cwd: string, env: Record<string, string> = {}): { child: ChildProcess; done: Promise<Result> } {
  const child = spawn(command, args, { cwd, env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), CHILD_TIMEOUT_MS);
  const done = new Promise<Result>((resolve) => {
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
  return { child, done };
}

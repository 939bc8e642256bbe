/**
 * `tracemalloc run [options] [--] <command> [args...]`: runs a program with the preload
 * (`--require dist/register.js` added to NODE_OPTIONS), so the traced process itself prints its
 * top on stderr at exit and writes `--dump`; then exits as the program did (code or signal).
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { isatty } from 'node:tty';
import { parseRunArgs, type RunArgs } from '../args.js';
import type { Command } from '../command.js';
import { DEFAULT_OOM_THRESHOLD, ENV, RUN_DEFAULT_NFRAME } from '../../preload-env.js';

/** The preload the traced program loads: dist/register.js. */
export const REGISTER_PATH = path.join(__dirname, '..', '..', 'register.js');

/** Signals passed on to the program. SIGINT is passed on only when stdin is not a terminal. */
const FORWARDED: readonly NodeJS.Signals[] = ['SIGTERM', 'SIGHUP', 'SIGUSR2'];

/** `existing` NODE_OPTIONS with `--require "<file>"` appended (quoted, as NODE_OPTIONS parses it). */
export function nodeOptionsWith(existing: string | undefined, file: string): string {
  const quoted = `"${file.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
  return [existing?.trim(), `--require ${quoted}`].filter((s) => s !== undefined && s !== '').join(' ');
}

/** The executable and arguments: a `.js`, `.mjs` or `.cjs` file runs with `execPath`. */
export function programOf(command: readonly string[], execPath: string): [file: string, args: string[]] {
  const [first, ...rest] = command;
  if (first === undefined) throw new Error('no program');
  return /\.[cm]?js$/i.test(first) ? [execPath, [first, ...rest]] : [first, rest];
}

/** The program's environment: `env` with the preload's variables set from the options (and no others). */
export function childEnv(args: RunArgs, env: NodeJS.ProcessEnv, cwd: string, registerPath = REGISTER_PATH): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = { ...env };
  for (const name of [ENV.nframe, ENV.interval, ENV.dump, ENV.top, ENV.key, ENV.oomDump, ENV.oomThreshold, ENV.announce, ENV.workers]) delete out[name];
  out.NODE_OPTIONS = nodeOptionsWith(env.NODE_OPTIONS, registerPath);
  out[ENV.nframe] = String(args.nframe);
  if (args.interval !== null) out[ENV.interval] = String(args.interval);
  if (args.dump !== null) out[ENV.dump] = path.resolve(cwd, args.dump);
  out[ENV.top] = String(args.top);
  out[ENV.key] = args.keyType;
  if (args.oomDump !== null) {
    out[ENV.oomDump] = path.resolve(cwd, args.oomDump);
    out[ENV.oomThreshold] = String(args.oomThreshold);
  }
  // Each traced process says its pid and how to ask it for a snapshot: a signal sent to npx, or
  // to this command started by a script, may not reach it.
  out[ENV.announce] = '1';
  // Worker threads run the preload too (NODE_OPTIONS --require): each is traced and reports.
  out[ENV.workers] = '1';
  return out;
}

type Outcome = { code: number | null; signal: NodeJS.Signals | null } | { error: NodeJS.ErrnoException };

export const command: Command = {
  name: 'run',
  summary: 'run a program traced and print its top allocation sites when it exits',
  // A getter: the tracer (for its default interval) is loaded only to show the help.
  get usage() {
    const { DEFAULT_SAMPLING_INTERVAL } = require('../../tracer.js') as typeof import('../../tracer.js');
    return `Usage: tracemalloc run [options] [--] <command> [args...]

Run a program with tracing on. When it exits, each traced Node.js process prints
its top allocation sites on stderr (stdout stays the program's), then this
command exits as the program did: same exit code, same signal.

A first argument ending in .js, .mjs or .cjs runs with this Node.js. Any other
command runs as it is, and every Node.js process it starts is traced (the
preload goes through NODE_OPTIONS), each printing its own top. Worker threads
are traced too, each printing its own top when it ends (not when terminated),
and writing FILE.worker-<threadId>.json with --dump FILE.json.

Options:
  --nframe N     frames kept per traceback, 1-65535 (default ${RUN_DEFAULT_NFRAME}: enough
                 for the traceback view and report's flame graph)
  --interval B   mean bytes between two heap samples (default ${DEFAULT_SAMPLING_INTERVAL}); smaller
                 is more precise and slower
  --top N        groups printed at exit, 0 for none (default 10)
  --key K        group by lineno, filename or traceback (default lineno)
  --dump FILE    also write the snapshot taken at exit to FILE (gzip when it
                 ends in .gz; %p in FILE becomes the process id)
  --oom-dump FILE
                 write a snapshot to FILE when the V8 heap nears its limit
                 (--max-old-space-size), before an out-of-memory crash
  --oom-threshold P
                 the share of the heap limit that first writes --oom-dump,
                 in percent, 10-99 (default ${DEFAULT_OOM_THRESHOLD}); it is written again at
                 each 10% more, the last one nearest to the crash
  -h, --help     show this help

Each traced process prints its pid when it starts. While it runs, SIGUSR2 (kill
-USR2 <pid>, or sent to this command) writes a numbered snapshot: FILE.1.json,
FILE.2.json... with --dump FILE.json, else tracemalloc-<pid>.1.json... in the
current directory. A signal sent to npx does not reach the program: use the pid.

Examples:
  tracemalloc run app.js
  tracemalloc run --top 5 --dump heap.json -- node --max-old-space-size=512 app.js
  tracemalloc top heap.json
`;
  },
  async run(argv, io) {
    const args = parseRunArgs(argv);
    if (args.help) {
      io.stdout.write(command.usage);
      return 0;
    }
    const cwd = process.cwd();
    const [file, rest] = programOf(args.command, process.execPath);
    const started = Date.now();
    const child = spawn(file, rest, { stdio: 'inherit', env: childEnv(args, process.env, cwd) });

    const handlers = new Map<NodeJS.Signals, () => void>();
    const forward = (signal: NodeJS.Signals) => () => {
      try {
        child.kill(signal);
      } catch {
        // Already gone.
      }
    };
    for (const signal of FORWARDED) handlers.set(signal, forward(signal));
    // Ctrl-C reaches the whole foreground process group, the program included: passing it on
    // would deliver it twice. Without a terminal, it came to this process alone.
    handlers.set('SIGINT', isatty(0) ? () => {} : forward('SIGINT'));
    for (const [signal, handler] of handlers) process.on(signal, handler);

    const outcome = await new Promise<Outcome>((resolve) => {
      child.once('error', (error: NodeJS.ErrnoException) => resolve({ error }));
      child.once('exit', (code, signal) => resolve({ code, signal }));
    });
    for (const [signal, handler] of handlers) process.removeListener(signal, handler);

    if ('error' in outcome) {
      const { code } = outcome.error;
      const why = code === 'ENOENT' ? 'command not found' : code === 'EACCES' ? 'permission denied' : outcome.error.message;
      io.stderr.write(`tracemalloc run: cannot run ${JSON.stringify(args.command[0])}: ${why}\n`);
      return code === 'ENOENT' ? 127 : 126;
    }
    if (args.dump !== null && !args.dump.includes('%p')) {
      const dump = path.resolve(cwd, args.dump);
      const stat = fs.statSync(dump, { throwIfNoEntry: false });
      if (stat !== undefined && stat.mtimeMs >= started - 1000) {
        io.stderr.write(`tracemalloc run: snapshot written to ${args.dump} (read it with: tracemalloc top ${args.dump})\n`);
      } else {
        io.stderr.write(`tracemalloc run: no snapshot was written to ${args.dump}\n`);
      }
    }
    if (outcome.signal !== null) {
      if (outcome.signal === 'SIGKILL') io.stderr.write('tracemalloc run: the program was killed by SIGKILL, before it could take a snapshot\n');
      // End the way the program ended: the same signal, with its default action.
      process.kill(process.pid, outcome.signal);
      return 128 + (os.constants.signals[outcome.signal] ?? 0);
    }
    return outcome.code ?? 1;
  },
};

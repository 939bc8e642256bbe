/**
 * The `tracemalloc` command line: finds the command in the registry and runs it. Exit codes: 0
 * done, 1 failed (an unreadable snapshot file...), 2 bad command line; `run` exits as its program.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { debuglog } from 'node:util';
import { parseGlobalArgs, UsageError } from './args.js';
import type { Command, CommandIO } from './command.js';
import { commands } from './commands/index.js';

const log = debuglog('tracemalloc');

/** The package's version, from its package.json. */
export function version(): string {
  const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version: string };
  return pkg.version;
}

/** `tracemalloc --help`, listing the commands of the registry. */
export function mainUsage(list: readonly Command[] = commands): string {
  const width = Math.max(...list.map((c) => c.name.length));
  return `Usage: tracemalloc <command> [options]

Find where a Node.js program allocates memory and what keeps growing: Python's
tracemalloc for Node.js.

Commands:
${list.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join('\n')}

Options:
  -h, --help     show this help; tracemalloc <command> --help shows a command's
  -v, --version  print the version

Without the command line: node --import tracemalloc/register app.js, with
NODE_TRACEMALLOC=1 and NODE_TRACEMALLOC_DUMP=heap.json (see docs/cli.md).
`;
}

function usageError(io: CommandIO, where: string, message: string, hint: string): number {
  io.stderr.write(`${where}: ${message}\nRun "${hint}" for usage.\n`);
  return 2;
}

/** Runs the command line `argv` (without node and the script) and resolves to the exit code. */
export async function runCli(argv: readonly string[], io: CommandIO): Promise<number> {
  let global: ReturnType<typeof parseGlobalArgs>;
  try {
    global = parseGlobalArgs(argv);
  } catch (err) {
    if (err instanceof UsageError) return usageError(io, 'tracemalloc', err.message, 'tracemalloc --help');
    throw err;
  }
  if (global.version) {
    io.stdout.write(`${version()}\n`);
    return 0;
  }
  let name = global.command;
  let args = global.args;
  if (name === 'help') {
    name = args[0] ?? null;
    args = ['--help'];
    if (name === null) global.help = true;
  }
  if (name === null) {
    (global.help ? io.stdout : io.stderr).write(mainUsage());
    return global.help ? 0 : 2;
  }
  const command = commands.find((c) => c.name === name);
  if (command === undefined) {
    return usageError(io, 'tracemalloc', `unknown command ${JSON.stringify(name)} (commands: ${commands.map((c) => c.name).join(', ')})`, 'tracemalloc --help');
  }
  if (global.help) args = ['--help'];
  try {
    return await command.run(args, io);
  } catch (err) {
    if (err instanceof UsageError) return usageError(io, `tracemalloc ${command.name}`, err.message, `tracemalloc ${command.name} --help`);
    log('%s failed: %o', command.name, err);
    io.stderr.write(`tracemalloc ${command.name}: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}

#!/usr/bin/env node
/** The `tracemalloc` bin: runs the command line on this process's streams and sets the exit code. */
import { runCli } from './program.js';

// `tracemalloc top big.json | head`: a closed pipe ends the output, not with a stack trace.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw err;
});

const stdoutTTY = Boolean(process.stdout.isTTY);
const stderrTTY = Boolean(process.stderr.isTTY);
const io = { stdout: process.stdout, stderr: process.stderr, isTTY: stdoutTTY && stderrTTY, stdoutTTY, stderrTTY, env: process.env };
runCli(process.argv.slice(2), io).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`tracemalloc: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  },
);

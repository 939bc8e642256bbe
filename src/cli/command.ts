/** The shape of a CLI command: `src/cli/commands/<name>.ts` exports one, listed in `commands/index.ts`. */

/** Where a command writes. `isTTY` is true when both stdout and stderr are terminals. */
export interface CommandIO {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  isTTY: boolean;
  /** Whether stdout is a terminal (default `isTTY`): colour of what is printed there. */
  stdoutTTY?: boolean;
  /** Whether stderr is a terminal (default `isTTY`): progress lines. */
  stderrTTY?: boolean;
  /** The variables colour and progress follow (`NO_COLOR`, `FORCE_COLOR`, `TERM`); none when absent. The bin passes `process.env`. */
  env?: Record<string, string | undefined>;
  /** Inputs of at least this many bytes show progress on a terminal (default 16 MiB). */
  progressMinBytes?: number;
}

export interface Command {
  /** The word after `tracemalloc`. */
  name: string;
  /** One line for `tracemalloc --help`. */
  summary: string;
  /** The full text of `tracemalloc <name> --help`. */
  usage: string;
  /** Runs with the arguments after the name; resolves to the exit code. Throws `UsageError` for a bad command line. */
  run(args: string[], io: CommandIO): Promise<number>;
}

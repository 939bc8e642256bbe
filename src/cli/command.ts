/** The shape of a CLI command: `src/cli/commands/<name>.ts` exports one, listed in `commands/index.ts`. */

/** Where a command writes. `isTTY` is true when both stdout and stderr are terminals. */
export interface CommandIO {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  isTTY: boolean;
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

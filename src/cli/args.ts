/**
 * Command-line parsing: pure functions from `argv` to plain values, throwing a `UsageError` whose
 * message says what is wrong. Nothing here reads the environment, the file system or a stream.
 */
import { CUMULATIVE_TRACEBACK_ERROR, isKeyType, KEY_TYPE_CHOICES, type KeyType } from '../keys.js';
import { DEFAULT_OOM_THRESHOLD, parseStrictInt, RUN_DEFAULT_NFRAME, STREAM_DUMP_REFUSED } from '../preload-env.js';

/** A command line the CLI cannot use; the CLI prints its message and exits with code 2. */
export class UsageError extends Error {
  readonly code = 'ERR_TRACEMALLOC_USAGE';
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** One option: `flag` takes no value; `value` takes one (`--x v` or `--x=v`); `list` takes one and may repeat. */
export interface OptionSpec {
  /** The long name, without dashes. */
  name: string;
  /** A one-letter alias, without the dash. */
  short?: string;
  kind: 'flag' | 'value' | 'list';
}

export interface ParsedOptions {
  flags: Set<string>;
  /** The last value of each `value` option given. */
  values: Map<string, string>;
  /** Every value of each `list` option, in order. */
  lists: Map<string, string[]>;
  positionals: string[];
}

/**
 * Splits `argv` into options and positionals. `--` ends the options. With `stopAtPositional`,
 * the first positional and everything after it are positionals (for `run`, whose program takes
 * its own options).
 */
export function parseOptions(argv: readonly string[], specs: readonly OptionSpec[], stopAtPositional = false): ParsedOptions {
  const out: ParsedOptions = { flags: new Set(), values: new Map(), lists: new Map(), positionals: [] };
  const byLong = new Map(specs.map((s) => [s.name, s]));
  const byShort = new Map(specs.filter((s) => s.short !== undefined).map((s) => [s.short!, s]));
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      out.positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('-') || arg === '-') {
      if (stopAtPositional) {
        out.positionals.push(...argv.slice(i));
        break;
      }
      out.positionals.push(arg);
      continue;
    }
    let spec: OptionSpec | undefined;
    let inline: string | undefined;
    let shown = arg;
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
      if (eq >= 0) inline = arg.slice(eq + 1);
      shown = `--${name}`;
      spec = byLong.get(name);
    } else if (arg.length === 2) {
      spec = byShort.get(arg.slice(1));
    }
    if (spec === undefined) throw new UsageError(`unknown option ${shown}`);
    if (spec.kind === 'flag') {
      if (inline !== undefined) throw new UsageError(`option --${spec.name} takes no value`);
      out.flags.add(spec.name);
      continue;
    }
    let value = inline;
    if (value === undefined) {
      if (i + 1 >= argv.length) throw new UsageError(`option --${spec.name} needs a value`);
      value = argv[++i]!;
    }
    if (spec.kind === 'value') out.values.set(spec.name, value);
    else {
      const list = out.lists.get(spec.name) ?? [];
      list.push(value);
      out.lists.set(spec.name, list);
    }
  }
  return out;
}

/** An integer option in [min; max], digits only. */
export function intOption(name: string, text: string | undefined, dflt: number, min: number, max: number): number {
  if (text === undefined) return dflt;
  const n = parseStrictInt(text, min, max);
  if (n === null) throw new UsageError(`--${name} must be an integer in [${min}; ${max}], not ${JSON.stringify(text)}`);
  return n;
}

/** How to read a `.heapprofile` given on the command line. */
export interface ProfileInputOptions {
  /** `--interval`: the interval a `.heapprofile` was sampled with (bytes), or `null` for its default. */
  interval: number | null;
  /** `--read-sources`: read the source files (and maps) a `.heapprofile` names, on this machine. */
  readSources: boolean;
}

/** `--interval` and `--read-sources`. */
export function profileInputOptions(values: Map<string, string>, flags: Set<string>): ProfileInputOptions {
  const interval = values.get('interval');
  return {
    interval: interval === undefined ? null : intOption('interval', interval, 0, 1, 2 ** 31 - 1),
    readSources: flags.has('read-sources'),
  };
}

/** Help of `--interval` and `--read-sources`, for the commands that read a `.heapprofile`. */
export const PROFILE_INPUT_HELP = `  --interval BYTES   the sampling interval of a .heapprofile input, to estimate
                     object counts (default 524288, node --heap-prof's default)
  --read-sources     for a .heapprofile input: read the source lines (and source
                     maps) of the files it names on this machine`;

/** `--key`: `lineno`, `filename` or `traceback`. */
export function keyOption(text: string | undefined): KeyType {
  if (text === undefined) return 'lineno';
  if (isKeyType(text)) return text;
  throw new UsageError(`--key must be ${KEY_TYPE_CHOICES}, not ${JSON.stringify(text)}`);
}

const HELP: OptionSpec = { name: 'help', short: 'h', kind: 'flag' };

export interface GlobalArgs {
  help: boolean;
  version: boolean;
  /** The command's name, or `null` when none was given. */
  command: string | null;
  /** The arguments after the command's name. */
  args: string[];
}

/** `tracemalloc [-h] [-v] <command> [args...]`. */
export function parseGlobalArgs(argv: readonly string[]): GlobalArgs {
  const p = parseOptions(argv, [HELP, { name: 'version', short: 'v', kind: 'flag' }], true);
  const [command, ...args] = p.positionals;
  return { help: p.flags.has('help'), version: p.flags.has('version'), command: command ?? null, args };
}

/** A `--filter` (inclusive) or `--exclude` (exclusive) fnmatch pattern. */
export interface FilterSpec {
  inclusive: boolean;
  pattern: string;
}

/** How `top` and `diff` group, cut and filter. */
/** The `--filter` and `--exclude` patterns of a command line, in that order. */
export function filterSpecs(lists: Map<string, string[]>): FilterSpec[] {
  return [
    ...(lists.get('filter') ?? []).map((pattern) => ({ inclusive: true, pattern })),
    ...(lists.get('exclude') ?? []).map((pattern) => ({ inclusive: false, pattern })),
  ];
}

/** Help of `--filter` and `--exclude`, the same in every command that reads a snapshot. */
export const FILTER_HELP = `  --filter PATTERN   keep only traces whose file matches PATTERN, a Python fnmatch
                     pattern matched against the whole path (* crosses /);
                     repeatable: a trace matching any of them is kept
  --exclude PATTERN  drop traces whose file matches PATTERN (repeatable)`;

/** Help of the options of `top` and `diff` (`ViewOptions`). */
export const VIEW_HELP = `  --key K            group by lineno, filename or traceback (default lineno)
  --cumulative       count a trace at every frame of its traceback, not only
                     the most recent (not with --key traceback)
  --limit N          groups to list, 0 for all (default 10)
${FILTER_HELP}
  --json             print JSON (its shape is described in docs/cli.md)
${PROFILE_INPUT_HELP}
  -h, --help         show this help`;

export interface ViewOptions extends ProfileInputOptions {
  keyType: KeyType;
  cumulative: boolean;
  /** Groups listed; 0 lists them all. */
  limit: number;
  filters: FilterSpec[];
  json: boolean;
}

const VIEW_SPECS: readonly OptionSpec[] = [
  HELP,
  { name: 'key', kind: 'value' },
  { name: 'cumulative', kind: 'flag' },
  { name: 'limit', kind: 'value' },
  { name: 'filter', kind: 'list' },
  { name: 'exclude', kind: 'list' },
  { name: 'json', kind: 'flag' },
  { name: 'interval', kind: 'value' },
  { name: 'read-sources', kind: 'flag' },
];

function viewOptions(p: ParsedOptions): ViewOptions {
  const keyType = keyOption(p.values.get('key'));
  const cumulative = p.flags.has('cumulative');
  if (cumulative && keyType === 'traceback') throw new UsageError(CUMULATIVE_TRACEBACK_ERROR);
  return {
    keyType,
    cumulative,
    limit: intOption('limit', p.values.get('limit'), 10, 0, 2 ** 31 - 1),
    filters: filterSpecs(p.lists),
    json: p.flags.has('json'),
    ...profileInputOptions(p.values, p.flags),
  };
}

export interface TopArgs extends ViewOptions {
  help: boolean;
  file: string;
}

/** `tracemalloc top [options] <file>`. */
export function parseTopArgs(argv: readonly string[]): TopArgs {
  const p = parseOptions(argv, VIEW_SPECS);
  const help = p.flags.has('help');
  const view = viewOptions(p);
  if (help) return { help, file: '', ...view };
  if (p.positionals.length !== 1) {
    throw new UsageError(p.positionals.length === 0 ? 'a snapshot file is needed' : `one snapshot file is needed, not ${p.positionals.length}`);
  }
  return { help, file: p.positionals[0]!, ...view };
}

export interface DiffArgs extends ViewOptions {
  help: boolean;
  oldFile: string;
  newFile: string;
}

/** `tracemalloc diff [options] <old> <new>`. */
export function parseDiffArgs(argv: readonly string[]): DiffArgs {
  const p = parseOptions(argv, VIEW_SPECS);
  const help = p.flags.has('help');
  const view = viewOptions(p);
  if (help) return { help, oldFile: '', newFile: '', ...view };
  if (p.positionals.length !== 2) throw new UsageError(`two snapshot files are needed (old, then new), not ${p.positionals.length}`);
  return { help, oldFile: p.positionals[0]!, newFile: p.positionals[1]!, ...view };
}

export interface RunArgs {
  help: boolean;
  /** Frames per traceback: `--nframe`, else `RUN_DEFAULT_NFRAME` (16). */
  nframe: number;
  /** `--interval`, or `null` for the library's default. */
  interval: number | null;
  /** Lines of the top printed at exit; 0 prints none. */
  top: number;
  keyType: KeyType;
  dump: string | null;
  /** `--oom-dump FILE`: a snapshot when the V8 heap nears its limit, or `null`. */
  oomDump: string | null;
  /** `--oom-threshold P`: the share of the heap limit (percent) that writes it. */
  oomThreshold: number;
  /** The program and its arguments. */
  command: string[];
}

/** `tracemalloc run [options] [--] <command> [args...]`: options end at the program's name. */
export function parseRunArgs(argv: readonly string[]): RunArgs {
  const p = parseOptions(argv, [
    HELP,
    { name: 'nframe', kind: 'value' },
    { name: 'interval', kind: 'value' },
    { name: 'top', kind: 'value' },
    { name: 'key', kind: 'value' },
    { name: 'dump', kind: 'value' },
    { name: 'oom-dump', kind: 'value' },
    { name: 'oom-threshold', kind: 'value' },
  ], true);
  const keyType = keyOption(p.values.get('key'));
  const dump = p.values.get('dump');
  if (dump === '') throw new UsageError('--dump needs a file name');
  if (dump === '-') throw new UsageError(`--dump needs ${STREAM_DUMP_REFUSED}`);
  const oomDump = p.values.get('oom-dump');
  if (oomDump === '') throw new UsageError('--oom-dump needs a file name');
  const interval = p.values.get('interval');
  const args: RunArgs = {
    help: p.flags.has('help'),
    nframe: intOption('nframe', p.values.get('nframe'), RUN_DEFAULT_NFRAME, 1, 65535),
    interval: interval === undefined ? null : intOption('interval', interval, 0, 1, 2 ** 31 - 1),
    top: intOption('top', p.values.get('top'), 10, 0, 65535),
    keyType,
    dump: dump ?? null,
    oomDump: oomDump ?? null,
    oomThreshold: intOption('oom-threshold', p.values.get('oom-threshold'), DEFAULT_OOM_THRESHOLD, 10, 99),
    command: p.positionals,
  };
  if (!args.help && args.command.length === 0) throw new UsageError('a program to run is needed');
  return args;
}

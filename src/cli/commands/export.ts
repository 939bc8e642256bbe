/** `tracemalloc export FILE --format pprof|heapprofile -o OUT`: a snapshot in another tool's format. */
import { heapProfileToText, toHeapProfile } from '../../export/heapprofile.js';
import { toPprof } from '../../export/pprof.js';
import { FILTER_HELP, filterSpecs, parseOptions, profileInputOptions, UsageError, type FilterSpec } from '../args.js';
import type { Command } from '../command.js';
import { applyFilters, inputBytes, withProgress } from '../../view.js';
import { defaultOutput, INPUT_SPECS, loadInput, writeOutput, type ProfileInputOptions } from '../input.js';

export type ExportFormat = 'pprof' | 'heapprofile';

export interface ExportArgs extends ProfileInputOptions {
  help: boolean;
  file: string;
  format: ExportFormat;
  /** Where to write; `-` is stdout. */
  output: string;
  filters: FilterSpec[];
}

const EXTENSIONS: Record<ExportFormat, string> = { pprof: '.pb.gz', heapprofile: '.heapprofile' };

/** The format an output name implies: `.pb.gz`, `.pb`, `.pprof` -> pprof; `.heapprofile` -> heapprofile. */
export function formatOfName(file: string): ExportFormat | null {
  if (/\.(pb|pprof)(\.gz)?$/i.test(file)) return 'pprof';
  if (/\.heapprofile$/i.test(file)) return 'heapprofile';
  return null;
}

/** `tracemalloc export [options] <file>`. Pure: throws a `UsageError` for a bad command line. */
export function parseExportArgs(argv: readonly string[]): ExportArgs {
  const p = parseOptions(argv, [...INPUT_SPECS, { name: 'format', short: 'f', kind: 'value' }]);
  const help = p.flags.has('help');
  const input = { filters: filterSpecs(p.lists), ...profileInputOptions(p.values, p.flags) };
  const output = p.values.get('output');
  if (output === '') throw new UsageError('--output needs a file name');
  const given = p.values.get('format');
  if (given !== undefined && given !== 'pprof' && given !== 'heapprofile') {
    throw new UsageError(`--format must be pprof or heapprofile, not ${JSON.stringify(given)}`);
  }
  if (help) return { help, file: '', format: given ?? 'pprof', output: output ?? '', ...input };
  if (p.positionals.length !== 1) {
    throw new UsageError(p.positionals.length === 0 ? 'a snapshot file is needed' : `one snapshot file is needed, not ${p.positionals.length}`);
  }
  const file = p.positionals[0]!;
  const format = given ?? (output === undefined ? null : formatOfName(output));
  if (format === null) throw new UsageError('--format is needed (pprof or heapprofile) when the output name does not imply one');
  return { help, file, format, output: output ?? defaultOutput(file, EXTENSIONS[format]), ...input };
}

export const command: Command = {
  name: 'export',
  summary: 'convert a snapshot to pprof (go tool pprof) or .heapprofile (Chrome DevTools)',
  usage: `Usage: tracemalloc export [options] <file>

Convert a snapshot to another tool's format:
  pprof        gzipped protobuf for go tool pprof, Pyroscope, Grafana... (sample
               types inuse_objects/inuse_space, or alloc_* for an 'allocated'
               snapshot; a "domain" label: heap, external or user-N)
  heapprofile  Chrome DevTools' format: Memory panel > Load profile (the V8 heap;
               other domains under a "(domain N: ...)" node)

<file> is a snapshot file (.json, .json.gz) or a .heapprofile.

Options:
  -f, --format F     pprof or heapprofile (default: from the output's name,
                     .pb.gz or .heapprofile)
  -o, --output FILE  where to write (default <file's name>.pb.gz or
                     .heapprofile; - for stdout)
${FILTER_HELP}
  --interval BYTES   the sampling interval of a .heapprofile input (default
                     524288, node --heap-prof's default)
  --read-sources     for a .heapprofile input: read the source maps of the files
                     it names on this machine
  -h, --help         show this help

Examples:
  tracemalloc export heap.json --format pprof -o heap.pb.gz && go tool pprof -top heap.pb.gz
  tracemalloc export heap.json -o heap.heapprofile
`,
  async run(argv, io) {
    const args = parseExportArgs(argv);
    if (args.help) {
      io.stdout.write(command.usage);
      return 0;
    }
    const snapshot = applyFilters(loadInput(args.file, io, args), args.filters);
    const data = withProgress(io, inputBytes(args.file), `converting to ${args.format}...`,
      () => (args.format === 'pprof' ? toPprof(snapshot) : heapProfileToText(toHeapProfile(snapshot))));
    writeOutput(args.output, data, io, args.format === 'pprof' ? 'the pprof profile' : 'the heap profile');
    return 0;
  },
};

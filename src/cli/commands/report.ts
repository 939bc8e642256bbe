/** `tracemalloc report FILE [--diff OLD] -o report.html`: a self-contained HTML report of a snapshot. */
import { renderHtmlReport } from '../../export/html.js';
import { FILTER_HELP, filterSpecs, intOption, parseOptions, profileInputOptions, UsageError, type FilterSpec } from '../args.js';
import type { Command } from '../command.js';
import { defaultOutput, INPUT_SPECS, loadInput, writeOutput, type ProfileInputOptions } from '../input.js';
import { applyFilters, inputBytes, withProgress } from '../../view.js';


export interface ReportArgs extends ProfileInputOptions {
  help: boolean;
  file: string;
  /** `--diff OLD`, or `null`. */
  diff: string | null;
  /** Where to write; `-` is stdout. */
  output: string;
  title: string | null;
  /** Rows of each top table. */
  top: number;
  filters: FilterSpec[];
}



/** `tracemalloc report [options] <file>`. Pure: throws a `UsageError` for a bad command line. */
export function parseReportArgs(argv: readonly string[]): ReportArgs {
  const p = parseOptions(argv, [...INPUT_SPECS, { name: 'diff', kind: 'value' }, { name: 'title', kind: 'value' }, { name: 'top', kind: 'value' }]);
  const help = p.flags.has('help');
  const rest = {
    diff: p.values.get('diff') ?? null,
    title: p.values.get('title') ?? null,
    top: intOption('top', p.values.get('top'), 50, 1, 10_000),
    filters: filterSpecs(p.lists),
    ...profileInputOptions(p.values, p.flags),
  };
  if (rest.diff === '') throw new UsageError('--diff needs a snapshot file');
  const output = p.values.get('output');
  if (output === '') throw new UsageError('--output needs a file name');
  if (help) return { help, file: '', output: output ?? '', ...rest };
  if (p.positionals.length !== 1) {
    throw new UsageError(p.positionals.length === 0 ? 'a snapshot file is needed' : `one snapshot file is needed, not ${p.positionals.length} (the old one goes after --diff)`);
  }
  const file = p.positionals[0]!;
  return { help, file, output: output ?? defaultOutput(file, '.html'), ...rest };
}


export const command: Command = {
  name: 'report',
  summary: 'write a self-contained HTML report (flame graph, top tables, diff)',
  usage: `Usage: tracemalloc report [options] <file>

Write one self-contained HTML file (no network needed) that shows a snapshot: a
flame graph per domain (V8 heap, Buffers, user domains) to zoom and search, the
top allocation sites by line, file or traceback with their source lines, and
with --diff, the growth since an older snapshot (red) and the shrinkage (blue).

<file> is a snapshot file (Snapshot.dump(), NODE_TRACEMALLOC_DUMP, .json or
.json.gz) or a Chrome DevTools .heapprofile (node --heap-prof, DevTools).

Options:
  -o, --output FILE  where to write (default <file's name>.html; - for stdout)
  --diff OLD         compare with the older snapshot OLD (same kinds of file)
  --title TEXT       the page's title
  --top N            rows of each top table (default 50)
${FILTER_HELP}
  --interval BYTES   the sampling interval of a .heapprofile, to estimate object
                     counts (default 524288, node --heap-prof's default)
  --read-sources     for a .heapprofile: read the source lines (and source maps)
                     of the files it names on this machine
  -h, --help         show this help

Examples:
  tracemalloc report heap.json -o report.html
  tracemalloc report after.json --diff before.json -o leak.html
  node --heap-prof app.js && tracemalloc report --read-sources Heap.*.heapprofile
`,
  async run(argv, io) {
    const args = parseReportArgs(argv);
    if (args.help) {
      io.stdout.write(command.usage);
      return 0;
    }
    const snapshot = applyFilters(loadInput(args.file, io, args), args.filters);
    const old = args.diff === null ? undefined : applyFilters(loadInput(args.diff, io, args), args.filters);
    const html = withProgress(io, inputBytes(args.file) + (args.diff === null ? 0 : inputBytes(args.diff)), 'rendering the report...', () => renderHtmlReport(snapshot, {
      ...(old !== undefined ? { diffFrom: old } : {}),
      ...(args.title !== null ? { title: args.title } : {}),
      topRows: args.top,
    }));
    writeOutput(args.output, html, io, 'the report');
    return 0;
  },
};

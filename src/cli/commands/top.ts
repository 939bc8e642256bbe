/** `tracemalloc top FILE`: the top allocation sites of a snapshot file. */
import { parseTopArgs, VIEW_HELP } from '../args.js';
import type { Command } from '../command.js';
import { loadInput } from '../input.js';
import { applyFilters, renderTop, stdoutStyle, topJSON } from '../../view.js';

export const command: Command = {
  name: 'top',
  summary: 'print the top allocation sites of a snapshot file',
  usage: `Usage: tracemalloc top [options] <file>

Print the top allocation sites of a snapshot file (written by Snapshot.dump(),
NODE_TRACEMALLOC_DUMP or tracemalloc run --dump), as Python's display_top does.
<file> may also be a Chrome DevTools .heapprofile (node --heap-prof, DevTools).

Options:
${VIEW_HELP}

Examples:
  tracemalloc top heap.json
  tracemalloc top --limit 5 --filter '*/src/*' --exclude 'node:*' heap.json.gz
  node --heap-prof app.js && tracemalloc top --read-sources Heap.*.heapprofile
`,
  async run(argv, io) {
    const args = parseTopArgs(argv);
    if (args.help) {
      io.stdout.write(command.usage);
      return 0;
    }
    const snapshot = applyFilters(loadInput(args.file, io, args), args.filters);
    const text = args.json
      ? JSON.stringify(topJSON(snapshot, args, args.file), null, 2)
      : renderTop(snapshot, args, stdoutStyle(io));
    io.stdout.write(`${text}\n`);
    return 0;
  },
};

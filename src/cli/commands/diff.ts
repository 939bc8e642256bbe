/** `tracemalloc diff OLD NEW`: what grew and shrank between two snapshot files. */
import { parseDiffArgs, VIEW_HELP } from '../args.js';
import type { Command } from '../command.js';
import { loadInput } from '../input.js';
import { applyFilters, diffJSON, renderDiff, stdoutStyle } from '../../view.js';

export const command: Command = {
  name: 'diff',
  summary: 'print what grew and shrank between two snapshot files',
  usage: `Usage: tracemalloc diff [options] <old> <new>

Compare two snapshot files as Python's Snapshot.compare_to does and print one
line per group, biggest change first: file:line, size (change), count (change),
average. Either file may be a Chrome DevTools .heapprofile (node --heap-prof).

Options:
${VIEW_HELP}

Example:
  tracemalloc diff --limit 5 before.json after.json
`,
  async run(argv, io) {
    const args = parseDiffArgs(argv);
    if (args.help) {
      io.stdout.write(command.usage);
      return 0;
    }
    const oldSnapshot = applyFilters(loadInput(args.oldFile, io, args), args.filters);
    const newSnapshot = applyFilters(loadInput(args.newFile, io, args), args.filters);
    const text = args.json
      ? JSON.stringify(diffJSON(newSnapshot, oldSnapshot, args, args.oldFile, args.newFile), null, 2)
      : renderDiff(newSnapshot, oldSnapshot, args, stdoutStyle(io));
    io.stdout.write(`${text}\n`);
    return 0;
  },
};

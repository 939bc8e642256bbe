/**
 * The commands of the `tracemalloc` bin, in the order `tracemalloc --help` lists them. Each module
 * under this directory exports `command`; adding one is one line here.
 */
import type { Command } from '../command.js';

export const commands: readonly Command[] = [
  (require('./run.js') as typeof import('./run.js')).command,
  (require('./top.js') as typeof import('./top.js')).command,
  (require('./diff.js') as typeof import('./diff.js')).command,
  (require('./report.js') as typeof import('./report.js')).command,
  (require('./export.js') as typeof import('./export.js')).command,
];

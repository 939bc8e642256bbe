/**
 * The commands of the `tracemalloc` bin, in the order `tracemalloc --help` lists them. Each module
 * under this directory exports `command`; adding one is one line here. A command's module is
 * loaded when the command runs or its text is read: `tracemalloc run` does not load the
 * exporters and the report (issue 17).
 */
import type { Command } from '../command.js';

function lazy(name: string, load: () => Command): Command {
  let loaded: Command | null = null;
  const get = (): Command => (loaded ??= load());
  return {
    name,
    get summary() {
      return get().summary;
    },
    get usage() {
      return get().usage;
    },
    run: (args, io) => get().run(args, io),
  };
}

export const commands: readonly Command[] = [
  lazy('run', () => (require('./run.js') as typeof import('./run.js')).command),
  lazy('top', () => (require('./top.js') as typeof import('./top.js')).command),
  lazy('diff', () => (require('./diff.js') as typeof import('./diff.js')).command),
  lazy('report', () => (require('./report.js') as typeof import('./report.js')).command),
  lazy('export', () => (require('./export.js') as typeof import('./export.js')).command),
];

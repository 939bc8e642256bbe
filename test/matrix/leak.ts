// Entry of the matrix's leak cells: measureLeak on the fixture's leaking function.
import { measureLeak } from 'tracemalloc/testing';
import { leakSite } from './app.js';

measureLeak(leakSite, { iterations: 1000 }).then(
  (report) => process.stdout.write(JSON.stringify({ leaking: report.leaking, growth: report.growthPerIteration, sites: report.sites })),
  (err: unknown) => {
    process.stderr.write(String((err as Error).stack));
    process.exitCode = 1;
  },
);

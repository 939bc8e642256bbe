/**
 * tracemalloc for Node.js: Python's `tracemalloc` API over V8's sampling heap profiler.
 * This barrel holds explicit exports only.
 */
export { Frame, Traceback } from './frame.js';
export type { FrameExtra, RawFrame } from './frame.js';
export { Snapshot, Trace, Traces } from './snapshot.js';
export type { KeyType, RawTrace, SnapshotOptions } from './snapshot.js';
export { Statistic, StatisticDiff } from './statistic.js';
export { Filter, DomainFilter } from './filter.js';
export { formatSize } from './format.js';
export { fnmatch } from './fnmatch.js';
export { getSourceLine, setSourceReader, registerSource, clearSourceCache } from './source.js';
export type { SourceReader } from './source.js';
export { SnapshotFormatError, FORMAT_VERSION, DEFAULT_MAX_BYTES } from './persist.js';
export type { LoadOptions, SnapshotJSON } from './persist.js';
export { formatTop } from './top.js';
export type { FormatTopOptions } from './top.js';
export {
  start, stop, isTracing, clearTraces, getTracebackLimit, getTracedMemory, resetPeak,
  getTracemallocMemory, takeSnapshot, getObjectTraceback, track, untrack, HEAP_DOMAIN, EXTERNAL_DOMAIN, DEFAULT_SAMPLING_INTERVAL,
  NotTracingError, TracerOwnedError, InspectorError,
} from './tracer.js';
export type { StartOptions } from './tracer.js';
export { toPprof } from './export/pprof.js';
export { heapProfileToText, toHeapProfile, snapshotFromHeapProfile } from './export/heapprofile.js';
export type { HeapProfileJSON, HeapProfileReadOptions } from './export/heapprofile.js';
export { renderHtmlReport } from './export/html.js';
export type { HtmlReportOptions } from './export/html.js';
export { startReporter } from './reporter.js';
export type { Reporter, ReporterOptions, ReportRecord, ReportSite } from './reporter.js';
export { createHttpHandler } from './http.js';
export type { HttpHandler, HttpHandlerOptions } from './http.js';

// `import tracemalloc from 'tracemalloc'` works everywhere its typings accept it: in ES modules
// (the wrapper's default export) and in CommonJS compiled with esModuleInterop, which reads
// `.default` of a module marked __esModule. The default is the module itself.
// (A circular require returns this module's exports object, complete by this line.)
type Api = Omit<typeof import('./index.js'), 'default'>;
const self: Api = require('./index.js') as Api;
export default self;

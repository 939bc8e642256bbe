/**
 * An HTTP handler for Node's `http` (and any framework that passes `(req, res, next)`), in the
 * spirit of Go's /debug/pprof/heap: the top, a diff against the previous call, and a snapshot
 * download. It exposes file paths and source lines: mount it only behind the service's own
 * access control (docs/services.md).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { debuglog } from 'node:util';
import * as zlib from 'node:zlib';
import { describeType, describeValue } from './format.js';
import { diffJSON, renderDiff, renderTop, topJSON, type TopView } from './cli/view.js';
import type { KeyType, Snapshot } from './snapshot.js';
import { isTracing, start, takeSnapshot } from './tracer.js';

const log = debuglog('tracemalloc');

export interface HttpHandlerOptions {
  /** Where the routes live. Default `'/debug/tracemalloc'`. */
  prefix?: string;
  /** Groups listed when the query has no `limit`. Default 10. */
  limit?: number;
  /** Grouping when the query has no `key`. Default `'lineno'`. */
  keyType?: KeyType;
}

/** `(req, res, next?)`: requests outside the prefix go to `next` when given, else get a 404. */
export type HttpHandler = (req: IncomingMessage, res: ServerResponse, next?: (err?: unknown) => void) => void;

class BadRequest extends Error {}

function send(res: ServerResponse, status: number, type: string, body: string | Buffer, head: boolean, headers: Record<string, string> = {}): void {
  const data = typeof body === 'string' ? Buffer.from(body) : body;
  res.writeHead(status, {
    'Content-Type': type,
    'Content-Length': String(data.length),
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
    ...headers,
  });
  res.end(head ? undefined : data);
}

function viewOf(query: URLSearchParams, dflt: TopView): TopView {
  const key = query.get('key') ?? dflt.keyType;
  if (key !== 'lineno' && key !== 'filename' && key !== 'traceback') throw new BadRequest(`key must be lineno, filename or traceback, not ${JSON.stringify(key)}`);
  const limitText = query.get('limit');
  let limit = dflt.limit;
  if (limitText !== null) {
    if (!/^[0-9]{1,9}$/.test(limitText)) throw new BadRequest(`limit must be an integer >= 0, not ${JSON.stringify(limitText)}`);
    limit = Number(limitText);
  }
  const cumulativeText = query.get('cumulative') ?? '0';
  if (!['0', '1', 'true', 'false'].includes(cumulativeText)) throw new BadRequest(`cumulative must be 1 or 0, not ${JSON.stringify(cumulativeText)}`);
  const cumulative = cumulativeText === '1' || cumulativeText === 'true';
  if (cumulative && key === 'traceback') throw new BadRequest("cumulative mode cannot by used with key type 'traceback'");
  return { keyType: key, limit, cumulative };
}

function formatOf(query: URLSearchParams): 'text' | 'json' {
  const format = query.get('format') ?? 'text';
  if (format !== 'text' && format !== 'json') throw new BadRequest(`format must be text or json, not ${JSON.stringify(format)}`);
  return format;
}

function index(prefix: string): string {
  return `tracemalloc: memory allocation sites of this process (sizes are sampled estimates)

${prefix}/top        the top allocation sites (?limit=10&key=lineno|filename|traceback&cumulative=1&format=json)
${prefix}/diff       what grew since the previous call of /diff (same options)
${prefix}/snapshot   the whole snapshot, gzip JSON: tracemalloc top FILE.json.gz reads it
`;
}

/**
 * Serves `GET <prefix>/top`, `<prefix>/diff` and `<prefix>/snapshot` (and an index at `<prefix>`).
 * Starts tracing if it is off; the first `/diff` compares with a snapshot taken now.
 */
export function createHttpHandler(options: HttpHandlerOptions = {}): HttpHandler {
  if (options === null || typeof options !== 'object') throw new TypeError(`options must be an object, not ${describeType(options)}`);
  const rawPrefix = options.prefix ?? '/debug/tracemalloc';
  if (typeof rawPrefix !== 'string') throw new TypeError(`options.prefix must be a string, not ${describeValue(rawPrefix)}`);
  const prefix = rawPrefix.replace(/\/+$/, '');
  if (!prefix.startsWith('/')) throw new TypeError(`options.prefix must start with /, not ${JSON.stringify(options.prefix)}`);
  const limit = options.limit ?? 10;
  if (typeof limit !== 'number') throw new TypeError(`options.limit must be an integer >= 0, not ${describeValue(limit)}`);
  if (!Number.isInteger(limit) || limit < 0) throw new RangeError(`options.limit must be an integer >= 0, not ${String(limit)}`);
  const keyType = options.keyType ?? 'lineno';
  if (keyType !== 'lineno' && keyType !== 'filename' && keyType !== 'traceback') throw new RangeError(`unknown key_type: ${String(keyType)}`);
  const dflt: TopView = { keyType, limit, cumulative: false };
  if (!isTracing()) start();
  let previous: Snapshot = takeSnapshot();

  return (req, res, next) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname;
    if (path !== prefix && !path.startsWith(`${prefix}/`)) {
      if (next !== undefined) next();
      else send(res, 404, 'text/plain; charset=utf-8', 'not found\n', req.method === 'HEAD');
      return;
    }
    const head = req.method === 'HEAD';
    if (req.method !== 'GET' && !head) {
      send(res, 405, 'text/plain; charset=utf-8', 'only GET and HEAD\n', false, { Allow: 'GET, HEAD' });
      return;
    }
    const route = path.slice(prefix.length).replace(/\/+$/, '');
    try {
      if (route === '') {
        send(res, 200, 'text/plain; charset=utf-8', index(prefix), head);
        return;
      }
      if (route !== '/top' && route !== '/diff' && route !== '/snapshot') {
        send(res, 404, 'text/plain; charset=utf-8', `not found; see ${prefix}/\n`, head);
        return;
      }
      if (!isTracing()) {
        send(res, 503, 'text/plain; charset=utf-8', 'tracemalloc is not tracing: call tracemalloc.start() or run with NODE_TRACEMALLOC=1\n', head);
        return;
      }
      if (route === '/snapshot') {
        const snapshot = takeSnapshot();
        const name = `tracemalloc-${process.pid}-${new Date().toISOString().replace(/[:.]/g, '-')}.json.gz`;
        zlib.gzip(JSON.stringify(snapshot.toJSON()), (err, data) => {
          if (err !== null) {
            log('http: gzip failed: %o', err);
            send(res, 500, 'text/plain; charset=utf-8', 'cannot compress the snapshot\n', head);
            return;
          }
          send(res, 200, 'application/gzip', data, head, { 'Content-Disposition': `attachment; filename="${name}"` });
        });
        return;
      }
      const view = viewOf(url.searchParams, dflt);
      const format = formatOf(url.searchParams);
      const snapshot = takeSnapshot();
      let body: string;
      if (route === '/top') {
        body = format === 'json' ? JSON.stringify(topJSON(snapshot, view, null)) : renderTop(snapshot, view);
      } else {
        const base = previous;
        previous = snapshot;
        body = format === 'json' ? JSON.stringify(diffJSON(snapshot, base, view, null, null)) : renderDiff(snapshot, base, view);
      }
      send(res, 200, format === 'json' ? 'application/json; charset=utf-8' : 'text/plain; charset=utf-8', `${body}\n`, head);
    } catch (err) {
      if (err instanceof BadRequest) {
        send(res, 400, 'text/plain; charset=utf-8', `${err.message}\n`, head);
        return;
      }
      log('http: %s failed: %o', path, err);
      send(res, 500, 'text/plain; charset=utf-8', `tracemalloc: ${err instanceof Error ? err.message : String(err)}\n`, head);
    }
  };
}

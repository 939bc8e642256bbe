/**
 * An HTTP handler for Node's `http` (and any framework that passes `(req, res, next)`), in the
 * spirit of Go's net/http/pprof: the top, a diff against the previous call, a snapshot download,
 * and Go's own `/debug/pprof/heap` and `/debug/pprof/allocs` routes, so that the continuous
 * profilers that scrape Go services (Pyroscope, Alloy, Parca, `go tool pprof URL`) read a Node.js
 * process the same way. It exposes file paths and source lines: mount it only behind the
 * service's own access control (docs/services.md).
 *
 * Nothing a client sends (request target, method, headers, query, encoding) throws out of the
 * handler: a request it cannot read is a 400, and an internal failure a 500.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { debuglog } from 'node:util';
import * as zlib from 'node:zlib';
import { describeType, describeValue } from './format.js';
import { diffJSON, renderDiff, renderTop, topJSON, type TopView } from './view.js';
import { buildPprof } from './export/pprof.js';
import { snapshotJSONChunks } from './json-stream.js';
import { CUMULATIVE_TRACEBACK_ERROR, isKeyType, KEY_TYPE_CHOICES, type KeyType } from './keys.js';
import type { Snapshot } from './snapshot.js';
import { isTracing, start, takeSnapshot } from './tracer.js';

const log = debuglog('tracemalloc');

export interface HttpHandlerOptions {
  /** Where the routes live. Default `'/debug/tracemalloc'`. */
  prefix?: string;
  /** Groups listed when the query has no `limit`. Default 10. */
  limit?: number;
  /** Grouping when the query has no `key`. Default `'lineno'`. */
  keyType?: KeyType;
  /**
   * Where Go's pprof routes live: `<pprofPrefix>/heap` and `<pprofPrefix>/allocs`. Default
   * `'/debug/pprof'`, Go's path, which scrapers use by default; `false` serves neither.
   */
  pprofPrefix?: string | false;
}

/** `(req, res, next?)`: requests outside the prefixes go to `next` when given, else get a 404. */
export type HttpHandler = (req: IncomingMessage, res: ServerResponse, next?: (err?: unknown) => void) => void;

class BadRequest extends Error {}

const TEXT = 'text/plain; charset=utf-8';

function send(res: ServerResponse, status: number, type: string, body: string | Buffer, head: boolean, headers: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed) {
    res.destroy();
    return;
  }
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

/**
 * The path and query of a request target, read without throwing: origin form (`/a?b`) or absolute
 * form (`http://host/a?b`), the fragment dropped. The path stays percent-encoded, as clients send
 * it. `null` for anything else (`*`, an authority, garbage).
 */
export function parseTarget(target: string): { path: string; query: URLSearchParams } | null {
  let rest = target;
  if (!rest.startsWith('/')) {
    const m = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#]*/.exec(rest);
    if (m === null) return null;
    rest = rest.slice(m[0].length);
    if (!rest.startsWith('/')) rest = `/${rest}`;
  }
  const hash = rest.indexOf('#');
  if (hash >= 0) rest = rest.slice(0, hash);
  const q = rest.indexOf('?');
  return { path: q < 0 ? rest : rest.slice(0, q), query: new URLSearchParams(q < 0 ? '' : rest.slice(q + 1)) };
}

function viewOf(query: URLSearchParams, dflt: TopView): TopView {
  const key = query.get('key') ?? dflt.keyType;
  if (!isKeyType(key)) throw new BadRequest(`key must be ${KEY_TYPE_CHOICES}, not ${JSON.stringify(key)}`);
  const limitText = query.get('limit');
  let limit = dflt.limit;
  if (limitText !== null) {
    if (!/^[0-9]{1,9}$/.test(limitText)) throw new BadRequest(`limit must be an integer >= 0, not ${JSON.stringify(limitText)}`);
    limit = Number(limitText);
  }
  const cumulativeText = query.get('cumulative') ?? '0';
  if (!['0', '1', 'true', 'false'].includes(cumulativeText)) throw new BadRequest(`cumulative must be 1 or 0, not ${JSON.stringify(cumulativeText)}`);
  const cumulative = cumulativeText === '1' || cumulativeText === 'true';
  if (cumulative && key === 'traceback') throw new BadRequest(CUMULATIVE_TRACEBACK_ERROR);
  return { keyType: key, limit, cumulative };
}

function formatOf(query: URLSearchParams): 'text' | 'json' {
  const format = query.get('format') ?? 'text';
  if (format !== 'text' && format !== 'json') throw new BadRequest(`format must be text or json, not ${JSON.stringify(format)}`);
  return format;
}

function index(base: string, pprofBase: string | null): string {
  return `tracemalloc: memory allocation sites of this process (sizes are sampled estimates)

${base}/top        the top allocation sites (?limit=10&key=lineno|filename|traceback&cumulative=1&format=json)
${base}/diff       what grew since the previous call of /diff (same options)
${base}/snapshot   the whole snapshot, gzip JSON: tracemalloc top FILE.json.gz reads it
${pprofBase === null ? '' : `${pprofBase}/heap      pprof (go tool pprof, Pyroscope, Parca): inuse_objects, inuse_space
${pprofBase}/allocs    the same profile; alloc_objects, alloc_space when tracing in 'allocated' mode
`}`;
}

function checkPrefix(name: string, value: unknown): string {
  if (typeof value !== 'string') throw new TypeError(`options.${name} must be a string, not ${describeValue(value)}`);
  const prefix = value.replace(/\/+$/, '');
  if (!value.startsWith('/')) throw new TypeError(`options.${name} must start with /, not ${JSON.stringify(value)}`);
  return prefix;
}

/** The route under `prefix` (`''` for the prefix itself, `/top`...), or `null` when `path` is outside it. */
function routeUnder(path: string, prefix: string): string | null {
  if (path !== prefix && !path.startsWith(`${prefix}/`)) return null;
  return path.slice(prefix.length).replace(/\/+$/, '');
}

/** Sends the snapshot as gzip JSON, serialized and compressed chunk by chunk. */
function streamSnapshot(res: ServerResponse, snapshot: Snapshot, head: boolean): void {
  const name = `tracemalloc-${process.pid}-${new Date().toISOString().replace(/[:.]/g, '-')}.json.gz`;
  res.writeHead(200, {
    'Content-Type': 'application/gzip',
    'Content-Disposition': `attachment; filename="${name}"`,
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
  });
  if (head) {
    res.end();
    return;
  }
  const json = snapshot.toJSON();
  const source = Readable.from(snapshotJSONChunks(json), { objectMode: false });
  const gzip = zlib.createGzip();
  const fail = (err: Error): void => {
    log('http: /snapshot stream failed: %o', err);
    source.destroy();
    gzip.destroy();
    res.destroy();
  };
  source.on('error', fail);
  gzip.on('error', fail);
  res.on('close', () => {
    source.destroy();
    gzip.destroy();
  });
  source.pipe(gzip).pipe(res);
}

/** Go's pprof query: `debug=0` (protobuf, default) or 1/2 (text), `gc` accepted; `seconds` refused. */
function pprofQuery(query: URLSearchParams): { debug: boolean } {
  const debug = query.get('debug') ?? '0';
  if (!/^[0-9]{1,3}$/.test(debug)) throw new BadRequest(`debug must be 0 (protobuf) or 1 (text), not ${JSON.stringify(debug)}`);
  const gc = query.get('gc') ?? '0';
  if (gc !== '0' && gc !== '1') throw new BadRequest(`gc must be 0 or 1, not ${JSON.stringify(gc)}`);
  if (query.has('seconds')) throw new BadRequest('seconds (a delta profile) is not supported: scrape twice and compare, or use /debug/tracemalloc/diff');
  return { debug: debug !== '0' };
}

function sendPprof(res: ServerResponse, snapshot: Snapshot, route: '/heap' | '/allocs', head: boolean): void {
  // Go serves one profile at both routes (they differ by the default sample type); so does this,
  // with the sample types the tracer has: inuse_* ('live' mode) or alloc_* ('allocated' mode).
  const profile = buildPprof(snapshot);
  zlib.gzip(profile.encode(), (err, data) => {
    if (err !== null) {
      log('http: gzip failed: %o', err);
      send(res, 500, TEXT, 'cannot compress the profile\n', head);
      return;
    }
    const name = route === '/heap' ? 'heap' : 'allocs';
    send(res, 200, 'application/octet-stream', data, head, { 'Content-Disposition': `attachment; filename="${name}.pb.gz"` });
  });
}

/**
 * Serves `GET <prefix>/top`, `<prefix>/diff` and `<prefix>/snapshot` (and an index at `<prefix>`),
 * and `GET <pprofPrefix>/heap` and `<pprofPrefix>/allocs` (gzipped pprof, as Go's net/http/pprof).
 * Starts tracing if it is off; the first `/diff` compares with a snapshot taken now. Under
 * Express, `req.baseUrl` (the mount path) is part of the links it prints and may be part of the
 * prefix.
 */
export function createHttpHandler(options: HttpHandlerOptions = {}): HttpHandler {
  if (options === null || typeof options !== 'object') throw new TypeError(`options must be an object, not ${describeType(options)}`);
  const prefix = checkPrefix('prefix', options.prefix ?? '/debug/tracemalloc');
  const pprofOption = options.pprofPrefix ?? '/debug/pprof';
  const pprofPrefix = pprofOption === false ? null : checkPrefix('pprofPrefix', pprofOption);
  const limit = options.limit ?? 10;
  if (typeof limit !== 'number') throw new TypeError(`options.limit must be an integer >= 0, not ${describeValue(limit)}`);
  if (!Number.isInteger(limit) || limit < 0) throw new RangeError(`options.limit must be an integer >= 0, not ${String(limit)}`);
  const keyType = options.keyType ?? 'lineno';
  if (!isKeyType(keyType)) throw new RangeError(`unknown key_type: ${String(keyType)}`);
  const dflt: TopView = { keyType, limit, cumulative: false };
  if (!isTracing()) start();
  let previous: Snapshot = takeSnapshot();

  /** Answers the request, or returns false when it is not one of ours. Throws `BadRequest`. */
  const handle = (req: IncomingMessage, res: ServerResponse): boolean => {
    const target = parseTarget(typeof req.url === 'string' ? req.url : '/');
    if (target === null) throw new BadRequest('cannot read the request target');
    const rawBase = (req as { baseUrl?: unknown }).baseUrl;
    const baseUrl = typeof rawBase === 'string' ? rawBase.replace(/\/+$/, '') : '';
    // Match the prefixes against the path as given (`app.use('/debug', handler({ prefix:
    // '/tracemalloc' }))`), else against the mount path and the path (`app.use('/debug/tracemalloc', handler())`).
    let shown = baseUrl;
    let path = target.path;
    let route = routeUnder(path, prefix);
    let pprofRoute = pprofPrefix === null ? null : routeUnder(path, pprofPrefix);
    if (route === null && pprofRoute === null && baseUrl !== '') {
      path = `${baseUrl}${target.path === '/' ? '' : target.path}`;
      shown = '';
      route = routeUnder(path, prefix);
      pprofRoute = pprofPrefix === null ? null : routeUnder(path, pprofPrefix);
    }
    const base = `${shown}${prefix}`;
    const pprofBase = pprofPrefix === null ? null : `${shown}${pprofPrefix}`;
    if (pprofRoute !== null && pprofRoute !== '' && pprofRoute !== '/heap' && pprofRoute !== '/allocs') return false;
    if (route === null && pprofRoute === null) return false;

    const head = req.method === 'HEAD';
    if (req.method !== 'GET' && !head) {
      send(res, 405, TEXT, 'only GET and HEAD\n', false, { Allow: 'GET, HEAD' });
      return true;
    }
    if (route === '' || pprofRoute === '') {
      send(res, 200, TEXT, index(base, pprofBase), head);
      return true;
    }
    if (route !== null && route !== '/top' && route !== '/diff' && route !== '/snapshot') {
      send(res, 404, TEXT, `not found; see ${base}/\n`, head);
      return true;
    }
    if (!isTracing()) {
      send(res, 503, TEXT, 'tracemalloc is not tracing: call tracemalloc.start() or run with NODE_TRACEMALLOC=1\n', head);
      return true;
    }
    if (pprofRoute === '/heap' || pprofRoute === '/allocs') {
      const { debug } = pprofQuery(target.query);
      const snapshot = takeSnapshot();
      if (debug) send(res, 200, TEXT, `${renderTop(snapshot, { ...dflt, limit: 0 })}\n`, head);
      else sendPprof(res, snapshot, pprofRoute, head);
      return true;
    }
    if (route === '/snapshot') {
      streamSnapshot(res, takeSnapshot(), head);
      return true;
    }
    const view = viewOf(target.query, dflt);
    const format = formatOf(target.query);
    const snapshot = takeSnapshot();
    let body: string;
    if (route === '/top') {
      body = format === 'json' ? JSON.stringify(topJSON(snapshot, view, null)) : renderTop(snapshot, view);
    } else {
      const old = previous;
      previous = snapshot;
      body = format === 'json' ? JSON.stringify(diffJSON(snapshot, old, view, null, null)) : renderDiff(snapshot, old, view);
    }
    send(res, 200, format === 'json' ? 'application/json; charset=utf-8' : TEXT, `${body}\n`, head);
    return true;
  };

  return (req, res, next) => {
    let ours: boolean;
    try {
      ours = handle(req, res);
    } catch (err) {
      const head = req.method === 'HEAD';
      try {
        if (err instanceof BadRequest) send(res, 400, TEXT, `${err.message}\n`, head);
        else {
          log('http: %s failed: %o', String(req.url), err);
          send(res, 500, TEXT, `tracemalloc: ${err instanceof Error ? err.message : String(err)}\n`, head);
        }
      } catch (sendErr) {
        log('http: cannot answer: %o', sendErr);
        res.destroy();
      }
      return;
    }
    if (ours) return;
    if (typeof next === 'function') {
      next();
      return;
    }
    try {
      send(res, 404, TEXT, 'not found\n', req.method === 'HEAD');
    } catch (err) {
      log('http: cannot answer: %o', err);
      res.destroy();
    }
  };
}

// One ExternalTracer per test, stopped after it, with the objects the test held released.
import { afterEach } from 'node:test';
import { ExternalTracer, type ExternalTracerOptions } from '#internal/external';

/** The tracer's interval unless a test says otherwise (V8's heap default). */
export const INTERVAL = 64 * 1024;

/** Registers the cleanup and returns `start(options)`: 64 KiB, one frame, source maps on, no adaptation unless overridden. */
export function externalTracerPerTest(held: unknown[]): (options?: Partial<ExternalTracerOptions>) => ExternalTracer {
  let tracer: ExternalTracer | null = null;
  afterEach(() => {
    tracer?.stop();
    tracer = null;
    held.length = 0;
  });
  return (options = {}) => {
    tracer = new ExternalTracer({ interval: INTERVAL, nframe: 1, sourceMaps: true, adaptive: false, ...options });
    tracer.start();
    return tracer;
  };
}

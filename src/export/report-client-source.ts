/**
 * The report client's source (report-client.ts) as one string, made by the build: scripts/
 * report-client-source.js replaces this module in dist/ with the text of the client functions as
 * tsc compiled them. A string survives any bundler or minifier that later processes the library,
 * where `Function.prototype.toString` would return renamed or rewritten code (`reportMain is not
 * defined`, `__name is not defined`). `null` here: running from the sources, html.ts falls back
 * to the functions' own text.
 */
export const CLIENT_SOURCE: string | null = null;

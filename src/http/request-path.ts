import http from 'node:http';
import https from 'node:https';

// A vendor id of `.` or `..` inside a request path must never move it (docs/design.md, Secrets
// stay secrets: requests stay where the definition puts them). encodeURIComponent leaves dots
// alone, and URL parsing (WHATWG, which axios uses) removes `.` and `..` segments, and their
// percent-encoded forms too: `/sites/%2E%2E/devices` becomes `/devices`. So such a path is
// encoded here and sent as it is, past axios' URL parsing.

/** True when a path has a `.` or `..` segment. */
export function hasDotSegment(path: string): boolean {
  return path.split('/').some((s) => s === '.' || s === '..');
}

/** The path with every `.` segment as `%2E` and every `..` as `%2E%2E`; other segments as they are. */
export function encodeDotSegments(path: string): string {
  return path
    .split('/')
    .map((s) => (s === '.' ? '%2E' : s === '..' ? '%2E%2E' : s))
    .join('/');
}

/** What axios calls on its `transport` option. */
export interface PathTransport {
  request(options: http.RequestOptions, callback?: (res: http.IncomingMessage) => void): http.ClientRequest;
}

/**
 * An axios `transport` that sends `exactPath` as the request's path, keeping the query string
 * axios built, instead of the path axios' URL parsing made of it. Host, port, agent and headers
 * are axios' own.
 */
export function exactPathTransport(exactPath: string): PathTransport {
  return {
    request(options, callback) {
      const built = options.path ?? '';
      const q = built.indexOf('?');
      const fixed: http.RequestOptions = { ...options, path: `${exactPath}${q >= 0 ? built.slice(q) : ''}` };
      return options.protocol === 'https:' ? https.request(fixed, callback) : http.request(fixed, callback);
    },
  };
}

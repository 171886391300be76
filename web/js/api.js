// api.js — the one way the dashboard talks to carewire: same-origin fetch with the session
// cookie, the session's CSRF token on every change, JSON in and out, errors as ApiError.
// An endpoint that this carewire does not serve yet (404 "no such path/file" or 405) is an
// ApiError with .missing set, so a page can say "not available yet" instead of failing.

let csrf = null;
let onSignedOut = null;

export function setCsrf(token) { csrf = token; }
export function onUnauthorized(fn) { onSignedOut = fn; }

export class ApiError extends Error {
  constructor(status, body, method, path) {
    const e = (body && body.error) || {};
    super(e.message || `HTTP ${status}`);
    this.status = status;
    this.code = e.code || 'http_' + status;
    this.field = e.field || null;
    this.method = method;
    this.path = path;
    this.missing = status === 405 || status === 501 ||
      (status === 404 && /^no such (path|file)$/.test(e.message || ''));
  }
}

export async function request(method, path, body) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && method !== 'HEAD' && csrf) headers['X-CSRF-Token'] = csrf;
  let r;
  try {
    r = await fetch(path, {
      method, headers, credentials: 'same-origin', cache: 'no-store',
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (err) {
    const e = new ApiError(0, { error: { code: 'network', message: String(err.message || err) } }, method, path);
    throw e;
  }
  let data = null;
  const text = await r.text();
  if (text) {
    try { data = JSON.parse(text); } catch { data = null; }
  }
  if (!r.ok) {
    const e = new ApiError(r.status, data, method, path);
    if (r.status === 401 && path.startsWith('/api/') && !path.startsWith('/api/v1/auth/') && onSignedOut)
      onSignedOut();
    throw e;
  }
  return data;
}

export const get = (path) => request('GET', path);
export const post = (path, body) => request('POST', path, body === undefined ? {} : body);
export const put = (path, body) => request('PUT', path, body);
export const del = (path) => request('DELETE', path);

// Encodes one path segment.
export const seg = (s) => encodeURIComponent(String(s));

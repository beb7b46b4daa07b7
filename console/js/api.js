// The one way the console talks to Keelson: fetch with the operator's key from sessionStorage.
// Errors arrive as RFC 9457 problems ({type, title, status, detail}); every failure becomes an
// ApiError carrying one, so a page can show exactly what the server said.

const KEY_STORAGE = 'keelson.apiKey';

export function getKey() { return sessionStorage.getItem(KEY_STORAGE) || ''; }
export function setKey(key) { sessionStorage.setItem(KEY_STORAGE, key); }
export function clearKey() { sessionStorage.removeItem(KEY_STORAGE); }

export class ApiError extends Error {
  constructor(method, path, status, problem) {
    super(`${method} ${path}: ${status} ${problem.title || ''}${problem.detail ? ` — ${problem.detail}` : ''}`);
    this.method = method;
    this.path = path;
    this.status = status;
    this.problem = problem;
  }
}

// Set by the app: called on any 401 (the key is gone or was revoked).
let onUnauthorized = () => {};
export function setUnauthorizedHandler(fn) { onUnauthorized = fn; }

// api('/ops/orders', {query: {q: 'main:1'}}) -> parsed JSON.
// api('/ops/dead-letters/7/discard', {method: 'POST', body: {reason: 'dup'}})
export async function api(path, {method = 'GET', query, body, key, signal} = {}) {
  const url = new URL(path, window.location.origin);
  for (const [k, v] of Object.entries(query || {})) {
    if (v !== undefined && v !== null && v !== '') url.searchParams.set(k, String(v));
  }
  const headers = {Accept: 'application/json, application/problem+json'};
  const token = key ?? getKey();
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let res;
  try {
    res = await fetch(url, {
      method, headers, signal, cache: 'no-store', credentials: 'omit',
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new ApiError(method, url.pathname, 0, {
      title: 'Network error', detail: `Keelson did not answer (${e.message}). Is it running?`,
    });
  }
  const text = await res.text();
  let data = null;
  if (text) {
    try { data = JSON.parse(text); } catch { data = null; }
  }
  if (!res.ok) {
    const problem = data && typeof data === 'object'
      ? data : {title: res.statusText || 'Error', detail: text.slice(0, 500)};
    const err = new ApiError(method, url.pathname, res.status, problem);
    if (res.status === 401 && key === undefined) onUnauthorized(err);
    throw err;
  }
  if (data === null && text) {
    throw new ApiError(method, url.pathname, res.status, {
      title: 'Not JSON', detail: `the answer was not JSON: ${text.slice(0, 200)}`,
    });
  }
  return data;
}

// Calls to the dashboard's API. Every owner request carries the session cookie (same origin)
// and the x-cellar-dashboard header, which the server requires on state-changing requests:
// another site's page cannot send it without a CORS preflight, which this server never grants.

export const OWNER_API = '/api/v1/owner';
export const CSRF_HEADERS = { 'x-cellar-dashboard': '1' };

/** A refusal from the API: its status and `{"error": {"code", "message"}}`. */
export class ApiFailure extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

async function answer(res) {
  const type = res.headers.get('content-type') ?? '';
  const body = type.startsWith('application/json') ? await res.json() : await res.text();
  if (!res.ok) {
    const e = body?.error;
    throw new ApiFailure(res.status, e?.code ?? String(res.status), e?.message ?? `HTTP ${res.status}`);
  }
  return body;
}

/** An owner API call; `body` is sent as JSON. */
export async function api(method, path, body) {
  const headers = { ...CSRF_HEADERS };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(OWNER_API + path, {
    method,
    headers,
    credentials: 'same-origin',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return res.status === 204 ? null : answer(res);
}

/** An operator API call with the admin token (kept in memory by the page, never stored). */
export async function operatorApi(token, path) {
  const res = await fetch(`/api/v1${path}`, { headers: { authorization: `Bearer ${token}` }, credentials: 'omit' });
  return answer(res);
}

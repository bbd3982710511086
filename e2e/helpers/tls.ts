/** Black-box probes of Cellar's HTTPS and HTTP ports: raw TLS handshakes and requests with any Host. */
import http from 'node:http';
import tls from 'node:tls';

export interface Handshake {
  ok: boolean;
  /** The error code when the handshake failed (e.g. ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE). */
  error?: string;
  fingerprint?: string;
  subjectAltName?: string;
  issuer?: string;
  ms: number;
}

/** One full handshake for `servername`, verified against `ca` (the chain must lead to it). */
export function handshake(
  port: number,
  servername: string,
  ca: string | string[],
  timeoutMs = 15_000,
): Promise<Handshake> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const s = tls.connect({ host: '127.0.0.1', port, servername, ca });
    const done = (h: Omit<Handshake, 'ms'>): void => {
      clearTimeout(timer);
      s.destroy();
      resolve({ ...h, ms: performance.now() - t0 });
    };
    const timer = setTimeout(() => done({ ok: false, error: 'TIMEOUT' }), timeoutMs);
    s.once('secureConnect', () => {
      const c = s.getPeerCertificate();
      const cn = c.issuer?.CN;
      done({
        ok: true,
        fingerprint: c.fingerprint256,
        subjectAltName: c.subjectaltname,
        issuer: Array.isArray(cn) ? cn.join(',') : cn,
      });
    });
    s.once('error', (e: NodeJS.ErrnoException) => done({ ok: false, error: e.code ?? e.message }));
  });
}

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A plain-HTTP request to 127.0.0.1:`port` with an arbitrary Host header (fetch may not set one). */
export function httpRequest(port: number, host: string, pathAndQuery: string, method = 'GET'): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, path: pathAndQuery, method, headers: { host }, agent: false },
      (res) => {
        let body = '';
        res
          .setEncoding('utf8')
          .on('data', (d: string) => {
            body += d;
          })
          .on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

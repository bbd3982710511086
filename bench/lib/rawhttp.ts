/**
 * HTTP/1.1 over a bare socket, for the clients a library will not imitate: bodies trickled
 * slowly, bodies cut off, headers followed by silence. Always to 127.0.0.1; the source address
 * may be another loopback address (127.0.0.0/8 all routes locally) so that the server's
 * per-client limits see distinct clients.
 */
import net from 'node:net';

export interface RawAnswer {
  /** 0 when the server closed without an answer. */
  status: number;
  head: string;
  body: string;
  closedByServer: boolean;
  ms: number;
}

export function connect(port: number, localAddress = '127.0.0.1'): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port, localAddress });
    s.once('connect', () => {
      s.off('error', reject);
      resolve(s);
    });
    s.once('error', reject);
  });
}

export function requestHead(method: string, path: string, headers: Record<string, string>): string {
  let h = `${method} ${path} HTTP/1.1\r\n`;
  for (const [k, v] of Object.entries(headers)) h += `${k}: ${v}\r\n`;
  return `${h}\r\n`;
}

/** Collects what the server sends until it closes, or until `limitMs`. */
export function readAnswer(s: net.Socket, limitMs: number): Promise<RawAnswer> {
  const started = Date.now();
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let done = false;
    const finish = (closedByServer: boolean): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString('latin1');
      const split = text.indexOf('\r\n\r\n');
      const head = split < 0 ? text : text.slice(0, split);
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0);
      s.destroy();
      resolve({ status, head, body: split < 0 ? '' : text.slice(split + 4), closedByServer, ms: Date.now() - started });
    };
    const timer = setTimeout(() => finish(false), limitMs);
    s.on('data', (c: Buffer) => chunks.push(c));
    s.once('end', () => finish(true));
    s.once('close', () => finish(true));
    s.once('error', () => finish(true));
  });
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

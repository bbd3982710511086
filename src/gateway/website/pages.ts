/**
 * The built-in HTML pages of the website side. Website errors are never S3 XML, as on AWS's website
 * endpoint (https://docs.aws.amazon.com/AmazonS3/latest/userguide/WebsiteEndpoints.html#WebsiteRestEndpointDiff).
 * They name only the status: the 404 for an unknown host or bucket reads exactly like the one
 * for a missing page, so it does not tell which applied (docs/architecture.md, website walk).
 */

const TEXT: Record<number, [string, string]> = {
  400: ['Bad Request', 'The request could not be understood.'],
  403: ['Forbidden', 'You do not have permission to view this page.'],
  404: ['Not Found', 'The page you requested does not exist.'],
  405: ['Method Not Allowed', 'This site only answers GET, HEAD and OPTIONS.'],
  412: ['Precondition Failed', 'A precondition of the request did not hold.'],
  416: ['Range Not Satisfiable', 'The requested range is not satisfiable.'],
  500: ['Internal Server Error', 'Something went wrong while serving this page.'],
  503: ['Service Unavailable', 'This site cannot be reached right now. Please try again shortly.'],
};

export interface Page {
  status: number;
  body: Buffer;
  /** Complete response headers for writeHead, as a flat name/value list. */
  headers: string[];
}

function render(status: number): Page {
  const [title, message] = TEXT[status] ?? TEXT[500]!;
  const html =
    `<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>${status} ${title}</title></head>` +
    `<body><h1>${status} ${title}</h1><p>${message}</p></body></html>\n`;
  const body = Buffer.from(html);
  return {
    status,
    body,
    headers: [
      'Content-Type',
      'text/html; charset=utf-8',
      'Content-Length',
      String(body.length),
      // An error may be fixed by the next upload: never let a cache keep it.
      'Cache-Control',
      'no-store',
      'X-Content-Type-Options',
      'nosniff',
    ],
  };
}

/** Rendered once at load; a status without its own text (none today) is rendered per call. */
const PAGES: ReadonlyMap<number, Page> = new Map(Object.keys(TEXT).map((s) => [Number(s), render(Number(s))]));

export function builtinPage(status: number): Page {
  return PAGES.get(status) ?? render(status);
}

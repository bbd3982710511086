/**
 * Finds which authentication a request carries and checks its syntax; no secret is needed.
 * Messages follow what S3 returns for the same faults.
 */
import { StorageError } from '../errors.js';
import { firstHeader, parseAmzDate, parseHttpDate, queryMap, toAmzDate } from './canonical.js';
import {
  MAX_PRESIGN_EXPIRES_SECONDS,
  UNSIGNED_PAYLOAD,
  V4_ALGORITHM,
  type AuthInfo,
  type AuthRequest,
  type V2AuthInfo,
  type V4AuthInfo,
} from './types.js';

type Headers = AuthRequest['headers'];

const ONLY_ONE =
  'Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified';
const THREE_COMPONENTS =
  'The authorization header is malformed; the authorization header requires three components: Credential, SignedHeaders, and Signature.';
const QUERY_V4_REQUIRED =
  'Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.';
const QUERY_V2_REQUIRED = 'Query-string authentication requires the Signature, Expires and AWSAccessKeyId parameters';
export const MISSING_DATE = 'AWS authentication requires a valid Date or x-amz-date header';

/** The x-amz-content-sha256 values S3 accepts besides a hex SHA-256 (sigv4-auth-using-authorization-header.html). */
export const PAYLOAD_HASH_KEYWORDS = [
  'UNSIGNED-PAYLOAD',
  'STREAMING-UNSIGNED-PAYLOAD-TRAILER',
  'STREAMING-AWS4-HMAC-SHA256-PAYLOAD',
  'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER',
  'STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD',
  'STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER',
] as const;

export function parseAuth(req: AuthRequest): AuthInfo {
  const authorization = firstHeader(req.headers, 'authorization');
  const query = req.rawQuery === '' ? new Map<string, string>() : queryMap(req.rawQuery);
  const v4Query = query.has('X-Amz-Algorithm') || query.has('X-Amz-Credential') || query.has('X-Amz-Signature');
  const v2Query = query.has('AWSAccessKeyId') || query.has('Signature');
  if (authorization !== undefined && (v4Query || v2Query)) {
    throw new StorageError('InvalidArgument', ONLY_ONE, {
      ArgumentName: 'Authorization',
      ArgumentValue: authorization,
    });
  }
  if (v4Query && v2Query) {
    throw new StorageError('InvalidArgument', ONLY_ONE, {
      ArgumentName: 'X-Amz-Algorithm',
      ArgumentValue: query.get('X-Amz-Algorithm') ?? '',
    });
  }
  if (authorization !== undefined) return parseAuthorizationHeader(authorization, req.headers);
  if (v4Query) return parseV4Query(query);
  if (v2Query) return parseV2Query(query);
  return { type: 'anonymous' };
}

function parseAuthorizationHeader(authorization: string, headers: Headers): V4AuthInfo | V2AuthInfo {
  const trimmed = authorization.trim();
  const space = trimmed.search(/\s/);
  const scheme = space < 0 ? trimmed : trimmed.slice(0, space);
  const rest = space < 0 ? '' : trimmed.slice(space + 1).trim();
  if (scheme === V4_ALGORITHM) return parseV4Header(rest, headers);
  if (scheme === 'AWS') return parseV2Header(rest, authorization);
  throw new StorageError('InvalidArgument', 'Unsupported Authorization Type', {
    ArgumentName: 'Authorization',
    ArgumentValue: authorization,
  });
}

function parseV4Header(rest: string, headers: Headers): V4AuthInfo {
  const fields = new Map<string, string>();
  for (const part of rest.split(',')) {
    const p = part.trim();
    if (p === '') continue;
    const eq = p.indexOf('=');
    if (eq < 0) throw new StorageError('AuthorizationHeaderMalformed', THREE_COMPONENTS);
    fields.set(p.slice(0, eq).trim(), p.slice(eq + 1).trim());
  }
  const credential = fields.get('Credential');
  const signedHeaders = parseSignedHeaders(fields.get('SignedHeaders'));
  const signature = fields.get('Signature');
  if (!credential || !signedHeaders || !signature) {
    throw new StorageError('AuthorizationHeaderMalformed', THREE_COMPONENTS);
  }
  const scope = parseCredential(credential, 'header');
  const amzDate = headerAmzDate(headers);
  if (amzDate.slice(0, 8) !== scope.date) {
    throw new StorageError(
      'AuthorizationHeaderMalformed',
      `The authorization header is malformed; Invalid credential date "${scope.date}". This date is not the same as X-Amz-Date: "${amzDate.slice(0, 8)}".`,
    );
  }
  return {
    type: 'v4',
    location: 'header',
    ...scope,
    signedHeaders,
    signature,
    amzDate,
    payloadHash: headerPayloadHash(headers),
  };
}

function parseV4Query(query: Map<string, string>): V4AuthInfo {
  const algorithm = query.get('X-Amz-Algorithm');
  if (algorithm !== undefined && algorithm !== '' && algorithm !== V4_ALGORITHM) {
    throw queryError('X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"');
  }
  const credential = query.get('X-Amz-Credential');
  const amzDateText = query.get('X-Amz-Date');
  const expiresText = query.get('X-Amz-Expires');
  const signedHeaders = parseSignedHeaders(query.get('X-Amz-SignedHeaders'));
  const signature = query.get('X-Amz-Signature');
  if (!algorithm || !credential || !amzDateText || !expiresText || !signedHeaders || !signature) {
    throw queryError(QUERY_V4_REQUIRED);
  }
  const scope = parseCredential(credential, 'query');
  if (parseAmzDate(amzDateText) === null) {
    throw queryError(`X-Amz-Date must be in the ISO8601 Long Format "yyyyMMdd'T'HHmmss'Z'"`);
  }
  if (!/^-?\d+$/.test(expiresText)) throw queryError('X-Amz-Expires should be a number');
  const expiresSeconds = Number(expiresText);
  if (expiresSeconds < 0) throw queryError('X-Amz-Expires must be non-negative');
  if (expiresSeconds > MAX_PRESIGN_EXPIRES_SECONDS) {
    throw queryError(
      `X-Amz-Expires must be less than a week (in seconds); that is, the given X-Amz-Expires must be less than ${MAX_PRESIGN_EXPIRES_SECONDS} seconds`,
    );
  }
  if (amzDateText.slice(0, 8) !== scope.date) {
    throw queryError(
      `Invalid credential date "${scope.date}". This date is not the same as X-Amz-Date: "${amzDateText.slice(0, 8)}".`,
    );
  }
  return {
    type: 'v4',
    location: 'query',
    ...scope,
    signedHeaders,
    signature,
    amzDate: amzDateText,
    expiresSeconds,
    // Presigned URLs always sign UNSIGNED-PAYLOAD (sigv4-query-string-auth.html).
    payloadHash: UNSIGNED_PAYLOAD,
  };
}

function parseV2Header(rest: string, authorization: string): V2AuthInfo {
  const colon = rest.indexOf(':');
  if (colon <= 0 || colon === rest.length - 1) {
    throw new StorageError(
      'InvalidArgument',
      'AWS authorization header is invalid.  Expected AwsAccessKeyId:signature',
      {
        ArgumentName: 'Authorization',
        ArgumentValue: authorization,
      },
    );
  }
  return { type: 'v2', location: 'header', accessKeyId: rest.slice(0, colon), signature: rest.slice(colon + 1).trim() };
}

function parseV2Query(query: Map<string, string>): V2AuthInfo {
  const accessKeyId = query.get('AWSAccessKeyId');
  // Base64 never contains a space, so a space here is a '+' the client forgot to escape.
  const signature = query.get('Signature')?.replace(/ /g, '+');
  const expires = query.get('Expires');
  if (!accessKeyId || !signature || !expires) throw new StorageError('AccessDenied', QUERY_V2_REQUIRED);
  if (!/^\d+$/.test(expires)) {
    throw new StorageError('AccessDenied', `Invalid date (should be seconds since epoch): ${expires}`);
  }
  return { type: 'v2', location: 'query', accessKeyId, signature, expiresEpoch: Number(expires) };
}

function parseSignedHeaders(value: string | undefined): string[] | null {
  if (!value) return null;
  const names = value.split(';').map((h) => h.trim().toLowerCase());
  return names.some((h) => h === '') ? null : names;
}

interface Scope {
  accessKeyId: string;
  date: string;
  region: string;
  service: string;
}

function parseCredential(credential: string, where: 'header' | 'query'): Scope {
  const fail = (detail: string): StorageError =>
    where === 'header'
      ? new StorageError('AuthorizationHeaderMalformed', `The authorization header is malformed; ${detail}`)
      : queryError(`Error parsing the X-Amz-Credential parameter; ${detail}`);
  const parts = credential.split('/');
  const [accessKeyId, date, region, service, terminal] = parts;
  if (parts.length !== 5 || !accessKeyId || !date || !/^\d{8}$/.test(date) || !region || !service || !terminal) {
    throw fail('the Credential is mal-formed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".');
  }
  if (service !== 's3') throw fail(`incorrect service "${service}". This endpoint belongs to "s3".`);
  if (terminal !== 'aws4_request') throw fail(`incorrect terminal "${terminal}". This endpoint uses "aws4_request".`);
  // DEVIATION: S3 refuses a scope whose region is not the bucket's (AuthorizationHeaderMalformed,
  // "the region 'x' is wrong; expecting 'y'"). Cellar has no regions and clients such as s3cmd
  // default to us-east-1, so any region is accepted; it is still part of the signing key.
  return { accessKeyId, date, region, service };
}

/** x-amz-date wins over Date (sigv4-date-handling); either is turned into YYYYMMDDTHHMMSSZ. */
function headerAmzDate(headers: Headers): string {
  const amz = firstHeader(headers, 'x-amz-date');
  if (amz !== undefined) {
    if (parseAmzDate(amz.trim()) === null) throw new StorageError('AccessDenied', MISSING_DATE);
    return amz.trim();
  }
  const date = firstHeader(headers, 'date');
  const parsed = date === undefined ? null : parseHttpDate(date);
  if (parsed === null) throw new StorageError('AccessDenied', MISSING_DATE);
  return toAmzDate(parsed);
}

function headerPayloadHash(headers: Headers): string {
  const value = firstHeader(headers, 'x-amz-content-sha256')?.trim();
  if (value === undefined || value === '') {
    throw new StorageError('InvalidRequest', 'Missing required header for this request: x-amz-content-sha256');
  }
  if (/^[0-9a-fA-F]{64}$/.test(value) || (PAYLOAD_HASH_KEYWORDS as readonly string[]).includes(value)) return value;
  throw new StorageError(
    'InvalidArgument',
    `x-amz-content-sha256 must be ${PAYLOAD_HASH_KEYWORDS.join(', ')} or a valid sha256 value.`,
    { ArgumentName: 'x-amz-content-sha256', ArgumentValue: value },
  );
}

function queryError(message: string): StorageError {
  return new StorageError('AuthorizationQueryParametersError', message);
}

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StorageError } from '../errors.js';
import { parseAuth, type AuthInfo, type AuthRequest } from './index.js';

const SIG = 'f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41';
const EMPTY = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const CRED = 'AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request';
const V4 = `AWS4-HMAC-SHA256 Credential=${CRED},SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,Signature=${SIG}`;
const V4_HEADERS = {
  host: 'examplebucket.s3.amazonaws.com',
  'x-amz-date': '20130524T000000Z',
  'x-amz-content-sha256': EMPTY,
};
const PRESIGNED =
  'X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404';

function req(headers: AuthRequest['headers'], rawQuery = ''): AuthRequest {
  return { method: 'GET', rawPath: '/test.txt', rawQuery, headers };
}

const V4_HEADER_INFO: AuthInfo = {
  type: 'v4',
  location: 'header',
  accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
  date: '20130524',
  region: 'us-east-1',
  service: 's3',
  signedHeaders: ['host', 'range', 'x-amz-content-sha256', 'x-amz-date'],
  signature: SIG,
  amzDate: '20130524T000000Z',
  payloadHash: EMPTY,
};

const ACCEPTED: [string, AuthRequest, AuthInfo][] = [
  ['no credentials at all', req({ host: 'h' }, 'list-type=2&prefix=a'), { type: 'anonymous' }],
  ['X-Amz-* query parameters that are not auth', req({}, 'X-Amz-Meta-x=1&x-id=GetObject'), { type: 'anonymous' }],
  ['SigV4 header', req({ ...V4_HEADERS, authorization: V4 }), V4_HEADER_INFO],
  [
    'SigV4 header with spaces after the commas and upper-case signed header names',
    req({ ...V4_HEADERS, authorization: V4.replace(/,/g, ', ').replace('range', 'Range') }),
    V4_HEADER_INFO,
  ],
  [
    'SigV4 header dated by Date only',
    req({
      host: 'h',
      date: 'Fri, 24 May 2013 00:00:00 GMT',
      'x-amz-content-sha256': 'UNSIGNED-PAYLOAD',
      authorization: V4,
    }),
    { ...V4_HEADER_INFO, payloadHash: 'UNSIGNED-PAYLOAD' },
  ],
  [
    'SigV4 header with a streaming payload keyword',
    req({ ...V4_HEADERS, 'x-amz-content-sha256': 'STREAMING-UNSIGNED-PAYLOAD-TRAILER', authorization: V4 }),
    { ...V4_HEADER_INFO, payloadHash: 'STREAMING-UNSIGNED-PAYLOAD-TRAILER' },
  ],
  [
    'SigV4 header with any region (DEVIATION: S3 would insist on the bucket region)',
    req({ ...V4_HEADERS, authorization: V4.replace('us-east-1', 'fr-par-9') }),
    { ...V4_HEADER_INFO, region: 'fr-par-9' },
  ],
  [
    'SigV4 presigned',
    req({ host: 'examplebucket.s3.amazonaws.com' }, PRESIGNED),
    {
      ...V4_HEADER_INFO,
      location: 'query',
      signedHeaders: ['host'],
      signature: 'aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404',
      expiresSeconds: 86400,
      payloadHash: 'UNSIGNED-PAYLOAD',
    },
  ],
  [
    'SigV4 presigned at the 7-day maximum',
    req({}, PRESIGNED.replace('X-Amz-Expires=86400', 'X-Amz-Expires=604800')),
    {
      ...V4_HEADER_INFO,
      location: 'query',
      signedHeaders: ['host'],
      signature: 'aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404',
      expiresSeconds: 604800,
      payloadHash: 'UNSIGNED-PAYLOAD',
    },
  ],
  [
    'SigV2 header',
    req({ authorization: 'AWS AKIAIOSFODNN7EXAMPLE:qgk2+6Sv9/oM7G3qLEjTH1a1l1g=' }),
    { type: 'v2', location: 'header', accessKeyId: 'AKIAIOSFODNN7EXAMPLE', signature: 'qgk2+6Sv9/oM7G3qLEjTH1a1l1g=' },
  ],
  [
    'SigV2 query',
    req({}, 'AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&Signature=NpgCjnDzrM%2BWFzoENXmpNDUsSn8%3D&Expires=1175139620'),
    {
      type: 'v2',
      location: 'query',
      accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
      signature: 'NpgCjnDzrM+WFzoENXmpNDUsSn8=',
      expiresEpoch: 1175139620,
    },
  ],
  [
    'SigV2 query whose signature has an unescaped +',
    req({}, 'AWSAccessKeyId=AK&Signature=NpgCjnDzrM+WFzoENXmpNDUsSn8=&Expires=1175139620'),
    {
      type: 'v2',
      location: 'query',
      accessKeyId: 'AK',
      signature: 'NpgCjnDzrM+WFzoENXmpNDUsSn8=',
      expiresEpoch: 1175139620,
    },
  ],
];

for (const [name, request, expected] of ACCEPTED) {
  test(`parseAuth: ${name}`, { timeout: 30_000 }, () => {
    assert.deepEqual(parseAuth(request), expected);
  });
}

const REFUSED: [string, AuthRequest, string, RegExp, Record<string, string>?][] = [
  [
    'Authorization header and presigned query together',
    req({ ...V4_HEADERS, authorization: V4 }, PRESIGNED),
    'InvalidArgument',
    /^Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified$/,
    { ArgumentName: 'Authorization', ArgumentValue: V4 },
  ],
  [
    'Authorization header and SigV2 query together',
    req({ authorization: 'AWS a:b' }, 'Signature=x'),
    'InvalidArgument',
    /^Only one auth mechanism/,
  ],
  [
    'SigV4 and SigV2 query together',
    req({}, PRESIGNED + '&AWSAccessKeyId=a'),
    'InvalidArgument',
    /^Only one auth mechanism/,
  ],
  [
    'a Bearer token',
    req({ authorization: 'Bearer abc' }),
    'InvalidArgument',
    /^Unsupported Authorization Type$/,
    { ArgumentName: 'Authorization', ArgumentValue: 'Bearer abc' },
  ],
  [
    'a misspelt algorithm',
    req({ ...V4_HEADERS, authorization: V4.replace('SHA256', 'SHA25') }),
    'InvalidArgument',
    /^Unsupported Authorization Type$/,
  ],
  [
    'SigV4a (ECDSA)',
    req({ ...V4_HEADERS, authorization: V4.replace('AWS4-HMAC-SHA256', 'AWS4-ECDSA-P256-SHA256') }),
    'InvalidArgument',
    /Unsupported/,
  ],
  ['an empty Authorization header', req({ authorization: '' }), 'InvalidArgument', /^Unsupported Authorization Type$/],
  [
    'SigV4 with nothing after the algorithm',
    req({ ...V4_HEADERS, authorization: 'AWS4-HMAC-SHA256' }),
    'AuthorizationHeaderMalformed',
    /requires three components: Credential, SignedHeaders, and Signature\.$/,
  ],
  [
    'SigV4 without Signature',
    req({ ...V4_HEADERS, authorization: V4.replace(/,Signature=.*/, '') }),
    'AuthorizationHeaderMalformed',
    /three components/,
  ],
  [
    'SigV4 without SignedHeaders',
    req({ ...V4_HEADERS, authorization: V4.replace(/SignedHeaders=[^,]*,/, '') }),
    'AuthorizationHeaderMalformed',
    /three components/,
  ],
  [
    'SigV4 with an empty signed header name',
    req({ ...V4_HEADERS, authorization: V4.replace('host;range', 'host;;range') }),
    'AuthorizationHeaderMalformed',
    /three components/,
  ],
  [
    'SigV4 with a component lacking "="',
    req({ ...V4_HEADERS, authorization: V4 + ',garbage' }),
    'AuthorizationHeaderMalformed',
    /three components/,
  ],
  [
    'SigV4 credential with four parts',
    req({ ...V4_HEADERS, authorization: V4.replace('/s3/', '/') }),
    'AuthorizationHeaderMalformed',
    /^The authorization header is malformed; the Credential is mal-formed; expecting "<YOUR-AKID>\/YYYYMMDD\/REGION\/SERVICE\/aws4_request"\.$/,
  ],
  [
    'SigV4 credential with a bad date',
    req({ ...V4_HEADERS, authorization: V4.replace('/20130524/', '/2013-05-24/') }),
    'AuthorizationHeaderMalformed',
    /Credential is mal-formed/,
  ],
  [
    'SigV4 credential for another service',
    req({ ...V4_HEADERS, authorization: V4.replace('/s3/', '/ec2/') }),
    'AuthorizationHeaderMalformed',
    /incorrect service "ec2"\. This endpoint belongs to "s3"\.$/,
  ],
  [
    'SigV4 credential with a bad terminal',
    req({ ...V4_HEADERS, authorization: V4.replace('aws4_request', 'aws4_reqest') }),
    'AuthorizationHeaderMalformed',
    /incorrect terminal "aws4_reqest"/,
  ],
  [
    'SigV4 credential date not the x-amz-date day',
    req({ ...V4_HEADERS, 'x-amz-date': '20130525T000000Z', authorization: V4 }),
    'AuthorizationHeaderMalformed',
    /Invalid credential date "20130524"\. This date is not the same as X-Amz-Date: "20130525"\.$/,
  ],
  [
    'SigV4 with neither x-amz-date nor Date',
    req({ host: 'h', 'x-amz-content-sha256': EMPTY, authorization: V4 }),
    'AccessDenied',
    /^AWS authentication requires a valid Date or x-amz-date header$/,
  ],
  [
    'SigV4 with an unparsable x-amz-date',
    req({ ...V4_HEADERS, 'x-amz-date': '2013-05-24T00:00:00Z', authorization: V4 }),
    'AccessDenied',
    /valid Date or x-amz-date/,
  ],
  [
    'SigV4 with an impossible x-amz-date',
    req({ ...V4_HEADERS, 'x-amz-date': '20130532T000000Z', authorization: V4 }),
    'AccessDenied',
    /valid Date or x-amz-date/,
  ],
  [
    'SigV4 header without x-amz-content-sha256',
    req({ host: 'h', 'x-amz-date': '20130524T000000Z', authorization: V4 }),
    'InvalidRequest',
    /^Missing required header for this request: x-amz-content-sha256$/,
  ],
  [
    'SigV4 header with a bogus x-amz-content-sha256',
    req({ ...V4_HEADERS, 'x-amz-content-sha256': 'abc', authorization: V4 }),
    'InvalidArgument',
    /^x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, .* or a valid sha256 value\.$/,
    { ArgumentName: 'x-amz-content-sha256', ArgumentValue: 'abc' },
  ],
  [
    'presigned without X-Amz-Date',
    req({}, PRESIGNED.replace('X-Amz-Date=20130524T000000Z&', '')),
    'AuthorizationQueryParametersError',
    /^Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters\.$/,
  ],
  [
    'presigned without X-Amz-Algorithm',
    req({}, PRESIGNED.replace('X-Amz-Algorithm=AWS4-HMAC-SHA256&', '')),
    'AuthorizationQueryParametersError',
    /requires the X-Amz-Algorithm/,
  ],
  [
    'presigned without X-Amz-Signature',
    req({}, PRESIGNED.replace(/&X-Amz-Signature=.*/, '')),
    'AuthorizationQueryParametersError',
    /requires the X-Amz-Algorithm/,
  ],
  [
    'presigned with another algorithm',
    req({}, PRESIGNED.replace('HMAC-SHA256', 'HMAC-SHA1')),
    'AuthorizationQueryParametersError',
    /^X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"$/,
  ],
  [
    'presigned for more than 7 days',
    req({}, PRESIGNED.replace('X-Amz-Expires=86400', 'X-Amz-Expires=604801')),
    'AuthorizationQueryParametersError',
    /^X-Amz-Expires must be less than a week \(in seconds\); that is, the given X-Amz-Expires must be less than 604800 seconds$/,
  ],
  [
    'presigned with a non-numeric expiry',
    req({}, PRESIGNED.replace('X-Amz-Expires=86400', 'X-Amz-Expires=1d')),
    'AuthorizationQueryParametersError',
    /^X-Amz-Expires should be a number$/,
  ],
  [
    'presigned with a negative expiry',
    req({}, PRESIGNED.replace('X-Amz-Expires=86400', 'X-Amz-Expires=-1')),
    'AuthorizationQueryParametersError',
    /^X-Amz-Expires must be non-negative$/,
  ],
  [
    'presigned with a badly formatted X-Amz-Date',
    req({}, PRESIGNED.replace('X-Amz-Date=20130524T000000Z', 'X-Amz-Date=20130524')),
    'AuthorizationQueryParametersError',
    /^X-Amz-Date must be in the ISO8601 Long Format "yyyyMMdd'T'HHmmss'Z'"$/,
  ],
  [
    'presigned credential for another day',
    req({}, PRESIGNED.replace('X-Amz-Date=20130524T000000Z', 'X-Amz-Date=20130525T000000Z')),
    'AuthorizationQueryParametersError',
    /^Invalid credential date "20130524"/,
  ],
  [
    'presigned credential mal-formed',
    req({}, PRESIGNED.replace('%2Fs3%2F', '%2F')),
    'AuthorizationQueryParametersError',
    /^Error parsing the X-Amz-Credential parameter; the Credential is mal-formed/,
  ],
  [
    'presigned credential for another service',
    req({}, PRESIGNED.replace('%2Fs3%2F', '%2Fiam%2F')),
    'AuthorizationQueryParametersError',
    /incorrect service "iam"/,
  ],
  [
    'SigV2 header without a colon',
    req({ authorization: 'AWS AKIAIOSFODNN7EXAMPLE' }),
    'InvalidArgument',
    /^AWS authorization header is invalid\. {2}Expected AwsAccessKeyId:signature$/,
    { ArgumentName: 'Authorization', ArgumentValue: 'AWS AKIAIOSFODNN7EXAMPLE' },
  ],
  [
    'SigV2 header with an empty signature',
    req({ authorization: 'AWS AK:' }),
    'InvalidArgument',
    /Expected AwsAccessKeyId:signature/,
  ],
  [
    'SigV2 header with an empty access key',
    req({ authorization: 'AWS :sig' }),
    'InvalidArgument',
    /Expected AwsAccessKeyId:signature/,
  ],
  [
    'SigV2 query without Expires',
    req({}, 'AWSAccessKeyId=AK&Signature=abc'),
    'AccessDenied',
    /^Query-string authentication requires the Signature, Expires and AWSAccessKeyId parameters$/,
  ],
  [
    'SigV2 query with only a Signature',
    req({}, 'Signature=abc&Expires=1'),
    'AccessDenied',
    /requires the Signature, Expires and AWSAccessKeyId/,
  ],
  [
    'SigV2 query with a non-numeric Expires',
    req({}, 'AWSAccessKeyId=AK&Signature=abc&Expires=soon'),
    'AccessDenied',
    /^Invalid date \(should be seconds since epoch\): soon$/,
  ],
];

for (const [name, request, code, message, details] of REFUSED) {
  test(`parseAuth refuses ${name}`, { timeout: 30_000 }, () => {
    assert.throws(
      () => parseAuth(request),
      (e: unknown) => {
        assert.ok(e instanceof StorageError, String(e));
        assert.equal(e.code, code);
        assert.match(e.message, message);
        if (details) assert.deepEqual({ ...e.details }, details);
        return true;
      },
    );
  });
}

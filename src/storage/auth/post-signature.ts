/**
 * Who signed a browser-based upload form, and the check of that signature: the signature is
 * over the base64 `policy` field itself, with the SigV4 signing key
 * (https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-authentication-HTTPPOST.html) or
 * HMAC-SHA1 for SigV2 (https://docs.aws.amazon.com/AmazonS3/latest/userguide/HTTPPOSTForms.html).
 * Pure code.
 */
import { StorageError } from '../errors.js';
import { parseAmzDate, signaturesEqual } from './canonical.js';
import { signatureV2 } from './sigv2.js';
import { credentialScope, deriveSigningKey, signatureHex, SIGNATURE_MISMATCH } from './sigv4.js';
import { V4_ALGORITHM } from './types.js';

export type PostAuth =
  | { type: 'anonymous' }
  | {
      type: 'v4';
      accessKeyId: string;
      date: string;
      region: string;
      service: string;
      amzDate: string;
      signature: string;
      policy: string;
    }
  | { type: 'v2'; accessKeyId: string; signature: string; policy: string };

/** Fields that never need a policy condition, by signature version (the "Conditions" sections of both docs). */
export const POST_EXEMPT_FIELDS: Record<PostAuth['type'], readonly string[]> = {
  anonymous: ['file', 'policy'],
  v4: ['file', 'policy', 'x-amz-signature'],
  v2: ['file', 'policy', 'awsaccesskeyid', 'signature'],
};

/** AWS's answer to a form that lacks a field it needs, or has it after the file. */
export function missingFormField(name: string): StorageError {
  return new StorageError(
    'InvalidArgument',
    `Bucket POST must contain a field named '${name}'.  If it is specified, please check the order of the fields.`,
    {
      ArgumentName: name,
      ArgumentValue: '',
    },
  );
}

function required(fields: ReadonlyMap<string, string>, name: string): string {
  const v = fields.get(name);
  if (v === undefined || v === '') throw missingFormField(name);
  return v;
}

function badField(name: string, value: string, message: string): StorageError {
  return new StorageError('InvalidArgument', message, { ArgumentName: name, ArgumentValue: value });
}

/**
 * The signature fields of a form (names in lower case): SigV4 when any x-amz-algorithm,
 * x-amz-credential or x-amz-signature field is there, SigV2 when AWSAccessKeyId or signature
 * is, else anonymous, which a `policy` alone cannot be.
 */
export function parsePostAuth(fields: ReadonlyMap<string, string>): PostAuth {
  const v4 = fields.has('x-amz-algorithm') || fields.has('x-amz-credential') || fields.has('x-amz-signature');
  const v2 = fields.has('awsaccesskeyid') || fields.has('signature');
  if (v4) {
    const algorithm = required(fields, 'x-amz-algorithm');
    if (algorithm !== V4_ALGORITHM)
      throw badField('x-amz-algorithm', algorithm, `X-Amz-Algorithm only supports "${V4_ALGORITHM}"`);
    const credential = required(fields, 'x-amz-credential');
    const amzDate = required(fields, 'x-amz-date');
    const signature = required(fields, 'x-amz-signature');
    const policy = required(fields, 'policy');
    const parts = credential.split('/');
    const [accessKeyId, date, region, service, terminal] = parts;
    if (
      parts.length !== 5 ||
      !accessKeyId ||
      !date ||
      !/^\d{8}$/.test(date) ||
      !region ||
      service !== 's3' ||
      terminal !== 'aws4_request'
    ) {
      throw badField(
        'x-amz-credential',
        credential,
        'Error parsing the X-Amz-Credential parameter; expecting "<YOUR-AKID>/YYYYMMDD/REGION/s3/aws4_request".',
      );
    }
    if (parseAmzDate(amzDate) === null)
      throw badField('x-amz-date', amzDate, `X-Amz-Date must be in the ISO8601 Long Format "yyyyMMdd'T'HHmmss'Z'"`);
    // "The date must be same that you used in creating the signing key" (RESTObjectPOST.html, x-amz-date).
    if (amzDate.slice(0, 8) !== date)
      throw badField(
        'x-amz-date',
        amzDate,
        `Invalid credential date "${date}". This date is not the same as X-Amz-Date: "${amzDate.slice(0, 8)}".`,
      );
    return { type: 'v4', accessKeyId, date, region, service, amzDate, signature, policy };
  }
  if (v2) {
    const accessKeyId = required(fields, 'awsaccesskeyid');
    const signature = required(fields, 'signature');
    const policy = required(fields, 'policy');
    return { type: 'v2', accessKeyId, signature, policy };
  }
  if (fields.has('policy')) throw missingFormField('AWSAccessKeyId');
  return { type: 'anonymous' };
}

/** Hex HMAC-SHA256 of the base64 policy with the SigV4 signing key of `date`/`region`. */
export function postPolicySignatureV4(
  secretKey: string,
  date: string,
  region: string,
  policyBase64: string,
  service = 's3',
): string {
  return signatureHex(deriveSigningKey(secretKey, date, region, service), policyBase64);
}

/** Base64 HMAC-SHA1 of the base64 policy. */
export function postPolicySignatureV2(secretKey: string, policyBase64: string): string {
  return signatureV2(secretKey, policyBase64);
}

/** Throws SignatureDoesNotMatch unless the form's signature is the policy's under `secretKey`. */
export function verifyPostSignature(auth: Exclude<PostAuth, { type: 'anonymous' }>, secretKey: string): void {
  const expected =
    auth.type === 'v4'
      ? postPolicySignatureV4(secretKey, auth.date, auth.region, auth.policy, auth.service)
      : postPolicySignatureV2(secretKey, auth.policy);
  const provided = auth.type === 'v4' ? auth.signature.toLowerCase() : auth.signature;
  if (signaturesEqual(expected, provided)) return;
  const details: Record<string, string> = {
    AWSAccessKeyId: auth.accessKeyId,
    StringToSign: auth.policy,
    SignatureProvided: auth.signature,
  };
  if (auth.type === 'v4') details.CredentialScope = credentialScope(auth.date, auth.region, auth.service);
  throw new StorageError('SignatureDoesNotMatch', SIGNATURE_MISMATCH, details);
}

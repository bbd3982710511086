/** Hand-built browser upload forms (multipart/form-data) with SigV4 and SigV2 POST policies. */
import { randomBytes } from 'node:crypto';
import { postPolicySignatureV2, postPolicySignatureV4, type Addon } from '#storage';

export type Field = [name: string, value: string];

export interface FormFile {
  filename: string;
  content: Buffer | string;
  contentType?: string;
}

/** A multipart/form-data body: the fields in order, then the file part named `file`. */
export function multipartBody(
  fields: Field[],
  file: FormFile | null,
  fileField = 'file',
): { body: Buffer; contentType: string } {
  const boundary = `----CellarForm${randomBytes(8).toString('hex')}`;
  const parts: Buffer[] = [];
  for (const [name, value] of fields) {
    parts.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`));
  }
  if (file) {
    parts.push(
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="${fileField}"; filename="${file.filename}"\r\n` +
          `Content-Type: ${file.contentType ?? 'application/octet-stream'}\r\n\r\n`,
      ),
    );
    parts.push(Buffer.from(file.content));
    parts.push(Buffer.from('\r\n'));
  }
  parts.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(parts), contentType: `multipart/form-data; boundary=${boundary}` };
}

export function base64Json(doc: unknown): string {
  return Buffer.from(JSON.stringify(doc)).toString('base64');
}

function amzDate(d: Date): string {
  return d
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
}

export interface PolicyOptions {
  now?: Date;
  /** Default: an hour after `now`. */
  expiration?: Date;
  region?: string;
  /** Signs with this secret instead of the add-on's. */
  secret?: string;
}

/**
 * The fields of a SigV4-signed form: `fields`, then the credential fields and the policy, whose
 * conditions are `conditions` plus those on the SigV4 fields, as boto3 and the AWS example add them.
 */
export function signedV4Fields(
  addon: Pick<Addon, 'accessKeyId' | 'secretAccessKey'>,
  conditions: unknown[],
  fields: Field[],
  o: PolicyOptions = {},
): Field[] {
  const now = o.now ?? new Date();
  const date = amzDate(now);
  const region = o.region ?? 'us-east-1';
  const credential = `${addon.accessKeyId}/${date.slice(0, 8)}/${region}/s3/aws4_request`;
  const expiration = o.expiration ?? new Date(now.getTime() + 3600_000);
  const policy = base64Json({
    expiration: expiration.toISOString(),
    conditions: [
      ...conditions,
      { 'x-amz-credential': credential },
      { 'x-amz-algorithm': 'AWS4-HMAC-SHA256' },
      { 'x-amz-date': date },
    ],
  });
  return [
    ...fields,
    ['x-amz-credential', credential],
    ['x-amz-algorithm', 'AWS4-HMAC-SHA256'],
    ['x-amz-date', date],
    ['policy', policy],
    ['x-amz-signature', postPolicySignatureV4(o.secret ?? addon.secretAccessKey, date.slice(0, 8), region, policy)],
  ];
}

/** The fields of a SigV2-signed form (HTTPPOSTForms.html). */
export function signedV2Fields(
  addon: Pick<Addon, 'accessKeyId' | 'secretAccessKey'>,
  conditions: unknown[],
  fields: Field[],
  o: PolicyOptions = {},
): Field[] {
  const now = o.now ?? new Date();
  const expiration = o.expiration ?? new Date(now.getTime() + 3600_000);
  const policy = base64Json({ expiration: expiration.toISOString(), conditions });
  return [
    ...fields,
    ['AWSAccessKeyId', addon.accessKeyId],
    ['policy', policy],
    ['signature', postPolicySignatureV2(o.secret ?? addon.secretAccessKey, policy)],
  ];
}

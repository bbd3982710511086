/**
 * The policy and CORS examples of Clever Cloud's Cellar documentation, character for character
 * (docs "Public bucket policy", "Read-only policy example", "CORS Configuration"). Only the
 * placeholders `<bucket-name>` and `cellar_xxx` are filled in, as the documentation tells users to.
 */

const PUBLIC_POLICY = `{
  "Id": "Policy1587216857769",
  "Version": "2012-10-17",
  "Statement": [
    {
      "Sid": "Stmt1587216727444",
      "Action": ["s3:GetObject"],
      "Effect": "Allow",
      "Resource": "arn:aws:s3:::<bucket-name>/*",
      "Principal": "*"
    }
  ]
}
`;

const READ_ONLY_POLICY = `{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Action": ["s3:GetObject"],
      "Effect": "Allow",
      "Resource": "arn:aws:s3:::<bucket-name>/*",
      "Principal": {"AWS": "arn:aws:iam::cellar_xxx"}
    }
  ]
}
`;

export const DOC_CORS_XML = `<CORSConfiguration>
  <CORSRule>
    <AllowedOrigin>https://console.clever-cloud.com</AllowedOrigin>
    <AllowedMethod>PUT</AllowedMethod>
    <AllowedMethod>POST</AllowedMethod>
    <AllowedMethod>DELETE</AllowedMethod>
    <AllowedHeader>*</AllowedHeader>
    <ExposeHeader>ETag</ExposeHeader>
  </CORSRule>
  <CORSRule>
    <AllowedOrigin>*</AllowedOrigin>
    <AllowedMethod>GET</AllowedMethod>
    <MaxAgeSeconds>3000</MaxAgeSeconds>
  </CORSRule>
</CORSConfiguration>
`;

export const CONSOLE_ORIGIN = 'https://console.clever-cloud.com';

/** The documented "public bucket policy" for `bucket`. */
export function publicPolicy(bucket: string): string {
  return PUBLIC_POLICY.replace('<bucket-name>', bucket);
}

/** The documented "read-only policy" giving the add-on `addonId` read access to `bucket`. */
export function readOnlyPolicy(bucket: string, addonId: string): string {
  return READ_ONLY_POLICY.replace('<bucket-name>', bucket).replace('cellar_xxx', addonId);
}

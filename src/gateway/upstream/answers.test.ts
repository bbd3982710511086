import { test } from 'node:test';
import assert from 'node:assert/strict';
import { answersWithChecksum, isCompleteUpload, lacksEtag, withEtag } from './answers.js';

test('answersWithChecksum: PutObject and UploadPart only', { timeout: 5000 }, () => {
  const cases: [string, string, boolean, boolean][] = [
    ['PUT', '/b/k', false, true],
    ['PUT', '/b/a/b%20c?x-id=PutObject', false, true],
    ['PUT', '/b/k?partNumber=2&uploadId=abc&x-id=UploadPart', false, true],
    ['PUT', '/b/k', true, false],
    ['PUT', '/b/k?tagging', false, false],
    ['PUT', '/b/k?acl=', false, false],
    ['PUT', '/b/k?retention&versionId=1', false, false],
    ['PUT', '/b', false, false],
    ['PUT', '/b/', false, false],
    ['PUT', '/b?policy', false, false],
    ['POST', '/b/k?uploadId=abc', false, false],
    ['GET', '/b/k', false, false],
  ];
  for (const [method, path, copy, want] of cases)
    assert.equal(answersWithChecksum(method, path, copy), want, `${method} ${path} copy=${copy}`);
});

test('isCompleteUpload: POST on a key with uploadId', { timeout: 5000 }, () => {
  const cases: [string, string, boolean][] = [
    ['POST', '/b/k?uploadId=abc', true],
    ['POST', '/b/dir/k?uploadId=a%2Bb&x-id=CompleteMultipartUpload', true],
    ['POST', '/b/k?uploads', false],
    ['POST', '/b?delete', false],
    ['PUT', '/b/k?partNumber=1&uploadId=abc', false],
    ['DELETE', '/b/k?uploadId=abc', false],
  ];
  for (const [method, path, want] of cases) assert.equal(isCompleteUpload(method, path), want, `${method} ${path}`);
});

const RESULT = (etag: string) =>
  '<?xml version="1.0" encoding="UTF-8"?><CompleteMultipartUploadResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">' +
  `<Location>localhost/b/k</Location><Bucket>b</Bucket><Key>k</Key>${etag}</CompleteMultipartUploadResult>`;

test('lacksEtag and withEtag: an empty or missing ETag is filled, a present one is left', { timeout: 5000 }, () => {
  const filled = RESULT('<ETag>&quot;0123456789abcdef0123456789abcdef-2&quot;</ETag>');
  const cases: [string, boolean][] = [
    [RESULT('<ETag></ETag>'), true],
    [RESULT('<ETag/>'), true],
    [RESULT(''), true],
    [RESULT('<ETag>"abc-1"</ETag>'), false],
    ['<Error><Code>InternalError</Code></Error>', false],
    ['', false],
  ];
  for (const [xml, want] of cases) {
    assert.equal(lacksEtag(xml), want, xml);
    if (want) assert.equal(withEtag(xml, '"0123456789abcdef0123456789abcdef-2"'), filled);
  }
});

/**
 * Bucket lifecycle with the current AWS SDK against a real server whose lifecycle "day" lasts
 * 2 s: the configuration operations and AWS's validation errors, expiration of current objects by
 * prefix, tag, size and date (nothing else removed, no blob left behind), aborting incomplete
 * multipart uploads, the x-amz-expiration header, and in versioned buckets: delete markers on
 * expiration, noncurrent version expiration and expired object delete markers.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteBucketLifecycleCommand,
  DeleteObjectCommand,
  GetBucketLifecycleConfigurationCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectVersionsCommand,
  ListObjectsV2Command,
  PutBucketLifecycleConfigurationCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  UploadPartCommand,
  type LifecycleRule,
  type S3Client,
} from '@aws-sdk/client-s3';
import { auditBlobs } from '../e2e/helpers/blob-audit.js';
import { startTestCellar, type TestCellar } from './helpers/cellar.js';
import { assertS3Error, md5Base64, raw } from './helpers/raw.js';
import { rejects } from './helpers/s3-assert.js';

const T = { timeout: 60_000 };
const DAY_MS = 2_000;
let t: TestCellar;
let s3: S3Client;

before(async () => {
  t = await startTestCellar({ lifecycleDaySeconds: DAY_MS / 1000, lifecycleIntervalSeconds: 1 });
  s3 = t.client();
});
after(() => t.stop());

const bucket = async (name: string): Promise<string> => {
  await s3.send(new CreateBucketCommand({ Bucket: name }));
  return name;
};
const putRules = (Bucket: string, Rules: LifecycleRule[]) =>
  s3.send(new PutBucketLifecycleConfigurationCommand({ Bucket, LifecycleConfiguration: { Rules } }));
const keys = async (Bucket: string): Promise<string[]> =>
  ((await s3.send(new ListObjectsV2Command({ Bucket }))).Contents ?? []).map((o) => o.Key!);

/** Polls until `check` holds; the lifecycle worker runs every second, objects fall due within two 2 s days. */
async function eventually(what: string, check: () => Promise<boolean>, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) assert.fail(`never happened: ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Every blob file named by exactly one object, version or part, none missing, none leaked. */
const blobsAccountedFor = async (): Promise<boolean> => auditBlobs(t.cellar.config.dataDir).problems.length === 0;

/** A raw PUT ?lifecycle with Content-MD5, for documents no SDK would send. */
const putXml = (b: string, xml: string, headers: Record<string, string> = { 'content-md5': md5Base64(xml) }) =>
  raw(t.endpoint, {
    method: 'PUT',
    path: `/${b}?lifecycle`,
    body: xml,
    headers,
    auth: { type: 'v4', addon: t.owner },
  });
const doc = (...rules: string[]): string => `<LifecycleConfiguration>${rules.join('')}</LifecycleConfiguration>`;
const days = (n: string | number, filter = '<Filter><Prefix>logs/</Prefix></Filter>', id = 'r') =>
  `<Rule><ID>${id}</ID>${filter}<Status>Enabled</Status><Expiration><Days>${n}</Days></Expiration></Rule>`;

describe('configuration operations', T, () => {
  test('Put, Get and DeleteBucketLifecycle round-trip every rule shape', T, async () => {
    const b = await bucket('lc-roundtrip');
    await rejects(
      () => s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket: b })),
      'NoSuchLifecycleConfiguration',
      404,
    );
    const rules: LifecycleRule[] = [
      { ID: 'logs', Status: 'Enabled', Filter: { Prefix: 'logs/' }, Expiration: { Days: 30 } },
      { ID: 'tagged', Status: 'Disabled', Filter: { Tag: { Key: 'tmp', Value: 'yes' } }, Expiration: { Days: 1 } },
      {
        ID: 'and',
        Status: 'Enabled',
        Filter: {
          And: { Prefix: 'p/', Tags: [{ Key: 'a', Value: '1' }], ObjectSizeGreaterThan: 10, ObjectSizeLessThan: 1000 },
        },
        Expiration: { Date: new Date('2031-01-01T00:00:00Z') },
      },
      { ID: 'big', Status: 'Enabled', Filter: { ObjectSizeGreaterThan: 1 << 20 }, Expiration: { Days: 7 } },
      {
        ID: 'versions',
        Status: 'Enabled',
        Filter: { Prefix: '' },
        Expiration: { ExpiredObjectDeleteMarker: true },
        NoncurrentVersionExpiration: { NoncurrentDays: 3, NewerNoncurrentVersions: 2 },
        AbortIncompleteMultipartUpload: { DaysAfterInitiation: 2 },
      },
    ];
    await putRules(b, rules);
    const got = await s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket: b }));
    assert.deepEqual(got.Rules, rules);
    // The legacy rule-level Prefix comes back as sent.
    const legacy = doc(
      '<Rule><ID>old</ID><Prefix>a/</Prefix><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule>',
    );
    assert.equal((await putXml(b, legacy)).status, 200);
    const res = await raw(t.endpoint, { path: `/${b}?lifecycle`, auth: { type: 'v4', addon: t.owner } });
    assert.equal(res.status, 200);
    assert.match(
      res.text,
      /<Rule><Expiration><Days>1<\/Days><\/Expiration><ID>old<\/ID><Prefix>a\/<\/Prefix><Status>Enabled<\/Status><\/Rule>/,
    );
    const del = await raw(t.endpoint, {
      method: 'DELETE',
      path: `/${b}?lifecycle`,
      auth: { type: 'v4', addon: t.owner },
    });
    assert.equal(del.status, 204);
    await rejects(
      () => s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket: b })),
      'NoSuchLifecycleConfiguration',
      404,
    );
    // Deleting again is not an error.
    await s3.send(new DeleteBucketLifecycleCommand({ Bucket: b }));
  });

  test('a rule sent without an ID gets one', T, async () => {
    const b = await bucket('lc-noid');
    await putRules(b, [{ Status: 'Enabled', Filter: {}, Expiration: { Days: 1 } }]);
    const got = await s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket: b }));
    assert.ok((got.Rules?.[0]?.ID ?? '').length > 0);
  });

  test('every validation error, with the code and message AWS answers', T, async () => {
    const b = await bucket('lc-errors');
    const many = Array.from({ length: 1001 }, (_, i) => days(1, '<Filter/>', `r${i}`));
    const cases: Array<[string, string, number, string, RegExp?]> = [
      ['not XML', '<LifecycleConfiguration>', 400, 'MalformedXML'],
      ['wrong root', '<Lifecycle><Rule/></Lifecycle>', 400, 'MalformedXML'],
      ['no rules', doc(), 400, 'MalformedXML'],
      ['unknown element', doc(days(1).replace('<Status>', '<Colour>red</Colour><Status>')), 400, 'MalformedXML'],
      ['1001 rules', doc(...many), 400, 'InvalidRequest', /must not exceed the allowed limit of 1000 rules/],
      ['duplicate IDs', doc(days(1), days(2)), 400, 'InvalidArgument', /Rule ID must be unique/],
      ['ID too long', doc(days(1, undefined, 'x'.repeat(256))), 400, 'InvalidArgument', /ID length should not exceed/],
      ['bad status', doc(days(1).replace('Enabled', 'On')), 400, 'MalformedXML'],
      ['no filter and no prefix', doc(days(1, '')), 400, 'MalformedXML'],
      ['filter and prefix', doc(days(1, '<Prefix>a</Prefix><Filter/>')), 400, 'MalformedXML'],
      [
        'two predicates in a filter',
        doc(days(1, '<Filter><Prefix>a</Prefix><ObjectSizeLessThan>5</ObjectSizeLessThan></Filter>')),
        400,
        'MalformedXML',
      ],
      ['Days 0', doc(days(0)), 400, 'InvalidArgument', /Days.* for Expiration action must be a positive integer/],
      ['Days -1', doc(days(-1)), 400, 'InvalidArgument', /positive integer/],
      ['Days text', doc(days('soon')), 400, 'MalformedXML'],
      [
        'Date not at midnight',
        doc(days(1).replace('<Days>1</Days>', '<Date>2030-01-01T12:00:00Z</Date>')),
        400,
        'InvalidArgument',
        /Date.* must be at midnight GMT/,
      ],
      [
        'Days and Date',
        doc(days(1).replace('<Days>1</Days>', '<Days>1</Days><Date>2030-01-01T00:00:00Z</Date>')),
        400,
        'MalformedXML',
      ],
      [
        'no action',
        doc('<Rule><ID>r</ID><Filter/><Status>Enabled</Status></Rule>'),
        400,
        'InvalidRequest',
        /At least one action needs to be specified in a rule/,
      ],
      [
        'abort with a tag filter',
        doc(
          '<Rule><ID>r</ID><Filter><Tag><Key>k</Key><Value>v</Value></Tag></Filter><Status>Enabled</Status><AbortIncompleteMultipartUpload><DaysAfterInitiation>1</DaysAfterInitiation></AbortIncompleteMultipartUpload></Rule>',
        ),
        400,
        'InvalidRequest',
        /AbortIncompleteMultipartUpload cannot be specified with Tags/,
      ],
      [
        'delete-marker expiration with a tag filter',
        doc(
          '<Rule><ID>r</ID><Filter><Tag><Key>k</Key><Value>v</Value></Tag></Filter><Status>Enabled</Status><Expiration><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker></Expiration></Rule>',
        ),
        400,
        'InvalidRequest',
        /ExpiredObjectDeleteMarker cannot be specified with Tags/,
      ],
      [
        'DaysAfterInitiation 0',
        doc(
          '<Rule><ID>r</ID><Filter/><Status>Enabled</Status><AbortIncompleteMultipartUpload><DaysAfterInitiation>0</DaysAfterInitiation></AbortIncompleteMultipartUpload></Rule>',
        ),
        400,
        'InvalidArgument',
      ],
      [
        'NoncurrentDays 0',
        doc(
          '<Rule><ID>r</ID><Filter/><Status>Enabled</Status><NoncurrentVersionExpiration><NoncurrentDays>0</NoncurrentDays></NoncurrentVersionExpiration></Rule>',
        ),
        400,
        'InvalidArgument',
      ],
      [
        'a transition (one storage class only)',
        doc(
          '<Rule><ID>r</ID><Filter/><Status>Enabled</Status><Transition><Days>30</Days><StorageClass>GLACIER</StorageClass></Transition></Rule>',
        ),
        400,
        'InvalidStorageClass',
      ],
      [
        'a noncurrent version transition',
        doc(
          '<Rule><ID>r</ID><Filter/><Status>Enabled</Status><NoncurrentVersionTransition><NoncurrentDays>30</NoncurrentDays><StorageClass>GLACIER</StorageClass></NoncurrentVersionTransition></Rule>',
        ),
        400,
        'InvalidStorageClass',
      ],
    ];
    for (const [name, xml, status, code, message] of cases) {
      const res = await putXml(b, xml);
      assertS3Error(res, status, code);
      if (message) assert.match(res.text, message, name);
    }
    // Content-MD5 (or a flexible checksum) is required, and checked.
    const good = doc(days(1));
    assertS3Error(await putXml(b, good, {}), 400, 'InvalidRequest');
    assert.match((await putXml(b, good, {})).text, /Missing required header for this request: Content-MD5/);
    assertS3Error(await putXml(b, good, { 'content-md5': md5Base64('other') }), 400, 'BadDigest');
    // Nothing refused was stored.
    await rejects(
      () => s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket: b })),
      'NoSuchLifecycleConfiguration',
      404,
    );
    assert.equal((await putXml(b, good)).status, 200);
  });

  test('only the owner may read or change the configuration', T, async () => {
    const b = await bucket('lc-owner');
    const other = t.client(t.newAddon('lc-other'));
    await rejects(() => other.send(new GetBucketLifecycleConfigurationCommand({ Bucket: b })), 'AccessDenied', 403);
    await rejects(
      () =>
        other.send(
          new PutBucketLifecycleConfigurationCommand({
            Bucket: b,
            LifecycleConfiguration: { Rules: [{ ID: 'x', Status: 'Enabled', Filter: {}, Expiration: { Days: 1 } }] },
          }),
        ),
      'AccessDenied',
      403,
    );
  });
});

describe('the lifecycle worker', T, () => {
  test(
    'a rule expiring logs/ after one day removes those objects and nothing else, and leaves no blob behind',
    T,
    async () => {
      const b = await bucket('lc-expire');
      await putRules(b, [
        { ID: 'expire logs', Status: 'Enabled', Filter: { Prefix: 'logs/' }, Expiration: { Days: 1 } },
      ]);
      const keep = ['keep/a', 'logs', 'logsx/a', 'Logs/a'];
      const gone = ['logs/a', 'logs/b/c', 'logs/'];
      for (const key of [...keep, ...gone])
        await s3.send(new PutObjectCommand({ Bucket: b, Key: key, Body: `body of ${key}` }));
      // A large object in the prefix: several blob files would matter too (one here, but real bytes).
      await s3.send(new PutObjectCommand({ Bucket: b, Key: 'logs/big', Body: Buffer.alloc(256 * 1024, 7) }));
      gone.push('logs/big');
      await eventually('logs/ expired', async () => (await keys(b)).every((k) => !k.startsWith('logs/')));
      assert.deepEqual(await keys(b), [...keep].sort());
      for (const key of gone) await rejects(() => s3.send(new HeadObjectCommand({ Bucket: b, Key: key })), null, 404);
      for (const key of keep)
        assert.equal(
          await (await s3.send(new GetObjectCommand({ Bucket: b, Key: key }))).Body!.transformToString(),
          `body of ${key}`,
        );
      await eventually('blob files match the rows', blobsAccountedFor);
    },
  );

  test('tag and size filters, disabled rules and past dates', T, async () => {
    const b = await bucket('lc-filters');
    await putRules(b, [
      { ID: 'tagged', Status: 'Enabled', Filter: { Tag: { Key: 'tmp', Value: 'yes' } }, Expiration: { Days: 1 } },
      {
        ID: 'small',
        Status: 'Enabled',
        Filter: { And: { Prefix: 's/', ObjectSizeLessThan: 4 } },
        Expiration: { Days: 1 },
      },
      { ID: 'off', Status: 'Disabled', Filter: { Prefix: 'off/' }, Expiration: { Days: 1 } },
      {
        ID: 'past',
        Status: 'Enabled',
        Filter: { Prefix: 'old/' },
        Expiration: { Date: new Date('2020-01-01T00:00:00Z') },
      },
      {
        ID: 'future',
        Status: 'Enabled',
        Filter: { Prefix: 'new/' },
        Expiration: { Date: new Date('2999-01-01T00:00:00Z') },
      },
    ]);
    const put = (Key: string, Body: string, Tagging?: string) =>
      s3.send(new PutObjectCommand({ Bucket: b, Key, Body, Tagging }));
    await put('t/yes', 'x', 'tmp=yes');
    await put('t/no', 'x', 'tmp=no');
    await put('t/none', 'x');
    await put('s/tiny', 'abc');
    await put('s/large', 'abcdef');
    await put('off/a', 'x');
    await put('old/a', 'x');
    await put('new/a', 'x');
    await eventually('filtered objects expired', async () => {
      const k = await keys(b);
      return !k.includes('t/yes') && !k.includes('s/tiny') && !k.includes('old/a');
    });
    // One more pass after the last removal cannot take anything else.
    await t.cellar.storage.applyLifecycle();
    assert.deepEqual(await keys(b), ['new/a', 'off/a', 's/large', 't/no', 't/none']);
  });

  test('an overwritten object is judged by its new time', T, async () => {
    const b = await bucket('lc-overwrite');
    // 1000 days: the background passes (real time) never reach it; the passes below name their time.
    await putRules(b, [{ ID: 'x', Status: 'Enabled', Filter: { Prefix: 'x/' }, Expiration: { Days: 1000 } }]);
    const dueOf = (lm: Date): number => Math.ceil((lm.getTime() + 1000 * DAY_MS) / DAY_MS) * DAY_MS;
    await s3.send(new PutObjectCommand({ Bucket: b, Key: 'x/a', Body: 'old' }));
    const old = t.cellar.storage.headObject(b, 'x/a')!;
    // More than one day later, so the rewrite falls due on a later day boundary.
    await new Promise((r) => setTimeout(r, DAY_MS + 100));
    await s3.send(new PutObjectCommand({ Bucket: b, Key: 'x/a', Body: 'new' }));
    const fresh = t.cellar.storage.headObject(b, 'x/a')!;
    assert.ok(dueOf(old.lastModified) < dueOf(fresh.lastModified));
    assert.equal((await t.cellar.storage.applyLifecycle(dueOf(old.lastModified))).expired, 0);
    assert.equal(t.cellar.storage.headObject(b, 'x/a')?.etag, fresh.etag);
    assert.equal((await t.cellar.storage.applyLifecycle(dueOf(fresh.lastModified))).expired >= 1, true);
    assert.equal(t.cellar.storage.headObject(b, 'x/a'), null);
  });

  test('AbortIncompleteMultipartUpload aborts uploads under the prefix after DaysAfterInitiation', T, async () => {
    const b = await bucket('lc-uploads');
    await putRules(b, [
      {
        ID: 'abort',
        Status: 'Enabled',
        Filter: { Prefix: 'up/' },
        AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 },
      },
    ]);
    const start = async (Key: string) => {
      const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: b, Key }));
      await s3.send(new UploadPartCommand({ Bucket: b, Key, UploadId, PartNumber: 1, Body: Buffer.alloc(1024, 1) }));
      return UploadId!;
    };
    await start('up/a');
    await start('up/b');
    const kept = await start('other/c');
    const uploads = async () =>
      ((await s3.send(new ListMultipartUploadsCommand({ Bucket: b }))).Uploads ?? []).map(
        (u) => `${u.Key}:${u.UploadId}`,
      );
    await eventually('up/ uploads aborted', async () => (await uploads()).length === 1);
    assert.deepEqual(await uploads(), [`other/c:${kept}`]);
    await eventually('part files of aborted uploads removed', blobsAccountedFor);
  });
});

describe('x-amz-expiration', T, () => {
  test('GET, HEAD, PUT answer the expiry date and the (URL-encoded) rule id; other objects have none', T, async () => {
    const b = await bucket('lc-header');
    await putRules(b, [
      { ID: 'keep a year', Status: 'Enabled', Filter: { Prefix: 'docs/' }, Expiration: { Days: 1_000_000 } },
      { ID: 'sooner', Status: 'Enabled', Filter: { Prefix: 'docs/soon/' }, Expiration: { Days: 500_000 } },
    ]);
    const put = await s3.send(new PutObjectCommand({ Bucket: b, Key: 'docs/a', Body: 'a' }));
    const obj = t.cellar.storage.headObject(b, 'docs/a')!;
    const due = Math.ceil((obj.lastModified.getTime() + 1_000_000 * DAY_MS) / DAY_MS) * DAY_MS;
    const want = `expiry-date="${new Date(due).toUTCString()}", rule-id="keep%20a%20year"`;
    assert.equal(put.Expiration, want);
    assert.equal((await s3.send(new HeadObjectCommand({ Bucket: b, Key: 'docs/a' }))).Expiration, want);
    assert.equal((await s3.send(new GetObjectCommand({ Bucket: b, Key: 'docs/a' }))).Expiration, want);
    assert.match(want, /^expiry-date="\w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} GMT", rule-id="[^"]+"$/);
    // The earliest of two matching rules names itself.
    const soon = await s3.send(new PutObjectCommand({ Bucket: b, Key: 'docs/soon/x', Body: 'x' }));
    assert.match(soon.Expiration ?? '', /rule-id="sooner"$/);
    const other = await s3.send(new PutObjectCommand({ Bucket: b, Key: 'img/a', Body: 'a' }));
    assert.equal(other.Expiration, undefined);
    assert.equal((await s3.send(new HeadObjectCommand({ Bucket: b, Key: 'img/a' }))).Expiration, undefined);
  });
});

describe('versioned buckets', T, () => {
  const versioned = async (name: string): Promise<string> => {
    await bucket(name);
    await s3.send(new PutBucketVersioningCommand({ Bucket: name, VersioningConfiguration: { Status: 'Enabled' } }));
    return name;
  };
  const history = async (Bucket: string, Prefix: string) => {
    const r = await s3.send(new ListObjectVersionsCommand({ Bucket, Prefix }));
    return {
      versions: (r.Versions ?? []).map((v) => ({ key: v.Key!, id: v.VersionId!, latest: v.IsLatest! })),
      markers: (r.DeleteMarkers ?? []).map((m) => ({ key: m.Key!, id: m.VersionId!, latest: m.IsLatest! })),
    };
  };

  test(
    'Expiration of a current object adds a delete marker and keeps the object as a noncurrent version',
    T,
    async () => {
      const b = await versioned('lc-vexpire');
      await putRules(b, [{ ID: 'e', Status: 'Enabled', Filter: { Prefix: 'e/' }, Expiration: { Days: 1 } }]);
      const put = await s3.send(new PutObjectCommand({ Bucket: b, Key: 'e/a', Body: 'kept as noncurrent' }));
      await eventually('a delete marker on e/a', async () => (await history(b, 'e/')).markers.length === 1);
      const h = await history(b, 'e/');
      assert.deepEqual(h.versions, [{ key: 'e/a', id: put.VersionId!, latest: false }]);
      assert.equal(h.markers[0]!.latest, true);
      await rejects(() => s3.send(new GetObjectCommand({ Bucket: b, Key: 'e/a' })), 'NoSuchKey', 404);
      const old = await s3.send(new GetObjectCommand({ Bucket: b, Key: 'e/a', VersionId: put.VersionId }));
      assert.equal(await old.Body!.transformToString(), 'kept as noncurrent');
      // The marker has a version behind it: it is not an expired object delete marker, and stays.
      await t.cellar.storage.applyLifecycle();
      assert.equal((await history(b, 'e/')).markers.length, 1);
    },
  );

  test(
    'NoncurrentVersionExpiration removes noncurrent versions by their own age, keeping NewerNoncurrentVersions',
    T,
    async () => {
      const b = await versioned('lc-noncurrent');
      await putRules(b, [
        {
          ID: 'nc',
          Status: 'Enabled',
          Filter: { Prefix: 'v/' },
          NoncurrentVersionExpiration: { NoncurrentDays: 1, NewerNoncurrentVersions: 1 },
        },
      ]);
      const ids: string[] = [];
      for (const body of ['one', 'two', 'three'])
        ids.push((await s3.send(new PutObjectCommand({ Bucket: b, Key: 'v/a', Body: body }))).VersionId!);
      const other: string[] = [];
      for (const body of ['x1', 'x2'])
        other.push((await s3.send(new PutObjectCommand({ Bucket: b, Key: 'w/a', Body: body }))).VersionId!);
      await eventually(
        'the oldest noncurrent version of v/a removed',
        async () => (await history(b, 'v/')).versions.length === 2,
      );
      // Newest first: the current one, then the one noncurrent version the rule keeps.
      assert.deepEqual((await history(b, 'v/')).versions, [
        { key: 'v/a', id: ids[2]!, latest: true },
        { key: 'v/a', id: ids[1]!, latest: false },
      ]);
      await rejects(
        () => s3.send(new GetObjectCommand({ Bucket: b, Key: 'v/a', VersionId: ids[0] })),
        'NoSuchVersion',
        404,
      );
      // Outside the rule's prefix nothing is touched.
      assert.deepEqual(
        (await history(b, 'w/')).versions.map((v) => v.id),
        [...other].reverse(),
      );
      await eventually('no blob of a removed version left', blobsAccountedFor);
    },
  );

  test('ExpiredObjectDeleteMarker removes a delete marker once it is the only version left', T, async () => {
    const b = await versioned('lc-markers');
    await putRules(b, [
      {
        ID: 'm',
        Status: 'Enabled',
        Filter: { Prefix: 'm/' },
        Expiration: { ExpiredObjectDeleteMarker: true },
        NoncurrentVersionExpiration: { NoncurrentDays: 1 },
      },
    ]);
    // A lone marker at once: a DELETE of a key that never existed.
    await s3.send(new DeleteObjectCommand({ Bucket: b, Key: 'm/never' }));
    // A marker with a version behind it, which expires after a day, leaving the marker alone.
    await s3.send(new PutObjectCommand({ Bucket: b, Key: 'm/a', Body: 'a' }));
    await s3.send(new DeleteObjectCommand({ Bucket: b, Key: 'm/a' }));
    // Outside the prefix a lone marker stays.
    await s3.send(new DeleteObjectCommand({ Bucket: b, Key: 'n/never' }));
    assert.equal((await history(b, 'm/')).markers.length, 2);
    await eventually('every m/ version and marker gone', async () => {
      const h = await history(b, 'm/');
      return h.versions.length === 0 && h.markers.length === 0;
    });
    assert.equal((await history(b, 'n/')).markers.length, 1);
    await eventually('no blob of a removed version left', blobsAccountedFor);
  });

  test('a noncurrent version under Object Lock is not expired; the unlocked ones are', T, async () => {
    const b = 'lc-locked';
    await s3.send(new CreateBucketCommand({ Bucket: b, ObjectLockEnabledForBucket: true }));
    await putRules(b, [
      { ID: 'nc', Status: 'Enabled', Filter: { Prefix: 'l/' }, NoncurrentVersionExpiration: { NoncurrentDays: 1000 } },
    ]);
    const locked = await s3.send(
      new PutObjectCommand({
        Bucket: b,
        Key: 'l/a',
        Body: 'locked',
        ObjectLockMode: 'GOVERNANCE',
        ObjectLockRetainUntilDate: new Date(Date.now() + 3_600_000),
      }),
    );
    const free = await s3.send(new PutObjectCommand({ Bucket: b, Key: 'l/a', Body: 'free' }));
    const current = await s3.send(new PutObjectCommand({ Bucket: b, Key: 'l/a', Body: 'current' }));
    // 1000 (2 s) days on: both noncurrent versions are due, one is locked.
    const r = await t.cellar.storage.applyLifecycle(Date.now() + 1002 * DAY_MS);
    assert.ok(r.noncurrent >= 1);
    assert.deepEqual(
      (await history(b, 'l/')).versions.map((v) => v.id),
      [current.VersionId, locked.VersionId],
    );
    assert.ok(free.VersionId);
    await rejects(
      () => s3.send(new GetObjectCommand({ Bucket: b, Key: 'l/a', VersionId: free.VersionId })),
      'NoSuchVersion',
      404,
    );
  });
});

// The Cellar dashboard: plain DOM, no framework. Data is only ever put in the page as text
// (textContent), never as HTML, so a bucket or file name cannot inject markup.
import { api, ApiFailure, operatorApi } from './api.js';
import { uploadFile } from './upload.js';

const $ = (id) => document.getElementById(id);

/** An element with attributes and children (strings become text nodes). */
function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === false || v === null || v === undefined) continue;
    if (k === 'text') e.textContent = v;
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children) e.append(c);
  return e;
}

function say(message, kind = 'info') {
  const s = $('status');
  s.textContent = message;
  s.dataset.kind = kind;
}

function sizeText(bytes) {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}

/** Runs an action, showing its failure in the status line instead of throwing. */
async function attempt(fn) {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof ApiFailure && e.status === 401 && e.code === 'NoSession') {
      showLogin('Your session ended: please log in again.');
      return undefined;
    }
    say(e instanceof Error ? e.message : String(e), 'error');
    return undefined;
  }
}

function show(section) {
  for (const id of ['login', 'owner', 'operator']) $(id).hidden = id !== section;
  $('logout').hidden = section === 'login';
  $('who').hidden = section === 'login';
}

function showLogin(message) {
  state.session = null;
  state.token = null;
  show('login');
  if (message) say(message, 'error');
  $('access-key').focus();
}

const state = { session: null, token: null, bucket: null, buckets: [], versionsKey: null };

// ---- owner ------------------------------------------------------------------------------

function siteUrl(bucket) {
  const ep = new URL(state.session.endpoint);
  // Bucket subdomains of an IP address do not resolve: no link then.
  if (/^[\d.]+$|^\[/.test(ep.hostname)) return null;
  return `${ep.protocol}//${bucket}.${ep.host}/`;
}

async function showOwner(session) {
  state.session = session;
  show('owner');
  $('who').textContent = `${session.name} (${session.id})`;
  if (!session.buckets) {
    say('Bucket management is not available on this service (upstream mode): use your s3cfg with s3cmd.', 'error');
    $('create-bucket').hidden = true;
    $('buckets').hidden = true;
    return;
  }
  await refreshBuckets();
}

async function refreshBuckets() {
  const list = await api('GET', '/buckets');
  state.buckets = list;
  const body = $('buckets').tBodies[0];
  body.replaceChildren(
    ...list.map((b) =>
      el(
        'tr',
        {},
        el('th', { scope: 'row', text: b.name }),
        el('td', { text: String(b.objects) }),
        el('td', { text: sizeText(b.bytes) }),
        el('td', { text: b.public ? 'public' : 'private' }),
        el('td', { text: b.website ? (b.website.spa ? 'SPA' : 'configured') : 'default' }),
        el('td', {}, manageButton(b.name)),
      ),
    ),
  );
  $('no-buckets').hidden = list.length > 0;
  if (state.bucket !== null) {
    const current = list.find((b) => b.name === state.bucket);
    if (current) renderBucket(current);
    else closeBucket();
  }
}

function manageButton(name) {
  const b = el('button', { type: 'button', text: 'Manage', 'aria-label': `Manage ${name}` });
  b.addEventListener('click', () => openBucket(name));
  return b;
}

function closeBucket() {
  state.bucket = null;
  $('bucket').hidden = true;
}

async function openBucket(name) {
  state.bucket = name;
  const b = state.buckets.find((x) => x.name === name);
  renderBucket(b);
  $('uploads').replaceChildren();
  state.versionsKey = null;
  $('versions').hidden = true;
  $('versions-key').value = '';
  $('domain-steps').replaceChildren();
  $('domain-cert-state').textContent = '';
  $('bucket').hidden = false;
  $('bucket-title').focus();
  await Promise.all([attempt(refreshFiles), attempt(() => checkDomain(false))]);
}

function renderBucket(b) {
  $('bucket-title').textContent = `Bucket ${b.name}`;
  const url = siteUrl(b.name);
  $('site-link').hidden = url === null;
  if (url !== null) {
    $('site-link').href = url;
    $('site-link').textContent = `Open the website (${url})`;
  }
  $('public').checked = b.public;
  $('versioning').checked = b.versioning === 'Enabled';
  $('index-doc').value = b.website?.index ?? 'index.html';
  $('error-doc').value = b.website?.error ?? '';
  $('spa').checked = b.website?.spa ?? false;
  $('cors-template').value = b.cors === 'custom' ? '' : (b.cors ?? '');
  $('cors-state').textContent = b.cors === 'custom' ? 'Custom rules set with an S3 tool are in place.' : '';
}

async function refreshFiles() {
  const page = await api('GET', `/buckets/${encodeURIComponent(state.bucket)}/objects`);
  $('files').replaceChildren(
    ...page.objects.map((o) =>
      el('li', {}, el('code', { text: o.key }), ` ${sizeText(o.size)} `, versionsButton(o.key)),
    ),
  );
  if (page.objects.length === 0) $('files').append(el('li', { text: 'No files yet.' }));
}

function versionsButton(key) {
  const b = el('button', { type: 'button', text: 'Versions', 'aria-label': `Versions of ${key}` });
  b.addEventListener('click', () => {
    $('versions-key').value = key;
    void attempt(() => showVersions(key));
  });
  return b;
}

async function showVersions(key) {
  const bucket = state.bucket;
  const h = await api('GET', `/buckets/${encodeURIComponent(bucket)}/versions?key=${encodeURIComponent(key)}`);
  if (bucket !== state.bucket) return;
  state.versionsKey = key;
  $('versions-caption').textContent = h.truncated
    ? `Newest versions of ${key} (more exist: list them with an S3 tool)`
    : `Versions of ${key}`;
  $('versions').tBodies[0].replaceChildren(
    ...h.versions.map((v) =>
      el(
        'tr',
        { 'data-version': v.versionId },
        el('th', { scope: 'row' }, el('code', { text: v.versionId })),
        el('td', { text: new Date(v.lastModified).toLocaleString() }),
        el('td', { text: v.deleteMarker ? '' : sizeText(v.size) }),
        el('td', { text: `${v.deleteMarker ? 'deleted (delete marker)' : 'file'}${v.isLatest ? ', current' : ''}` }),
        el('td', {}, v.isLatest || v.deleteMarker ? '' : restoreButton(key, v)),
      ),
    ),
  );
  $('versions').hidden = false;
  if (h.versions.length === 0) say(`${key} has no versions in ${bucket}.`);
}

function restoreButton(key, v) {
  const when = new Date(v.lastModified).toLocaleString();
  const b = el('button', {
    type: 'button',
    text: 'Restore this version',
    'aria-label': `Restore the version of ${when}`,
  });
  b.addEventListener('click', () => {
    void attempt(async () => {
      await api('POST', `/buckets/${encodeURIComponent(state.bucket)}/versions/restore`, {
        key,
        versionId: v.versionId,
      });
      say(`Restored the version of ${key} saved ${when}: it is the current version again.`);
      await showVersions(key);
      await refreshFiles();
      await refreshBuckets();
    });
  });
  return b;
}

async function uploadAll(files) {
  const bucket = state.bucket;
  if (bucket === null || files.length === 0) return;
  const list = $('uploads');
  const jobs = [...files].map((file) => {
    const bar = el('progress', { max: String(Math.max(file.size, 1)), value: '0' });
    const label = el('span', { text: `${file.name}: waiting` });
    const id = `up-${Math.random().toString(36).slice(2)}`;
    bar.id = id;
    const item = el('li', {}, el('label', { for: id, text: file.name }), bar, label);
    list.append(item);
    return { file, bar, label };
  });
  let failed = 0;
  // One at a time: the connection's bandwidth is shared anyway, and progress stays readable.
  for (const j of jobs) {
    j.label.textContent = ' uploading';
    try {
      await uploadFile(bucket, j.file, (done) => {
        j.bar.value = done;
      });
      j.bar.value = Math.max(j.file.size, 1);
      j.label.textContent = ' done';
      j.label.dataset.done = 'true';
    } catch (e) {
      failed++;
      j.label.textContent = ` failed: ${e instanceof Error ? e.message : String(e)}`;
    }
  }
  say(
    failed === 0 ? `Uploaded ${jobs.length} file(s) to ${bucket}.` : `${failed} upload(s) failed.`,
    failed ? 'error' : 'info',
  );
  await attempt(refreshFiles);
  await attempt(refreshBuckets);
  if (state.versionsKey !== null && bucket === state.bucket) await attempt(() => showVersions(state.versionsKey));
}

function wireDropZone() {
  const zone = $('drop');
  const input = $('file-input');
  // A button: Enter and Space open the file chooser like a click (keyboard users cannot drag).
  zone.addEventListener('click', () => input.click());
  zone.addEventListener('dragover', (e) => {
    e.preventDefault();
    zone.classList.add('over');
  });
  zone.addEventListener('dragleave', () => zone.classList.remove('over'));
  zone.addEventListener('drop', (e) => {
    e.preventDefault();
    zone.classList.remove('over');
    void uploadAll(e.dataTransfer?.files ?? []);
  });
  input.addEventListener('change', () => {
    const files = [...input.files];
    input.value = '';
    void uploadAll(files);
  });
}

function stepText(s) {
  const mark = s.ok === null ? 'not checked' : s.ok ? 'ok' : 'failed';
  return `${s.step}: ${mark}. ${s.detail}`;
}

async function checkDomain(announce) {
  const bucket = state.bucket;
  const v = await api('GET', `/buckets/${encodeURIComponent(bucket)}/domain`);
  if (bucket !== state.bucket) return;
  renderDomain(v);
  if (announce)
    say(v.report.decision.allowed ? `${v.host} is ready for HTTPS.` : `Not yet: ${v.report.decision.reason}`);
}

function renderDomain(v) {
  const dotted = v.host.includes('.');
  $('domain-intro').textContent = dotted
    ? v.cname === null
      ? `${v.host} is under the service domain: no DNS record is needed.`
      : `To serve this bucket at ${v.host}, create these records at your DNS provider.`
    : 'A custom domain is served by a bucket named exactly like it, for example www.example.com.';
  const rows = [];
  if (v.cname) rows.push([v.cname, v.addresses.length > 0 ? 'this, or the addresses below' : 'yes']);
  for (const a of v.addresses) rows.push([a, v.cname ? 'or this (all of them)' : 'yes']);
  if (dotted && v.cname !== null)
    rows.push([v.proof, v.proof.required ? 'yes' : 'optional (proves the domain is yours)']);
  $('records').tBodies[0].replaceChildren(
    ...rows.map(([r, need]) =>
      el(
        'tr',
        {},
        el('td', { text: r.type }),
        el('td', {}, el('code', { text: r.name })),
        el('td', {}, el('code', { text: r.value })),
        el('td', { text: need }),
      ),
    ),
  );
  $('records').hidden = rows.length === 0;
  $('domain-steps').replaceChildren(
    ...v.report.decision.steps.map((s) =>
      el('li', { 'data-ok': s.ok === null ? 'skip' : String(s.ok), text: stepText(s) }),
    ),
  );
  const c = v.report.certificate;
  const st = $('domain-cert-state');
  if (c) {
    st.textContent = `Certificate issued by ${c.issuer} for ${c.names.join(', ')}, valid until ${c.notAfter}.`;
    st.dataset.state = 'issued';
  } else if (v.report.backoff) {
    st.textContent = `No certificate yet. Last attempt failed: ${v.report.backoff.lastError} (next try after ${v.report.backoff.nextAttemptAt}).`;
    st.dataset.state = 'failed';
  } else {
    st.textContent = v.report.onDemand
      ? 'No certificate yet: one is issued on the first HTTPS visit once every step above is ok, or now with the button.'
      : 'No certificate: on-demand HTTPS is not enabled on this service.';
    st.dataset.state = 'none';
  }
  $('domain-cert').hidden = !(c === null && v.report.onDemand && v.report.decision.allowed);
}

function wireOwner() {
  $('create-bucket').addEventListener('submit', (e) => {
    e.preventDefault();
    const name = $('new-bucket').value.trim();
    void attempt(async () => {
      await api('POST', '/buckets', { name });
      $('new-bucket').value = '';
      await refreshBuckets();
      await openBucket(name);
      say(`Bucket ${name} created.`);
    });
  });
  $('public').addEventListener('change', () => {
    const wanted = $('public').checked;
    void attempt(async () => {
      await api('PUT', `/buckets/${encodeURIComponent(state.bucket)}/public`, { public: wanted });
      say(wanted ? `${state.bucket} is public.` : `${state.bucket} is private.`);
      await refreshBuckets();
    }).then(() => {
      const b = state.buckets.find((x) => x.name === state.bucket);
      if (b) $('public').checked = b.public;
    });
  });
  $('access').addEventListener('submit', (e) => e.preventDefault());
  $('versioning').addEventListener('change', () => {
    const wanted = $('versioning').checked;
    void attempt(async () => {
      await api('PUT', `/buckets/${encodeURIComponent(state.bucket)}/versioning`, { enabled: wanted });
      say(wanted ? `${state.bucket} keeps every version.` : `Versioning suspended on ${state.bucket}.`);
      await refreshBuckets();
    }).then(() => {
      const b = state.buckets.find((x) => x.name === state.bucket);
      if (b) $('versioning').checked = b.versioning === 'Enabled';
    });
  });
  $('versioning-form').addEventListener('submit', (e) => e.preventDefault());
  $('versions-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const key = $('versions-key').value;
    void attempt(() => showVersions(key));
  });
  $('website').addEventListener('submit', (e) => {
    e.preventDefault();
    const body = { index: $('index-doc').value.trim(), error: $('error-doc').value.trim(), spa: $('spa').checked };
    void attempt(async () => {
      await api('PUT', `/buckets/${encodeURIComponent(state.bucket)}/website`, body);
      say('Website settings saved.');
      await refreshBuckets();
    });
  });
  $('website-reset').addEventListener('click', () => {
    void attempt(async () => {
      await api('DELETE', `/buckets/${encodeURIComponent(state.bucket)}/website`);
      say('Website settings removed: the defaults apply.');
      await refreshBuckets();
    });
  });
  $('cors').addEventListener('submit', (e) => {
    e.preventDefault();
    const template = $('cors-template').value;
    const origin = $('cors-origin').value.trim();
    void attempt(async () => {
      const path = `/buckets/${encodeURIComponent(state.bucket)}/cors`;
      if (template === '') await api('DELETE', path);
      else await api('PUT', path, template === 'uploads-from-origin' ? { template, origin } : { template });
      say(template === '' ? 'CORS rules removed.' : 'CORS rules applied.');
      await refreshBuckets();
    });
  });
  $('domain-check').addEventListener('click', () => void attempt(() => checkDomain(true)));
  $('domain-cert').addEventListener('click', () => {
    say('Asking the certificate authority...');
    void attempt(async () => {
      const v = await api('POST', `/buckets/${encodeURIComponent(state.bucket)}/domain/certificate`);
      renderDomain(v);
      say(`Certificate issued for ${v.host}.`);
    });
  });
  $('delete-bucket').addEventListener('click', () => {
    const bucket = state.bucket;
    $('confirm-text').textContent =
      `Delete the bucket ${bucket}? Only an empty bucket can be deleted; this cannot be undone.`;
    const dialog = $('confirm-delete');
    dialog.returnValue = '';
    dialog.addEventListener(
      'close',
      () => {
        if (dialog.returnValue !== 'delete') return;
        void attempt(async () => {
          await api('DELETE', `/buckets/${encodeURIComponent(bucket)}`);
          closeBucket();
          await refreshBuckets();
          // Announced once the list shows it: the status is a live region, read as the truth.
          say(`Bucket ${bucket} deleted.`);
        });
      },
      { once: true },
    );
    dialog.showModal();
  });
  wireDropZone();
}

// ---- operator ---------------------------------------------------------------------------

async function showOperator(token) {
  const [addons, certs] = await Promise.all([operatorApi(token, '/addons'), operatorApi(token, '/certificates')]);
  state.token = token;
  show('operator');
  $('who').textContent = 'Operator';
  $('addons').tBodies[0].replaceChildren(
    ...addons.map((a) =>
      el(
        'tr',
        {},
        el('th', { scope: 'row', text: a.name }),
        el('td', { text: a.id }),
        el('td', { text: a.email }),
        el('td', {}, el('code', { text: a.accessKeyId })),
      ),
    ),
  );
  $('certificates').tBodies[0].replaceChildren(
    ...certs.map((c) =>
      el(
        'tr',
        {},
        el('th', { scope: 'row', text: c.name }),
        el('td', { text: c.issuer ?? '' }),
        el('td', { text: c.notAfter ?? '' }),
        el('td', { text: c.status }),
        el('td', { text: c.lastError ?? '' }),
      ),
    ),
  );
}

// ---- start ------------------------------------------------------------------------------

function wireLogin() {
  $('owner-login').addEventListener('submit', (e) => {
    e.preventDefault();
    const body = { accessKeyId: $('access-key').value.trim(), secretAccessKey: $('secret-key').value };
    void attempt(async () => {
      try {
        await api('POST', '/session', body);
      } catch (err) {
        if (err instanceof ApiFailure && err.status === 401) throw new Error('Wrong access key or secret key.');
        throw err;
      }
      $('secret-key').value = '';
      say('Logged in.');
      await showOwner(await api('GET', '/session'));
    });
  });
  $('operator-login').addEventListener('submit', (e) => {
    e.preventDefault();
    const token = $('admin-token').value.trim();
    void attempt(async () => {
      await showOperator(token);
      $('admin-token').value = '';
      say('Operator view.');
    });
  });
  $('logout').addEventListener('click', () => {
    void attempt(async () => {
      if (state.session !== null) await api('DELETE', '/session');
      closeBucket();
      showLogin();
      say('Logged out.');
    });
  });
}

async function start() {
  wireLogin();
  wireOwner();
  try {
    await showOwner(await api('GET', '/session'));
  } catch (e) {
    if (e instanceof ApiFailure && e.status === 401) showLogin();
    else say(e instanceof Error ? e.message : String(e), 'error');
  }
}

void start();

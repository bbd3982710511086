/**
 * Blob accounting, checked from outside once a server has stopped: every blob file the metadata
 * names (object, version or multipart part) exists and has its `blobs` row, every `blobs` row is
 * named exactly once, and no file under blobs/ is named by nothing (a leak). Reads the data
 * directory only; imports nothing of the server's.
 */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';

export interface BlobAudit {
  /** Blob ids the metadata names, each once. */
  referenced: number;
  files: number;
  problems: string[];
}

export function auditBlobs(dataDir: string): BlobAudit {
  const db = new Database(path.join(dataDir, 'meta.db'), { readonly: true, fileMustExist: true });
  const problems: string[] = [];
  const refs = new Map<string, string>();
  const name = (id: string, owner: string): void => {
    const earlier = refs.get(id);
    if (earlier !== undefined) problems.push(`blob ${id} named twice: by ${earlier} and by ${owner}`);
    refs.set(id, owner);
  };
  try {
    const tables = new Set(
      db
        .prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type = 'table'")
        .all()
        .map((r) => r.name),
    );
    const rowsOf = (table: string, cols: string): { owner: string; blobs: string }[] =>
      tables.has(table) ? db.prepare<[], { owner: string; blobs: string }>(`SELECT ${cols} FROM ${table}`).all() : [];
    for (const table of ['objects', 'versions'])
      for (const r of rowsOf(table, `bucket || '/' || key AS owner, blobs`))
        for (const b of JSON.parse(r.blobs) as { id: string }[]) name(b.id, `${table} ${r.owner}`);
    for (const r of rowsOf(
      'parts',
      `upload_id || '#' || part_number AS owner, json_array(json_object('id', blob_id)) AS blobs`,
    ))
      for (const b of JSON.parse(r.blobs) as { id: string }[]) name(b.id, `part ${r.owner}`);
    const rows = new Set(
      db
        .prepare<[], { id: string }>('SELECT id FROM blobs')
        .all()
        .map((r) => r.id),
    );
    for (const [id, owner] of refs) if (!rows.has(id)) problems.push(`blob ${id} of ${owner} has no blobs row`);
    for (const id of rows) if (!refs.has(id)) problems.push(`blobs row ${id} is named by nothing`);
    const dir = path.join(dataDir, 'blobs');
    let files = 0;
    const present = new Set<string>();
    if (existsSync(dir))
      for (const sub of readdirSync(dir))
        for (const f of readdirSync(path.join(dir, sub))) {
          files++;
          present.add(f);
          if (!refs.has(f)) problems.push(`blob file ${sub}/${f} is named by nothing (leaked)`);
        }
    for (const [id, owner] of refs) if (!present.has(id)) problems.push(`blob file of ${owner} (${id}) is missing`);
    return { referenced: refs.size, files, problems };
  } finally {
    db.close();
  }
}

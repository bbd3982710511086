/**
 * Reads a multipart/form-data POST body up to its `file` part: the fields before it, then the
 * file as a stream the caller consumes (or not) after checking the fields. busboy parses the
 * multipart framing with back-pressure, so the file is never held in memory.
 */
import busboy from 'busboy';
import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import { S3Error } from './errors.js';

export interface PostForm {
  /** The fields before the file, names in lower case (AWS matches them so); the first of a repeated name wins. */
  fields: Map<string, string>;
  /** The `file` part; null when the form ended without one. */
  file: { stream: Readable; filename: string } | null;
  /** Settles when the whole body has been read; what follows the file is ignored, as on AWS. */
  finished: Promise<void>;
  /** Stops feeding the parser after a refusal; the error answer closes the connection. */
  abandon(): void;
}

export interface PostFormLimits {
  /** Bytes of field names and values before the file. */
  preData: number;
  /** A `file` sent as a plain text field (no filename) is buffered by the parser, up to this size. */
  textFile: number;
}

/** Starts parsing and resolves once the `file` part begins (or the body ends without one). */
export function readPostForm(req: IncomingMessage, limits: PostFormLimits): Promise<PostForm> {
  return new Promise((resolve, reject) => {
    let parser: busboy.Busboy;
    try {
      // Browsers send UTF-8 file names unencoded (RFC 7578 section 4.2), not latin1.
      parser = busboy({
        headers: req.headers,
        defParamCharset: 'utf8',
        limits: { fieldSize: limits.textFile, fieldNameSize: 1024 },
      });
    } catch {
      throw new S3Error('MalformedPOSTRequest');
    }
    const fields = new Map<string, string>();
    let preData = 0;
    let started = false;
    let markFinished = (): void => undefined;
    const finished = new Promise<void>((done) => {
      markFinished = done;
    });
    const abandon = (): void => {
      req.unpipe(parser);
      req.resume();
    };
    const begin = (file: PostForm['file']): void => {
      started = true;
      resolve({ fields, file, finished, abandon });
    };
    const fail = (e: S3Error): void => {
      if (started) return;
      started = true;
      abandon();
      reject(e);
    };
    parser.on('field', (name, value, info) => {
      if (started) return;
      const lower = name.toLowerCase();
      if (lower === 'file') {
        // "File or text content": text content arrives as a plain field.
        if (info.valueTruncated)
          return fail(
            new S3Error(
              'EntityTooLarge',
              `A text file field may hold at most ${limits.textFile} bytes; send it as a file.`,
            ),
          );
        return begin({ stream: Readable.from([Buffer.from(value, 'utf8')]), filename: '' });
      }
      preData += Buffer.byteLength(name) + Buffer.byteLength(value);
      if (info.nameTruncated || info.valueTruncated || preData > limits.preData)
        return fail(new S3Error('MaxPostPreDataLengthExceededError'));
      if (!fields.has(lower)) fields.set(lower, value);
    });
    parser.on('file', (name, stream, info) => {
      if (started || name.toLowerCase() !== 'file') {
        stream.resume();
        return;
      }
      begin({ stream, filename: info.filename ?? '' });
    });
    parser.on('close', () => {
      if (!started) begin(null);
      markFinished();
    });
    parser.on('error', () => {
      fail(new S3Error('MalformedPOSTRequest'));
      markFinished();
    });
    req.on('error', () => markFinished());
    req.pipe(parser);
  });
}

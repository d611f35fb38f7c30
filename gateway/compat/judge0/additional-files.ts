import { Unzip, UnzipInflate, UnzipPassThrough } from 'fflate';
import { REQUEST_BOUNDS, type SourceFile } from '../../../contract/index.js';
import { invalid } from '../../errors.js';

/** Compressed bytes fed at a time: deflate inflates at most ~1032x, so a step stays near 1 MiB. */
const FEED_BYTES = 1024;

/**
 * Judge0's additional_files: a base64 zip whose files sit beside the source. Only plain files at
 * the top of the archive can be given (sandpod's files have no folders). The archive is inflated
 * a little at a time and given up once its files pass the source bound, whatever sizes its
 * headers claim, so a zip bomb costs no more than that bound.
 */
export function additionalFiles(base64Zip: string): SourceFile[] {
  const bound = REQUEST_BOUNDS.sourceBytes;
  const files: { name: string; chunks: Uint8Array[] }[] = [];
  let total = 0;
  let refusal: string | undefined;
  const unzip = new Unzip((file) => {
    if (file.name.endsWith('/')) return;
    if (file.name.includes('/')) {
      refusal ??= `${file.name}: only files at the top of the zip are supported`;
      return;
    }
    const entry = { name: file.name, chunks: [] as Uint8Array[] };
    files.push(entry);
    file.ondata = (error, chunk) => {
      if (error) refusal ??= 'is not a base64-encoded zip archive';
      total += chunk.length;
      if (total > bound) refusal ??= `the files are larger than ${bound} bytes unpacked`;
      if (refusal !== undefined) return file.terminate();
      entry.chunks.push(chunk);
    };
    file.start();
  });
  unzip.register(UnzipInflate);
  unzip.register(UnzipPassThrough);
  const zip = Buffer.from(base64Zip, 'base64');
  try {
    for (let offset = 0; offset < zip.length && refusal === undefined; offset += FEED_BYTES) {
      unzip.push(zip.subarray(offset, offset + FEED_BYTES), offset + FEED_BYTES >= zip.length);
    }
  } catch {
    refusal ??= 'is not a base64-encoded zip archive';
  }
  if (refusal === undefined && files.length === 0) refusal = 'is not a base64-encoded zip archive';
  if (refusal !== undefined) throw invalid('additional_files', refusal);
  return files.map(({ name, chunks }) => {
    const bytes = Buffer.concat(chunks);
    const content = bytes.toString('utf8');
    if (!Buffer.from(content, 'utf8').equals(bytes)) throw invalid('additional_files', `${name} is not UTF-8 text`);
    return { name, content };
  });
}

import { unzipSync } from 'fflate';
import { REQUEST_BOUNDS, type SourceFile } from '../../../contract/index.js';
import { invalid } from '../../errors.js';

/**
 * Judge0's additional_files: a base64 zip whose files sit beside the source. Only plain files at
 * the top of the archive can be given (sandpod's files have no folders); their total size is
 * bounded before anything is inflated past it.
 */
export function additionalFiles(base64Zip: string): SourceFile[] {
  let entries: Record<string, Uint8Array>;
  let total = 0;
  try {
    entries = unzipSync(Buffer.from(base64Zip, 'base64'), {
      filter: (file) => {
        total += file.originalSize;
        if (total > REQUEST_BOUNDS.sourceBytes) {
          throw new RangeError(`the files are larger than ${REQUEST_BOUNDS.sourceBytes} bytes unpacked`);
        }
        return !file.name.endsWith('/');
      },
    });
  } catch (error) {
    const reason = error instanceof RangeError ? error.message : 'is not a base64-encoded zip archive';
    throw invalid('additional_files', reason);
  }
  return Object.entries(entries).map(([name, bytes]) => {
    if (name.includes('/'))
      throw invalid('additional_files', `${name}: only files at the top of the zip are supported`);
    const content = Buffer.from(bytes).toString('utf8');
    if (!Buffer.from(content, 'utf8').equals(Buffer.from(bytes))) {
      throw invalid('additional_files', `${name} is not UTF-8 text`);
    }
    return { name, content };
  });
}

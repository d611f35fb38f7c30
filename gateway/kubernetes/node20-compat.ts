import workerThreads from 'node:worker_threads';
import zlib from 'node:zlib';

// @kubernetes/client-node 2.0.1 depends on undici 8, which needs Node >= 22.19 while this project
// runs on Node 20: loading it fails, and so does every request. These stand-ins for the three
// Node 22 features undici touches let the client load and work on Node 20. Import this module
// before anything that loads @kubernetes/client-node; remove it once the project runs on Node 22
// or pins undici 7 (package.json "overrides").

// undici binds zlib.createZstdDecompress when it loads. The API server never answers in zstd (it
// offers gzip only), so a stand-in that fails if ever used is enough.
const exports = zlib as unknown as Record<string, unknown>;
if (typeof exports.createZstdDecompress !== 'function') {
  exports.createZstdDecompress = () => {
    throw new Error('zstd decompression needs Node 22; the API server should not have sent zstd');
  };
}

// Node 22.10 added worker_threads.markAsUncloneable; undici only uses it to keep its objects out of
// structuredClone, which the client never does.
const threads = workerThreads as unknown as Record<string, unknown>;
if (typeof threads.markAsUncloneable !== 'function') threads.markAsUncloneable = () => undefined;

// Node 22 has Promise.withResolvers (ES2024); undici's fetch calls it for every request.
const promise = Promise as unknown as Record<string, unknown>;
if (typeof promise.withResolvers !== 'function') {
  promise.withResolvers = function withResolvers<T>() {
    let resolve!: (value: T) => void;
    let reject!: (reason?: unknown) => void;
    const created = new Promise<T>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    return { promise: created, resolve, reject };
  };
}

// A shared program travels in the URL fragment, which never reaches the server: the runtime's
// name and the source, deflated and base64url-encoded so a page of code still fits in a link.

export interface SharedProgram {
  runtime: string;
  source: string;
}

export async function shareFragment(program: SharedProgram): Promise<string> {
  const deflated = await transform(new TextEncoder().encode(program.source), new CompressionStream('deflate-raw'));
  const params = new URLSearchParams({ runtime: program.runtime, code: toBase64Url(deflated) });
  return `#${params}`;
}

/** The program in a fragment made by `shareFragment`, or undefined when it holds none or is damaged. */
export async function programFromFragment(fragment: string): Promise<SharedProgram | undefined> {
  const params = new URLSearchParams(fragment.replace(/^#/, ''));
  const runtime = params.get('runtime');
  const code = params.get('code');
  if (!runtime || code === null) return undefined;
  try {
    const inflated = await transform(fromBase64Url(code), new DecompressionStream('deflate-raw'));
    return { runtime, source: new TextDecoder('utf-8', { fatal: true }).decode(inflated) };
  } catch {
    return undefined;
  }
}

async function transform(bytes: Uint8Array, stream: TransformStream<BufferSource, Uint8Array>): Promise<Uint8Array> {
  const output = new Blob([bytes as BlobPart]).stream().pipeThrough(stream);
  return new Uint8Array(await new Response(output).arrayBuffer());
}

function toBase64Url(bytes: Uint8Array): string {
  let binary = '';
  for (let start = 0; start < bytes.length; start += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(start, start + 0x8000));
  }
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function fromBase64Url(text: string): Uint8Array {
  const binary = atob(text.replace(/-/g, '+').replace(/_/g, '/'));
  return Uint8Array.from(binary, (char) => char.charCodeAt(0));
}

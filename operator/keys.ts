// The work queue's key of an object: `namespace/name`.

export const executionKey = (namespace: string, name: string) => `${namespace}/${name}`;

export function parseKey(key: string): { namespace: string; name: string } {
  const slash = key.indexOf('/');
  return { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
}

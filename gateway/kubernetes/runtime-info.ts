import type { RuntimeInfo } from '../../contract/index.js';
import type { Runtime } from '../../contract/objects.js';

// What clients see of a Runtime object: `GET /runtimes` lists what the cluster can run right now.

export function runtimeInfo(runtime: Runtime): RuntimeInfo {
  return {
    name: runtime.metadata.name,
    version: runtime.spec.version,
    aliases: [...(runtime.spec.aliases ?? [])],
    compiled: runtime.spec.compile !== undefined,
    fileName: runtime.spec.fileName,
  };
}

export function runtimeInfos(runtimes: Iterable<Runtime>): RuntimeInfo[] {
  return [...runtimes].map(runtimeInfo).sort((a, b) => a.name.localeCompare(b.name));
}

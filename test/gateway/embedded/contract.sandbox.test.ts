import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createEmbeddedBackend } from '../../../gateway/embedded/index.js';
import { scaledCatalogPath } from '../../helpers/time-scale.js';
import { contractSuite } from '../contract-suite.js';

// Needs what embedded mode needs: root, runc, cgroups and the toolchains of runtimes/catalog.yaml.
// A state folder of its own keeps this suite clear of a gateway running on the same machine.
contractSuite('embedded backend', async (config, log) => {
  const stateDir = await mkdtemp(path.join(tmpdir(), 'sandpod-gateway-test-'));
  const catalogPath = scaledCatalogPath(config.embedded.catalogPath) ?? config.embedded.catalogPath;
  const backend = await createEmbeddedBackend(
    { ...config, embedded: { ...config.embedded, stateDir, catalogPath } },
    log,
  );
  const close = backend.close.bind(backend);
  backend.close = async (deadlineMs) => {
    await close(deadlineMs);
    await rm(stateDir, { recursive: true, force: true });
  };
  return backend;
});

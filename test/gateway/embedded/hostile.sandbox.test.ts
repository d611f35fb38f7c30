import { runToEnd, startEmbedded } from '../../helpers/embedded.js';
import { hostileSuite } from '../hostile-suite.js';

hostileSuite(`embedded, ${process.env.SANDPOD_OCI_RUNTIME ?? 'runc'}`, async () => {
  const fixture = await startEmbedded();
  return {
    run: (request) => runToEnd(fixture.backend, request),
    close: fixture.close,
    countsTasks: fixture.config.embedded.ociRuntime === 'runc',
    mountsScratch: true,
  };
});

import { startEmbedded, testConfig } from '../helpers/embedded.js';
import { startGateway } from '../helpers/gateway.js';
import { languageSuite } from './language-suite.js';

// Every catalog runtime in embedded mode, under runc or (SANDPOD_OCI_RUNTIME=runsc, as `make test`
// runs it a second time) gVisor, through the gateway's REST API so that each language's own default
// limits apply as a client gets them.

languageSuite(`languages, embedded, ${process.env.SANDPOD_OCI_RUNTIME ?? 'runc'}`, async () => {
  const fixture = await startEmbedded(testConfig());
  const gateway = await startGateway(fixture.config, fixture.backend);
  return {
    url: gateway.url,
    close: async () => {
      await gateway.close();
      await fixture.close();
    },
  };
});

import { type EmbeddedFixture, startEmbedded } from '../../helpers/embedded.js';
import { type RunningGateway, startGateway } from '../../helpers/gateway.js';
import { pistonConnectCases } from './piston-connect-cases.js';

describe('Piston v2 connect WebSocket (embedded)', function () {
  this.timeout(60_000);
  let embedded: EmbeddedFixture;
  let gateway: RunningGateway;

  before(async () => {
    embedded = await startEmbedded();
    gateway = await startGateway(embedded.config, embedded.backend);
  });

  after(async () => {
    await gateway?.close();
    await embedded?.close();
  });

  pistonConnectCases({ url: () => gateway.url });
});

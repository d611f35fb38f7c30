import { type EmbeddedFixture, startEmbedded } from '../../helpers/embedded.js';
import { type RunningGateway, startGateway } from '../../helpers/gateway.js';
import { pistonCases } from './piston-cases.js';

describe('Piston v2 API (embedded)', function () {
  this.timeout(120_000);
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

  pistonCases({ url: () => gateway.url });
});

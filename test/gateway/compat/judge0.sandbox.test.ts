import { parseConfig } from '../../../gateway/config.js';
import { type EmbeddedFixture, startEmbedded, testConfig } from '../../helpers/embedded.js';
import { type RunningGateway, sha256Hex, startGateway } from '../../helpers/gateway.js';
import { JUDGE0_SDK, testPython } from '../../helpers/python-venv.js';
import { JUDGE0_CALLBACKS, JUDGE0_TENANT, judge0Cases } from './judge0-cases.js';

const TOKEN = 'judge0-compat-token';

describe('Judge0 CE API (embedded)', function () {
  this.timeout(180_000);
  let embedded: EmbeddedFixture;
  let gateway: RunningGateway;
  let python: string;

  before(async () => {
    python = await testPython([JUDGE0_SDK]);
    const base = testConfig();
    const config = parseConfig({
      embedded: base.embedded,
      tenants: [{ ...JUDGE0_TENANT, tokenSha256: [sha256Hex(TOKEN)] }],
      callbacks: JUDGE0_CALLBACKS,
    });
    embedded = await startEmbedded(config);
    gateway = await startGateway(config, embedded.backend);
  });

  after(async () => {
    await gateway?.close();
    await embedded?.close();
  });

  judge0Cases({
    url: () => gateway.url,
    token: TOKEN,
    python: () => python,
    settled: async (token) => {
      await embedded.backend.wait('judge', token);
    },
  });
});

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, KubeConfig, Watch } from '@kubernetes/client-node';
import { PooledKubeConfig } from '../../kube/pooled-kube-config.js';
import { RequestLimiter } from '../../kube/request-limiter.js';

// Real client-node against an HTTPS server on loopback (a certificate made with openssl for the
// test): how many TLS connections do a few API calls open?

describe('PooledKubeConfig (kube/pooled-kube-config.ts)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sandpod-pool-'));
  let server: Server;
  let port = 0;
  let connections = 0;

  before(async () => {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
      ],
      { stdio: 'ignore' },
    );
    server = createServer(
      { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) },
      (_request, response) => {
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ kind: 'ConfigMapList', apiVersion: 'v1', metadata: {}, items: [] }));
      },
    );
    server.on('secureConnection', () => {
      connections += 1;
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });

  after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });

  async function connectionsFor(kubeConfig: KubeConfig, calls: number): Promise<number> {
    kubeConfig.loadFromOptions({
      clusters: [{ name: 'local', server: `https://127.0.0.1:${port}`, caFile: join(dir, 'cert.pem') }],
      users: [{ name: 'someone', token: 'not-a-secret' }],
      contexts: [{ name: 'local', cluster: 'local', user: 'someone' }],
      currentContext: 'local',
    });
    const core = kubeConfig.makeApiClient(CoreV1Api);
    const before = connections;
    for (let call = 0; call < calls; call += 1) {
      await core.listNamespacedConfigMap({ namespace: 'default' });
    }
    return connections - before;
  }

  it('should open a TLS connection for every call with the plain KubeConfig of client-node', async () => {
    assert.equal(await connectionsFor(new KubeConfig(), 5), 5);
  });

  it('should reuse its connections for calls one after another', async () => {
    // The second call may still find the first one's socket busy; from then on one is reused.
    const opened = await connectionsFor(new PooledKubeConfig(), 10);
    assert.ok(opened <= 2, `${opened} connections for 10 calls`);
  });

  it('should build a new pool once the old one is older than renewAfterMs', async () => {
    assert.equal(await connectionsFor(new PooledKubeConfig(0), 3), 3);
  });

  it('should take a token of its limiter for every API call but not for a watch', async () => {
    let paced = 0;
    const limiter = new RequestLimiter({ ratePerSecond: 1000, burst: 1000, onWaited: () => (paced += 1) });
    const kubeConfig = new PooledKubeConfig(undefined, limiter);
    await connectionsFor(kubeConfig, 3);
    assert.equal(paced, 3);

    // The server answers the watch with one line and closes it; done is called either way.
    await new Promise<void>((resolve, reject) => {
      new Watch(kubeConfig)
        .watch(
          '/api/v1/namespaces/default/configmaps',
          {},
          () => undefined,
          () => resolve(),
        )
        .catch(reject);
    });

    assert.equal(paced, 3);
  });
});

import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CoreV1Api, KubeConfig, type V1ConfigMap } from '@kubernetes/client-node';
import { type ChangeKind, WatchedObjects } from '../../kube/watched-objects.js';
import { testLogger } from '../helpers/logger.js';

// The list-watch the gateway and the operator share, with the real client-node against an HTTP
// server on loopback that plays the API server's part: it answers lists and watches from a script,
// so a test can hand out 410 Gone or a refused watch and see the cache come back.

const namespace = 'watched';
const path = `/api/v1/namespaces/${namespace}/configmaps`;

const configMap = (name: string, resourceVersion: string): V1ConfigMap => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace, resourceVersion },
});

type WatchAnswer = { status: number } | { events: object[]; end: boolean };
type ListAnswer = { status: number } | { resourceVersion: string; items: V1ConfigMap[] };

/** Answers lists with `lists` in turn (the last one again) and watches with `watches` in turn. */
class ScriptedApiServer {
  readonly requests: string[] = [];
  private readonly server: Server;
  private readonly open = new Set<ServerResponse>();

  constructor(
    private readonly lists: ListAnswer[],
    private readonly watches: WatchAnswer[],
  ) {
    this.server = createServer((request, response) => this.answer(request, response));
  }

  async listen(): Promise<KubeConfig> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    const { port } = this.server.address() as AddressInfo;
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromOptions({
      clusters: [{ name: 'scripted', server: `http://127.0.0.1:${port}`, skipTLSVerify: true }],
      users: [{ name: 'nobody' }],
      contexts: [{ name: 'scripted', cluster: 'scripted', user: 'nobody' }],
      currentContext: 'scripted',
    });
    return kubeConfig;
  }

  async close(): Promise<void> {
    for (const response of this.open) response.destroy();
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }

  private answer(request: IncomingMessage, response: ServerResponse): void {
    const url = new URL(request.url ?? '/', 'http://localhost');
    const watching = url.searchParams.get('watch') === 'true';
    const limit = Number(url.searchParams.get('limit') ?? 0);
    // A page of a list: `continue` is the offset the page before stopped at, as a token.
    const offset = Number(url.searchParams.get('continue') ?? 0);
    const paging = limit > 0 ? ` limit=${limit} continue=${offset}` : '';
    this.requests.push(watching ? `watch rv=${url.searchParams.get('resourceVersion')}` : `list${paging}`);
    if (!watching) {
      const next = offset > 0 ? this.lists[0] : this.lists.length > 1 ? this.lists.shift() : this.lists[0];
      const list = next ?? { resourceVersion: '1', items: [] };
      if ('status' in list) {
        response.writeHead(list.status).end();
        return;
      }
      response.writeHead(200, { 'content-type': 'application/json' });
      const end = limit > 0 ? offset + limit : list.items.length;
      const metadata = {
        resourceVersion: list.resourceVersion,
        ...(end < list.items.length ? { continue: String(end) } : {}),
      };
      const items = list.items.slice(offset, end);
      response.end(JSON.stringify({ kind: 'ConfigMapList', apiVersion: 'v1', metadata, items }));
      return;
    }
    const script = this.watches.shift() ?? { events: [], end: false };
    if ('status' in script) {
      response.writeHead(script.status).end();
      return;
    }
    response.writeHead(200, { 'content-type': 'application/json' });
    response.flushHeaders(); // as the API server does: a watch is open before its first event
    for (const event of script.events) response.write(`${JSON.stringify(event)}\n`);
    if (script.end) response.end();
    else this.open.add(response);
  }
}

/** Resolves with the first change that `matches`. */
function nextChange(
  watched: WatchedObjects<V1ConfigMap>,
  matches: (object: V1ConfigMap, change: ChangeKind) => boolean,
): Promise<{ name: string | undefined; change: ChangeKind }> {
  return new Promise((resolve) => {
    const stop = watched.onChange((object, change) => {
      if (!matches(object, change)) return;
      stop();
      resolve({ name: object.metadata?.name, change });
    });
  });
}

describe('WatchedObjects (kube/watched-objects.ts)', () => {
  let server: ScriptedApiServer | undefined;
  let watched: WatchedObjects<V1ConfigMap> | undefined;

  afterEach(async () => {
    await watched?.stop();
    await server?.close();
    watched = undefined;
    server = undefined;
  });

  async function start(
    lists: ConstructorParameters<typeof ScriptedApiServer>[0],
    watches: WatchAnswer[],
    pageSize?: number,
  ): Promise<WatchedObjects<V1ConfigMap>> {
    server = new ScriptedApiServer(lists, watches);
    const kubeConfig = await server.listen();
    const core = kubeConfig.makeApiClient(CoreV1Api);
    watched = new WatchedObjects<V1ConfigMap>({
      kubeConfig,
      path,
      list: (page) => core.listNamespacedConfigMap({ namespace, ...page }),
      ...(pageSize ? { pageSize } : {}),
      kind: 'ConfigMap',
      log: testLogger(),
      backoff: { baseMs: 5, maxMs: 20 },
    });
    return watched;
  }

  it('should list in pages of pageSize and watch from the resourceVersion of the snapshot', async () => {
    const items = ['a', 'b', 'c', 'd', 'e'].map((name) => configMap(name, '3'));
    const watch = await start([{ resourceVersion: '9', items }], [{ events: [], end: false }], 2);

    await watch.start();
    await watch.synced;

    assert.deepEqual(
      watch
        .list()
        .map((object) => object.metadata?.name)
        .sort(),
      ['a', 'b', 'c', 'd', 'e'],
    );
    assert.deepEqual(server?.requests, [
      'list limit=2 continue=0',
      'list limit=2 continue=2',
      'list limit=2 continue=4',
      'watch rv=9',
    ]);
  });

  it('should relist after 410 Gone and tell of what changed and what went away meanwhile', async () => {
    const watch = await start(
      [
        { resourceVersion: '10', items: [configMap('kept', '5'), configMap('removed', '6')] },
        { resourceVersion: '20', items: [configMap('kept', '15'), configMap('new', '18')] },
      ],
      [
        { events: [{ type: 'ERROR', object: { kind: 'Status', code: 410, reason: 'Expired' } }], end: true },
        { events: [], end: false },
      ],
    );
    const removed = nextChange(watch, (_object, change) => change === 'delete');
    const added = nextChange(watch, (object, change) => change === 'add' && object.metadata?.name === 'new');
    await watch.start();

    assert.deepEqual(await removed, { name: 'removed', change: 'delete' });
    assert.deepEqual(await added, { name: 'new', change: 'add' });
    assert.deepEqual(
      watch
        .list()
        .map((object) => `${object.metadata?.name}@${object.metadata?.resourceVersion}`)
        .sort(),
      ['kept@15', 'new@18'],
    );
    assert.deepEqual(server?.requests.slice(0, 3), ['list', 'watch rv=10', 'list']);
  });

  it('should watch again from the last version seen after refused watches', async () => {
    const watch = await start(
      [{ resourceVersion: '10', items: [configMap('first', '10')] }],
      [{ status: 500 }, { status: 503 }, { events: [{ type: 'ADDED', object: configMap('later', '11') }], end: false }],
    );
    const later = nextChange(watch, (object) => object.metadata?.name === 'later');
    await watch.start();
    assert.match(watch.problem ?? '', /ConfigMap/);

    assert.deepEqual(await later, { name: 'later', change: 'add' });
    assert.equal(watch.problem, undefined);
    assert.deepEqual(server?.requests, ['list', 'watch rv=10', 'watch rv=10', 'watch rv=10']);
    assert.equal(watch.get(namespace, 'first')?.metadata?.resourceVersion, '10');
  });

  it('should resolve synced only once a list has worked', async () => {
    const watch = await start(
      [{ status: 503 }, { resourceVersion: '3', items: [configMap('only', '3')] }],
      [{ events: [], end: false }],
    );
    let synced = false;
    void watch.synced.then(() => {
      synced = true;
    });
    await watch.start();
    assert.equal(synced, false, 'the first list failed');
    assert.match(watch.problem ?? '', /ConfigMap/);

    await watch.synced;
    assert.deepEqual(
      watch.list(namespace).map((object) => object.metadata?.name),
      ['only'],
    );
    assert.deepEqual(watch.list('elsewhere'), []);
    assert.deepEqual(server?.requests.slice(0, 2), ['list', 'list']);
  });
});

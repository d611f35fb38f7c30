import { KubeConfig, type RequestContext } from '@kubernetes/client-node';
import { isLongRunning, type RequestLimiter } from './request-limiter.js';

// client-node 2.0.1 gives every request a new undici Agent (KubeConfig.applySecurityAuthentication
// builds one each time), so no connection is ever reused: each API call pays a TLS handshake, on
// both ends. Profiling the operator under load put a third of its CPU in TLS set-up. This
// KubeConfig hands requests for the same cluster and user one shared Agent instead, and builds a
// new one now and then so that rotated client certificates are picked up. Every request of every
// API client passes here just before it is sent, so this is also where the optional client-side
// rate limit waits (watches and followed logs excepted).

type Dispatcher = NonNullable<ReturnType<RequestContext['getDispatcher']>>;

export class PooledKubeConfig extends KubeConfig {
  private pooled: { key: string; dispatcher: Dispatcher; since: number } | undefined;

  constructor(
    private readonly renewAfterMs = 5 * 60_000,
    private readonly limiter?: RequestLimiter,
  ) {
    super();
  }

  override async applySecurityAuthentication(context: RequestContext): Promise<void> {
    if (this.limiter && !isLongRunning(context.getUrl())) await this.limiter.acquire();
    await super.applySecurityAuthentication(context);
    const fresh = context.getDispatcher();
    // Plain HTTP, or nothing TLS-specific: undici's global pool already reuses connections.
    if (fresh === undefined) return;
    const key = JSON.stringify([this.getCurrentCluster()?.server, this.getCurrentUser()?.name, this.currentContext]);
    const pooled = this.pooled;
    if (pooled && pooled.key === key && Date.now() - pooled.since < this.renewAfterMs) {
      context.setDispatcher(pooled.dispatcher);
      return;
    }
    this.pooled = { key, dispatcher: fresh, since: Date.now() };
    // Closing lets requests (watches among them) already on the old Agent finish first.
    void pooled?.dispatcher.close().catch(() => undefined);
  }
}

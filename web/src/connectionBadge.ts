import type { ConnectionState } from '../../client/run-client.js';
import { byId } from './dom.js';

const TEXT: Record<ConnectionState, string> = {
  connecting: 'Connecting…',
  connected: 'Connected',
  reconnecting: 'Reconnecting…',
  idle: 'Idle',
  refused: 'Connection refused',
};

/** Shows the Socket.IO connection's state in the top bar (a status region, so it is announced). */
export function showConnection(state: ConnectionState, detail?: string): void {
  const badge = byId('connection');
  badge.dataset.state = state;
  badge.title = detail ?? '';
  badge
    .querySelector('.connection-text')
    ?.replaceChildren(state === 'refused' && detail ? `${TEXT[state]}: ${detail}` : TEXT[state]);
}

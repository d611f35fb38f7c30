import assert from 'node:assert/strict';
import { socketTarget } from '../../client/run-client.js';

describe('socketTarget', () => {
  const cases: [string, { uri: string | undefined; path: string }][] = [
    ['http://127.0.0.1:8080', { uri: 'http://127.0.0.1:8080', path: '/socket.io' }],
    ['https://run.example.com/sandpod/', { uri: 'https://run.example.com', path: '/sandpod/socket.io' }],
    ['/', { uri: undefined, path: '/socket.io' }],
    ['/classroom/', { uri: undefined, path: '/classroom/socket.io' }],
    ['', { uri: undefined, path: '/socket.io' }],
  ];
  for (const [server, expected] of cases) {
    it(`should connect to ${JSON.stringify(expected)} when the server is ${JSON.stringify(server)}`, () => {
      assert.deepEqual(socketTarget(server), expected);
    });
  }
});

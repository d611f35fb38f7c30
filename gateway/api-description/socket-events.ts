// The Socket.IO half of the API, for the description's readers: OpenAPI has no words for events,
// so they are a section of its prose whose payloads are the document's own component schemas.

export const SOCKET_EVENTS = {
  client: [
    ['run', 'ExecutionRequest', 'Start an execution (add `interactive: true` to type into it); ack `SocketAck`'],
    [
      'attach',
      'SocketIdPayload',
      'Follow an execution started elsewhere; output so far is replayed first; ack `SocketAck`',
    ],
    ['stdin', 'SocketStdinPayload', 'Send input to an interactive execution'],
    ['stdin:end', 'SocketIdPayload', 'Close its input (EOF)'],
    ['cancel', 'SocketIdPayload', 'Cancel it; its reason becomes `Cancelled`'],
  ],
  server: [
    ['output', 'SocketOutputEvent', 'Output as it comes, in order per stream'],
    ['status', 'SocketStatusEvent', 'Every phase change'],
    ['exit', 'SocketExitEvent', 'The final result, once, last (its output came as `output` events)'],
  ],
} as const;

const rows = (events: readonly (readonly [string, string, string])[]) =>
  events.map(([event, payload, meaning]) => `| \`${event}\` | \`${payload}\` | ${meaning} |`).join('\n');

export const SOCKET_EVENTS_MARKDOWN = `## Socket.IO

Live output and input go over Socket.IO on the gateway's own origin (path \`/socket.io\`, default
namespace). The token goes in the handshake: \`io(url, { auth: { token } })\`. Each client event
takes one payload and an acknowledgement; a refused one is acknowledged with
\`{ "error": { "code", "message", "field"? } }\`. Payload schemas are in this document's schemas.

Client events:

| event | payload | what it does |
| --- | --- | --- |
${rows(SOCKET_EVENTS.client)}

Server events:

| event | payload | when |
| --- | --- | --- |
${rows(SOCKET_EVENTS.server)}
`;

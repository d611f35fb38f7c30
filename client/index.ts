// The TypeScript client of sandpod: REST (SandpodClient) and Socket.IO (RunClient), typed from
// the contract. Published as the package's `./client` export.
export type { LimitPolicyValues, Limits, RequestedLimits } from '../contract/limit-values.js';
export type { ExecutionResult, Phase, Reason, Stream } from '../contract/outcome.js';
export type { ExecutionRequest, SourceFile } from '../contract/request.js';
export type { RuntimeInfo } from '../contract/runtime.js';
export { errorOf, SandpodApiError } from './api-error.js';
export { type ClientOptions, type ExecutionAccepted, SandpodClient } from './rest-client.js';
export { type ConnectionState, RunClient, type RunListener, type SocketOptions, socketTarget } from './run-client.js';
export type * from './socket-events.js';

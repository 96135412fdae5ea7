/** One typed request/answer layer for every worker thread of the relay (see endpoint.ts). */
export {
  moving, reviveError, RpcEndpoint, toPlainError,
  type ArgsOf, type CallName, type EndpointOptions, type Handlers, type Moving, type Note, type NoteName, type NoteOf, type PlainError, type ResultOf, type ThreadSide
} from './endpoint'
export { parentEndpoint, ParentEndpoint, threadEntry, WorkerRpc, type WorkerRpcOptions } from './thread'

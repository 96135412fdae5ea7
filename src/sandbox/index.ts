/**
 * A local CustomerSuccessBox: the CSB endpoints with CSB's own checks, a recording of every
 * request, and fault injection. Used by tests, benchmarks and `csb-relay sandbox`.
 */
export { startSandbox, DEFAULT_API_KEY, DEFAULT_RECORD_LIMIT, MAX_BODY_BYTES } from './server'
export { CSB_ENDPOINTS } from './csb-checks'
export { FaultsError, parseFaultsInput } from './fault-input'
export type {
  Sandbox,
  SandboxOptions,
  RecordedRequest,
  RequestFilter,
  Faults,
  FaultsInput,
  FaultKind,
  FaultRule,
  RuleMatch,
  LatencyFault,
  ThrottleFault,
  RateLimitFault,
  OutageFault
} from './types'

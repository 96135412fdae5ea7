/** The ingest plugin alone on a fastify instance with a fake store, for `app.inject` tests. */
import Fastify, { type FastifyInstance } from 'fastify'
import zlib from 'node:zlib'
import { ingestPlugin, type IngestLimits, type IngestObserver } from '../../src/ingest'
import { fakeStore, type FakeStore } from './fake-store'

export const WRITE_KEY = 'wk_test_0123456789'
export const SOURCE = 'test-source'

export const testLimits: IngestLimits = {
  maxEventBytes: 32 * 1024,
  maxRequestBytes: 500 * 1024,
  maxBatchEvents: 2500,
  maxBacklog: 1_000_000,
  backpressureRetryAfterSeconds: 7
}

export interface IngestApp {
  app: FastifyInstance
  store: FakeStore
}

export async function ingestApp(
  options: {
    limits?: Partial<IngestLimits>
    observer?: IngestObserver
    store?: FakeStore
    backlogRefreshMs?: number
    /** Default 0: every request parsed on the request thread, unless a test asks for parse threads. */
    parseThreads?: number
    parseThreadMinBytes?: number
  } = {}
): Promise<IngestApp> {
  const store = options.store ?? fakeStore()
  const app = Fastify()
  await app.register(ingestPlugin, {
    store,
    sources: [{ name: SOURCE, writeKey: WRITE_KEY }],
    limits: { ...testLimits, ...options.limits },
    observer: options.observer,
    backlogRefreshMs: options.backlogRefreshMs ?? 0,
    parseThreads: options.parseThreads ?? 0,
    parseThreadMinBytes: options.parseThreadMinBytes
  })
  await app.ready()
  return { app, store }
}

export const gzip = (value: unknown) => zlib.gzipSync(typeof value === 'string' ? value : JSON.stringify(value))

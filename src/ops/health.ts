/**
 * Liveness and readiness: `GET /healthz` (the process answers) and `GET /readyz` (the store
 * answers). The plugin imports nothing of ours: the composition root passes callbacks.
 */
import type { FastifyPluginAsync } from 'fastify'

export interface Readiness {
  /** Store engine name ("sqlite", "postgres"). */
  engine: string
  /** Unfinished events. */
  backlog: number
  /** Whether CSB credentials are configured; without them events are accepted and held. */
  csbConfigured: boolean
  /** Extra facts to show (e.g. delivery state); merged into the body. */
  [key: string]: unknown
}

export interface HealthOptions {
  /** Resolves when the store answers; rejects (or throws) when it does not. */
  readiness: () => Promise<Readiness>
}

export const CSB_NOT_CONFIGURED =
  'CSB not configured: events are accepted and held until CSB_API_KEY and CSB_BASE_URL are set (or PUT /api/csb)'

export const healthPlugin: FastifyPluginAsync<HealthOptions> = async (app, options) => {
  app.get('/healthz', async () => ({ ok: true }))

  app.get('/readyz', async (_request, reply) => {
    try {
      const state = await options.readiness()
      const csb = state.csbConfigured ? 'CSB configured: delivering' : CSB_NOT_CONFIGURED
      return { ready: true, ...state, csb }
    } catch (err) {
      reply.code(503)
      return { ready: false, error: `store not answering: ${(err as Error).message}` }
    }
  })
}

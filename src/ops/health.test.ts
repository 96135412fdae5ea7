import Fastify from 'fastify'
import { describe, expect, it } from 'vitest'
import { CSB_NOT_CONFIGURED, healthPlugin } from './health'

describe('health endpoints', () => {
  it('/healthz answers while the process serves; /readyz reports the store and CSB state', async () => {
    const app = Fastify()
    await app.register(healthPlugin, { readiness: async () => ({ engine: 'sqlite', backlog: 3, csbConfigured: false }) })
    expect((await app.inject('/healthz')).json()).toEqual({ ok: true })
    const ready = await app.inject('/readyz')
    expect(ready.statusCode).toBe(200)
    expect(ready.json()).toEqual({ ready: true, engine: 'sqlite', backlog: 3, csbConfigured: false, csb: CSB_NOT_CONFIGURED })
    await app.close()
  })

  it('/readyz answers 503 with the reason when the store does not answer', async () => {
    const app = Fastify()
    await app.register(healthPlugin, { readiness: async () => { throw new Error('database is locked') } })
    const res = await app.inject('/readyz')
    expect(res.statusCode).toBe(503)
    expect(res.json()).toEqual({ ready: false, error: 'store not answering: database is locked' })
    expect((await app.inject('/healthz')).statusCode).toBe(200)
    await app.close()
  })
})

import net from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { call, post, sandboxes, USER } from '../../test/helpers/sandbox'
import { sleep } from '../../test/helpers/wait'

const pool = sandboxes()
afterEach(() => pool.closeAll())

function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => resolve(socket))
    socket.once('error', reject)
  })
}

describe('sandbox lifecycle', () => {
  it('destroys open keep-alive connections when a refuse outage starts', async () => {
    const sandbox = await pool.start()
    const socket = await connect(sandbox.port)
    socket.on('error', () => {})
    const closed = new Promise((resolve) => socket.once('close', resolve))
    sandbox.setFaults({ outage: { seconds: 60, mode: 'refuse' } })
    await closed
    expect(socket.destroyed).toBe(true)
  })

  it('records a request as status 0 when a refuse outage cuts it off during its latency', async () => {
    const sandbox = await pool.start({ faults: { latency: 300 } })
    const pending = post(sandbox, '/api/v1_1/user', USER)
    await sandbox.waitForRequests(1)
    sandbox.setFaults({ outage: { seconds: 60, mode: 'refuse' } })
    await expect(pending).rejects.toThrow()
    await sleep(350)
    expect(sandbox.requests()[0]).toMatchObject({ status: 0, response: null })
  })

  it('closes cleanly during a refuse outage and does not listen again afterwards', async () => {
    const sandbox = await pool.start()
    sandbox.setFaults({ outage: { seconds: 0.2, mode: 'refuse' } })
    await sandbox.close()
    await sleep(300)
    await expect(connect(sandbox.port)).rejects.toThrow(/ECONNREFUSED/)
  })

  it('close() is idempotent and refuses connections afterwards', async () => {
    const sandbox = await pool.start()
    await post(sandbox, '/api/v1_1/user', USER)
    await sandbox.close()
    await sandbox.close()
    await expect(connect(sandbox.port)).rejects.toThrow(/ECONNREFUSED/)
  })

  it('waitForRequests resolves once enough requests (to a path) arrived, and times out naming what it saw', async () => {
    const sandbox = await pool.start()
    await post(sandbox, '/api/v1_1/account', { account_id: 'a' })
    const waiting = sandbox.waitForRequests(2, { path: '/api/v1_1/user' })
    await post(sandbox, '/api/v1_1/user', USER)
    await post(sandbox, '/api/v1_1/account', { account_id: 'a' })
    await post(sandbox, '/api/v1_1/user', { ...USER, user_id: 'u2' })
    const got = await waiting
    expect(got.map((r) => (r.body as any).user_id)).toEqual(['u1', 'u2'])
    expect(await sandbox.waitForRequests(4)).toHaveLength(4)
    await expect(sandbox.waitForRequests(1, { path: '/api/v1_1/feature', timeoutMs: 50 })).rejects.toThrow(
      'sandbox: waited 50 ms for 1 request(s) to /api/v1_1/feature, saw 0'
    )
  })

  it('restarts waiting counts when the recording is cleared over HTTP', async () => {
    const sandbox = await pool.start()
    await post(sandbox, '/api/v1_1/user', USER)
    const waiting = sandbox.waitForRequests(2)
    await call(sandbox, 'DELETE', '/_sandbox/requests')
    await post(sandbox, '/api/v1_1/user', USER)
    let done = false
    void waiting.then(() => (done = true))
    await sleep(20)
    expect(done).toBe(false)
    await post(sandbox, '/api/v1_1/user', USER)
    expect((await waiting).map((r) => r.seq)).toEqual([2, 3])
  })
})

describe('sandbox url', () => {
  it('gives a loopback url when listening on every address', async () => {
    const sandbox = await pool.start({ host: '0.0.0.0' })
    expect(sandbox.url).toBe(`http://127.0.0.1:${sandbox.port}`)
    expect((await post(sandbox, '/api/v1_1/user', USER)).status).toBe(200)
  })
})

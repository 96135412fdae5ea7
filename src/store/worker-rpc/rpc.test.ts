import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { reviveError, threadEntry, toPlainError, WorkerRpc, type WorkerRpcOptions } from '.'
import type { FixtureOwner, FixtureThread } from '../../../test/helpers/store/fixtures/rpc-thread'

const started: Array<WorkerRpc<FixtureOwner, FixtureThread>> = []
afterEach(async () => {
  await Promise.all(started.splice(0).map((rpc) => rpc.terminate()))
})

function start(options: Partial<WorkerRpcOptions<FixtureOwner, FixtureThread>> = {}) {
  const entry = threadEntry(__filename, path.join(__dirname, '../../../test/helpers/store/fixtures'), 'rpc-thread')
  const rpc = new WorkerRpc<FixtureOwner, FixtureThread>(entry, {
    name: 'fixture thread',
    handlers: { double: (n) => n * 2 },
    ...options,
    workerData: { coalesce: options.coalesce }
  })
  started.push(rpc)
  return rpc
}

describe('worker RPC', () => {
  it('answers each call by its id, whatever order the answers come in', async () => {
    const rpc = start()
    const slow = rpc.call('later', [60, 'slow'])
    const fast = rpc.call('later', [1, 'fast'])
    const echoed = rpc.call('echo', [{ at: new Date(5), keys: new Map([['a', 1]]) }])
    expect(rpc.pending).toBe(3)
    expect(await Promise.all([slow, fast, echoed])).toEqual(['slow', 'fast', { at: new Date(5), keys: new Map([['a', 1]]) }])
    expect(rpc.pending).toBe(0)
  })

  it('carries a thrown error as a plain object: built-in class, name, message and the chosen fields only', async () => {
    const rpc = start()
    const range = await rpc.call('fail', ['RangeError', 'out of range', 'E_RANGE']).catch((e: unknown) => e)
    expect(range).toBeInstanceOf(RangeError)
    expect(range).toMatchObject({ message: 'out of range', code: 'E_RANGE' })
    expect(range).not.toHaveProperty('secret')
    const custom = await rpc.call('fail', ['IngestError', 'bad body', 'E_BODY']).catch((e: unknown) => e)
    expect(custom).toBeInstanceOf(Error)
    expect(custom).toMatchObject({ name: 'IngestError', message: 'bad body', code: 'E_BODY' })
    // The thread keeps answering after a failed call.
    expect(await rpc.call('echo', ['still here'])).toBe('still here')
  })

  it('plain errors: fields are chosen, anything thrown becomes one, and revival keeps them', () => {
    const error = Object.assign(new TypeError('wrong'), { statusCode: 413, detail: { nested: true } })
    expect(toPlainError(error, ['statusCode', 'detail'])).toEqual({ name: 'TypeError', message: 'wrong', statusCode: 413 })
    expect(toPlainError('just text')).toEqual({ name: 'Error', message: 'just text' })
    const revived = reviveError({ name: 'TypeError', message: 'wrong', statusCode: 413 })
    expect(revived).toBeInstanceOf(TypeError)
    expect(revived).toMatchObject({ message: 'wrong', statusCode: 413 })
  })

  it('moves buffers named in the transfer list instead of copying them, both ways', async () => {
    const rpc = start()
    const bytes = new Uint8Array([9, 8, 7])
    const answer = rpc.call('detached', [bytes], [bytes.buffer as ArrayBuffer])
    // Moved: no longer usable here.
    expect(bytes.byteLength).toBe(0)
    expect(await answer).toEqual({ byteLength: 3, first: 9 })
    const back = await rpc.call('giveBack', [1024])
    expect(back).toBeInstanceOf(Uint8Array)
    expect([back.byteLength, back[0]]).toEqual([1024, 7])
  })

  it('an argument that cannot be cloned fails its own call only', async () => {
    const rpc = start()
    const bad = rpc.call('echo', [() => 1])
    const good = rpc.call('echo', ['fine'])
    await expect(bad).rejects.toThrow(/could not be cloned/)
    await expect(good).resolves.toBe('fine')
  })

  it('notes arrive in order, before the answer given after them', async () => {
    const heard: string[] = []
    const rpc = start({ onNote: (note) => void heard.push(`${note.name} ${note.value}`) })
    const answer = await rpc.call('notifyThenAnswer', [3]).then((value) => {
      heard.push(`answer ${value}`)
      return value
    })
    expect(answer).toBe('done')
    expect(heard).toEqual(['progress 1', 'progress 2', 'progress 3', 'answer done'])
  })

  it('the thread can call the side that started it', async () => {
    const rpc = start()
    expect(await rpc.call('askOwner', [20])).toBe(41)
  })

  it('coalescing: calls made in one turn travel as one message', async () => {
    const single = start()
    const coalesced = start({ coalesce: true })
    for (const rpc of [single, coalesced]) await Promise.all(Array.from({ length: 5 }, (_, i) => rpc.call('echo', [i])))
    expect(await single.call('messagesSeen', [])).toBe(6)
    expect(await coalesced.call('messagesSeen', [])).toBe(2)
  })

  it('a thread that dies fails its unanswered calls with the death error, and later calls too', async () => {
    const errors: Error[] = []
    const exits: number[] = []
    const rpc = start({
      deathError: (cause) => Object.assign(new Error(`gone: ${cause.message}`), { retry: true }),
      onError: (error) => void errors.push(error),
      onExit: (code) => void exits.push(code)
    })
    const waiting = rpc.call('later', [10_000, 'never'])
    // The crash's answer and the thread's error event travel on different ports, so which
    // arrives first is not fixed: answered, or failed with the death error, both are right.
    await rpc.call('crash', []).catch((error: unknown) => expect(error).toMatchObject({ message: 'gone: thread crashed' }))
    await expect(waiting).rejects.toMatchObject({ message: 'gone: thread crashed', retry: true })
    await rpc.exited
    expect(errors.map((e) => e.message)).toEqual(['thread crashed'])
    expect(exits).toEqual([1])
    expect(rpc.pending).toBe(0)
    await expect(rpc.call('echo', [1])).rejects.toThrow('gone: thread crashed')
  })

  it('close: calls sent before the last one are answered, the thread ends by itself, later calls fail', async () => {
    const rpc = start({ closedError: () => new Error('fixture is closed') })
    const before = rpc.call('later', [20, 'answered'])
    const closed = rpc.close('stop', [])
    await expect(rpc.call('echo', [1])).rejects.toThrow('fixture is closed')
    expect(rpc.unavailable?.message).toBe('fixture is closed')
    await expect(before).resolves.toBe('answered')
    await closed
    expect(await rpc.exited).toBe(0)
    expect(rpc.close('stop', [])).toBe(closed)
  })

  it('terminate: unanswered calls fail with the closed error', async () => {
    const rpc = start()
    const waiting = rpc.call('later', [10_000, 'never'])
    await rpc.terminate()
    await expect(waiting).rejects.toThrow('fixture thread is closed')
  })
})

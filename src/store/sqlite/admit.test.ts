/**
 * The admitter's hints (rows and events waiting in the inbox, kept in memory): a move that
 * empties the inbox in the same group commit as an admit that adds a row must not leave the
 * hints at zero, or that row would wait unmoved and unseen by readers until the next admit.
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { resolveOptions } from '../options'
import { serialiseEvents } from '../serialised'
import type { NewEvent } from '../types'
import { SqliteStore } from '.'

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'csb-store-admit-'))
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

const events = (n: number, prefix: string): NewEvent[] =>
  Array.from({ length: n }, (_, i) => ({
    source: 's', messageId: `${prefix}-${i}`, orderingKey: 'k', type: 'track', event: { type: 'track', userId: 'a', messageId: `${prefix}-${i}` }, receivedAt: new Date()
  }))

describe('SQLite admitter hints', () => {
  it('a row admitted in the group of a move that emptied the inbox is moved by the next read', async () => {
    const store = new SqliteStore(path.join(dir, 'hints.db'), resolveOptions())
    // Only reads move the inbox here: the background move is stopped.
    ;(store as unknown as { inbox: { close(): void } }).inbox.close()
    await store.admit(serialiseEvents(events(250, 'x')))
    // One group commit: the read's move (taking x's row), then y's admit.
    const read = store.list({ limit: 1 })
    const admitted = store.admit(serialiseEvents(events(250, 'y')))
    await Promise.all([read, admitted])
    expect(await store.counts()).toMatchObject({ admitted: 250 })

    const listed = await store.list({ limit: 1000 })
    expect(listed.map((e) => e.messageId).reverse()).toEqual([...events(250, 'x'), ...events(250, 'y')].map((e) => e.messageId))
    expect(await store.counts()).toMatchObject({ admitted: 0, pending: 500 })
    await store.close()
  })
})

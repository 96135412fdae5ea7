import { cleanOptional, parseId, samplesText } from '../rows'
import { fromComplete, fromDeadLetter, fromRetry, fromSkip, mayApply, type Settlement } from '../settlement'
import { Tally } from '../tally'
import type { CompleteItem, DeadLetterItem, RetryItem, SkipItem } from '../types'
import { keyId, refreshKey, splitKeyId, writeTally, type SqliteContext } from './context'

const RELEASE_TO_HEAD = `UPDATE queue_keys SET head_id = ?, ready_at = ?, leased_event_id = NULL, leased_until = NULL,
  lease_owner = NULL, lease_token = NULL WHERE destination = ? AND ordering_key = ?`

/**
 * Releases the key's lease and moves its head to the next pending event (or removes the key when
 * none is left): what the lease release followed by `refreshKey` does, in two statements, not four.
 */
function releaseToNextHead(ctx: SqliteContext, destination: string, orderingKey: string): void {
  const head = ctx.s.keyHead.get(destination, orderingKey)
  if (head) ctx.q(RELEASE_TO_HEAD).run(head.id, head.run_at, destination, orderingKey)
  else ctx.s.keyDelete.run(destination, orderingKey)
}

/** Applies outcomes under the rules in settlement.ts. */
function settle(ctx: SqliteContext, items: Settlement[]): void {
  const now = ctx.options.now()
  const tally = new Tally()
  const touched = new Set<string>()
  for (const item of items) {
    const id = parseId(item.id)
    if (id === null) continue
    const event = ctx.s.eventBrief.get(id)
    const key = event ? ctx.s.keyGet.get(event.destination, event.ordering_key) : undefined
    const { apply, holdsLease } = mayApply(item, event, key)
    if (!apply || !event) continue
    const retrying = item.status === 'pending'
    ctx.s.eventSettle.run(
      item.status,
      retrying ? item.runAt ?? now : null,
      cleanOptional(item.error),
      retrying ? 1 : 0,
      now,
      retrying ? item.notBefore ?? null : null,
      retrying ? null : item.finishedAt ?? now,
      now,
      cleanOptional(item.action),
      item.httpStatus ?? null,
      samplesText(item.samples),
      id
    )
    if (holdsLease) releaseToNextHead(ctx, event.destination, event.ordering_key)
    else touched.add(keyId(event.destination, event.ordering_key))
    if (item.status !== 'pending') {
      tally.total(event.destination, Tally.unfinished(event.attempts), -1)
      tally.total(event.destination, item.status, 1)
    }
    tally.outcome(event.destination, now, item.status === 'pending' ? 'retrying' : item.status)
  }
  for (const key of touched) refreshKey(ctx, ...splitKeyId(key))
  writeTally(ctx, tally)
}

export const completeEvents = (ctx: SqliteContext, items: CompleteItem[]) => settle(ctx, fromComplete(items))
export const skipEvents = (ctx: SqliteContext, items: SkipItem[]) => settle(ctx, fromSkip(items))
export const retryEvents = (ctx: SqliteContext, items: RetryItem[]) => settle(ctx, fromRetry(items))
export const deadLetterEvents = (ctx: SqliteContext, items: DeadLetterItem[]) => settle(ctx, fromDeadLetter(items))

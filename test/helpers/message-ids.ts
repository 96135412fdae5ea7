/** The messageIds a store holds, for tests that check nothing acknowledged was lost. */
import type { Store } from '../../src/store'

/** Every messageId the store holds, read page by page (newest first, as list() pages). */
export async function allMessageIds(store: Store): Promise<Set<string>> {
  const ids = new Set<string>()
  let beforeId: string | undefined
  for (;;) {
    const page = await store.list({ limit: 1000, beforeId })
    for (const e of page) ids.add(e.messageId)
    if (page.length < 1000) return ids
    beforeId = page[page.length - 1]!.id
  }
}

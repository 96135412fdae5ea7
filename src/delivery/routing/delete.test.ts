import { describe, expect, it } from 'vitest'
import { createRouter } from '.'
import type { SegmentEvent } from '../../store/types'

const deletion: SegmentEvent = { type: 'delete', messageId: 'd-1', userId: 'u-1', integrations: { CustomerSuccessBox: true } }

describe('user deletion requests (type "delete")', () => {
  it('one stored by an earlier version is skipped, whatever the filters and integrations say, with a reason naming the regulation to run', () => {
    const router = createRouter([{ keep: 'type = "delete"' }])
    const result = router.route(deletion)
    expect(result.deliver).toBe(false)
    const reason = (result as { reason: string }).reason
    expect(reason).toMatch(/^user deletion request \(type "delete"\) stored by an earlier version of the relay: not delivered, and nothing was deleted; /)
    expect(reason).toContain('deletion requests run as regulations: run `csb-relay regulate --type DELETE_ONLY USER_ID` for its userId')
    expect(reason).not.toMatch(/not yet supported/)
  })

  it('leave other events to the usual routing', () => {
    expect(createRouter(undefined).route({ ...deletion, type: 'identify' }).deliver).toBe(true)
  })
})

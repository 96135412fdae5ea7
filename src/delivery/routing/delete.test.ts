import { describe, expect, it } from 'vitest'
import { createRouter } from '.'
import type { SegmentEvent } from '../../store/types'

const deletion: SegmentEvent = { type: 'delete', messageId: 'd-1', userId: 'u-1', integrations: { CustomerSuccessBox: true } }

describe('user deletion requests (type "delete")', () => {
  it('are skipped with a reason saying user deletion is not yet supported, whatever the filters and integrations say', () => {
    const router = createRouter([{ keep: 'type = "delete"' }])
    const result = router.route(deletion)
    expect(result).toEqual({ deliver: false, reason: expect.stringMatching(/user deletion is not yet supported by the relay/) })
  })

  it('leave other events to the usual routing', () => {
    expect(createRouter(undefined).route({ ...deletion, type: 'identify' }).deliver).toBe(true)
  })
})

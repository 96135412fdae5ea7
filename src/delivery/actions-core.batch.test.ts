/**
 * The contract between the relay and @segment/actions-core, batch path: one test per assumption
 * that RelayDestination.runBatch (actions-core.ts) makes about actions-core's `executeBatch`,
 * named as the assumption and run against the installed version. The assumptions of single runs
 * and request clients are in actions-core.test.ts.
 */
import { describe, expect } from 'vitest'
import { MultiStatusResponse } from '@segment/actions-core'
import { assumption, expectNoAnswer, last, open, replaceClients, seen, settings, useStandIn, VERSION, type Hook, type Probe } from './actions-core.test-fixture'

useStandIn()

type Entry = { status?: unknown; errormessage?: unknown; errortype?: unknown }
const statuses = (entries: unknown[]) => (entries as Entry[]).map((e) => e?.status)

describe(`@segment/actions-core ${VERSION}: what src/delivery/actions-core.ts assumes of executeBatch`, () => {
  assumption('a Destination subclass can call the protected executeBatch(slug, { events, mapping, settings, auth, features, statsContext, subscriptionMetadata }), which maps each event and runs performBatch once with their payloads, in order', async () => {
    const probe: Probe = { batches: [] }
    const before = seen.length
    await open(probe).runBatch(settings(), [{ name: 'Ada' }, { name: 'Grace' }, { name: 'Hedy' }])
    expect(probe.batches).toEqual([[{ name: 'Ada' }, { name: 'Grace' }, { name: 'Hedy' }]])
    expect(seen.length).toBe(before + 1)
    expect(JSON.parse(last().body)).toEqual([{ name: 'Ada' }, { name: 'Grace' }, { name: 'Hedy' }])
  })

  assumption('executeBatch hands the settings object it is given, symbol keys included, to extendRequest and to performBatch (the key that carries a run\'s capture hooks)', async () => {
    const key = Symbol('run')
    const given = { ...settings(), [key]: 'this batch' }
    const probe: Probe = { settings: [], batches: [] }
    await open(probe).runBatch(given)
    expect(probe.batches!.length).toBe(1)
    expect(probe.settings!.length).toBeGreaterThanOrEqual(2)
    for (const s of probe.settings!) expect((s as Record<symbol, unknown>)[key]).toBe('this batch')
  })

  assumption('executeBatch gets the client it hands performBatch from its action\'s createRequestClient(data) (destination.actions[slug], replaceable), data with the given settings and without a signal', async () => {
    const destination = open()
    const asked: Array<{ signal?: unknown; settings?: unknown }> = []
    const before = seen.length
    replaceClients(destination, (build, data) => (asked.push(data), build(data)))
    const given = settings()
    await destination.runBatch(given)
    expect(asked.map((data) => [data.signal, data.settings])).toEqual([[undefined, given]])
    expect(seen.length).toBe(before + 1)
  })

  assumption('when performBatch returns its request\'s response, executeBatch resolves to one entry per event, in order, each with the answer\'s status as a number', async () => {
    const entries = await open().runBatch(settings(), [{ name: 'Ada' }, { name: 'Grace' }, { name: 'Hedy' }])
    expect(Array.isArray(entries)).toBe(true)
    expect(statuses(entries)).toEqual([200, 200, 200])
  })

  assumption('an event whose payload does not fit the action\'s fields gets, at its own index, status 400 with errormessage and errortype strings; performBatch gets only the others, and runs not at all when none fits', async () => {
    const probe: Probe = { batches: [] }
    const entries = (await open(probe).runBatch(settings(), [{ name: 'Ada' }, {}, { name: 'Hedy' }])) as Entry[]
    expect(probe.batches).toEqual([[{ name: 'Ada' }, { name: 'Hedy' }]])
    expect(statuses(entries)).toEqual([200, 400, 200])
    expect(typeof entries[1].errormessage).toBe('string')
    expect(typeof entries[1].errortype).toBe('string')
    const before = seen.length
    const none = (await open(probe).runBatch(settings(), [{}, {}])) as Entry[]
    expect(seen.length).toBe(before)
    expect(probe.batches!.length).toBe(1)
    expect(statuses(none)).toEqual([400, 400])
    for (const entry of none) expect(typeof entry.errormessage).toBe('string')
  })

  assumption('a MultiStatusResponse from performBatch gives each event the entry at its index among the valid payloads: status for a success; status, errormessage and errortype (from the status when not given) for an error; status 500 with an errormessage for a missing one', async () => {
    const probe: Probe = {
      batch: () => {
        const answer = new MultiStatusResponse()
        answer.pushSuccessResponse({ status: 201, sent: {}, body: {} })
        answer.pushErrorResponse({ status: 422, errormessage: 'Hedy refused' })
        return answer
      }
    }
    const entries = (await open(probe).runBatch(settings(), [{ name: 'Ada' }, {}, { name: 'Hedy' }, { name: 'Lise' }])) as Entry[]
    expect(entries.length).toBe(4)
    expect(statuses(entries)).toEqual([201, 400, 422, 500])
    expect(entries[2].errormessage).toBe('Hedy refused')
    expect(typeof entries[2].errortype).toBe('string')
    expect(typeof entries[3].errormessage).toBe('string')
  })

  assumption('an error performBatch throws makes executeBatch reject with it (the whole batch fails), a non-2xx answer to its request included: the request client\'s error keeps the status in response.status, after extendRequest\'s afterResponse hooks saw the answer', async () => {
    const own = new Error('not this batch')
    const thrown = await open({ batch: () => Promise.reject(own) }).runBatch(settings()).catch((e: unknown) => e)
    expect(thrown).toBe(own)
    const answers: number[] = []
    const afterResponse: Hook[] = [(_request, _options, response) => void answers.push(response.status)]
    const before = seen.length
    const failed = (await open({ extend: { afterResponse }, path: '/text' }).runBatch(settings()).catch((e: unknown) => e)) as { response?: { status?: number } } | unknown[]
    expect(Array.isArray(failed)).toBe(false)
    expect((failed as { response?: { status?: number } }).response?.status).toBe(503)
    expect(answers).toEqual([503])
    expect(seen.length).toBe(before + 1)
  })

  assumption('a batch request without an answer makes executeBatch reject with an error the seam counts as no answer (NO_ANSWER_ERROR_NAMES / _CODES)', async () => {
    await expectNoAnswer((destination) => destination.runBatch(settings()))
  })

  assumption('destination.responses gets each response of a batch run appended, and emptying it in place is safe', async () => {
    const destination = open()
    const responses = destination.responses as unknown[]
    await destination.runBatch(settings())
    expect(responses.length).toBe(1)
    responses.length = 0
    await destination.runBatch(settings())
    expect(destination.responses).toBe(responses)
    expect(responses.length).toBe(1)
  })
})

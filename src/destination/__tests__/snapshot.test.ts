import { createTestEvent, createTestIntegration } from '@segment/actions-core'
import nock from 'nock'
import destination from '../index'
import { StoredSnapshots } from './__helpers__/stored-snapshots'
import { generateTestData } from './__helpers__/test-data'

const testDestination = createTestIntegration(destination)
const destinationSlug = 'CustomerSuccessBox'
const snapshots = new StoredSnapshots(__filename)

/**
 * Field values the generated data cannot supply: syncAudience needs to know the membership, and
 * random values carry none, so its event is an Audience Entered track.
 */
const fixedFields: Record<string, Record<string, unknown>> = {
  syncAudience: { event_name: 'Audience Entered' }
}

const testNames: string[] = []

describe(`Testing snapshot for ${destinationSlug} destination:`, () => {
  for (const actionSlug in destination.actions) {
    for (const [variant, requiredOnly] of [
      ['required fields', true],
      ['all fields', false]
    ] as const) {
      const name = `${actionSlug} action - ${variant}`
      testNames.push(name)

      it(name, async () => {
        const seedName = `${destinationSlug}#${actionSlug}`
        const action = destination.actions[actionSlug]
        const [eventData, settingsData] = generateTestData(seedName, destination, action, requiredOnly)

        nock(/.*/).persist().post(/.*/).reply(200)

        const event = createTestEvent({
          properties: { ...eventData, ...fixedFields[actionSlug] }
        })

        const responses = await testDestination.testAction(actionSlug, {
          event: event,
          mapping: event.properties,
          settings: settingsData,
          auth: undefined
        })

        const request = responses[0].request
        const rawBody = await request.text()
        snapshots.check(name, { url: request.url, body: JSON.parse(rawBody) as unknown })
      })
    }
  }

  it('has a stored snapshot for each test above and no other', () => {
    snapshots.keepOnly(testNames)
    expect(snapshots.names()).toStrictEqual([...testNames].sort())
  })
})

/**
 * src/destination's own tests, run against csb-relay's sandbox instead of their nock stand-in:
 * the same calls and assertions (the seed page's calls end to end with both auth schemes, every
 * action's requests, testAuthentication, the Engage presets), with the sandbox applying
 * CustomerSuccessBox's checks to each request. Importing a test file registers its tests here.
 */
import { vi } from 'vitest'

vi.mock('../../src/destination/__tests__/__helpers__/fake-csb', () => import('./sandbox-csb'))

import '../../src/destination/__tests__/index.test'
import '../../src/destination/__tests__/presets.test'
import '../../src/destination/identifyUser/__tests__/index.test'
import '../../src/destination/upsertAccount/__tests__/index.test'
import '../../src/destination/trackFeature/__tests__/index.test'
import '../../src/destination/trackPage/__tests__/index.test'
import '../../src/destination/syncAudience/__tests__/index.test'

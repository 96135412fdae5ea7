/**
 * The destination folder's fake CSB (`useFakeCsb`), backed by csb-relay's sandbox instead of
 * nock: the sandbox applies CustomerSuccessBox's own checks (key, then the ids each endpoint
 * needs) to every request the folder's tests make.
 */
import { afterAll, beforeAll, beforeEach } from 'vitest'
import { startSandbox, type Sandbox } from '../../src/sandbox'
import type { CsbRequest, FakeCsb } from '../../src/destination/__tests__/__helpers__/fake-csb'

export type { CsbRequest, FakeCsb }

export function useFakeCsb(): FakeCsb {
  let sandbox: Sandbox | undefined
  const running = (): Sandbox => {
    if (!sandbox) throw new Error('the sandbox is not running yet (use it inside a test)')
    return sandbox
  }
  beforeAll(async () => {
    sandbox = await startSandbox({ port: 0 })
  })
  beforeEach(() => running().clearRequests())
  afterAll(async () => {
    await sandbox?.close()
  })
  return {
    get url() {
      return running().url
    },
    get apiKey() {
      return running().apiKey
    },
    requests: () =>
      running()
        .requests()
        .map((r) => ({
          method: r.method,
          path: r.path,
          headers: { ...r.headers },
          body: r.body,
          status: r.status
        })),
    clearRequests: () => running().clearRequests()
  }
}

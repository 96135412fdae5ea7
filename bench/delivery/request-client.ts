/**
 * actions-core's request client alone (one client built per request, as actions-core does per
 * run; the relay shares one across runs, so this builds more than the relay's path does; the
 * same headers, JSON body and timeout), at the same concurrency against the same sandbox: no
 * store, mapping, validation or capture. What the HTTP path alone reaches on this machine in this
 * run, the relay's ceiling; the throughput scenarios' delivered/s read beside it. It comes from
 * this checkout's node_modules whichever relay runs, so it is the same baseline for both.
 */
import type { Scenario } from '../lib/scenario'
import { bound, type DeliveryBenchContext } from './context'

export function requestClientScenario(requests: number, warmUp: number): Scenario<DeliveryBenchContext> {
  return {
    name: 'request client alone (actions-core, same concurrency, no relay)',
    async run(ctx) {
      const { createRequestClient } = require('@segment/actions-core') as typeof import('@segment/actions-core')
      const headers = { Authorization: `Bearer ${ctx.sandbox.apiKey}`, 'Content-Type': 'application/json', Accept: 'application/json' }
      const url = `${ctx.sandbox.url}/api/v1_1/feature`
      let failed = 0
      const one = async (i: number) => {
        const request = createRequestClient({ headers }, { timeout: ctx.relay.deliveryDefaults.requestTimeoutMs })
        const json = { account_id: `acc-${i % 97}`, user_id: `user-${i}`, product_id: 'Default Product', module_id: 'Default Module', feature_id: 'Report Exported', total: 1, type: 'feature', timestamp: new Date().toISOString() }
        const res = await request(url, { method: 'POST', json, throwHttpErrors: false })
        if (res.status !== 200) failed++
      }
      const runAll = async (n: number) => {
        let next = 0
        await Promise.all(
          Array.from({ length: ctx.concurrency }, async () => {
            while (next < n) await one(next++)
          })
        )
      }
      await runAll(warmUp)
      const cpu = process.cpuUsage()
      const started = performance.now()
      await runAll(requests)
      const seconds = (performance.now() - started) / 1000
      const used = process.cpuUsage(cpu)
      const perSecond = requests / seconds
      return {
        requests,
        concurrency: ctx.concurrency,
        'requests/s': Math.round(perSecond),
        'ratio to the bound': (perSecond / bound(ctx).perSecond).toFixed(2),
        'CPU ms/request': ((used.user + used.system) / 1000 / requests).toFixed(2),
        'time per request ms (Little)': ((ctx.concurrency / perSecond) * 1000).toFixed(1),
        'answers other than 200': failed
      }
    }
  }
}

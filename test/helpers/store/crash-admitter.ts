// Child process for the admit crash test: admits 600-event batches (more than an admit the
// SQLite engine queues directly, so they go through its inbox), four at a time, and prints the
// number of every acknowledged batch, until it is killed.
import { openStore } from '../../../src/store/index'

const BATCH = 600

async function main(): Promise<void> {
  const store = await openStore(process.argv[2])
  let batch = 0
  for (;;) {
    const calls = Array.from({ length: 4 }, () => {
      const n = ++batch
      const events = Array.from({ length: BATCH }, (_, i) => {
        const messageId = `ca-${n}-${i}`
        return { source: 'crash', messageId, orderingKey: `k${i % 7}`, type: 'track', event: { type: 'track', messageId }, receivedAt: new Date() }
      })
      return store.admit(events).then(() => process.stdout.write(`${n}\n`))
    })
    await Promise.all(calls)
  }
}
void main()

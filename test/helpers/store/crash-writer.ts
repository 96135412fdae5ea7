// Child process for the crash test: enqueues forever through group commit and prints
// "id messageId" for every acknowledged event, until it is killed.
import { openStore } from '../../../src/store/index'

async function main(): Promise<void> {
  const store = await openStore(process.argv[2])
  let n = 0
  for (;;) {
    const calls = Array.from({ length: 8 }, () => {
      const messageId = `crash-${process.pid}-${++n}`
      return store
        .enqueue([{ source: 'crash', messageId, orderingKey: `k${n % 5}`, type: 'track', event: { type: 'track', messageId }, receivedAt: new Date() }])
        .then(([r]) => process.stdout.write(`${r.id} ${messageId}\n`))
    })
    await Promise.all(calls)
  }
}
void main()

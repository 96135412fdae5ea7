/** Reading a relay process's Prometheus metrics (`/metrics`). */
import type { Proc } from './processes'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** The text of `/metrics`; retried twice, since a reused keep-alive connection can be reset. A dead relay is reported with its output. */
export async function scrape(relay: Proc): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await (await fetch(new URL('/metrics', relay.url))).text()
    } catch (err) {
      if (relay.child.exitCode !== null || relay.child.signalCode !== null || attempt === 3) {
        throw new Error(`cannot read ${relay.url}/metrics (${(err as Error).message}); ${relay.name} output:\n${relay.output().slice(-2000)}`)
      }
      await sleep(100)
    }
  }
}

/** The sum of a metric's samples in `text`, only those whose line contains `having` when given. */
export function sumOf(text: string, name: string, having = ''): number {
  let sum = 0
  for (const line of text.split('\n')) {
    if ((line.startsWith(`${name}{`) || line.startsWith(`${name} `)) && line.includes(having)) sum += Number(line.slice(line.lastIndexOf(' ') + 1))
  }
  return sum
}

/** One metric summed over several relays. */
export async function sumOver(relays: Proc[], name: string, having = ''): Promise<number> {
  const texts = await Promise.all(relays.map(scrape))
  return texts.reduce((total, text) => total + sumOf(text, name, having), 0)
}

/**
 * `new Date(ms).toISOString()`, faster for times on the same UTC day as the last one formatted
 * (nearly every event of a request is): the date part is cached and the time part built by
 * arithmetic. Same output as toISOString for every valid time; throws RangeError like it for
 * invalid ones.
 */
const DAY_MS = 86_400_000

let dayStart = Number.NaN
let dayPrefix = ''

const pad2 = (n: number) => (n < 10 ? '0' : '') + n
const pad3 = (n: number) => (n < 10 ? '00' : n < 100 ? '0' : '') + n

export function isoString(ms: number): string {
  const offset = ms - dayStart
  if (!(offset >= 0 && offset < DAY_MS)) {
    const text = new Date(ms).toISOString()
    dayStart = ms - (((ms % DAY_MS) + DAY_MS) % DAY_MS)
    dayPrefix = text.slice(0, text.indexOf('T') + 1)
    return text
  }
  const hours = Math.floor(offset / 3_600_000)
  const minutes = Math.floor((offset % 3_600_000) / 60_000)
  const seconds = Math.floor((offset % 60_000) / 1000)
  return `${dayPrefix}${pad2(hours)}:${pad2(minutes)}:${pad2(seconds)}.${pad3(offset % 1000)}Z`
}

// @ts-check
/** How the dashboard writes counts, durations, times and JSON. */

/** @param {number | null | undefined} n */
export function count(n) {
  return n == null ? '–' : Number(n).toLocaleString('en-US')
}

/** @param {number | null | undefined} ms */
export function duration(ms) {
  if (ms == null) return '–'
  if (ms < 1000) return `${ms} ms`
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`
  if (ms < 3_600_000) return `${(ms / 60_000).toFixed(1)} min`
  return `${(ms / 3_600_000).toFixed(1)} h`
}

/** @param {number | null | undefined} seconds */
export function age(seconds) {
  return seconds == null ? '' : duration(seconds * 1000)
}

/** @param {string | null | undefined} iso */
export function when(iso) {
  return iso ? new Date(iso).toLocaleString() : ''
}

/** Indented JSON; a string holding JSON is re-indented, any other string shown as it is. @param {unknown} value */
export function pretty(value) {
  if (value == null) return '(none)'
  if (typeof value === 'string') {
    try {
      return JSON.stringify(JSON.parse(value), null, 2)
    } catch {
      return value
    }
  }
  return JSON.stringify(value, null, 2)
}

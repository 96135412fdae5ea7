/** Dashboard periods ("1h", "24h", "7d", "90m") and the bucket width that draws them well. */
export interface Period {
  label: string
  seconds: number
  bucketSeconds: number
}

const UNIT_SECONDS: Record<string, number> = { m: 60, h: 3600, d: 86400 }
const BUCKET_WIDTHS = [60, 300, 900, 1800, 3600, 3 * 3600, 6 * 3600, 86400]
/** At most this many points on a chart. */
const MAX_BUCKETS = 100
const MAX_PERIOD_SECONDS = 31 * 86400

export function parsePeriod(text: string | undefined): Period | { error: string } {
  const label = (text ?? '24h').trim()
  const match = /^(\d{1,4})([mhd])$/.exec(label)
  if (!match) return { error: `period must look like 60m, 1h, 24h or 7d, got "${label}"` }
  const seconds = Number(match[1]) * UNIT_SECONDS[match[2]]
  if (seconds < 60 || seconds > MAX_PERIOD_SECONDS) return { error: `period must be between 1m and 31d, got "${label}"` }
  const bucketSeconds = BUCKET_WIDTHS.find((w) => seconds / w <= MAX_BUCKETS) ?? 86400
  return { label, seconds, bucketSeconds }
}

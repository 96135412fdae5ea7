/**
 * How an import shows progress: a redrawn bar on a terminal, periodic plain lines otherwise.
 * Rate and ETA come from bytes, so they are known before the number of lines is.
 */
import type { ImportProgress } from './importer'

export function describeProgress(p: ImportProgress, now = Date.now()): { percent: number; rate: number; etaSeconds: number | null } {
  const percent = p.bytesTotal === 0 ? 100 : (p.bytesDone / p.bytesTotal) * 100
  const seconds = Math.max(0.001, (now - p.startedAt) / 1000)
  const rate = p.sent / seconds
  const bytesRate = (p.bytesDone - p.resumedFrom) / seconds
  const etaSeconds = bytesRate > 0 ? (p.bytesTotal - p.bytesDone) / bytesRate : null
  return { percent, rate, etaSeconds }
}

export function formatDuration(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) return '?'
  const s = Math.round(seconds)
  const h = Math.floor(s / 3600)
  const m = Math.floor((s % 3600) / 60)
  const rest = String(s % 60).padStart(2, '0')
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${rest}` : `${m}:${rest}`
}

const n = (v: number) => Math.round(v).toLocaleString('en-US')

export function progressBar(p: ImportProgress, width = 28, now = Date.now()): string {
  const { percent, rate, etaSeconds } = describeProgress(p, now)
  const filled = Math.min(width, Math.round((percent / 100) * width))
  const bar = '#'.repeat(filled) + '-'.repeat(width - filled)
  const bad = p.bad ? `  ${n(p.bad)} bad` : ''
  return `[${bar}] ${percent.toFixed(1).padStart(5)}%  ${n(p.sent)} events  ${n(rate)}/s  ETA ${formatDuration(etaSeconds)}${bad}`
}

export function progressLine(p: ImportProgress, now = Date.now()): string {
  const { percent, rate, etaSeconds } = describeProgress(p, now)
  return `import: ${percent.toFixed(1)}% (line ${n(p.line)}), ${n(p.sent)} events sent, ${n(rate)} events/s, ETA ${formatDuration(etaSeconds)}${p.bad ? `, ${n(p.bad)} bad lines` : ''}`
}

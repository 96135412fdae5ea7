/** A logger for tests that prints nothing and keeps every line, for assertions on what was logged. */
export interface LoggedLine {
  level: 'info' | 'warn' | 'error' | 'debug'
  obj: Record<string, unknown>
  msg?: string
}

/** Fits the store's and delivery's logger interfaces (pino's call shape: an object, then a message). */
export function silentLogger() {
  const lines: LoggedLine[] = []
  const log = (level: LoggedLine['level']) => (obj: object, msg?: string) => void lines.push({ level, obj: obj as Record<string, unknown>, msg })
  return { lines, info: log('info'), warn: log('warn'), error: log('error'), debug: log('debug') }
}

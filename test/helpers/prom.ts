/** A small parser of the Prometheus text exposition format, for tests. */
export interface Sample {
  name: string
  labels: Record<string, string>
  value: number
}

export interface Family {
  name: string
  type: string
  help: string
  samples: Sample[]
}

export function parsePrometheus(text: string): Map<string, Family> {
  const families = new Map<string, Family>()
  const family = (name: string) => {
    let f = families.get(name)
    if (!f) families.set(name, (f = { name, type: 'untyped', help: '', samples: [] }))
    return f
  }
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue
    let m = /^# (HELP|TYPE) (\S+) (.*)$/.exec(line)
    if (m) {
      if (m[1] === 'HELP') family(m[2]).help = m[3]
      else family(m[2]).type = m[3]
      continue
    }
    if (line.startsWith('#')) continue
    m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)(?: \d+)?$/.exec(line)
    if (!m) throw new Error(`not a Prometheus sample line: ${line}`)
    const [, name, labelText, valueText] = m
    const labels: Record<string, string> = {}
    if (labelText) {
      for (const lm of labelText.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[lm[1]] = lm[2].replace(/\\(.)/g, '$1')
    }
    const value = valueText === '+Inf' ? Infinity : valueText === '-Inf' ? -Infinity : Number(valueText)
    if (Number.isNaN(value) && valueText.toLowerCase() !== 'nan') throw new Error(`bad value in ${line}`)
    const base = families.has(name) ? name : name.replace(/_(bucket|sum|count|total)$/, '')
    const target = families.get(base) ?? families.get(name) ?? family(name)
    target.samples.push({ name, labels, value })
  }
  return families
}

/** Sum of the samples named `name` whose labels include `match`. */
export function valueOf(families: Map<string, Family>, name: string, match: Record<string, string> = {}): number {
  let total = 0
  let found = false
  for (const f of families.values()) {
    for (const s of f.samples) {
      if (s.name !== name) continue
      if (Object.entries(match).every(([k, v]) => s.labels[k] === v)) {
        total += s.value
        found = true
      }
    }
  }
  if (!found) throw new Error(`no sample ${name} ${JSON.stringify(match)}`)
  return total
}

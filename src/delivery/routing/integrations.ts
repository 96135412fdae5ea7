/**
 * The integrations object, as Segment's libraries read it (analytics-core's event queue):
 * a flag under one of this destination's names decides; otherwise `All`; otherwise deliver.
 * Names are case-sensitive. Only the JSON value `false` turns a destination off; `true`, an
 * object (destination options) or any other value turns it on; `null` counts as absent.
 *
 * One deliberate strictness: when the destination's names disagree (one true, another false),
 * `false` wins, because a user who wrote false under any of its names meant to hold data back.
 */

/** The names Segment users write for this destination (classic, and the Actions catalog's). */
export const DEFAULT_INTEGRATION_NAMES: readonly string[] = [
  'CustomerSuccessBox',
  'CustomerSuccessBox (Actions)',
  'Actions CustomerSuccessBox'
]

export type IntegrationsCheck = (integrations: unknown) => string | null

/** Compiles the check for `names`; it returns a skip reason, or null to deliver. */
export function compileIntegrationsCheck(names: readonly string[]): IntegrationsCheck {
  const list = [...new Set(names)]
  const primary = list[0] ?? 'CustomerSuccessBox'
  const offReasons = new Map(list.map((name) => [name, `integrations.${name} is false`]))
  const allOffReason = `integrations.All is false and ${primary} is not enabled`
  return (integrations) => {
    if (typeof integrations !== 'object' || integrations === null || Array.isArray(integrations)) return null
    const flags = integrations as Record<string, unknown>
    let named = false
    for (const name of list) {
      if (!Object.prototype.hasOwnProperty.call(flags, name)) continue
      const flag = flags[name]
      if (flag === false) return offReasons.get(name)!
      if (flag !== null && flag !== undefined) named = true
    }
    if (!named && flags.All === false) return allOffReason
    return null
  }
}

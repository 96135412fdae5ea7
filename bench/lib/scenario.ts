/**
 * A bench as a list of named scenarios run one after another against one context (the
 * processes and settings they share); each returns its figures, printed under its name.
 * Add a scenario by appending it to the list a bench passes to runScenarios.
 */
import { printFigures, type Figures } from './report'

export interface Scenario<Context> {
  name: string
  run(ctx: Context): Promise<Figures>
}

/** Runs the scenarios whose name contains `only` (all when empty) and prints each one's figures; returns them by name. */
export async function runScenarios<Context>(scenarios: Array<Scenario<Context>>, ctx: Context, only = ''): Promise<Map<string, Figures>> {
  const results = new Map<string, Figures>()
  const chosen = scenarios.filter((s) => s.name.includes(only))
  if (chosen.length === 0) throw new Error(`no scenario's name contains "${only}"; the scenarios: ${scenarios.map((s) => s.name).join('; ')}`)
  for (const scenario of chosen) {
    const figures = await scenario.run(ctx)
    printFigures(scenario.name, figures)
    results.set(scenario.name, figures)
  }
  return results
}

/**
 * What the regulation tests share: making a regulation through a relay's admin API and waiting
 * for it, sending events as an SDK does, and looking for a marker in every file of a folder.
 */
import fs from 'node:fs'
import path from 'node:path'
import type { RegulationView } from '../../src/ops/admin-regulations'
import { postEvents } from '../helpers/http'
import { waitFor } from '../helpers/wait'

export type RegulationAnswer = RegulationView

/** POST /api/regulations; resolves with the regulateId (failing on any answer but 200). */
export async function regulate(url: string, regulationType: string, subjectIds: string[], token?: string): Promise<string> {
  const res = await fetch(`${url}/api/regulations`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ regulationType, subjectType: 'USER_ID', subjectIds })
  })
  const body = (await res.json()) as { regulateId?: string; error?: string }
  if (res.status !== 200 || !body.regulateId) throw new Error(`POST /api/regulations answered ${res.status}: ${JSON.stringify(body)}`)
  return body.regulateId
}

export async function regulation(url: string, id: string, token?: string): Promise<RegulationAnswer> {
  const res = await fetch(`${url}/api/regulations/${encodeURIComponent(id)}`, { headers: token ? { authorization: `Bearer ${token}` } : {} })
  if (res.status !== 200) throw new Error(`GET /api/regulations/${id} answered ${res.status}: ${await res.text()}`)
  return ((await res.json()) as { data: { regulation: RegulationAnswer } }).data.regulation
}

/** Waits until the regulation is FINISHED or FAILED, and resolves with it. */
export function settled(url: string, id: string, token?: string, timeoutMs = 30_000): Promise<RegulationAnswer> {
  return waitFor(`regulation ${id} to settle`, async () => {
    const r = await regulation(url, id, token)
    return r.status === 'RUNNING' ? undefined : r
  }, { timeoutMs, intervalMs: 100 })
}

/** POSTs a body to a tracking route with the write key by Basic; resolves with the status. */
export async function send(url: string, writeKey: string, route: string, body: unknown): Promise<number> {
  return (await postEvents(url, `/v1/${route}`, writeKey, body)).status
}

/** The files under `dir` (every depth) whose bytes contain `marker`, by path relative to `dir`. */
export function filesContaining(dir: string, marker: string): string[] {
  const needle = Buffer.from(marker, 'utf8')
  const found: string[] = []
  const walk = (folder: string) => {
    for (const entry of fs.readdirSync(folder, { withFileTypes: true })) {
      const full = path.join(folder, entry.name)
      if (entry.isDirectory()) walk(full)
      else if (entry.isFile() && fs.readFileSync(full).includes(needle)) found.push(path.relative(dir, full))
    }
  }
  walk(dir)
  return found.sort()
}

/** Every file under `dir` (every depth), by path relative to it: what `filesContaining` reads. */
export function filesIn(dir: string): string[] {
  return fs.readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => path.relative(dir, path.join(e.parentPath, e.name))).sort()
}

/** The value of a metric without labels in /metrics text, or undefined. */
export function metricValue(text: string, name: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `))
  return line === undefined ? undefined : Number(line.slice(name.length + 1))
}

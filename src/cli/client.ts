/**
 * What the operator commands (status, dlq, csb, names, regulate) share: a small JSON client for the
 * relay's admin API with messages a user can act on, and a text table. Where the relay is and
 * the admin token come from the flags or the environment (env.ts).
 */
export interface RelayTarget {
  url: string
  token?: string
}

export class ClientError extends Error {
  override name = 'ClientError'
}

export async function adminRequest<T>(target: RelayTarget, method: 'GET' | 'POST' | 'PUT', path: string, body?: unknown, extraHeaders: Record<string, string> = {}): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json', ...extraHeaders }
  if (target.token) headers.authorization = `Bearer ${target.token}`
  if (body !== undefined) headers['content-type'] = 'application/json'
  let res: Response
  try {
    res = await fetch(`${target.url}/api${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) })
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause
    throw new ClientError(`cannot reach the relay at ${target.url} (${cause?.code ?? cause?.message ?? (err as Error).message}); is it running? Use --url or PORT/HOST.`)
  }
  const text = await res.text()
  let data: unknown = null
  try {
    data = text ? JSON.parse(text) : null
  } catch {
    data = null
  }
  if (res.status === 401) {
    throw new ClientError('the relay wants its admin token: pass --token or set CSB_RELAY_ADMIN_TOKEN')
  }
  if (!res.ok) {
    const error = (data as { error?: string } | null)?.error ?? `HTTP ${res.status}`
    throw new ClientError(`the relay answered ${res.status}: ${error}`)
  }
  return data as T
}

/** Fixed-width text table; the last column is not padded. */
export function table(headers: string[], rows: string[][], maxWidths: number[] = []): string {
  const clip = (s: string, i: number) => {
    const max = maxWidths[i]
    return max && s.length > max ? `${s.slice(0, max - 1)}…` : s
  }
  const cells = [headers, ...rows].map((r) => r.map((c, i) => clip(c, i)))
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)))
  return cells
    .map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('  ').trimEnd())
    .join('\n')
}

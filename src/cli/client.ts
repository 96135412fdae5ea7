/**
 * What the CLI commands (status, dlq, send, import) share: where the relay is, the admin
 * token, and a small JSON client for the admin API with messages a user can act on.
 */
export interface RelayTarget {
  url: string
  token?: string
}

/** `--url`, else http://HOST:PORT from the environment, else http://127.0.0.1:8080. */
export function relayUrl(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  if (flag) return flag.replace(/\/+$/, '')
  const host = env.HOST && env.HOST !== '0.0.0.0' && env.HOST !== '::' ? env.HOST : '127.0.0.1'
  const port = env.PORT || '8080'
  return `http://${host.includes(':') && !host.startsWith('[') ? `[${host}]` : host}:${port}`
}

export class ClientError extends Error {
  override name = 'ClientError'
}

export async function adminRequest<T>(target: RelayTarget, method: 'GET' | 'POST' | 'PUT', path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' }
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

import { startSandbox, type Sandbox, type SandboxOptions } from '../../src/sandbox'

export const KEY = 'test-key'

export function bearer(key = KEY): string {
  return `Bearer ${key}`
}

export interface Answer {
  status: number
  headers: Headers
  body: any
}

/** POSTs to the sandbox; `body` is sent as JSON unless it is a string (sent as is). */
export async function post(sandbox: Sandbox, path: string, body: unknown, authorization: string | null = bearer(sandbox.apiKey)): Promise<Answer> {
  const headers: Record<string, string> = { 'content-type': 'application/json' }
  if (authorization !== null) headers.authorization = authorization
  const res = await fetch(sandbox.url + path, { method: 'POST', headers, body: typeof body === 'string' ? body : JSON.stringify(body) })
  const text = await res.text()
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : null }
}

export async function call(sandbox: Sandbox, method: string, path: string, body?: unknown): Promise<Answer> {
  const init: RequestInit = { method }
  if (body !== undefined) init.body = typeof body === 'string' ? body : JSON.stringify(body)
  const res = await fetch(sandbox.url + path, init)
  const text = await res.text()
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : null }
}

/** Starts sandboxes on ephemeral ports and closes them after each test. */
export function sandboxes() {
  const open: Sandbox[] = []
  return {
    async start(options: SandboxOptions = {}): Promise<Sandbox> {
      const sandbox = await startSandbox({ apiKey: KEY, ...options })
      open.push(sandbox)
      return sandbox
    },
    async closeAll(): Promise<void> {
      await Promise.all(open.splice(0).map((s) => s.close()))
    }
  }
}

export const USER = { account_id: 'acc-1', user_id: 'u1', email: 'a@example.com' }
export const FEATURE = { account_id: 'acc-1', user_id: 'u1', product_id: 'p', module_id: 'm', feature_id: 'f', total: 1, type: 'feature' }

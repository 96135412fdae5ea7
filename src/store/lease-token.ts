import { randomBytes } from 'node:crypto'

const prefix = randomBytes(6).toString('hex')
let counter = 0

/** Unique per lease across processes and instances: a random per-process prefix and a counter. */
export function newLeaseToken(): string {
  return `${prefix}-${(++counter).toString(36)}`
}

#!/usr/bin/env node
'use strict'
// The container's HEALTHCHECK: exit 0 when the relay answers GET /healthz, 1 otherwise.
// The image ships no curl or wget, so Node itself asks. It reads the relay's own HOST and PORT
// so that a changed port is followed; a wildcard address is asked on loopback.
const host = process.env.HOST && !['0.0.0.0', '::', ''].includes(process.env.HOST) ? process.env.HOST : '127.0.0.1'
const port = process.env.PORT || '8080'
const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}/healthz`

fetch(url, { signal: AbortSignal.timeout(4000) })
  .then(async (response) => {
    const body = await response.json().catch(() => null)
    if (response.ok && body && body.ok === true) process.exit(0)
    console.error(`healthcheck: ${url} answered ${response.status}`)
    process.exit(1)
  })
  .catch((err) => {
    console.error(`healthcheck: ${url} did not answer (${err.message})`)
    process.exit(1)
  })

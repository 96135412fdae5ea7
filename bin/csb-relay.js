#!/usr/bin/env node
'use strict'
// Thin launcher: the CLI is compiled to dist/ by `npm run build` (npm start does it first).
const path = require('node:path')
const fs = require('node:fs')
const main = path.join(__dirname, '..', 'dist', 'cli', 'main.js')
if (!fs.existsSync(main)) {
  console.error('csb-relay: dist/ is missing. Run `npm run build` (or `npm start`) first.')
  process.exit(1)
}
require(main)
  .main(process.argv.slice(2))
  .then((code) => { if (typeof code === 'number') process.exitCode = code })
  .catch((err) => { console.error(err && err.stack ? err.stack : String(err)); process.exit(1) })

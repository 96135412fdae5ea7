#!/usr/bin/env node
'use strict'
/**
 * Online backup of the relay's SQLite store, safe while the relay runs:
 *
 *   node deploy/backup-sqlite.js /var/lib/csb-relay/csb-relay.db /backups/csb-relay-2026-01-31.db
 *
 * A file copy of a live WAL database can pair a database file with a WAL from another moment
 * and restore as a corrupt or incomplete store. SQLite's backup API copies one consistent
 * snapshot instead: everything committed when it finishes (acknowledged events included).
 * The copy is written beside the target as TARGET.partial, checked with `PRAGMA quick_check`,
 * then renamed, so the target name only ever holds a complete backup.
 */
const fs = require('node:fs')
const path = require('node:path')

function fail(message, code = 1) {
  console.error(`backup-sqlite: ${message}`)
  process.exit(code)
}

const [source, target] = process.argv.slice(2)
if (!source || !target) fail('usage: node deploy/backup-sqlite.js SOURCE.db TARGET.db', 2)
if (!fs.existsSync(source)) fail(`${source} does not exist: give the relay's database file (CSB_RELAY_DB)`, 2)
if (fs.existsSync(target)) fail(`${target} exists already: give a new file name (a backup never overwrites)`, 2)

// Opening a WAL database may create its -wal and -shm files; created by another user (root),
// they would stop the relay from opening its own store. So the backup runs as the file's owner.
const owner = fs.statSync(source).uid
if (typeof process.getuid === 'function' && process.getuid() !== owner) {
  fail(`run this as the owner of ${source} (uid ${owner}), e.g. \`sudo -u csb-relay node ...\` or \`docker compose exec relay node ...\`, so SQLite's -wal and -shm files keep that owner`, 2)
}

const Database = require('better-sqlite3')
const partial = `${target}.partial`
fs.rmSync(partial, { force: true })
const db = new Database(source, { readonly: true, fileMustExist: true })
db.pragma('busy_timeout = 10000')

// The backup restarts whenever the relay writes between two steps. After the first step the
// rest is copied in one step, which holds a read snapshot (in WAL mode the relay keeps writing).
db.backup(partial, { progress: ({ remainingPages }) => Math.max(remainingPages, 1) })
  .then(({ totalPages }) => {
    db.close()
    // The copy keeps the source's WAL mode; in rollback mode it is one self-contained file.
    const copy = new Database(partial)
    copy.pragma('journal_mode = DELETE')
    const check = copy.pragma('quick_check', { simple: true })
    const version = copy.pragma('user_version', { simple: true })
    copy.close()
    if (check !== 'ok') fail(`the copy failed quick_check (${check}); ${partial} is kept for inspection`)
    fs.renameSync(partial, target)
    const bytes = fs.statSync(target).size
    console.log(`backup-sqlite: ${path.resolve(source)} -> ${path.resolve(target)}: ${totalPages} pages, ${bytes} bytes, schema version ${version}, quick_check ok`)
  })
  .catch((err) => {
    fs.rmSync(partial, { force: true })
    fail(`backup failed: ${err.message}`)
  })

/**
 * `csb-relay import FILE`: imports a JSON-lines export of Segment events into a running relay,
 * with progress, resumable from a checkpoint, deduplicated by messageId.
 */
import { commandArgs } from '../args'
import { firstWriteKey, relayUrl } from '../env'
import { defaultCheckpointPath } from '../import/checkpoint'
import { ImportError, runImport, type ImportProgress, type ImportSummary } from '../import/importer'
import { progressBar, progressLine } from '../import/progress'

const HELP = `Usage: csb-relay import FILE [options]

Imports FILE, one Segment event per line (JSON lines, e.g. a historical export), into a running
relay through POST /v1/import, in batches and in file order. Progress (rate, ETA) goes to stderr.

Resumable: the byte offset the relay has acknowledged is saved after every batch in a
checkpoint file (FILE.csb-import-checkpoint.json, or ./data/import-checkpoints/ when FILE's
folder is read-only). Run the same command again after an interruption to continue; run it
after it finished and nothing is sent twice.
Deduplicated: each event keeps its messageId; a line without one gets a deterministic id from
a hash of the line, so events re-sent after an interruption are dropped by the relay's dedupe.
Bad lines (invalid JSON, events the relay refuses) are reported with their line number and
skipped; they never stop the import. sentAt is removed so each event keeps its own timestamp.
User deletion requests (type "delete", as Segment archives hold them) are not imported: the
relay runs deletions as regulations. Their userIds are written, one a line, beside the
checkpoint (FILE.csb-import-checkpoint.deletions.txt); the summary says how many users and the
csb-relay regulate --type DELETE_ONLY --file ... command to run once the import is done.

Options:
  --write-key KEY        write key (default the first of $CSB_RELAY_WRITE_KEYS)
  --url URL              the relay (default http://127.0.0.1:8080, or http://$HOST:$PORT)
  --batch-size N         events per request (default 500, at most 2500)
  --checkpoint FILE      checkpoint path (default beside FILE)
  --restart              ignore the checkpoint and start from the first line
  --progress-interval S  seconds between progress lines when stderr is not a terminal (default 5)
  --quiet                no progress, only the summary and bad lines
  -h, --help             this help

Exit status: 0 when every valid line was imported (bad lines are reported, not fatal);
1 when the import stopped (relay unreachable, write key refused): run it again to resume.`

/** What to do about the user deletion requests the file holds (src/cli/import/deletions.ts). */
export function deletionAdvice(summary: ImportSummary): string {
  const users = `${summary.deletionUsers.toLocaleString('en-US')} user(s)`
  const met = summary.deletions > 0 ? `${summary.deletions.toLocaleString('en-US')} user deletion request(s) (type "delete")` : 'The file\'s user deletion requests (type "delete")'
  const shown = /^[\w./@:+-]+$/.test(summary.deletionsPath) ? summary.deletionsPath : `'${summary.deletionsPath.replace(/'/g, `'\\''`)}'`
  return (
    `${met} not imported: deletion requests run as regulations. The userIds of ${users} are in ${summary.deletionsPath}; ` +
    `once the import is done, delete those users with:\n  csb-relay regulate --type DELETE_ONLY --file ${shown}`
  )
}

export async function run(argv: string[]): Promise<number> {
  const parsed = commandArgs('import', argv, {
    'write-key': { type: 'string' },
    url: { type: 'string' },
    'batch-size': { type: 'string', default: '500' },
    checkpoint: { type: 'string' },
    restart: { type: 'boolean', default: false },
    'progress-interval': { type: 'string', default: '5' },
    quiet: { type: 'boolean', default: false }
  }, HELP, true)
  if (typeof parsed === 'number') return parsed
  const { values, positionals } = parsed
  if (positionals.length !== 1) {
    console.error(`csb-relay import: give exactly one FILE\n\n${HELP}`)
    return 2
  }
  const file = positionals[0]
  const batchSize = Number(values['batch-size'])
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 2500) {
    console.error('csb-relay import: --batch-size must be a whole number from 1 to 2500')
    return 2
  }
  const interval = Number(values['progress-interval'])
  if (!Number.isFinite(interval) || interval <= 0) {
    console.error('csb-relay import: --progress-interval must be a positive number of seconds')
    return 2
  }
  const writeKey = firstWriteKey(values['write-key'])
  if (!writeKey) {
    console.error('csb-relay import: no write key: pass --write-key or set CSB_RELAY_WRITE_KEYS')
    return 2
  }

  const tty = process.stderr.isTTY === true
  let lastDraw = 0
  let latest: ImportProgress | null = null
  let barShown = false
  let lastLine = -1
  const clearBar = () => {
    if (barShown) process.stderr.write('\r\x1b[2K')
    barShown = false
  }
  const show = (p: ImportProgress, force = false) => {
    latest = p
    if (values.quiet) return
    const now = Date.now()
    if (!force && now - lastDraw < (tty ? 100 : interval * 1000)) return
    lastDraw = now
    if (tty) {
      process.stderr.write(`\r\x1b[2K${progressBar(p)}`)
      barShown = true
    } else if (!force || p.line !== lastLine) {
      process.stderr.write(`${progressLine(p)}\n`)
      lastLine = p.line
    }
  }

  const controller = new AbortController()
  const onSignal = () => controller.abort()
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  const checkpointPath = values.checkpoint ?? defaultCheckpointPath(file)
  try {
    const summary = await runImport(
      { file, url: relayUrl(values.url), writeKey, checkpointPath, restart: values.restart, batchSize, signal: controller.signal },
      {
        progress: (p) => show(p),
        badLine: ({ line, problem }) => {
          clearBar()
          console.error(`line ${line}: ${problem}`)
        },
        waiting: (message) => {
          clearBar()
          if (!values.quiet) console.error(`import: ${message}`)
        }
      }
    )
    if (latest) show(latest, true)
    clearBar()
    if (summary.alreadyDone) {
      console.log(`${file} was already imported (${summary.lines.toLocaleString('en-US')} lines; checkpoint ${checkpointPath}). Nothing sent. Use --restart to import it again (the relay still drops messageIds it has seen within its dedupe window).`)
      if (summary.deletionUsers > 0) console.log(deletionAdvice(summary))
      return 0
    }
    const rate = summary.seconds > 0 ? Math.round(summary.sent / summary.seconds) : summary.sent
    console.log(
      `Imported ${summary.sent.toLocaleString('en-US')} events from ${file} in ${summary.seconds.toFixed(1)} s (${rate.toLocaleString('en-US')} events/s)` +
        `${summary.resumed ? ', resumed from the checkpoint' : ''}; ${summary.bad} bad line(s) skipped. Duplicates are dropped by the relay.`
    )
    if (summary.deletionUsers > 0) console.log(deletionAdvice(summary))
    return 0
  } catch (err) {
    clearBar()
    if (err instanceof ImportError) {
      console.error(`csb-relay import: ${err.message === 'interrupted' ? `interrupted; run the same command again to resume (checkpoint ${checkpointPath})` : err.message}`)
      return 1
    }
    throw err
  } finally {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }
}

import type Database from 'better-sqlite3'

/**
 * Schema versions, applied in order inside one transaction each; `PRAGMA user_version` records
 * the last one applied. Times are ms since the epoch. See docs/store.md for the table roles.
 */
const migrations: string[] = [
  `
  CREATE TABLE events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    source TEXT NOT NULL,
    message_id TEXT NOT NULL,
    ordering_key TEXT NOT NULL,
    type TEXT NOT NULL,
    event TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    run_at INTEGER NOT NULL,
    first_failed_at INTEGER,
    last_error TEXT,
    finished_at INTEGER,
    updated_at INTEGER NOT NULL,
    action TEXT,
    last_status INTEGER,
    samples TEXT
  );
  CREATE INDEX events_key_pending ON events (ordering_key, id) WHERE status = 'pending';
  -- Partial indexes keep the enqueue path light: a new event enters only events_key_pending.
  CREATE INDEX events_finished ON events (status, finished_at) WHERE finished_at IS NOT NULL;
  CREATE INDEX events_dead ON events (id) WHERE status = 'dead';
  CREATE INDEX events_failing ON events (id) WHERE status = 'pending' AND last_error IS NOT NULL;

  CREATE TABLE dedupe (
    source TEXT NOT NULL,
    message_id TEXT NOT NULL,
    event_id INTEGER NOT NULL,
    seen_at INTEGER NOT NULL,
    PRIMARY KEY (source, message_id)
  ) WITHOUT ROWID;
  CREATE INDEX dedupe_seen ON dedupe (seen_at);

  CREATE TABLE queue_keys (
    ordering_key TEXT PRIMARY KEY,
    head_id INTEGER NOT NULL,
    ready_at INTEGER NOT NULL,
    leased_event_id INTEGER,
    leased_until INTEGER,
    lease_owner TEXT,
    lease_token TEXT
  ) WITHOUT ROWID;
  CREATE INDEX queue_keys_ready ON queue_keys (ready_at, head_id);
  CREATE INDEX queue_keys_head ON queue_keys (head_id);
  CREATE INDEX queue_keys_leased ON queue_keys (leased_until) WHERE leased_event_id IS NOT NULL;

  CREATE TABLE outcome_counts (
    minute INTEGER NOT NULL,
    outcome TEXT NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (minute, outcome)
  ) WITHOUT ROWID;

  CREATE TABLE totals (
    bucket TEXT PRIMARY KEY,
    n INTEGER NOT NULL
  ) WITHOUT ROWID;

  CREATE TABLE identities (
    user_key TEXT PRIMARY KEY,
    account_id TEXT NOT NULL,
    updated_at INTEGER NOT NULL
  ) WITHOUT ROWID;

  CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
  ) WITHOUT ROWID;
  `,
  // 2: the inbox that `admit` commits to (see inbox.ts).
  `
  CREATE TABLE inbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    admitted_at INTEGER NOT NULL,
    -- 'events': meta + events as serialised.ts writes them; 'opaque': events holds an OpaqueBatch's text.
    kind TEXT NOT NULL,
    n INTEGER NOT NULL,
    meta TEXT NOT NULL,
    events TEXT NOT NULL
  );
  -- Covers counts() (count, sum(n), min(admitted_at)) without reading the rows' text.
  CREATE INDEX inbox_counts ON inbox (admitted_at, n);
  `,
  // 3: names the relay has sent to CSB, per kind (see store/types.ts admitNames).
  `
  CREATE TABLE csb_names (
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    admitted_at INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    PRIMARY KEY (kind, name)
  ) WITHOUT ROWID;
  `,
  // 4: fan-out. Each event has one row per destination; keys and counters are per destination.
  // Rows, keys and counters of a store without destinations were all CustomerSuccessBox's. The
  // column default only serves those rows: the engine always names the destination.
  `
  ALTER TABLE events ADD COLUMN destination TEXT NOT NULL DEFAULT 'CustomerSuccessBox';
  DROP INDEX events_key_pending;
  CREATE INDEX events_key_pending ON events (destination, ordering_key, id) WHERE status = 'pending';

  CREATE TABLE queue_keys_4 (
    destination TEXT NOT NULL,
    ordering_key TEXT NOT NULL,
    head_id INTEGER NOT NULL,
    ready_at INTEGER NOT NULL,
    leased_event_id INTEGER,
    leased_until INTEGER,
    lease_owner TEXT,
    lease_token TEXT,
    PRIMARY KEY (destination, ordering_key)
  ) WITHOUT ROWID;
  INSERT INTO queue_keys_4 (destination, ordering_key, head_id, ready_at, leased_event_id, leased_until, lease_owner, lease_token)
    SELECT 'CustomerSuccessBox', ordering_key, head_id, ready_at, leased_event_id, leased_until, lease_owner, lease_token FROM queue_keys;
  DROP TABLE queue_keys;
  ALTER TABLE queue_keys_4 RENAME TO queue_keys;
  CREATE INDEX queue_keys_ready ON queue_keys (destination, ready_at, head_id);
  CREATE INDEX queue_keys_head ON queue_keys (destination, head_id);
  CREATE INDEX queue_keys_leased ON queue_keys (leased_until) WHERE leased_event_id IS NOT NULL;

  CREATE TABLE outcome_counts_4 (
    minute INTEGER NOT NULL,
    outcome TEXT NOT NULL,
    destination TEXT NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (minute, outcome, destination)
  ) WITHOUT ROWID;
  INSERT INTO outcome_counts_4 (minute, outcome, destination, n) SELECT minute, outcome, 'CustomerSuccessBox', n FROM outcome_counts;
  DROP TABLE outcome_counts;
  ALTER TABLE outcome_counts_4 RENAME TO outcome_counts;

  CREATE TABLE totals_4 (
    destination TEXT NOT NULL,
    bucket TEXT NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (destination, bucket)
  ) WITHOUT ROWID;
  INSERT INTO totals_4 (destination, bucket, n) SELECT 'CustomerSuccessBox', bucket, n FROM totals;
  DROP TABLE totals;
  ALTER TABLE totals_4 RENAME TO totals;
  `,
  // 5: when a retry waits because the destination asked (Retry-After), the time it asked for:
  // expediteRetries (expedite.ts) leaves such an event alone until then.
  `
  ALTER TABLE events ADD COLUMN retry_not_before INTEGER;
  `,
  // 6: regulations (contract/regulations.ts): the records, the suppression list, and small
  // state (regulation_state): the count of events dropped as suppressed, a stamp that changes
  // with the list (suppress.ts), and whether a purge still owes the store its VACUUM (purge.ts).
  `
  CREATE TABLE regulations (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    type TEXT NOT NULL,
    subject_ids TEXT NOT NULL,
    status TEXT NOT NULL,
    origin TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    finished_at INTEGER,
    counts TEXT NOT NULL,
    error TEXT,
    claim_owner TEXT,
    claimed_until INTEGER
  );
  CREATE INDEX regulations_created ON regulations (created_at, seq);
  CREATE INDEX regulations_running ON regulations (created_at, seq) WHERE status = 'RUNNING';

  CREATE TABLE suppressed_users (
    user_id TEXT PRIMARY KEY,
    since INTEGER NOT NULL
  ) WITHOUT ROWID;

  CREATE TABLE regulation_state (
    name TEXT PRIMARY KEY,
    n INTEGER NOT NULL
  ) WITHOUT ROWID;
  `
]

export function migrate(db: Database.Database): void {
  const apply = db.transaction(() => {
    const current = db.pragma('user_version', { simple: true }) as number
    for (let version = current; version < migrations.length; version++) {
      db.exec(migrations[version])
      db.pragma(`user_version = ${version + 1}`)
    }
  })
  apply.immediate()
}

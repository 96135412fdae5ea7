import type { PoolClient } from 'pg'

/**
 * Schema versions, applied in order; the `migrations` table records each. Times are ms since
 * the epoch (bigint), as in the SQLite engine, so every instance compares against the same
 * kind of clock value. See docs/store.md for the role of each table.
 */
const migrations: string[] = [
  `
  CREATE SEQUENCE events_id_seq;
  CREATE TABLE events (
    id bigint PRIMARY KEY DEFAULT nextval('events_id_seq'),
    source text NOT NULL,
    message_id text NOT NULL,
    ordering_key text NOT NULL,
    type text NOT NULL,
    event text NOT NULL,
    received_at bigint NOT NULL,
    status text NOT NULL,
    attempts integer NOT NULL DEFAULT 0,
    run_at bigint NOT NULL,
    first_failed_at bigint,
    last_error text,
    finished_at bigint,
    updated_at bigint NOT NULL,
    action text,
    last_status integer,
    samples text
  );
  ALTER SEQUENCE events_id_seq OWNED BY events.id;
  -- Each event is rewritten when leased and when settled; vacuum well before the default 20%.
  ALTER TABLE events SET (autovacuum_vacuum_scale_factor = 0.02, autovacuum_analyze_scale_factor = 0.02);
  CREATE INDEX events_key_pending ON events (ordering_key, id) WHERE status = 'pending';
  CREATE INDEX events_finished ON events (status, finished_at) WHERE finished_at IS NOT NULL;
  CREATE INDEX events_dead ON events (id) WHERE status = 'dead';
  CREATE INDEX events_failing ON events (id) WHERE status = 'pending' AND last_error IS NOT NULL;

  CREATE TABLE dedupe (
    source text NOT NULL,
    message_id text NOT NULL,
    event_id bigint NOT NULL,
    seen_at bigint NOT NULL,
    PRIMARY KEY (source, message_id)
  );
  CREATE INDEX dedupe_seen ON dedupe (seen_at);

  CREATE TABLE queue_keys (
    ordering_key text PRIMARY KEY,
    head_id bigint NOT NULL,
    ready_at bigint NOT NULL,
    leased_event_id bigint,
    leased_until bigint,
    lease_owner text,
    lease_token text
  ) WITH (fillfactor = 70);
  CREATE INDEX queue_keys_ready ON queue_keys (ready_at, head_id);
  CREATE INDEX queue_keys_head ON queue_keys (head_id);
  CREATE INDEX queue_keys_leased ON queue_keys (leased_until) WHERE leased_event_id IS NOT NULL;
  -- Every lease and outcome rewrites a key row (indexed columns change, so no HOT updates):
  -- vacuum the small hot tables early instead of at 20% dead rows.
  ALTER TABLE queue_keys SET (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 1000,
    autovacuum_vacuum_cost_delay = 0, autovacuum_analyze_scale_factor = 0, autovacuum_analyze_threshold = 1000);

  -- Counters are striped over a few shards so concurrent transactions rarely wait on one row.
  CREATE TABLE outcome_counts (
    minute bigint NOT NULL,
    outcome text NOT NULL,
    shard smallint NOT NULL,
    n bigint NOT NULL,
    PRIMARY KEY (minute, outcome, shard)
  );
  CREATE TABLE totals (
    bucket text NOT NULL,
    shard smallint NOT NULL,
    n bigint NOT NULL,
    PRIMARY KEY (bucket, shard)
  );
  ALTER TABLE totals SET (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 1000, autovacuum_vacuum_cost_delay = 0);

  CREATE TABLE identities (
    user_key text PRIMARY KEY,
    account_id text NOT NULL,
    updated_at bigint NOT NULL
  );

  CREATE TABLE meta (
    key text PRIMARY KEY,
    value text NOT NULL
  );
  `,
  // 2: names the relay has sent to CSB, per kind (see store/types.ts admitNames).
  `
  CREATE TABLE csb_names (
    kind text NOT NULL,
    name text NOT NULL,
    admitted_at bigint NOT NULL,
    seq integer NOT NULL,
    PRIMARY KEY (kind, name)
  );
  `,
  // 3: fan-out. Each event has one row per destination; keys and counters are per destination.
  // Rows, keys and counters of a schema without destinations were all CustomerSuccessBox's. The
  // defaults only fill those rows (no table rewrite) and are dropped: the engine always names
  // the destination.
  `
  ALTER TABLE events ADD COLUMN destination text NOT NULL DEFAULT 'CustomerSuccessBox';
  ALTER TABLE events ALTER COLUMN destination DROP DEFAULT;
  DROP INDEX events_key_pending;
  CREATE INDEX events_key_pending ON events (destination, ordering_key, id) WHERE status = 'pending';

  ALTER TABLE queue_keys ADD COLUMN destination text NOT NULL DEFAULT 'CustomerSuccessBox';
  ALTER TABLE queue_keys ALTER COLUMN destination DROP DEFAULT;
  ALTER TABLE queue_keys DROP CONSTRAINT queue_keys_pkey;
  ALTER TABLE queue_keys ADD PRIMARY KEY (destination, ordering_key);
  DROP INDEX queue_keys_ready;
  CREATE INDEX queue_keys_ready ON queue_keys (destination, ready_at, head_id);
  DROP INDEX queue_keys_head;
  CREATE INDEX queue_keys_head ON queue_keys (destination, head_id);

  ALTER TABLE outcome_counts ADD COLUMN destination text NOT NULL DEFAULT 'CustomerSuccessBox';
  ALTER TABLE outcome_counts ALTER COLUMN destination DROP DEFAULT;
  ALTER TABLE outcome_counts DROP CONSTRAINT outcome_counts_pkey;
  ALTER TABLE outcome_counts ADD PRIMARY KEY (minute, outcome, destination, shard);

  ALTER TABLE totals ADD COLUMN destination text NOT NULL DEFAULT 'CustomerSuccessBox';
  ALTER TABLE totals ALTER COLUMN destination DROP DEFAULT;
  ALTER TABLE totals DROP CONSTRAINT totals_pkey;
  ALTER TABLE totals ADD PRIMARY KEY (destination, bucket, shard);
  `,
  // 4: when a retry waits because the destination asked (Retry-After), the time it asked for:
  // expediteRetries (expedite.ts) leaves such an event alone until then.
  `
  ALTER TABLE events ADD COLUMN retry_not_before bigint;
  `,
  // 5: regulations (contract/regulations.ts): the records, the suppression list, the count of
  // events dropped as suppressed (striped like the totals), and suppressed_among, which enqueue
  // calls (suppress.ts says why it is a function and why it takes a lock).
  `
  CREATE TABLE regulations (
    seq bigserial PRIMARY KEY,
    id text NOT NULL UNIQUE,
    type text NOT NULL,
    subject_ids text NOT NULL,
    status text NOT NULL,
    origin text NOT NULL,
    created_at bigint NOT NULL,
    finished_at bigint,
    counts text NOT NULL,
    error text,
    claim_owner text,
    claimed_until bigint
  );
  CREATE INDEX regulations_created ON regulations (created_at, seq);
  CREATE INDEX regulations_running ON regulations (created_at, seq) WHERE status = 'RUNNING';

  CREATE TABLE suppressed_users (
    user_id text PRIMARY KEY,
    since bigint NOT NULL
  );

  CREATE TABLE suppressed_counts (
    shard smallint PRIMARY KEY,
    n bigint NOT NULL
  );

  CREATE FUNCTION suppressed_among(ids text[]) RETURNS SETOF text LANGUAGE plpgsql VOLATILE AS $fn$
  BEGIN
    IF ids IS NULL OR cardinality(ids) = 0 THEN
      RETURN;
    END IF;
    PERFORM pg_advisory_xact_lock_shared(hashtext('csb-relay:suppress:' || current_schema()));
    RETURN QUERY SELECT s.user_id FROM suppressed_users s WHERE s.user_id = ANY(ids);
  END
  $fn$;
  `
]

/**
 * Applies missing migrations. Holds a transaction-scoped advisory lock keyed by the schema, so
 * instances starting together migrate one after the other; the second finds nothing to do.
 */
export async function migrate(client: PoolClient, schema: string): Promise<void> {
  await client.query('BEGIN')
  try {
    await client.query(`SELECT pg_advisory_xact_lock(hashtext('csb-relay:migrate:' || $1))`, [schema])
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)}`)
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${quoteIdent(schema)}.migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`
    )
    const { rows } = await client.query<{ v: number | null }>(`SELECT max(version) AS v FROM ${quoteIdent(schema)}.migrations`)
    for (let version = rows[0].v ?? 0; version < migrations.length; version++) {
      await client.query(`SET LOCAL search_path TO ${quoteIdent(schema)}`)
      await client.query(migrations[version])
      await client.query(`INSERT INTO ${quoteIdent(schema)}.migrations (version) VALUES ($1)`, [version + 1])
    }
    await client.query('COMMIT')
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined)
    throw error
  }
}

export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`
}

/** Schema names we accept: plain identifiers, so they are safe in a search_path option. */
export function checkSchemaName(name: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(name)) throw new Error(`PostgreSQL schema name "${name}" is not a plain identifier (letters, digits, _)`)
  return name
}

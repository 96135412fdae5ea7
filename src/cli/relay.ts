/**
 * The composition root: builds a running relay from its configuration. Each step is one
 * block below, in start order; `close()` undoes them in reverse:
 * stop accepting → finish in-flight requests and their commits → stop delivery → close store.
 */
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify'
import { randomBytes } from 'node:crypto'
import type { AddressInfo } from 'node:net'
import type pino from 'pino'
import { CSB_DESTINATION, SecretSet, checkDestinations, destinationDeleters, secretValuesOf, startDelivery } from '../delivery'
import { INGEST_EXPANDER, ensureWriteKey, ingestPlugin, type IngestObserver, type WriteKeySetup } from '../ingest'
import { Destination } from '@segment/actions-core'
import csbDestination from '../destination'
import {
  CsbSettingsError, RegulationRunner, createLogger, createOps, healthPlugin, lazyChildLogger, loadStoredCsbSettings, opsPlugin, parseCsbSettings,
  storeCsbSettings, type CsbSource, type CsbState
} from '../ops'
import { openStore, slowestBacklog, type Store } from '../store'
import type { RelayConfig } from './config'
import { ensureAdminToken, type AdminAccess } from './admin-token'

export interface Relay {
  app: FastifyInstance
  store: Store
  /** Where the relay listens, e.g. http://127.0.0.1:8080. */
  url: string
  config: RelayConfig
  /** The accepted sources; `generated` when the relay runs on a key it generated. */
  writeKeys: WriteKeySetup
  /** The admin token in force and where it comes from; `createdNow` when generated at this start. */
  adminAccess: AdminAccess
  logger: pino.Logger
  /** Whether CSB is configured now, and from where (settings may be given at runtime: PUT /api/csb). */
  csbState(): CsbState
  close(): Promise<void>
}

/** The first prune runs this long after start (or after store.pruneIntervalMs, when shorter), off the start-up path. */
const PRUNE_FIRST_DELAY_MS = 60_000

export interface RelayDeps {
  logger?: pino.Logger
  /** Replace the kept admin token with a new one (`start --new-admin-token`). */
  newAdminToken?: boolean
}

function urlOf(address: AddressInfo): string {
  const host =
    address.address === '0.0.0.0' ? '127.0.0.1' : address.address === '::' ? '[::1]' : address.family === 'IPv6' ? `[${address.address}]` : address.address
  return `http://${host}:${address.port}`
}

export async function startRelay(config: RelayConfig, deps: RelayDeps = {}): Promise<Relay> {
  // store
  // The relay's logger needs the secrets the store keeps, so it exists only after the store opens;
  // the store's own lines (inbox errors) go to it from then on.
  let relayLogger: Pick<FastifyBaseLogger, 'warn' | 'error'> | undefined
  const storeLogger = { warn: (o: object, m: string) => relayLogger?.warn(o, m), error: (o: object, m: string) => relayLogger?.error(o, m) }
  // destinations beside CSB: loaded and checked before the store opens (a bad one must not start a relay)
  const destinations = checkDestinations(config.destinations ?? [])
  const store = await openStore(config.db, {
    ...config.store, expander: INGEST_EXPANDER, logger: storeLogger, destinations: [CSB_DESTINATION, ...destinations.map((d) => d.config.name)]
  })
  const cleanups: Array<() => Promise<void>> = [() => store.close()]
  const undo = async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {})
  }

  try {
    // write keys: the configured ones, else the generated one kept in the store
    const writeKeys = await ensureWriteKey(store, config.sources)

    // admin token: the configured one, else the kept hash, else one generated when listening beyond loopback
    const adminAccess = await ensureAdminToken(store, { configured: config.adminToken, host: config.host, renew: deps.newAdminToken })

    // CSB settings: the configuration's, else those given earlier through PUT /api/csb (kept in the store)
    let csb = config.csb
    let csbSource: CsbSource | null = csb ? 'configuration' : null
    if (!csb) {
      csb = await loadStoredCsbSettings(store)
      if (csb) csbSource = 'admin API'
    }
    const csbState = (): CsbState => ({ configured: csb !== undefined, source: csbSource, baseUrl: csb?.baseUrl ?? null, authScheme: csb ? (csb.authScheme ?? 'bearer') : null })

    // secrets: every one the relay knows (the configuration's, the generated write key, CSB settings
    // kept in the store, an admin token made at this start), scrubbed from logs and admin answers;
    // a key given later joins them
    const secrets = new SecretSet([
      ...secretValuesOf(config), csb?.apiKey, adminAccess.createdNow, ...writeKeys.sources.flatMap((s) => [s.writeKey, s.sharedSecret]),
      ...destinations.flatMap((d) => d.secrets)
    ])

    // logger: one for the whole relay, scrubbing every secret it could meet
    const logger = deps.logger ?? createLogger({ level: config.logLevel, secrets })
    relayLogger = logger
    if (config.trustProxy && adminAccess.source === 'none') {
      logger.warn('trustProxy is on and there is no admin token: /api/ answers no request that came through the proxy; set CSB_RELAY_ADMIN_TOKEN or start with --new-admin-token')
    }

    // http server
    const app = Fastify({
      loggerInstance: logger as FastifyBaseLogger,
      // A line per request costs more than ingesting the event; refusals are logged at debug.
      logController: new LogController({ disableRequestLogging: true }),
      // request.log is made when first used (it is, on errors), not for every request.
      childLoggerFactory: lazyChildLogger as never,
      // While closing, requests on kept-alive connections get 503 + Connection: close; SDKs retry.
      return503OnClosing: true,
      // The one place trustProxy is read: request.host, .protocol and .ip honour X-Forwarded-* when on.
      trustProxy: config.trustProxy
    })

    // ops: metrics registry, dashboard and admin plugins; sets the observer ingest reports to
    let delivery: ReturnType<typeof startDelivery> | undefined
    let regulations: RegulationRunner | undefined
    const csbAuthentication = new Destination(csbDestination)
    const ops = createOps({
      store,
      config,
      logger,
      secrets,
      checkCsb: (settings) => csbAuthentication.testAuthentication(settings as never),
      csb: () => csb,
      adminTokenHash: adminAccess.hash,
      wakeRegulations: () => regulations?.wake(),
      csbControls: {
        state: csbState,
        set: async (body) => {
          if (csbSource === 'configuration') {
            throw new CsbSettingsError(409, 'CSB settings come from the environment or the config file here; change them there and restart')
          }
          const settings = parseCsbSettings(body)
          if (!delivery) throw new CsbSettingsError(409, 'delivery is not running yet; retry in a moment')
          secrets.add(settings.apiKey)
          const previous = csb
          try {
            delivery.setCsbSettings(settings)
          } catch (err) {
            throw new CsbSettingsError(400, (err as Error).message)
          }
          try {
            await storeCsbSettings(store, settings)
          } catch (err) {
            delivery.setCsbSettings(previous)
            throw err
          }
          csb = settings
          csbSource = 'admin API'
          logger.info({ baseUrl: settings.baseUrl }, 'CSB settings given through the admin API: kept in the store; delivering')
          return csbState()
        }
      }
    })
    // Accepted events wake delivery (set once delivery has started) instead of waiting for its poll.
    let wakeDelivery: () => void = () => {}
    const opsIngestObserver: IngestObserver | undefined = ops.ingestObserver
    const ingestObserver: IngestObserver = {
      ...opsIngestObserver,
      ingested(type, result, count) {
        opsIngestObserver?.ingested?.(type, result, count)
        if (result === 'accepted' && count > 0) wakeDelivery()
      },
      // A `delete` event became a regulation: run it now rather than at the runner's next poll.
      regulationCreated: () => regulations?.wake()
    }
    await app.register(opsPlugin, ops.pluginOptions)

    // ingest
    await app.register(ingestPlugin, {
      store,
      sources: writeKeys.sources,
      limits: config.ingest,
      parseThreads: config.ingest.parseThreads,
      observer: ingestObserver,
      publicUrl: config.publicUrl
    })

    // health
    await app.register(healthPlugin, {
      readiness: async () => ({
        engine: store.engine,
        backlog: slowestBacklog(await store.counts()),
        csbConfigured: csb !== undefined
      })
    })

    // delivery: workers lease, deliver and record outcomes; stopped after the server has closed,
    // before the store closes (cleanups run in reverse). Bad subscriptions/filters throw here.
    // One name for this instance's leases and regulation claims, unique across hosts (containers
    // on one PostgreSQL may share a pid): a regulation tells this instance's leases from others'.
    const instanceId = `${process.pid}-${randomBytes(4).toString('hex')}`
    delivery = startDelivery({
      store, config: { ...config, csb }, logger, observer: ops.deliveryObserver, instanceId, threads: config.deliveryThreads, destinations
    })
    ops.attachDelivery(delivery)
    wakeDelivery = () => delivery.wake()
    cleanups.push(() => delivery.stop())

    // regulations (user suppression and deletion, docs/privacy.md): this instance claims and runs
    // those nobody holds; stopped before delivery and the store (cleanups run in reverse).
    regulations = new RegulationRunner({
      store,
      owner: instanceId,
      deleters: destinationDeleters(destinations, { settings: config.delivery }),
      logger,
      revalidateLeases: () => delivery.revalidateLeases(),
      inFlightMs: config.delivery.requestTimeoutMs
    })
    regulations.start()
    const runner = regulations
    cleanups.push(() => runner.stop())

    // retention: finished events past store.retentionDays, dead letters past
    // store.deadLetterRetentionDays and dedupe entries past the window go away every
    // store.pruneIntervalMs (and once shortly after start), off the request path.
    const pruneEvery = config.store.pruneIntervalMs
    let pruning: Promise<void> | undefined
    const prune = () => {
      // One at a time: a tick that comes while a long prune still runs is skipped.
      pruning ??= store
        .prune()
        .then(
          (deleted) => { if (deleted > 0) logger.info({ deleted }, 'store: pruned events past their retention') },
          (err: Error) => logger.warn({ err: err.message }, 'store: prune failed')
        )
        .finally(() => { pruning = undefined })
    }
    // With an interval shorter than the first delay, the interval's first tick is the first prune.
    const firstPrune = pruneEvery > PRUNE_FIRST_DELAY_MS ? setTimeout(prune, PRUNE_FIRST_DELAY_MS).unref() : undefined
    const pruneTimer = setInterval(prune, pruneEvery).unref()
    cleanups.push(async () => {
      clearTimeout(firstPrune)
      clearInterval(pruneTimer)
      await pruning
    })

    // listen (if this fails, e.g. the port is taken, the unstarted server is closed with the rest)
    cleanups.push(() => app.close())
    await app.listen({ port: config.port, host: config.host })
    const url = urlOf(app.server.address() as AddressInfo)
    // Closing the server (the last cleanup, so the first to run) stops accepting and waits for
    // in-flight requests, and so for their commits.

    let closing: Promise<void> | undefined
    return {
      app,
      store,
      url,
      config,
      writeKeys,
      adminAccess,
      logger,
      csbState,
      close: () => (closing ??= undo())
    }
  } catch (err) {
    await undo()
    throw err
  }
}

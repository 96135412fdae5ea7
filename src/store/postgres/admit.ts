import type { ResolvedStoreOptions } from '../options'
import { eventTextsOf, isOpaqueBatch, isSerialisedEvents, type OpaqueBatch, type SerialisedEvents } from '../serialised'
import type { NewEvent } from '../types'

/**
 * The events of an `admit` call, ready for enqueueEvents (this engine queues them at once):
 * serialised events keep their JSON as text (the insert takes it as it is, eventJson); an opaque
 * batch is expanded by the store's expander, on the calling thread.
 */
export function eventsOfAdmit(batch: NewEvent[] | SerialisedEvents | OpaqueBatch, options: ResolvedStoreOptions): NewEvent[] {
  if (isSerialisedEvents(batch)) return eventTextsOf(batch)
  if (!isOpaqueBatch(batch)) return batch
  if (!options.expander) throw new Error('the store has no expander for opaque batches (StoreOptions.expander)')
  return options.expander.expand(batch.head, batch.body)
}

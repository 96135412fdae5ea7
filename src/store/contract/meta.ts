/** Small key/value for relay state (generated write key, import checkpoints, CSB settings given later). */
export interface StoreMeta {
  getMeta(key: string): Promise<string | null>
  setMeta(key: string, value: string): Promise<void>
  /**
   * Stores `value` under `key` unless a value is already stored there; resolves with the stored
   * value, this one or the one already there. Instances starting together on one database
   * agree on one value (the generated write key): exactly one call's value wins.
   */
  setMetaIfAbsent(key: string, value: string): Promise<string>
}

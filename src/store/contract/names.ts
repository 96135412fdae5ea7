/** What `admitNames` answers. */
export interface NameAdmission {
  /** The names offered that were not admitted (new ones beyond the limit), in the order offered. */
  refused: string[]
  /** How many names of the kind are stored after the call. */
  count: number
}

/**
 * Names of a kind the relay has sent (CSB feature and module names: CSB keeps at most 256 of
 * each per instance).
 */
export interface StoreNames {
  /**
   * A name already stored is always admitted; a new one is stored while fewer than `limit` names
   * of its kind are. Instances on one database agree: the count never passes the limit, however
   * many admit at once. Names are never forgotten.
   */
  admitNames(kind: string, names: string[], limit: number): Promise<NameAdmission>
  /** Every stored name of a kind, in the order admitted. */
  listNames(kind: string): Promise<string[]>
}

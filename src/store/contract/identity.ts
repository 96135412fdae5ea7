export interface IdentityLink {
  /** The user: CSB user_id when known, else Segment userId. */
  userKey: string
  accountId: string
}

/** The identity map: which account a user belongs to. Last write wins. */
export interface StoreIdentities {
  linkIdentities(links: IdentityLink[]): Promise<void>
  accountsFor(userKeys: string[]): Promise<Map<string, string>>
}

/** The server URL, or a clear failure: these tests never skip. */
export declare function requireTestPg(): string;
export interface TestDatabase {
    name: string;
    /** postgres://... of the new database. */
    url: string;
    /** Runs one query on the new database (a short-lived connection). */
    query<T extends Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
    /** Drops the database, ending any connection still open to it (a killed relay's, for one). */
    drop(): Promise<void>;
}
export declare function createTestDatabase(serverUrl?: string): Promise<TestDatabase>;

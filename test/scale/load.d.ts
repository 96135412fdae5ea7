export interface LoadPlan {
    run: string;
    users: number;
    eventsPerUser: number;
    /** Concurrent clients; user u belongs to client u % clients. */
    clients: number;
    /** Pause between a client's batches, in ms (spreads the load over time). */
    pauseMs: number;
}
export interface SentEvent {
    user: string;
    seq: number;
    messageId: string;
    /** When an instance acknowledged it (Date.now()). */
    at: number;
}
export declare const stepName: (seq: number) => string;
export declare const userName: (run: string, u: number) => string;
export declare function trackEvent(plan: LoadPlan, u: number, seq: number): Record<string, unknown>;
export interface LoadStats {
    acknowledged: SentEvent[];
    requests: number;
    /** Requests that got no 2xx answer (and were retried). */
    failedRequests: number;
    /** Requests waiting for an answer right now, by target URL. */
    inFlight: Map<string, number>;
}
/**
 * Sends every user's events in sequence order: a client posts one batch holding the next event of
 * each of its users and waits for a 2xx before the next, so an event is stored before its
 * successor is sent. Client c's batch r goes to targets()[(c + r) % n] (alternating); a failure
 * is retried on the next live target after a short pause.
 */
export declare function sendLoad(plan: LoadPlan, writeKey: string, targets: () => string[]): {
    stats: LoadStats;
    done: Promise<LoadStats>;
};

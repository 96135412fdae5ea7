import { type CliProcess, type RelayProcess } from '../helpers/processes';
import type { RecordedRequest } from '../../src/sandbox';
export interface SandboxProcess extends CliProcess {
    url: string;
    apiKey: string;
    /** Every request recorded so far (fetched incrementally, oldest first). */
    recording(): Promise<RecordedRequest[]>;
}
/** `csb-relay sandbox --port 0 --quiet` with the given flags (e.g. ['--latency', 'uniform:5:20']). */
export declare function startSandboxProcess(flags?: string[]): Promise<SandboxProcess>;
export interface InstanceOptions {
    db: string;
    sandbox?: {
        url: string;
        apiKey: string;
    };
    writeKey: string;
    /** Written to a JSON config file passed with --config. */
    config?: Record<string, unknown>;
}
export interface Instance extends RelayProcess {
    /** The process id: the relay's delivery instance id (lease owner). */
    pid: number;
}
/** `csb-relay start --port 0 --db DB --config FILE` with the write key and CSB settings in its environment. */
export declare function startInstance(options: InstanceOptions): Promise<Instance>;
export declare function basicAuth(writeKey: string): string;
/** POST /v1/batch; resolves with the status, or 0 when the request failed without an answer. */
export declare function postBatch(baseUrl: string, writeKey: string, batch: unknown[]): Promise<number>;
/** Sum of `csb_relay_delivery_outcomes_total{outcome="delivered"}` on one instance's /metrics. */
export declare function deliveredBy(baseUrl: string): Promise<number>;

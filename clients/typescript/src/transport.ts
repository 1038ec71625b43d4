/**
 * One HTTP call to the server: the bearer token, bounded retries of 503
 * answers after their `Retry-After`, aborts, and problem details turned into
 * errors.
 *
 * @module
 */

import { MungRuntimeError, errorFromResponse } from "./errors.js";

/** The longest wait between two retries, whatever `Retry-After` says. */
const MAX_RETRY_DELAY_MS = 30_000;

/** How a runtime reaches its server. */
export interface TransportOptions {
  baseUrl: string;
  token?: string | undefined;
  fetch?: typeof fetch | undefined;
  retries?: number | undefined;
}

/** One request: a POST to `path` under the base URL. */
export interface Call {
  path: string;
  headers: Record<string, string>;
  body: BodyInit;
  signal?: AbortSignal | undefined;
}

/** Sends requests to one server. */
export class Transport {
  readonly baseUrl: string;
  readonly #token: string | undefined;
  readonly #fetch: typeof fetch;
  readonly #retries: number;

  constructor(options: TransportOptions) {
    let url: URL;
    try {
      url = new URL(options.baseUrl);
    } catch {
      throw new TypeError(`baseUrl must be an absolute URL such as http://127.0.0.1:8080, not ${options.baseUrl}`);
    }
    this.baseUrl = url.href.replace(/\/+$/, "");
    this.#token = options.token;
    // Browsers refuse `fetch` called on another `this` than the window.
    this.#fetch = options.fetch ?? globalThis.fetch.bind(globalThis);
    const retries = options.retries ?? 3;
    if (!Number.isInteger(retries) || retries < 0) {
      throw new TypeError(`retries must be a non-negative integer, not ${retries}`);
    }
    this.#retries = retries;
  }

  /**
   * POSTs the call and returns a 2xx answer; retries a 503 that carries
   * `Retry-After` up to `retries` times; rejects with a
   * {@link MungRuntimeError} for any other answer or a network failure, and
   * with the signal's reason once aborted.
   */
  async post(call: Call): Promise<Response> {
    const url = this.baseUrl + call.path;
    const headers = { ...call.headers };
    if (this.#token !== undefined) headers["authorization"] = `Bearer ${this.#token}`;
    for (let attempt = 0; ; attempt++) {
      call.signal?.throwIfAborted();
      let response: Response;
      try {
        response = await this.#fetch(url, {
          method: "POST",
          headers,
          body: call.body,
          signal: call.signal ?? null,
          // Tokens travel in `Authorization`, never as cookies.
          credentials: "omit",
        });
      } catch (e) {
        if (call.signal?.aborted) throw call.signal.reason;
        throw new MungRuntimeError(
          `cannot reach the mung-runtime server at ${this.baseUrl} (${e instanceof Error ? e.message : String(e)}); ` +
            "is it running, and, from a web page, does it allow this page's origin (`serve --cors-origin`)?",
          0,
          undefined,
          { cause: e },
        );
      }
      if (response.ok) return response;
      const retryAfter = response.headers.get("retry-after");
      if (response.status === 503 && retryAfter !== null && attempt < this.#retries) {
        await response.body?.cancel().catch(() => {});
        await sleep(retryDelay(retryAfter), call.signal);
        continue;
      }
      throw await errorFromResponse(response);
    }
  }

  /** POSTs JSON and returns the parsed JSON answer. */
  async postJson(path: string, body: unknown, signal: AbortSignal | undefined): Promise<unknown> {
    const response = await this.post({
      path,
      headers: { "content-type": "application/json", accept: "application/json" },
      body: JSON.stringify(body),
      signal,
    });
    return response.json();
  }
}

/** Milliseconds to wait for a `Retry-After` value (seconds or an HTTP date). */
export function retryDelay(value: string): number {
  const seconds = Number(value.trim());
  const ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(value) - Date.now();
  return Math.min(Math.max(Number.isFinite(ms) ? ms : 1000, 0), MAX_RETRY_DELAY_MS);
}

/** Waits `ms`, or rejects with the signal's reason when it aborts first. */
function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

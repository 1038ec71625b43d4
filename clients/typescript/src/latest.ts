/**
 * Dropping stale answers: MuNG Studio re-runs `computeCutLines` on every
 * mask change, and answers can arrive out of order.
 *
 * @module
 */

import type { CallOptions } from "./types.js";

/** A method wrapped by {@link latestOnly}. */
export interface LatestOnly<A extends unknown[], R> {
  /** Calls the method; the previous call, if still running, is aborted. */
  (...args: A): Promise<R>;
  /** Aborts the running call, if any. */
  cancel(): void;
}

/**
 * Wraps a method (whose last parameter is {@link CallOptions}) so that only
 * the latest call's answer is delivered: each call aborts the one before, and
 * a call whose answer arrives after a newer call started rejects instead of
 * resolving. Superseded calls reject with an `AbortError` `DOMException`
 * (check `error.name === "AbortError"` and ignore it).
 *
 * ```ts
 * const cutLines = latestOnly(runtime.maskManipulation.computeCutLines);
 * mask.onChange(async (m) => {
 *   try { show(await cutLines(m)); }
 *   catch (e) { if ((e as Error).name !== "AbortError") alert((e as Error).message); }
 * });
 * ```
 */
export function latestOnly<A extends unknown[], R>(
  method: (...args: [...A, CallOptions?]) => Promise<R>,
): LatestOnly<A, R> {
  let current: AbortController | undefined;
  const call = async (...args: A): Promise<R> => {
    current?.abort();
    const controller = new AbortController();
    current = controller;
    try {
      const answer = await method(...args, { signal: controller.signal });
      // A newer call started while this answer was on its way.
      controller.signal.throwIfAborted();
      return answer;
    } finally {
      if (current === controller) current = undefined;
    }
  };
  return Object.assign(call, {
    cancel(): void {
      current?.abort();
      current = undefined;
    },
  });
}

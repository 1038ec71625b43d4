/**
 * `mung-runtime-client`: MuNG Studio's Python runtime API (`mungValidation`,
 * `maskManipulation`, `backgroundImageToolsApi`) answered by a
 * `mung-runtime serve` server over HTTP. No runtime dependencies; works in
 * browsers and in Node 20+.
 *
 * ```ts
 * import { createRuntime } from "mung-runtime-client";
 * const runtime = createRuntime({ baseUrl: "http://127.0.0.1:8080", token });
 * const issues = await runtime.mungValidation.runValidation(xml);
 * ```
 *
 * @module
 */

export { createRuntime, RGBA_MEDIA_TYPE, type RuntimeOptions } from "./runtime.js";
export { latestOnly, type LatestOnly } from "./latest.js";
export { MungRuntimeError, type Problem } from "./errors.js";
export type * from "./types.js";

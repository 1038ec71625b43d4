/**
 * The error every failed call rejects with (except aborts, which reject with
 * the signal's reason).
 *
 * @module
 */

/**
 * An RFC 9457 problem, as `mung-runtime serve` answers every error
 * (`application/problem+json`), with its extension members.
 */
export interface Problem {
  /** A URI naming the kind of problem; its last segment is a slug, e.g. `.../not-applicable`. */
  type: string;
  title: string;
  status: number;
  detail: string;
  /**
   * The bare message of an error caused by the input: the Python exception's
   * message, what MuNG Studio shows in its red alert.
   */
  message?: string;
  [extension: string]: unknown;
}

/**
 * A call that failed: its `message` is the message MuNG Studio would show
 * (the Python exception's message, when there is one); the server's problem
 * details are in {@link problem}.
 */
export class MungRuntimeError extends Error {
  override name = "MungRuntimeError";
  /** The HTTP status, or 0 when the server could not be reached. */
  readonly status: number;
  /** The server's problem details, when it answered with them. */
  readonly problem: Problem | undefined;

  constructor(message: string, status: number, problem?: Problem, options?: { cause?: unknown }) {
    super(message, options);
    this.status = status;
    this.problem = problem;
  }

  /** The problem type's slug (e.g. `unauthorized`, `overloaded`, `python-error`), if any. */
  get kind(): string | undefined {
    return this.problem?.type.split("/").pop();
  }
}

/** The error for an answer that is not 2xx. */
export async function errorFromResponse(response: Response): Promise<MungRuntimeError> {
  const media = response.headers.get("content-type") ?? "";
  const text = await response.text().catch(() => "");
  if (media.startsWith("application/problem+json") || media.startsWith("application/json")) {
    try {
      const problem = JSON.parse(text) as Problem;
      if (problem !== null && typeof problem === "object") {
        const message =
          (typeof problem.message === "string" && problem.message) ||
          (typeof problem.detail === "string" && problem.detail) ||
          `${response.status} ${problem.title ?? response.statusText}`;
        return new MungRuntimeError(message, response.status, problem);
      }
    } catch {
      // Not JSON after all: report the text below.
    }
  }
  const snippet = text.trim().slice(0, 500);
  return new MungRuntimeError(
    `the server answered ${response.status} ${response.statusText}${snippet ? `: ${snippet}` : ""}`,
    response.status,
  );
}

/** The error for an answer that has a 2xx status but not the expected body. */
export function unexpectedAnswer(what: string): MungRuntimeError {
  return new MungRuntimeError(
    `unexpected answer from the server (${what}); is baseUrl a mung-runtime server of a matching version?`,
    0,
  );
}

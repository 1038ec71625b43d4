// How calls fail: bearer tokens (401), aborts, stale answers, a busy server
// (503 + Retry-After, retried a bounded number of times) and an unreachable
// one; each against a real `mung-runtime serve` on 127.0.0.1.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";

import { createRuntime, latestOnly, MungRuntimeError } from "../dist/index.js";
import { REPO } from "./support/env.js";
import { startServer, tempDir, tokenFile } from "./support/server.js";

const SMALL = readFileSync(join(REPO, "tests/fixtures/small.xml"), "utf8");
const TOKENS = ["correct-horse-battery-staple-1", "a-second-token-for-the-tests"];

/** A `fetch` that records every answer's status and time. */
function recordingFetch() {
  const log = [];
  const wrapped = async (url, init) => {
    log.push({ at: performance.now(), status: "sent" });
    const response = await fetch(url, init);
    log.push({ at: performance.now(), status: response.status });
    return response;
  };
  return { fetch: wrapped, log };
}

async function rejection(promise) {
  return promise.then(
    (v) => assert.fail(`resolved with ${JSON.stringify(v)}`),
    (e) => e,
  );
}

describe("bearer tokens", () => {
  let server;
  let tmp;
  before(async () => {
    tmp = tempDir();
    server = await startServer(["--token-file", tokenFile(tmp.path, TOKENS)]);
  });
  after(async () => {
    await server?.stop();
    tmp?.cleanup();
  });

  test("a missing or wrong token is refused with 401; a listed one is let in", async () => {
    for (const token of [undefined, "not-the-right-token-at-all"]) {
      const runtime = createRuntime({ baseUrl: server.base, token });
      const error = await rejection(runtime.mungValidation.runValidation(SMALL));
      assert.ok(error instanceof MungRuntimeError, String(error));
      assert.equal(error.status, 401);
      assert.equal(error.kind, "unauthorized");
      assert.equal(error.problem.status, 401);
    }
    for (const token of TOKENS) {
      const runtime = createRuntime({ baseUrl: server.base, token });
      assert.ok((await runtime.mungValidation.runValidation(SMALL)).length > 0);
    }
  });
});

describe("aborts, stale answers, busy and unreachable servers", () => {
  let server;
  before(async () => {
    // One sandbox and no queue: a second call at the same time is answered 503.
    server = await startServer(["--jobs", "1", "--queue", "0", "--allow-execute"]);
  });
  after(() => server?.stop());

  test("a call aborted before it starts sends nothing; one aborted in flight rejects at once", async () => {
    const { fetch, log } = recordingFetch();
    const runtime = createRuntime({ baseUrl: server.base, fetch });
    const ahead = new AbortController();
    ahead.abort();
    const early = await rejection(runtime.mungValidation.runValidation(SMALL, { signal: ahead.signal }));
    assert.equal(early.name, "AbortError");
    assert.equal(log.length, 0, "nothing was sent");

    const during = new AbortController();
    const started = performance.now();
    const call = runtime.execute("import time; time.sleep(2); 'late'", {}, { signal: during.signal });
    setTimeout(() => during.abort(), 300);
    const error = await rejection(call);
    assert.equal(error.name, "AbortError");
    assert.ok(performance.now() - started < 1500, "rejected long before the script's 2 s");
    // The sandbox is busy until the aborted script ends; the retry waits for it.
    const next = await createRuntime({ baseUrl: server.base, retries: 5 }).execute("6 * 7");
    assert.equal(next.value, 42);
  });

  test("latestOnly drops an answer that arrives after a newer call started", async () => {
    const runtime = createRuntime({ baseUrl: server.base, retries: 5 });
    const run = latestOnly(runtime.execute);
    const old = run("import time; time.sleep(0.5); 'old'");
    await new Promise((r) => setTimeout(r, 100));
    const fresh = run("'new'");
    const [a, b] = await Promise.allSettled([old, fresh]);
    assert.equal(a.status, "rejected");
    assert.equal(a.reason.name, "AbortError");
    assert.equal(b.status, "fulfilled");
    assert.equal(b.value.value, "new");
  });

  test("503 with Retry-After is retried after its delay, a bounded number of times", async () => {
    const sleepy = (n) => `import time; time.sleep(0.4); ${n}`;
    const { fetch, log } = recordingFetch();
    const patient = createRuntime({ baseUrl: server.base, fetch, retries: 6 });
    const values = await Promise.all([1, 2, 3].map((n) => patient.execute(sleepy(n))));
    assert.deepEqual(values.map((v) => v.value), [1, 2, 3]);
    const busy = log.filter((e) => e.status === 503).length;
    assert.ok(busy >= 2, `${busy} answers were 503`);
    // Each retry waited for Retry-After (1 s) after its 503.
    const sent = log.filter((e) => e.status === "sent").map((e) => e.at);
    for (const answer of log.filter((e) => e.status === 503)) {
      const retry = sent.find((at) => at > answer.at);
      assert.ok(retry === undefined || retry - answer.at >= 900, `retried ${retry - answer.at} ms after a 503`);
    }

    const { fetch: counted, log: once } = recordingFetch();
    const impatient = createRuntime({ baseUrl: server.base, fetch: counted, retries: 1 });
    const outcomes = await Promise.allSettled([1, 2, 3].map((n) => impatient.execute(sleepy(n))));
    const refused = outcomes.filter((o) => o.status === "rejected").map((o) => o.reason);
    assert.ok(refused.length >= 1, "with one retry, three calls on one sandbox cannot all pass");
    for (const error of refused) {
      assert.ok(error instanceof MungRuntimeError, String(error));
      assert.equal(error.status, 503);
      assert.equal(error.kind, "overloaded");
    }
    assert.ok(once.filter((e) => e.status === "sent").length <= 6, "at most 2 tries per call");
  });

  test("an unreachable server rejects with status 0 and says what to check", async () => {
    const port = await new Promise((resolve) => {
      const probe = createServer().listen(0, "127.0.0.1", () => {
        const { port } = probe.address();
        probe.close(() => resolve(port));
      });
    });
    const runtime = createRuntime({ baseUrl: `http://127.0.0.1:${port}` });
    const error = await rejection(runtime.mungValidation.runValidation(SMALL));
    assert.ok(error instanceof MungRuntimeError);
    assert.equal(error.status, 0);
    assert.match(error.message, /cannot reach the mung-runtime server at http:\/\/127\.0\.0\.1:\d+/);
    assert.match(error.message, /--cors-origin/);
  });
});

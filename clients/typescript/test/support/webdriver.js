// Headless Chromium through chromedriver's W3C WebDriver HTTP API, with
// plain fetch; and a static file server for the test page. Everything
// listens on 127.0.0.1 only, and the browser gets a fresh profile.

import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { createServer } from "node:http";
import { createServer as createNetServer } from "node:net";
import { tmpdir } from "node:os";
import { extname, join, normalize, sep } from "node:path";

import { browserTools } from "./env.js";

/** A free loopback port (chromedriver has no `--port=0`). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const probe = createNetServer().listen(0, "127.0.0.1", () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
    probe.on("error", reject);
  });
}

const TYPES = { ".html": "text/html", ".js": "text/javascript", ".json": "application/json", ".map": "application/json" };

/**
 * Serves files under `roots` (`{ "/prefix/": directory }`) and `extra`
 * (`{ "/path": [type, body] }`, read at each request, so entries may be
 * added later) on 127.0.0.1: `{ origin, close() }`.
 */
export async function staticServer(roots, extra = {}) {
  const server = createServer((request, response) => {
    const path = decodeURIComponent(new URL(request.url, "http://x").pathname);
    if (extra[path]) {
      const [type, body] = extra[path];
      response.writeHead(200, { "content-type": type, "cache-control": "no-store" }).end(body);
      return;
    }
    for (const [prefix, dir] of Object.entries(roots)) {
      if (!path.startsWith(prefix)) continue;
      const file = normalize(join(dir, path.slice(prefix.length)));
      if (!file.startsWith(dir + sep)) break;
      try {
        if (!statSync(file).isFile()) break;
        const type = TYPES[extname(file)] ?? "application/octet-stream";
        response.writeHead(200, { "content-type": type, "cache-control": "no-store" }).end(readFileSync(file));
        return;
      } catch {
        break;
      }
    }
    response.writeHead(404, { "content-type": "text/plain" }).end("not found");
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    origin: `http://127.0.0.1:${server.address().port}`,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

/** chromedriver on a free loopback port, ready: `{ base, stop() }`. */
export async function startDriver() {
  const { chromedriver } = browserTools();
  let last = "";
  // The port is free when picked; should something take it first, try another.
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const child = spawn(chromedriver, [`--port=${port}`], { stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (t) => (output += t));
    child.stderr.on("data", (t) => (output += t));
    const base = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline && child.exitCode === null) {
      const ready = await fetch(`${base}/status`)
        .then((r) => r.json())
        .then((v) => v.value?.ready === true)
        .catch(() => false);
      if (ready) {
        const exited = new Promise((resolve) => child.on("exit", resolve));
        return {
          base,
          async stop() {
            if (child.exitCode !== null) return;
            child.kill("SIGTERM");
            await exited;
          },
        };
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    child.kill("SIGKILL");
    last = `chromedriver on port ${port}: ${output}`;
  }
  throw new Error(`chromedriver did not become ready: ${last}`);
}

/** A WebDriver session in headless Chromium with a fresh profile; `close()` ends it. */
export async function openSession(driver) {
  const { chromium } = browserTools();
  const profile = mkdtempSync(join(tmpdir(), "mung-runtime-client-chromium-"));
  const call = async (method, path, body) => {
    const response = await fetch(driver.base + path, {
      method,
      headers: { "content-type": "application/json" },
      body: method === "POST" ? JSON.stringify(body ?? {}) : undefined,
    });
    const answer = await response.json();
    if (!response.ok) {
      throw new Error(`${method} ${path}: ${response.status} ${answer.value?.error}: ${answer.value?.message}`);
    }
    return answer.value;
  };
  const created = await call("POST", "/session", {
    capabilities: {
      alwaysMatch: {
        browserName: "chrome",
        "goog:loggingPrefs": { browser: "ALL" },
        "goog:chromeOptions": {
          binary: chromium,
          args: [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--window-size=1200,900",
            `--user-data-dir=${profile}`,
          ],
        },
      },
    },
  });
  const session = `/session/${created.sessionId}`;
  await call("POST", `${session}/timeouts`, { script: 300_000, pageLoad: 60_000, implicit: 0 });
  return {
    navigate: (url) => call("POST", `${session}/url`, { url }),
    /** Runs `script` with `done` as its callback argument (after `args`) and resolves with what it passes. */
    executeAsync: (script, args = []) => call("POST", `${session}/execute/async`, { script, args }),
    execute: (script, args = []) => call("POST", `${session}/execute/sync`, { script, args }),
    /** The page as a PNG. */
    screenshot: async () => Buffer.from(await call("GET", `${session}/screenshot`), "base64"),
    /** The browser console's entries since the last call (chromedriver's log extension). */
    browserLog: () => call("POST", `${session}/se/log`, { type: "browser" }),
    async close() {
      await call("DELETE", session).catch(() => {});
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

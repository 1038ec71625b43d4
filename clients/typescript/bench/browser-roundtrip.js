#!/usr/bin/env node
// Browser-side round trip of otsuBinarizeRegion on a 500×500 region of a real
// page, in headless Chromium on a second loopback origin: through the client
// (raw RGBA both ways) and through PNG (multipart PNG in, PNG out, decoded in
// the page). Prints one JSON object: p50/p99 of each, in milliseconds, and,
// as the baseline measured in the same run, the same raw call from Node
// through the client (no browser), against the same server.
//
//   node bench/browser-roundtrip.js [--requests 200] [--max-seconds 60] [--binary PATH]
//
// Bounded in requests and seconds; everything listens on 127.0.0.1 only.
// Needs the built client (npm run build), Chromium and chromedriver, the
// shared data, and a built mung-runtime (--binary, $MUNG_RUNTIME_BIN, or
// target/release/mung-runtime).

import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";

import { createRuntime } from "../dist/index.js";
import { data, PACKAGE, SANDBOX_PAGE } from "../test/support/env.js";
import { crop, readPng } from "../test/support/png.js";
import { startServer } from "../test/support/server.js";
import { openSession, startDriver, staticServer } from "../test/support/webdriver.js";

const REGION = [90, 180, 500, 500];
const GOAL_P50_MS = 30;
/** Round trips a way per chunk, between the Node baseline's chunks. */
const CHUNK = 10;

function stats(ms) {
  const sorted = [...ms].sort((x, y) => x - y);
  const at = (p) => sorted[Math.round((sorted.length - 1) * p)];
  return { n: sorted.length, p50: at(0.5), p99: at(0.99), min: sorted[0], max: sorted.at(-1) };
}

const { values } = parseArgs({
  options: {
    requests: { type: "string", default: "200" },
    "max-seconds": { type: "string", default: "60" },
    binary: { type: "string" },
  },
});
if (values.binary) process.env.MUNG_RUNTIME_BIN = values.binary;
const requests = Number(values.requests);
const maxSeconds = Number(values["max-seconds"]);
if (!(requests > 0 && maxSeconds > 0)) throw new Error("--requests and --max-seconds must be positive numbers");
if (!existsSync(join(PACKAGE, "dist/index.js"))) throw new Error("the client is not built: run `npm run build` first");

const region = crop(readPng(join(data(), `${SANDBOX_PAGE}.png`)), REGION);
const cleanup = [];
try {
  const files = {
    "/": ["text/html", readFileSync(join(PACKAGE, "bench/index.html"))],
    "/page.js": ["text/javascript", readFileSync(join(PACKAGE, "bench/page.js"))],
  };
  const page = await staticServer({ "/dist/": join(PACKAGE, "dist") }, files);
  cleanup.push(() => page.close());
  const server = await startServer(["--jobs", "1", "-q", "--cors-origin", page.origin]);
  cleanup.push(() => server.stop());
  // The page's settings, now that the server's address is known.
  const settings = {
    server: server.base,
    width: region.width,
    height: region.height,
    rgba: Buffer.from(region.data).toString("base64"),
  };
  files["/bench.json"] = ["application/json", JSON.stringify(settings)];
  const driver = await startDriver();
  cleanup.push(() => driver.stop());
  const session = await openSession(driver);
  cleanup.push(() => session.close());
  await session.navigate(`${page.origin}/`);
  const ready = await session.executeAsync("window.finished.then(arguments[arguments.length - 1]);");
  if (ready.error) throw new Error(`the bench page failed: ${ready.error}`);
  // Chunks of round trips in the page, each followed by as many raw calls
  // from Node through the client (the baseline, same server, same run).
  const runtime = createRuntime({ baseUrl: server.base, retries: 0 });
  const times = { raw: [], png: [], node: [] };
  const deadline = performance.now() + maxSeconds * 1000;
  while (times.raw.length < requests && performance.now() < deadline) {
    const pairs = Math.min(CHUNK, requests - times.raw.length);
    const chunk = await session.executeAsync("window.chunk(arguments[0]).then(arguments[1]);", [pairs]);
    times.raw.push(...chunk.raw);
    times.png.push(...chunk.png);
    for (let i = 0; i < pairs; i++) {
      const t = performance.now();
      await runtime.backgroundImageToolsApi.otsuBinarizeRegion(region);
      times.node.push(performance.now() - t);
    }
  }
  const [raw, png, node] = [stats(times.raw), stats(times.png), stats(times.node)];
  const round = (s) => Object.fromEntries(Object.entries(s).map(([k, v]) => [k, k === "n" ? v : Math.round(v * 100) / 100]));
  console.log(JSON.stringify({
    region: `${region.width}x${region.height}`,
    ink_pixels: ready.inkPixels,
    raw_rgba_ms: round(raw),
    png_ms: round(png),
    node_raw_rgba_ms: round(node),
    png_over_raw_p50: Math.round((png.p50 / raw.p50) * 100) / 100,
    browser_over_node_p50: Math.round((raw.p50 / node.p50) * 100) / 100,
    goal_p50_ms: GOAL_P50_MS,
    met: raw.p50 <= GOAL_P50_MS,
  }));
} finally {
  for (const step of cleanup.reverse()) await step().catch(() => {});
}

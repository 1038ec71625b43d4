// Cross-origin in headless Chromium: a page served from a second loopback
// origin loads the built client and calls MuNG Studio's 8 runtime methods
// against `mung-runtime serve` on the first (started with `--cors-origin` set
// to the page's origin, and a bearer token); each result's digest in the page
// equals the digest of what the CLI answers for the same input. The same
// page against a server without that origin fails every call with a CORS
// error. Screenshots: target/browser/client-cross-origin*.png.

import assert from "node:assert/strict";
import { webcrypto } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";

import { digest as digestIn, maskOf, normalised } from "./support/canonical.js";
import { data, needsBrowser, PACKAGE, REPO, SANDBOX_PAGE } from "./support/env.js";
import { cliCutLines, cliNodeTools, cliRegionMask, cliSeparate, cliValidate } from "./support/oracle.js";
import { crop, readPng } from "./support/png.js";
import { startServer, tempDir, tokenFile } from "./support/server.js";
import { openSession, startDriver, staticServer } from "./support/webdriver.js";

const REGION = [90, 180, 420, 110];
const TOKEN = "cross-origin-test-token-0123456789";
const SHOTS = join(REPO, "target/browser");

/** The digest the page computes, computed here. */
const digest = (value) => digestIn(value, webcrypto.subtle);

/** Runs the page against `server` and returns its rows once every call settled. */
async function runPage(session, page, server, token) {
  const query = new URLSearchParams({ server, ...(token ? { token } : {}) });
  await session.navigate(`${page}/?${query}`);
  const outcome = await session.executeAsync(`
    const done = arguments[arguments.length - 1];
    window.finished.then((result) => done({
      result,
      rows: Array.from(document.querySelectorAll("tr[data-step]"), (tr) => ({ ...tr.dataset })),
    }));`);
  assert.equal(outcome.result.error, undefined, `the page failed: ${outcome.result.error}`);
  return outcome;
}

describe("the client in a page on another origin", needsBrowser, () => {
  let tmp;
  let page;
  let allowed;
  let refused;
  let driver;
  let session;
  let expected;

  before(async () => {
    tmp = tempDir();
    const pagePng = join(data(), `${SANDBOX_PAGE}.png`);
    const xml = readFileSync(join(data(), `${SANDBOX_PAGE}.jpg.xml`), "utf8");
    const region = crop(readPng(pagePng), REGION);
    const nodes = await cliNodeTools(`${SANDBOX_PAGE}.jpg.xml`);

    // What the CLI answers for the inputs the page sends.
    const [validated] = await cliValidate([join(data(), `${SANDBOX_PAGE}.jpg.xml`)]);
    const binarized = await cliRegionMask("binarize", pagePng, REGION, join(tmp.path, "binarize.png"));
    const linesPng = join(tmp.path, "lines.png");
    const lines = await cliRegionMask("stafflines", pagePng, REGION, linesPng);
    const cuts = await cliCutLines(linesPng);
    const bands = await cliSeparate(linesPng, cuts.json, REGION[0], REGION[1], tmp.path);
    expected = {
      runValidation: await digest(validated.issues),
      otsuBinarizeRegion: await digest(maskOf(binarized)),
      detectStafflines: await digest(maskOf(lines)),
      computeCutLines: await digest(cuts.lines),
      separateLines: await digest(bands.map((b) => [b.left, b.top, b.width, b.height, maskOf(b)])),
      generateStaffFromStafflines: await digest(normalised(nodes.staff.output)),
      generateStaffspaces: await digest(nodes.staffspaces.output.map(normalised)),
      snapNodesToStaves: await digest(nodes.snap.output.map(normalised)),
    };

    const fixtures = {
      xml,
      region: { xywh: REGION, width: region.width, height: region.height, rgba: Buffer.from(region.data).toString("base64") },
      staff: nodes.staff.input,
      staffspaces: nodes.staffspaces.input,
      snap: nodes.snap.input,
    };
    page = await staticServer(
      { "/dist/": join(PACKAGE, "dist") },
      {
        "/": ["text/html", readFileSync(join(PACKAGE, "test/browser/index.html"))],
        "/page.js": ["text/javascript", readFileSync(join(PACKAGE, "test/browser/page.js"))],
        "/support/canonical.js": ["text/javascript", readFileSync(join(PACKAGE, "test/support/canonical.js"))],
        "/fixtures.json": ["application/json", JSON.stringify(fixtures)],
      },
    );
    allowed = await startServer(["--cors-origin", page.origin, "--token-file", tokenFile(tmp.path, [TOKEN])]);
    refused = await startServer([]);
    assert.notEqual(new URL(allowed.base).port, new URL(page.origin).port, "two origins");
    driver = await startDriver();
    session = await openSession(driver);
    mkdirSync(SHOTS, { recursive: true });
  });

  after(async () => {
    await session?.close();
    await driver?.stop();
    await allowed?.stop();
    await refused?.stop();
    await page?.close();
    tmp?.cleanup();
  });

  test("all 8 methods answer what the CLI answers, through CORS and a bearer token", async () => {
    const { result, rows } = await runPage(session, page.origin, allowed.base, TOKEN);
    writeFileSync(join(SHOTS, "client-cross-origin.png"), await session.screenshot());
    assert.equal(result.passed, 8, JSON.stringify(rows.filter((r) => r.status !== "ok"), null, 1));
    assert.deepEqual(rows.map((r) => r.step), Object.keys(expected));
    for (const row of rows) {
      assert.equal(row.digest, expected[row.step], `${row.step}: the page's result differs from the CLI's`);
    }
    const types = Object.fromEntries(rows.map((r) => [r.step, r.type]));
    assert.deepEqual(types, {
      runValidation: "Array",
      otsuBinarizeRegion: "ImageData",
      detectStafflines: "ImageData",
      computeCutLines: "DOMPoint",
      separateLines: "ImageData",
      generateStaffFromStafflines: "ImageData",
      generateStaffspaces: "ImageData",
      snapNodesToStaves: "Array",
    });
    await session.browserLog(); // start the next test's log afresh
  });

  test("the same page against a server without its origin fails with a CORS error", async () => {
    const { result, rows } = await runPage(session, page.origin, refused.base);
    writeFileSync(join(SHOTS, "client-cross-origin-refused.png"), await session.screenshot());
    assert.equal(result.passed, 0);
    assert.ok(result.reachable, "the server answers the page (an opaque no-cors request went through)");
    assert.equal(rows.length, 8);
    for (const row of rows) {
      assert.equal(row.status, "error", row.step);
      assert.equal(row.errorName, "MungRuntimeError", row.step);
      assert.equal(row.errorStatus, "0", row.step);
      assert.equal(row.errorCause, "TypeError: Failed to fetch", row.step);
      assert.match(row.errorMessage, /--cors-origin/, row.step);
    }
    // Chromium names the reason in its console.
    const log = (await session.browserLog()).map((e) => e.message).join("\n");
    const cors = log.split("\n").filter((l) => l.includes(refused.base) && l.includes("blocked by CORS policy"));
    assert.ok(cors.length >= 8, `CORS refusals in the console:\n${log}`);
    assert.match(cors[0], /No 'Access-Control-Allow-Origin' header/);
  });
});

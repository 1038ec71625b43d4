// The 8 methods of MuNG Studio's runtime, plus validateBatch and execute,
// against a real `mung-runtime serve` on 127.0.0.1: every answer equals what
// the CLI gives for the same input (issues as the same JSON text, masks pixel
// for pixel, cut lines and bands exactly, nodes field for field).

import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";

import { createRuntime, latestOnly, MungRuntimeError } from "../dist/index.js";
import { data, needsData, REPO, SANDBOX_PAGE } from "./support/env.js";
import { normalised, referenceNode, rgbaMaskBits, studioNode } from "./support/canonical.js";
import {
  cliCutLines,
  cliCutLinesFailure,
  cliNodeTools,
  cliRegionMask,
  cliSeparate,
  cliValidate,
  storedZip,
} from "./support/oracle.js";
import { crop, greyPng, readPng } from "./support/png.js";
import { startServer, tempDir } from "./support/server.js";

const FIXTURES = join(REPO, "tests/fixtures");

/** Real documents of the shared data (relative to it). */
const DOCUMENTS = [
  "mung-samples/test_data/01_basic.xml",
  "mung-samples/test_data/01_basic_binary_2.0.xml",
  `${SANDBOX_PAGE}.jpg.xml`,
  "mung-samples/mung2midi-sample/CVC-MUSCIMA_W-01_N-10_D-ideal.xml",
];

/** Page regions `[x, y, w, h]` of real page images: RGB, RGBA and 1-bit grey pages. */
const REGIONS = [
  [`${SANDBOX_PAGE}.png`, [90, 180, 420, 110]],
  [`${SANDBOX_PAGE}.png`, [90, 180, 500, 500]],
  ["mung-samples/test_data/01_basic.png", [0, 0, 416, 334]],
  ["mung-samples/test_data/CVC-MUSCIMA_W-01_N-10_D-ideal.png", [200, 300, 700, 400]],
];

let server;
let runtime;
let tmp;

before(async () => {
  server = await startServer(["--jobs", "2", "--allow-execute"]);
  runtime = createRuntime({ baseUrl: server.base });
  tmp = tempDir();
});

after(async () => {
  await server?.stop();
  tmp?.cleanup();
});

/** Same bits, reported as the first differing pixel rather than a huge diff. */
function assertSameMask(got, want, what) {
  assert.equal(`${got.width}×${got.height}`, `${want.width}×${want.height}`, `${what}: size`);
  const diff = got.bits.findIndex((b, i) => b !== want.bits[i]);
  assert.equal(diff, -1, `${what}: first different pixel at (${diff % want.width}, ${Math.floor(diff / want.width)})`);
}

describe("mungValidation.runValidation", () => {
  test("answers the issues `validate --format json` prints for the fixtures", async () => {
    const files = ["small.xml", "small-fixable.xml"].map((f) => join(FIXTURES, f));
    const expected = await cliValidate(files);
    for (const [i, file] of files.entries()) {
      const issues = await runtime.mungValidation.runValidation(readFileSync(file, "utf8"));
      assert.ok(issues.length > 0, file);
      assert.equal(JSON.stringify(issues), JSON.stringify(expected[i].issues), file);
    }
  });

  test("answers the issues `validate --format json` prints for real documents", needsData, async () => {
    const files = DOCUMENTS.map((d) => join(data(), d));
    const expected = await cliValidate(files);
    for (const [i, file] of files.entries()) {
      const issues = await runtime.mungValidation.runValidation(readFileSync(file, "utf8"));
      assert.ok(Array.isArray(expected[i].issues), `${file}: ${JSON.stringify(expected[i]).slice(0, 300)}`);
      assert.equal(JSON.stringify(issues), JSON.stringify(expected[i].issues), file);
    }
  });

  test("an unreadable document rejects with the message the CLI prints for it", async () => {
    const bad = join(tmp.path, "bad.xml");
    writeFileSync(bad, "<Nodes><Node><Id>1</Id>");
    const [printed] = await cliValidate([bad]);
    const error = await runtime.mungValidation.runValidation("<Nodes><Node><Id>1</Id>").then(
      () => assert.fail("no error"),
      (e) => e,
    );
    assert.ok(error instanceof MungRuntimeError && error instanceof Error);
    assert.equal(error.message, printed.error.message);
    assert.equal(error.status, 422);
    assert.equal(error.problem.status, 422);
    assert.equal(typeof error.problem.detail, "string");
  });
});

describe("backgroundImageToolsApi", () => {
  for (const tool of ["binarize", "stafflines"]) {
    const method = tool === "binarize" ? "otsuBinarizeRegion" : "detectStafflines";
    test(`${method} answers the mask of \`extract ${tool}\`, pixel for pixel`, needsData, async () => {
      for (const [page, region] of REGIONS) {
        const image = readPng(join(data(), page));
        const mask = await runtime.backgroundImageToolsApi[method](crop(image, region));
        const want = await cliRegionMask(tool, join(data(), page), region, join(tmp.path, `${tool}.png`));
        assert.ok(want.bits.includes(1), `${page} ${region}: the CLI found ink`);
        assertSameMask(rgbaMaskBits(mask), want, `${method} ${page} ${region}`);
      }
    });
  }
});

describe("maskManipulation", () => {
  test("computeCutLines and separateLines answer the cut lines and bands of the CLI", needsData, async () => {
    const page = join(data(), `${SANDBOX_PAGE}.png`);
    for (const region of [[90, 180, 420, 110], [90, 180, 500, 500]]) {
      const lines = await runtime.backgroundImageToolsApi.detectStafflines(crop(readPng(page), region));
      const linesPng = join(tmp.path, "lines.png");
      await cliRegionMask("stafflines", page, region, linesPng);

      const cuts = await runtime.maskManipulation.computeCutLines(lines);
      const want = await cliCutLines(linesPng);
      assert.ok(want.lines.length >= 4, `${region}: ${want.lines.length} cut lines`);
      for (const point of cuts.flat()) {
        assert.deepEqual(Object.keys(point).sort(), ["w", "x", "y", "z"], "DOMPoint-shaped");
      }
      assert.equal(JSON.stringify(cuts.map((l) => l.map((p) => [p.x, p.y]))) + "\n", want.json);

      const [left, top] = region;
      const bands = await runtime.maskManipulation.separateLines(left, top, lines, cuts);
      const wantBands = await cliSeparate(linesPng, want.json, left, top, tmp.path);
      assert.equal(bands.length, cuts.length + 1);
      assert.equal(bands.length, wantBands.length);
      for (const [i, [l, t, w, h, image]] of bands.entries()) {
        const b = wantBands[i];
        assert.deepEqual([l, t, w, h], [b.left, b.top, b.width, b.height], `band ${i}`);
        assertSameMask(rgbaMaskBits(image), b, `band ${i}`);
      }
    }
  });

  test("the node tools answer what `mstudio` answers in `mung-runtime exec`", needsData, async () => {
    const want = await cliNodeTools(`${SANDBOX_PAGE}.jpg.xml`);
    const staff = await runtime.maskManipulation.generateStaffFromStafflines(want.staff.input.map(studioNode));
    assert.deepEqual(referenceNode(staff), normalised(want.staff.output));
    assert.equal(staff.className, "staff");
    assert.ok(staff.decodedMask.width > 1000, "a real staff mask");

    const spaces = await runtime.maskManipulation.generateStaffspaces(want.staffspaces.input.map(studioNode));
    assert.equal(spaces.length, 6);
    assert.deepEqual(spaces.map(referenceNode), want.staffspaces.output.map(normalised));

    const snapped = await runtime.maskManipulation.snapNodesToStaves(want.snap.input.map(studioNode));
    assert.equal(snapped.length, want.snap.input.length);
    assert.deepEqual(snapped.map(referenceNode), want.snap.output.map(normalised));
    const added = snapped.filter((n, i) => n.syntaxOutlinks.length > want.snap.input[i].outlinks.length);
    assert.ok(added.length >= 26, `${added.length} nodes got links (26 noteheads at least)`);
  });

  test("the node tools also take MuNG Studio's marshalled nodes", needsData, async () => {
    const want = await cliNodeTools(`${SANDBOX_PAGE}.jpg.xml`);
    const marshalled = want.staff.input.map((n) => {
      const s = studioNode(n);
      return {
        id: s.id,
        className: s.className,
        top: s.top,
        left: s.left,
        width: s.width,
        height: s.height,
        outlinks: s.syntaxOutlinks,
        inlinks: s.syntaxInlinks,
        mask: s.decodedMask && [s.decodedMask.width, s.decodedMask.height, s.decodedMask.data],
        data: { precedence_outlinks: [], precedence_inlinks: [], text_transcription: null },
      };
    });
    const staff = await runtime.maskManipulation.generateStaffFromStafflines(marshalled);
    assert.deepEqual(referenceNode(staff), normalised(want.staff.output));
  });

  test("a mask without separate lines rejects with the message `extract cut-lines` prints", async () => {
    const empty = { width: 40, height: 30, data: new Uint8ClampedArray(40 * 30 * 4) };
    // The same mask as a PNG for the CLI: a black 40×30 grey image.
    const png = join(tmp.path, "empty.png");
    writeFileSync(png, greyPng(40, 30, new Uint8Array(40 * 30)));
    const cli = await cliCutLinesFailure(png);
    assert.equal(cli.code, 1, cli.message);
    const error = await runtime.maskManipulation.computeCutLines(empty).then(
      () => assert.fail("no error"),
      (e) => e,
    );
    assert.ok(error instanceof MungRuntimeError);
    assert.equal(error.message, cli.message);
    assert.equal(error.status, 422);
    assert.equal(error.problem.message, cli.message);
    // The next call works.
    const mask = await runtime.maskManipulation.computeCutLines(twoLines());
    assert.equal(mask.length, 1);
  });

  test("latestOnly delivers only the latest of overlapping calls", async () => {
    const cutLines = latestOnly(runtime.maskManipulation.computeCutLines);
    const masks = [twoLines(), twoLines(), twoLines(12)];
    const outcomes = await Promise.allSettled(masks.map((m) => cutLines(m)));
    assert.equal(outcomes[0].status, "rejected");
    assert.equal(outcomes[0].reason.name, "AbortError");
    assert.equal(outcomes[1].status, "rejected");
    assert.equal(outcomes[1].reason.name, "AbortError");
    assert.equal(outcomes[2].status, "fulfilled");
    // The lines at y = 4 and y = 12 are cut half-way: (4 + 12) / 2.
    assert.deepEqual(outcomes[2].value[0].map((p) => p.y), [8, 8, 8, 8]);
  });
});

describe("validateBatch", () => {
  test("yields each document's issues as `validate --format json` prints them", async () => {
    const files = ["small.xml", "small-fixable.xml"].map((f) => join(FIXTURES, f));
    const expected = await cliValidate(files);
    const documents = files.map((f, i) => ({ name: `doc-${i}.xml`, xml: readFileSync(f, "utf8") }));
    documents.push({ name: "broken.xml", xml: "<Nodes><Node>" });
    const seen = new Map();
    for await (const result of runtime.validateBatch(documents)) seen.set(result.file, result);
    assert.equal(seen.size, 3);
    for (const i of [0, 1]) {
      assert.equal(JSON.stringify(seen.get(`doc-${i}.xml`).issues), JSON.stringify(expected[i].issues));
    }
    assert.equal(seen.get("broken.xml").error.kind, "invalid-input");

    const zip = storedZip(files.map((f, i) => ({ name: `z/${i}.xml`, bytes: readFileSync(f) })));
    const fromZip = [];
    for await (const result of runtime.validateBatch(new Blob([zip]))) fromZip.push(result);
    fromZip.sort((a, b) => a.file.localeCompare(b.file));
    assert.deepEqual(fromZip.map((r) => r.file), ["z/0.xml", "z/1.xml"]);
    assert.equal(JSON.stringify(fromZip[1].issues), JSON.stringify(expected[1].issues));
  });

  test("stopping early ends the request, and the next call works", async () => {
    const xml = readFileSync(join(FIXTURES, "small.xml"), "utf8");
    const documents = Array.from({ length: 8 }, (_, i) => ({ name: `${i}.xml`, xml }));
    let count = 0;
    for await (const result of runtime.validateBatch(documents)) {
      assert.ok(result.issues.length > 0);
      if (++count === 2) break;
    }
    assert.equal(count, 2);
    assert.ok((await runtime.mungValidation.runValidation(xml)).length > 0);
  });
});

describe("execute", () => {
  test("returns the value and the output of a script", async () => {
    const done = await runtime.execute("print('hi'); x * 2", { x: 21 });
    assert.deepEqual(done, { value: 42, stdout: "hi\n", stderr: "", stdoutTruncated: false, stderrTruncated: false });
  });

  test("a Python exception rejects with the Python message", async () => {
    const error = await runtime.execute("raise ValueError('no staff here')").then(
      () => assert.fail("no error"),
      (e) => e,
    );
    assert.ok(error instanceof MungRuntimeError);
    assert.equal(error.message, "no staff here");
    assert.equal(error.status, 422);
    assert.equal(error.problem.error_type, "ValueError");
    assert.equal(error.kind, "python-error");
  });
});

/** A 31×20 mask (A = 255 where inside) with two horizontal lines, at rows 4 and `b`. */
function twoLines(b = 12) {
  const width = 31;
  const height = 20;
  const data = new Uint8ClampedArray(width * height * 4);
  for (const y of [4, b]) {
    for (let x = 0; x < width; x++) data[(y * width + x) * 4 + 3] = 255;
  }
  return { width, height, data };
}

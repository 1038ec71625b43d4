// The cross-origin test page: loads the built client, calls MuNG Studio's 8
// runtime methods against the server named in `?server=` (another origin),
// and writes each result's digest (see ../support/canonical.js) into the
// table, for the test to compare with the CLI's answers.

import { createRuntime } from "/dist/index.js";
import * as canon from "/support/canonical.js";

const params = new URLSearchParams(location.search);
const server = params.get("server");
const runtime = createRuntime({ baseUrl: server, token: params.get("token") ?? undefined, retries: 2 });
const fixtures = await (await fetch("/fixtures.json")).json();
document.querySelector("#origin").textContent = location.origin;
document.querySelector("#server").textContent = server;

const region = new ImageData(
  new Uint8ClampedArray(canon.fromBase64(fixtures.region.rgba)),
  fixtures.region.width,
  fixtures.region.height,
);
const [left, top] = fixtures.region.xywh;
show("region", region);

// Inputs of the later steps come from the earlier ones; when those failed
// (a refused origin), stand-ins keep every call going to the server.
const standIn = new ImageData(new Uint8ClampedArray(16 * 16 * 4), 16, 16);
let lines;
let cuts;

const steps = [
  ["runValidation", async () => {
    const issues = await runtime.mungValidation.runValidation(fixtures.xml);
    return [issues, "Array", `${issues.length} issues`];
  }],
  ["otsuBinarizeRegion", async () => {
    const mask = await runtime.backgroundImageToolsApi.otsuBinarizeRegion(region);
    show("binarize", mask);
    return [canon.imageMask(mask), mask.constructor.name, `${mask.width}×${mask.height} mask`];
  }],
  ["detectStafflines", async () => {
    lines = await runtime.backgroundImageToolsApi.detectStafflines(region);
    show("stafflines", lines);
    return [canon.imageMask(lines), lines.constructor.name, `${lines.width}×${lines.height} mask`];
  }],
  ["computeCutLines", async () => {
    cuts = await runtime.maskManipulation.computeCutLines(lines ?? standIn);
    drawCuts(cuts);
    return [canon.cutLines(cuts), cuts[0][0].constructor.name, `${cuts.length} cut lines`];
  }],
  ["separateLines", async () => {
    const bands = await runtime.maskManipulation.separateLines(left, top, lines ?? standIn, cuts ?? [[new DOMPoint(0, 8)]]);
    return [canon.bands(bands), bands[0][4].constructor.name, `${bands.length} bands`];
  }],
  ["generateStaffFromStafflines", async () => {
    const staff = await runtime.maskManipulation.generateStaffFromStafflines(fixtures.staff.map(canon.studioNode));
    return [canon.referenceNode(staff), staff.decodedMask.constructor.name, `${staff.className} ${staff.width}×${staff.height}`];
  }],
  ["generateStaffspaces", async () => {
    const spaces = await runtime.maskManipulation.generateStaffspaces(fixtures.staffspaces.map(canon.studioNode));
    return [spaces.map(canon.referenceNode), spaces[0].decodedMask.constructor.name, `${spaces.length} ${spaces[0].className}`];
  }],
  ["snapNodesToStaves", async () => {
    const input = fixtures.snap.map(canon.studioNode);
    const nodes = await runtime.maskManipulation.snapNodesToStaves(input);
    const added = nodes.reduce((sum, n, i) => sum + n.syntaxOutlinks.length - input[i].syntaxOutlinks.length, 0);
    return [nodes.map(canon.referenceNode), "Array", `${nodes.length} nodes, ${added} links added`];
  }],
];

// Whether the server answers this page at all, CORS aside (an opaque answer).
const reachable = await fetch(`${server}/healthz`, { mode: "no-cors" }).then(() => true, () => false);

let passed = 0;
for (const [name, step] of steps) {
  const row = document.querySelector("#results").insertRow();
  row.dataset.step = name;
  row.insertCell().textContent = name;
  const status = row.insertCell();
  status.className = "status";
  const result = row.insertCell();
  const time = row.insertCell();
  const started = performance.now();
  try {
    const [value, type, text] = await step();
    row.dataset.status = "ok";
    row.dataset.type = type;
    row.dataset.digest = await canon.digest(value);
    status.textContent = "ok";
    result.textContent = text;
    passed++;
  } catch (e) {
    row.dataset.status = "error";
    row.dataset.errorName = e.name;
    row.dataset.errorStatus = String(e.status);
    row.dataset.errorCause = e.cause ? `${e.cause.name}: ${e.cause.message}` : "";
    row.dataset.errorMessage = e.message;
    status.textContent = "error";
    result.textContent = e.message;
  }
  time.textContent = (performance.now() - started).toFixed(0);
}
document.querySelector("#summary").textContent = `${passed} of ${steps.length} calls answered`;
window.finish({ reachable, passed });

function show(id, image) {
  const canvas = document.querySelector(`#${id}`);
  canvas.width = image.width;
  canvas.height = image.height;
  canvas.getContext("2d").putImageData(image, 0, 0);
}

function drawCuts(polylines) {
  const g = document.querySelector("#stafflines").getContext("2d");
  g.strokeStyle = "#06c";
  for (const line of polylines) {
    g.beginPath();
    line.forEach((p, i) => (i ? g.lineTo(p.x, p.y) : g.moveTo(p.x, p.y)));
    g.stroke();
  }
}

// What the CLI answers for the inputs the client sends: the reference every
// client result is compared with.

import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

import { data, PACKAGE } from "./env.js";
import { crc32, pngMaskBits } from "./png.js";
import { cli } from "./server.js";

function check(out, what) {
  if (out.code !== 0) throw new Error(`${what} failed (${out.code}):\n${out.stderr}`);
  return out;
}

/** What `validate --format json FILES...` prints: `[{file, issues} | {file, error}]`, in order. */
export async function cliValidate(files) {
  const out = await cli(["validate", "--format", "json", ...files]);
  if (![0, 1, 2].includes(out.code)) throw new Error(`validate failed (${out.code}):\n${out.stderr}`);
  return JSON.parse(out.stdout.toString());
}

/** The mask bits `extract binarize|stafflines` writes for a page region; the PNG is kept at `png`. */
export async function cliRegionMask(tool, page, region, png) {
  check(await cli(["extract", tool, "--image", page, "--region", region.join(","), "-o", png]), `extract ${tool}`);
  return pngMaskBits(png);
}

/** The cut lines `extract cut-lines` prints for a mask PNG: `[[[x, y], ...], ...]`. */
export async function cliCutLines(maskPng) {
  const out = check(await cli(["extract", "cut-lines", "--mask", maskPng]), "extract cut-lines");
  return { json: out.stdout.toString(), lines: JSON.parse(out.stdout.toString()) };
}

/** `extract cut-lines` on a mask it refuses: its status and message. */
export async function cliCutLinesFailure(maskPng) {
  const out = await cli(["extract", "cut-lines", "--mask", maskPng]);
  return { code: out.code, message: out.stderr.trim().replace(/^mung-runtime: /, "") };
}

/** The bands `extract separate` writes: `[{left, top, width, height, bits}]`. */
export async function cliSeparate(maskPng, cutsJson, left, top, dir) {
  const cuts = join(dir, "cuts.json");
  writeFileSync(cuts, cutsJson);
  const out = join(dir, "bands");
  const args = ["extract", "separate", "--mask", maskPng, "--cuts", cuts, "--left", left, "--top", top, "-o", out];
  check(await cli(args.map(String)), "extract separate");
  const index = JSON.parse(readFileSync(join(out, "bands.json"), "utf8"));
  return index.map((b) => ({ ...b, ...pngMaskBits(join(out, b.file)) }));
}

/**
 * The node tools' inputs and answers on the sandbox page, from `mstudio` run
 * by `mung-runtime exec` (see node_tools.py): `{staff, staffspaces, snap}`,
 * each `{input, output}` in the server's node form (masks as base64 bits).
 */
export async function cliNodeTools(document) {
  const script = join(PACKAGE, "test/support/node_tools.py");
  const args = ["exec", "--allow-dir", `${data()}:/data:ro`, "--globals", JSON.stringify({ DOCUMENT: document }), script];
  return JSON.parse(check(await cli(args), "exec node_tools.py").stdout.toString());
}

/** A zip archive (stored, not compressed) of `[{name, bytes}]`. */
export function storedZip(files) {
  const parts = [];
  const central = [];
  let offset = 0;
  for (const { name, bytes } of files) {
    const fileName = Buffer.from(name);
    const crc = crc32(bytes);
    const head = Buffer.alloc(30);
    head.writeUInt32LE(0x04034b50, 0);
    head.writeUInt16LE(20, 4);
    head.writeUInt32LE(crc, 14);
    head.writeUInt32LE(bytes.length, 18);
    head.writeUInt32LE(bytes.length, 22);
    head.writeUInt16LE(fileName.length, 26);
    parts.push(head, fileName, bytes);
    const entry = Buffer.alloc(46);
    entry.writeUInt32LE(0x02014b50, 0);
    entry.writeUInt16LE(20, 4);
    entry.writeUInt16LE(20, 6);
    entry.writeUInt32LE(crc, 16);
    entry.writeUInt32LE(bytes.length, 20);
    entry.writeUInt32LE(bytes.length, 24);
    entry.writeUInt16LE(fileName.length, 28);
    entry.writeUInt32LE(offset, 42);
    central.push(entry, fileName);
    offset += head.length + fileName.length + bytes.length;
  }
  const directory = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(files.length, 8);
  end.writeUInt16LE(files.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...parts, directory, end]);
}

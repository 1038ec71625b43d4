// A small PNG reader for the tests (the pages of the shared data and the
// masks the CLI writes): 8-bit grey, grey + alpha, RGB, RGBA and 1-bit grey,
// not interlaced. Pixels come out as RGBA, the way a browser's canvas gives
// them (and the server's image decoder does).

import { readFileSync } from "node:fs";
import { deflateSync, inflateSync } from "node:zlib";

const SIGNATURE = Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]);
const CHANNELS = { 0: 1, 2: 3, 4: 2, 6: 4 };

/** `{ width, height, data }` (RGBA) of a PNG file or buffer. */
export function readPng(fileOrBytes) {
  const png = typeof fileOrBytes === "string" ? readFileSync(fileOrBytes) : fileOrBytes;
  if (!png.subarray(0, 8).equals(SIGNATURE)) throw new Error("not a PNG");
  let header;
  const idat = [];
  for (let at = 8; at < png.length; ) {
    const length = png.readUInt32BE(at);
    const type = png.toString("latin1", at + 4, at + 8);
    const body = png.subarray(at + 8, at + 8 + length);
    if (type === "IHDR") {
      header = {
        width: body.readUInt32BE(0),
        height: body.readUInt32BE(4),
        depth: body[8],
        colour: body[9],
        interlace: body[12],
      };
    } else if (type === "IDAT") {
      idat.push(body);
    } else if (type === "IEND") {
      break;
    }
    at += 12 + length;
  }
  const { width, height, depth, colour, interlace } = header;
  const channels = CHANNELS[colour];
  if (!channels || interlace || !(depth === 8 || (depth === 1 && colour === 0))) {
    throw new Error(`unsupported PNG: colour type ${colour}, depth ${depth}, interlace ${interlace}`);
  }
  const bitsPerPixel = channels * depth;
  const stride = Math.ceil((width * bitsPerPixel) / 8);
  const step = Math.max(1, bitsPerPixel / 8);
  const raw = inflateSync(Buffer.concat(idat));
  const rows = unfilter(raw, stride, height, step);
  const data = new Uint8ClampedArray(width * height * 4);
  for (let y = 0; y < height; y++) {
    const row = rows.subarray(y * stride, (y + 1) * stride);
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 4;
      if (depth === 1) {
        const v = (row[x >> 3] >> (7 - (x & 7))) & 1 ? 255 : 0;
        data[o] = data[o + 1] = data[o + 2] = v;
        data[o + 3] = 255;
        continue;
      }
      const p = x * channels;
      if (channels <= 2) {
        data[o] = data[o + 1] = data[o + 2] = row[p];
        data[o + 3] = channels === 2 ? row[p + 1] : 255;
      } else {
        data[o] = row[p];
        data[o + 1] = row[p + 1];
        data[o + 2] = row[p + 2];
        data[o + 3] = channels === 4 ? row[p + 3] : 255;
      }
    }
  }
  return { width, height, data };
}

/** Undoes the per-row filters. */
function unfilter(raw, stride, height, step) {
  const out = new Uint8Array(stride * height);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const src = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    const row = out.subarray(y * stride, (y + 1) * stride);
    const up = y > 0 ? out.subarray((y - 1) * stride, y * stride) : new Uint8Array(stride);
    for (let i = 0; i < stride; i++) {
      const a = i >= step ? row[i - step] : 0;
      const b = up[i];
      const c = i >= step ? up[i - step] : 0;
      let v;
      switch (filter) {
        case 0: v = 0; break;
        case 1: v = a; break;
        case 2: v = b; break;
        case 3: v = (a + b) >> 1; break;
        case 4: {
          const p = a + b - c;
          const pa = Math.abs(p - a);
          const pb = Math.abs(p - b);
          const pc = Math.abs(p - c);
          v = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
          break;
        }
        default:
          throw new Error(`bad PNG filter ${filter}`);
      }
      row[i] = (src[i] + v) & 255;
    }
  }
  return out;
}

/** The RGBA pixels of a region `[x, y, w, h]` of an image. */
export function crop(image, [x, y, w, h]) {
  const data = new Uint8ClampedArray(w * h * 4);
  for (let r = 0; r < h; r++) {
    const from = ((y + r) * image.width + x) * 4;
    data.set(image.data.subarray(from, from + w * 4), r * w * 4);
  }
  return { width: w, height: h, data };
}

/** One byte per pixel: 1 where a CLI mask PNG is white (ink). */
export function pngMaskBits(file) {
  const { width, height, data } = readPng(file);
  const bits = new Uint8Array(width * height);
  for (let i = 0; i < bits.length; i++) bits[i] = data[4 * i] > 127 ? 1 : 0;
  return { width, height, bits };
}

/** An 8-bit grey PNG of `width × height` pixel values. */
export function greyPng(width, height, pixels) {
  const raw = Buffer.alloc((width + 1) * height);
  for (let y = 0; y < height; y++) raw.set(pixels.subarray(y * width, (y + 1) * width), y * (width + 1) + 1);
  const chunk = (type, body) => {
    const head = Buffer.alloc(8);
    head.writeUInt32BE(body.length, 0);
    head.write(type, 4, "latin1");
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), body])), 0);
    return Buffer.concat([head, body, crc]);
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8; // depth; colour type 0 (grey)
  return Buffer.concat([SIGNATURE, chunk("IHDR", header), chunk("IDAT", deflateSync(raw)), chunk("IEND", Buffer.alloc(0))]);
}

/** CRC-32 (IEEE), as PNG and zip want it. */
export function crc32(bytes) {
  let crc = ~0;
  for (const byte of bytes) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = (crc >>> 1) ^ (0xedb88320 & -(crc & 1));
  }
  return ~crc >>> 0;
}

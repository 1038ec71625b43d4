/**
 * Pixels between MuNG Studio's forms (`ImageData`, RGBA node masks) and the
 * server's (raw RGBA bodies; JSON masks of one byte per pixel, 0 or 1, in
 * base64).
 *
 * @module
 */

import type { ImageDataLike, PointLike, StudioImageData, StudioPoint } from "./types.js";

/** The server's JSON form of a mask (`MaskJson` in its OpenAPI description). */
export interface WireMask {
  left: number;
  top: number;
  width: number;
  height: number;
  /** base64 of `width × height` bytes, each 0 or 1. */
  pixels: string;
}

/** A real `ImageData` where the DOM has one, else a plain object with its fields. */
export function makeImageData(data: Uint8ClampedArray, width: number, height: number): StudioImageData {
  const Ctor = (globalThis as { ImageData?: new (d: Uint8ClampedArray, w: number, h: number) => unknown }).ImageData;
  const image = Ctor ? new Ctor(data, width, height) : { width, height, data, colorSpace: "srgb" as const };
  return image as StudioImageData;
}

/** A real `DOMPoint` where the DOM has one, else a plain object with its fields. */
export function makePoint(x: number, y: number): StudioPoint {
  const Ctor = (globalThis as { DOMPoint?: new (x: number, y: number) => unknown }).DOMPoint;
  const point = Ctor ? new Ctor(x, y) : { x, y, z: 0, w: 1 };
  return point as StudioPoint;
}

/** Checks that an image argument holds exactly `width × height` RGBA pixels. */
export function checkImage(image: ImageDataLike, what: string): void {
  const { width, height, data } = image ?? {};
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new TypeError(`${what} must have a positive integer width and height, not ${width}×${height}`);
  }
  if (!data || data.length !== width * height * 4) {
    throw new TypeError(`${what} must hold ${width}×${height}×4 RGBA bytes, not ${data?.length}`);
  }
}

/** Bytes of RGBA pixels as a request body: a view of them, a copy only of shared memory. */
export function rgbaBody(image: ImageDataLike): Uint8Array<ArrayBuffer> {
  const { data } = image;
  if (data.buffer instanceof ArrayBuffer) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return new Uint8Array(data);
}

/**
 * One byte per pixel, 1 where `inside(alpha)`: the mask bits of RGBA pixels
 * given as an array of bytes.
 */
export function maskBits(rgba: ArrayLike<number>, pixels: number, inside: (alpha: number) => boolean): Uint8Array {
  const bits = new Uint8Array(pixels);
  for (let i = 0; i < pixels; i++) bits[i] = inside(rgba[4 * i + 3] ?? 0) ? 1 : 0;
  return bits;
}

/** RGBA pixels in MuNG Studio's mask colours: R = A = 255 where the bit is set, else 0. */
export function bitsToRgba(bits: Uint8Array): Uint8ClampedArray {
  const rgba = new Uint8ClampedArray(bits.length * 4);
  for (let i = 0; i < bits.length; i++) {
    if (bits[i]) {
      rgba[4 * i] = 255;
      rgba[4 * i + 3] = 255;
    }
  }
  return rgba;
}

/** The bits of a JSON mask, checked against its size. */
export function wireBits(mask: WireMask, what: string): Uint8Array {
  const bits = fromBase64(mask.pixels);
  if (bits.length !== mask.width * mask.height) {
    throw new TypeError(`${what}: ${bits.length} pixels for a ${mask.width}×${mask.height} mask`);
  }
  return bits;
}

/** Points with integer coordinates (truncated, as Python's `int`). */
export function intPoints(line: readonly PointLike[]): [number, number][] {
  return line.map((p) => [Math.trunc(p.x), Math.trunc(p.y)]);
}

/** Standard base64 of bytes. */
export function toBase64(bytes: Uint8Array): string {
  const chunk = 0x8000;
  let binary = "";
  for (let i = 0; i < bytes.length; i += chunk) {
    binary += String.fromCharCode(...bytes.subarray(i, i + chunk));
  }
  return btoa(binary);
}

/** The bytes of standard base64. */
export function fromBase64(text: string): Uint8Array {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

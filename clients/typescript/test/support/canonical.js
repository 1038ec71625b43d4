// Results in one comparable form, in Node and in the browser test page alike
// (no Node modules here): masks as base64 of one byte per pixel, nodes in
// the server's (reference) form with sorted keys, and a SHA-256 digest of
// the JSON of it all. Also the way in: MuNG Studio's editor nodes made from
// reference nodes, independently of the client's own conversion.

/** Base64 of bytes. */
export function base64(bytes) {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

/** The bytes of base64. */
export function fromBase64(text) {
  const binary = atob(text);
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

/** One byte per pixel: 1 where an RGBA mask has R = A = 255 (MuNG Studio's ink colour), 0 where it is empty. */
export function rgbaMaskBits(image) {
  const bits = new Uint8Array(image.width * image.height);
  for (let i = 0; i < bits.length; i++) {
    const [r, g, b, a] = image.data.subarray(4 * i, 4 * i + 4);
    if (r === 255 && a === 255 && g === 0 && b === 0) bits[i] = 1;
    else if (r || g || b || a) throw new Error(`pixel ${i} is neither ink (255,0,0,255) nor empty: ${[r, g, b, a]}`);
  }
  return { width: image.width, height: image.height, bits };
}

/** A mask as `{width, height, bits}` with the bits in base64. */
export function maskOf({ width, height, bits }) {
  return { width, height, bits: base64(bits) };
}

/** An RGBA mask (`ImageData`) in the comparable form. */
export function imageMask(image) {
  return maskOf(rgbaMaskBits(image));
}

/** Cut lines (`DOMPoint[][]`) as `[[[x, y], ...], ...]`. */
export function cutLines(lines) {
  return lines.map((line) => line.map((p) => [p.x, p.y]));
}

/** Bands of separateLines as `[[left, top, width, height, mask], ...]`. */
export function bands(list) {
  return list.map(([l, t, w, h, image]) => [l, t, w, h, imageMask(image)]);
}

/** The reference form of a MuNG Studio node the client returned; checks its fixed fields on the way. */
export function referenceNode(n) {
  if (JSON.stringify(n.data) !== "{}" || n.polygon !== null) {
    throw new Error(`node ${n.id}: data ${JSON.stringify(n.data)}, polygon ${n.polygon} (MuNG Studio: {} and null)`);
  }
  let mask = null;
  if (n.decodedMask !== null) {
    const { width, height, bits } = rgbaMaskBits(n.decodedMask);
    if (width !== n.width || height !== n.height) throw new Error(`node ${n.id}: a ${width}×${height} mask`);
    mask = base64(bits);
  }
  return normalised({
    id: n.id,
    class_name: n.className,
    top: n.top,
    left: n.left,
    width: n.width,
    height: n.height,
    outlinks: n.syntaxOutlinks,
    inlinks: n.syntaxInlinks,
    precedence_outlinks: n.precedenceOutlinks,
    precedence_inlinks: n.precedenceInlinks,
    text_transcription: n.textTranscription,
    mask,
  });
}

/** A reference node with its keys sorted and an empty transcription as null (as MuNG Studio reads it back). */
export function normalised(n) {
  const out = {};
  for (const key of Object.keys(n).sort()) out[key] = n[key];
  out.text_transcription = n.text_transcription || null;
  return out;
}

/** SHA-256 (hex) of the JSON of a value (`subtle`: Web Crypto's, where there is no global one). */
export async function digest(value, subtle = globalThis.crypto.subtle) {
  const bytes = new TextEncoder().encode(JSON.stringify(value));
  const hash = new Uint8Array(await subtle.digest("SHA-256", bytes));
  return Array.from(hash, (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * MuNG Studio's editor node for a reference node: the mask as RGBA with
 * R = A = 255 where ink, a real `ImageData` where the page has one.
 */
export function studioNode(n) {
  let decodedMask = null;
  if (n.mask !== null) {
    const bits = fromBase64(n.mask);
    const rgba = new Uint8ClampedArray(bits.length * 4);
    bits.forEach((b, i) => {
      if (b) rgba[4 * i] = rgba[4 * i + 3] = 255;
    });
    decodedMask =
      typeof ImageData === "function"
        ? new ImageData(rgba, n.width, n.height)
        : { width: n.width, height: n.height, data: rgba };
  }
  return {
    id: n.id,
    className: n.class_name,
    top: n.top,
    left: n.left,
    width: n.width,
    height: n.height,
    syntaxOutlinks: n.outlinks,
    syntaxInlinks: n.inlinks,
    precedenceOutlinks: n.precedence_outlinks,
    precedenceInlinks: n.precedence_inlinks,
    decodedMask,
    textTranscription: n.text_transcription,
    data: {},
    polygon: null,
  };
}

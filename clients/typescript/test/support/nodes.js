// Nodes between the reference's form (the server's node JSON, masks as
// base64 bits) and MuNG Studio's editor nodes, written independently of the
// client's own conversion.

import { rgbaMaskBits } from "./png.js";

/** MuNG Studio's editor node for a reference node (mask R = A = 255 where ink). */
export function studioNode(n) {
  let decodedMask = null;
  if (n.mask !== null) {
    const bits = Buffer.from(n.mask, "base64");
    const rgba = new Uint8ClampedArray(bits.length * 4);
    bits.forEach((b, i) => {
      if (b) rgba[4 * i] = rgba[4 * i + 3] = 255;
    });
    decodedMask = { width: n.width, height: n.height, data: rgba };
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

/** The reference form of a node the client returned; checks MuNG Studio's fixed fields on the way. */
export function referenceNode(n) {
  if (JSON.stringify(n.data) !== "{}" || n.polygon !== null) {
    throw new Error(`node ${n.id}: data ${JSON.stringify(n.data)}, polygon ${n.polygon} (MuNG Studio: {} and null)`);
  }
  let mask = null;
  if (n.decodedMask !== null) {
    const { width, height, bits } = rgbaMaskBits(n.decodedMask);
    if (width !== n.width || height !== n.height) throw new Error(`node ${n.id}: a ${width}×${height} mask`);
    mask = Buffer.from(bits).toString("base64");
  }
  return {
    class_name: n.className,
    height: n.height,
    id: n.id,
    inlinks: n.syntaxInlinks,
    left: n.left,
    mask,
    outlinks: n.syntaxOutlinks,
    precedence_inlinks: n.precedenceInlinks,
    precedence_outlinks: n.precedenceOutlinks,
    text_transcription: n.textTranscription,
    top: n.top,
    width: n.width,
  };
}

/** A reference node with its keys sorted and an empty transcription as null (as MuNG Studio reads it back). */
export function normalised(n) {
  const out = {};
  for (const key of Object.keys(n).sort()) out[key] = n[key];
  out.text_transcription = n.text_transcription || null;
  return out;
}

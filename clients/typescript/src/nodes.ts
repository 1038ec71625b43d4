/**
 * Nodes between MuNG Studio's forms (its editor's `Node`, or the marshalled
 * node it hands to Python) and the server's (`class_name`, a 0/1 mask, the
 * precedence links and the text transcription as fields).
 *
 * @module
 */

import { bitsToRgba, makeImageData, maskBits, toBase64, wireBits, type WireMask } from "./pixels.js";
import type { MarshalledNodeLike, NodeInput, StudioNode } from "./types.js";

/** The server's JSON form of a node (`NodeJson` in its OpenAPI description). */
export interface WireNode {
  id: number;
  class_name: string;
  top: number;
  left: number;
  width: number;
  height: number;
  outlinks: number[];
  inlinks: number[];
  precedence_outlinks: number[];
  precedence_inlinks: number[];
  text_transcription?: string | null;
  mask?: WireMask | null;
}

function isMarshalled(node: NodeInput): node is MarshalledNodeLike {
  return "outlinks" in node && !("syntaxOutlinks" in node);
}

/** A node in the server's form; a mask pixel is set iff its A is 255, as MuNG Studio's `A // 255`. */
export function toWire(node: NodeInput): WireNode {
  let links: Pick<WireNode, "outlinks" | "inlinks" | "precedence_outlinks" | "precedence_inlinks">;
  let text: string | null | undefined;
  let mask: { width: number; height: number; rgba: ArrayLike<number> } | null = null;
  if (isMarshalled(node)) {
    const data = node.data ?? {};
    links = {
      outlinks: [...node.outlinks],
      inlinks: [...node.inlinks],
      precedence_outlinks: [...(data.precedence_outlinks ?? [])],
      precedence_inlinks: [...(data.precedence_inlinks ?? [])],
    };
    text = data.text_transcription;
    if (node.mask) mask = { width: node.mask[0], height: node.mask[1], rgba: node.mask[2] };
  } else {
    links = {
      outlinks: [...node.syntaxOutlinks],
      inlinks: [...node.syntaxInlinks],
      precedence_outlinks: [...(node.precedenceOutlinks ?? [])],
      precedence_inlinks: [...(node.precedenceInlinks ?? [])],
    };
    text = node.textTranscription;
    if (node.decodedMask) {
      const { width, height, data } = node.decodedMask;
      mask = { width, height, rgba: data };
    }
  }
  const wire: WireNode = {
    id: node.id,
    class_name: node.className,
    top: node.top,
    left: node.left,
    width: node.width,
    height: node.height,
    ...links,
    text_transcription: text ?? null,
  };
  if (mask) {
    const { width, height, rgba } = mask;
    if (rgba.length !== width * height * 4) {
      throw new TypeError(`node ${node.id}: its mask holds ${rgba.length} bytes, not ${width}×${height}×4`);
    }
    const bits = maskBits(rgba, width * height, (a) => a === 255);
    wire.mask = { left: node.left, top: node.top, width, height, pixels: toBase64(bits) };
  }
  return wire;
}

/** A node from the server in MuNG Studio's editor form, as its `unmarshalMungNode` builds it. */
export function fromWire(node: WireNode): StudioNode {
  const mask = node.mask
    ? makeImageData(bitsToRgba(wireBits(node.mask, `node ${node.id}`)), node.mask.width, node.mask.height)
    : null;
  return {
    id: node.id,
    className: node.class_name,
    top: node.top,
    left: node.left,
    width: node.width,
    height: node.height,
    syntaxOutlinks: node.outlinks ?? [],
    syntaxInlinks: node.inlinks ?? [],
    precedenceOutlinks: node.precedence_outlinks ?? [],
    precedenceInlinks: node.precedence_inlinks ?? [],
    decodedMask: mask,
    // MuNG Studio turns an empty transcription into null too.
    textTranscription: node.text_transcription || null,
    data: {},
    polygon: null,
  };
}

/**
 * `createRuntime`: MuNG Studio's three runtime APIs over HTTP.
 *
 * @module
 */

import { MungRuntimeError, unexpectedAnswer } from "./errors.js";
import { fromWire, toWire, type WireNode } from "./nodes.js";
import {
  checkImage,
  intPoints,
  makeImageData,
  makePoint,
  maskBits,
  rgbaBody,
  toBase64,
  wireBits,
  type WireMask,
} from "./pixels.js";
import { Transport } from "./transport.js";
import type {
  BatchInput,
  BatchResult,
  CallOptions,
  ExecuteResult,
  ImageDataLike,
  MungRuntime,
  PointLike,
  SeparatedBand,
  StudioImageData,
  NodeInput,
  StudioPoint,
  ValidationIssue,
} from "./types.js";

/** The media type of raw RGBA pixels (what `ImageData.data` holds). */
export const RGBA_MEDIA_TYPE = "application/vnd.mung.rgba";

/** How to reach the server. */
export interface RuntimeOptions {
  /** The server's URL, e.g. `http://127.0.0.1:8080` or `https://mung.example.org/runtime`. */
  baseUrl: string;
  /** A bearer token, for a server started with `--token-file`. */
  token?: string | undefined;
  /** The `fetch` to use (default: the global one). */
  fetch?: typeof fetch | undefined;
  /** How often a busy server's answer (503 with `Retry-After`) is retried after its delay (default 3). */
  retries?: number | undefined;
}

/**
 * A runtime with MuNG Studio's `PythonRuntime` shape, answered by the
 * `mung-runtime serve` server at `options.baseUrl`. Every method also takes
 * a last `{ signal }` argument to abort it. The methods need no `this`: they
 * can be passed around on their own.
 */
export function createRuntime(options: RuntimeOptions): MungRuntime {
  const http = new Transport(options);

  /** A region tool: raw RGBA in, raw RGBA out. */
  const regionTool =
    (route: string, what: string) =>
    async (region: ImageDataLike, opts?: CallOptions): Promise<StudioImageData> => {
      checkImage(region, what);
      const response = await http.post({
        path: route,
        headers: rgbaHeaders(region, { accept: RGBA_MEDIA_TYPE }),
        body: rgbaBody(region),
        signal: opts?.signal,
      });
      if (!(response.headers.get("content-type") ?? "").startsWith(RGBA_MEDIA_TYPE)) {
        throw unexpectedAnswer(`${route} did not answer ${RGBA_MEDIA_TYPE}`);
      }
      const width = Number(response.headers.get("x-mung-width") ?? region.width);
      const height = Number(response.headers.get("x-mung-height") ?? region.height);
      const data = new Uint8ClampedArray(await response.arrayBuffer());
      if (data.length !== width * height * 4) throw unexpectedAnswer(`${data.length} bytes for ${width}×${height}`);
      opts?.signal?.throwIfAborted();
      return makeImageData(data, width, height);
    };

  /** A node tool: `{nodes}` in, `{node}` or `{nodes}` out. */
  const nodesIn = async (route: string, nodes: readonly NodeInput[], signal?: AbortSignal) => {
    const answer = (await http.postJson(route, { nodes: nodes.map(toWire) }, signal)) as {
      node?: WireNode;
      nodes?: WireNode[];
    };
    signal?.throwIfAborted();
    return answer;
  };

  return {
    mungValidation: {
      async runValidation(mungXml: string, opts?: CallOptions): Promise<ValidationIssue[]> {
        const response = await http.post({
          path: "/v1/validate",
          headers: { "content-type": "application/xml", accept: "application/json" },
          body: mungXml,
          signal: opts?.signal,
        });
        const answer = (await response.json()) as { issues?: ValidationIssue[] };
        if (!Array.isArray(answer.issues)) throw unexpectedAnswer("no `issues` list");
        opts?.signal?.throwIfAborted();
        return answer.issues;
      },
    },

    maskManipulation: {
      async computeCutLines(mask: ImageDataLike, opts?: CallOptions): Promise<StudioPoint[][]> {
        checkImage(mask, "the mask");
        const response = await http.post({
          path: "/v1/extract/cut-lines",
          headers: rgbaHeaders(mask, { accept: "application/json" }),
          body: rgbaBody(mask),
          signal: opts?.signal,
        });
        const answer = (await response.json()) as { cut_lines?: [number, number][][] };
        if (!Array.isArray(answer.cut_lines)) throw unexpectedAnswer("no `cut_lines` list");
        opts?.signal?.throwIfAborted();
        return answer.cut_lines.map((line) => line.map(([x, y]) => makePoint(x, y)));
      },

      async separateLines(
        left: number,
        top: number,
        mask: ImageDataLike,
        cutLines: readonly (readonly PointLike[])[],
        opts?: CallOptions,
      ): Promise<SeparatedBand[]> {
        checkImage(mask, "the mask");
        const { width, height, data } = mask;
        // MuNG Studio's separation keeps the pixels with A > 0.
        const bits = maskBits(data, width * height, (a) => a > 0);
        const request = {
          mask: { left, top, width, height, pixels: toBase64(bits) } satisfies WireMask,
          cut_lines: cutLines.map(intPoints),
        };
        const answer = (await http.postJson("/v1/extract/separate", request, opts?.signal)) as { bands?: WireMask[] };
        if (!Array.isArray(answer.bands)) throw unexpectedAnswer("no `bands` list");
        opts?.signal?.throwIfAborted();
        // Each band is the mask's own pixels (mask × stencil in MuNG Studio),
        // cut out where the server set the band's bits.
        return answer.bands.map((band, i): SeparatedBand => {
          const bandBits = wireBits(band, `band ${i}`);
          const rgba = new Uint8ClampedArray(band.width * band.height * 4);
          const dx = band.left - left;
          const dy = band.top - top;
          for (let y = 0; y < band.height; y++) {
            for (let x = 0; x < band.width; x++) {
              if (!bandBits[y * band.width + x]) continue;
              const from = ((y + dy) * width + (x + dx)) * 4;
              rgba.set(data.subarray(from, from + 4), (y * band.width + x) * 4);
            }
          }
          return [band.left, band.top, band.width, band.height, makeImageData(rgba, band.width, band.height)];
        });
      },

      async generateStaffFromStafflines(nodes: readonly NodeInput[], opts?: CallOptions) {
        const answer = await nodesIn("/v1/extract/staff", nodes, opts?.signal);
        if (!answer.node) throw unexpectedAnswer("no `node`");
        return fromWire(answer.node);
      },

      async generateStaffspaces(nodes: readonly NodeInput[], opts?: CallOptions) {
        const answer = await nodesIn("/v1/extract/staffspaces", nodes, opts?.signal);
        if (!Array.isArray(answer.nodes)) throw unexpectedAnswer("no `nodes` list");
        return answer.nodes.map(fromWire);
      },

      async snapNodesToStaves(nodes: readonly NodeInput[], opts?: CallOptions) {
        const answer = await nodesIn("/v1/extract/snap", nodes, opts?.signal);
        if (!Array.isArray(answer.nodes)) throw unexpectedAnswer("no `nodes` list");
        return answer.nodes.map(fromWire);
      },
    },

    backgroundImageToolsApi: {
      otsuBinarizeRegion: regionTool("/v1/extract/binarize", "the region"),
      detectStafflines: regionTool("/v1/extract/stafflines", "the region"),
    },

    async *validateBatch(documents: BatchInput, opts?: CallOptions): AsyncGenerator<BatchResult, void, undefined> {
      const response = await http.post({
        path: "/v1/validate/batch",
        ...batchBody(documents),
        signal: opts?.signal,
      });
      if (!response.body) throw unexpectedAnswer("an empty batch stream");
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let pending = "";
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (value) pending += value;
          const lines = pending.split("\n");
          pending = done ? "" : (lines.pop() ?? "");
          for (const line of lines) {
            if (line.trim()) yield JSON.parse(line) as BatchResult;
          }
          if (done) return;
        }
      } finally {
        // Also when the caller stops early: end the request.
        await reader.cancel().catch(() => {});
      }
    },

    async execute(code: string, globals: Record<string, unknown> = {}, opts?: CallOptions): Promise<ExecuteResult> {
      const answer = (await http.postJson("/v1/execute", { code, globals }, opts?.signal)) as {
        value: unknown;
        stdout?: string;
        stderr?: string;
        stdout_truncated?: boolean;
        stderr_truncated?: boolean;
      };
      opts?.signal?.throwIfAborted();
      return {
        value: answer.value,
        stdout: answer.stdout ?? "",
        stderr: answer.stderr ?? "",
        stdoutTruncated: answer.stdout_truncated ?? false,
        stderrTruncated: answer.stderr_truncated ?? false,
      };
    },
  };
}

/** Headers of a raw RGBA body. */
function rgbaHeaders(image: ImageDataLike, extra: Record<string, string>): Record<string, string> {
  return {
    "content-type": RGBA_MEDIA_TYPE,
    "x-mung-width": String(image.width),
    "x-mung-height": String(image.height),
    ...extra,
  };
}

/** The body of a batch: a zip as is, or documents as multipart files. */
function batchBody(documents: BatchInput): { headers: Record<string, string>; body: BodyInit } {
  if (documents instanceof Blob || documents instanceof ArrayBuffer || ArrayBuffer.isView(documents)) {
    return { headers: { "content-type": "application/zip" }, body: documents as BodyInit };
  }
  const form = new FormData();
  for (const doc of documents) {
    if (typeof doc?.name !== "string") {
      throw new MungRuntimeError("validateBatch: every document needs a `name`", 0);
    }
    const file = typeof doc.xml === "string" ? new Blob([doc.xml], { type: "application/xml" }) : doc.xml;
    form.append("document", file, doc.name);
  }
  // fetch sets the multipart boundary itself.
  return { headers: {}, body: form };
}

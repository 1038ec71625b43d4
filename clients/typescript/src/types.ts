/**
 * The values MuNG Studio's `PythonRuntime` takes and returns, as TypeScript
 * types that work with and without the DOM's type definitions.
 *
 * @module
 */

/**
 * What an image or mask argument must look like: the DOM's `ImageData`, or
 * any object with its three fields (`data` is row-major RGBA, 4 bytes a
 * pixel).
 */
export interface ImageDataLike {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8ClampedArray | Uint8Array;
}

/** An `ImageData` where there is no DOM (Node): the same fields, a plain object. */
export interface PlainImageData {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8ClampedArray;
  readonly colorSpace: "srgb";
}

/**
 * The image type the methods return: the DOM's `ImageData` when the DOM's
 * types are loaded (as in MuNG Studio), else {@link PlainImageData}. At run
 * time it is a real `ImageData` wherever that constructor exists.
 */
export type StudioImageData = typeof globalThis extends { ImageData: { prototype: infer T } } ? T : PlainImageData;

/** What a point argument must look like: the DOM's `DOMPoint`, or `{x, y}`. */
export interface PointLike {
  readonly x: number;
  readonly y: number;
}

/** A `DOMPoint` where there is no DOM (Node): a plain object. */
export interface PlainPoint {
  readonly x: number;
  readonly y: number;
  readonly z: number;
  readonly w: number;
}

/**
 * The point type the methods return: the DOM's `DOMPoint` when the DOM's
 * types are loaded, else {@link PlainPoint}. At run time it is a real
 * `DOMPoint` wherever that constructor exists.
 */
export type StudioPoint = typeof globalThis extends { DOMPoint: { prototype: infer T } } ? T : PlainPoint;

/** What every node has: its id, class and bounding box on the page. */
export interface NodeBox {
  readonly id: number;
  readonly className: string;
  readonly top: number;
  readonly left: number;
  readonly width: number;
  readonly height: number;
}

/**
 * A node as MuNG Studio's editor holds it (its `Node` interface): what the
 * node methods of its `PythonRuntime` take. A mask pixel belongs to the node
 * iff its A is 255 (MuNG Studio sends `A // 255` to Python).
 */
export interface StudioNodeLike extends NodeBox {
  readonly syntaxOutlinks: readonly number[];
  readonly syntaxInlinks: readonly number[];
  readonly precedenceOutlinks?: readonly number[] | undefined;
  readonly precedenceInlinks?: readonly number[] | undefined;
  readonly decodedMask: ImageDataLike | null;
  readonly textTranscription?: string | null | undefined;
}

/**
 * A node as MuNG Studio marshals it for Python: `mask` is
 * `[width, height, RGBA bytes]`, the precedence links and the text
 * transcription travel in `data`. Accepted wherever a node is, beside
 * {@link StudioNodeLike}.
 */
export interface MarshalledNodeLike extends NodeBox {
  readonly outlinks: readonly number[];
  readonly inlinks: readonly number[];
  readonly mask: readonly [width: number, height: number, rgba: ArrayLike<number>] | null | undefined;
  readonly data?:
    | {
        readonly precedence_outlinks?: readonly number[] | undefined;
        readonly precedence_inlinks?: readonly number[] | undefined;
        readonly text_transcription?: string | null | undefined;
      }
    | null
    | undefined;
}

/** A node argument: MuNG Studio's editor node, or its marshalled form. */
export type NodeInput = StudioNodeLike | MarshalledNodeLike;

/**
 * A node as the node methods of MuNG Studio's `PythonRuntime` return it (its
 * `Node` interface): the mask as `ImageData` (R = A = 255 where ink), other
 * data items dropped (`data` is `{}`), `polygon` null.
 */
export interface StudioNode {
  id: number;
  className: string;
  top: number;
  left: number;
  width: number;
  height: number;
  syntaxOutlinks: number[];
  syntaxInlinks: number[];
  precedenceOutlinks: number[];
  precedenceInlinks: number[];
  decodedMask: StudioImageData | null;
  textTranscription: string | null;
  data: Record<string, never>;
  polygon: null;
}

/** One class rename that fixes an issue. */
export interface RenameOperation {
  updateNodeId: number;
  newClassName: string;
}

/** One validation issue, exactly as MuNG Studio's validation reports it. */
export interface ValidationIssue {
  code: number;
  message: string;
  nodeId: number;
  /** The automatic fix (class renames), if there is one. */
  resolution: { operations: RenameOperation[] } | null;
  /** Tells apart several issues with the same code on the same node. */
  fingerprint: string | null;
}

/** A band of {@link MungRuntime.maskManipulation}`.separateLines`: `[left, top, width, height, mask]`. */
export type SeparatedBand = [left: number, top: number, width: number, height: number, mask: StudioImageData];

/** Options every call takes. */
export interface CallOptions {
  /** Aborts the call: its promise rejects with the signal's reason (an `AbortError`). */
  signal?: AbortSignal | undefined;
}

/** One document of {@link MungRuntime.validateBatch} given as text or a file. */
export interface BatchDocument {
  /** Its name in the results (e.g. the file name). */
  name: string;
  xml: string | Blob;
}

/** What {@link MungRuntime.validateBatch} takes: a zip of `*.xml` files, or documents. */
export type BatchInput = Blob | ArrayBuffer | ArrayBufferView | Iterable<BatchDocument>;

/** One line of {@link MungRuntime.validateBatch}: a document's issues, or why it has none. */
export type BatchResult =
  | { file: string; issues: ValidationIssue[] }
  | { file: string; error: { kind: string; message: string } };

/** What {@link MungRuntime.execute} returns. */
export interface ExecuteResult {
  /** The value of the script's last expression, as JSON. */
  value: unknown;
  stdout: string;
  stderr: string;
  stdoutTruncated: boolean;
  stderrTruncated: boolean;
}

/** MuNG Studio's `MungValidationApi`. */
export interface MungValidationApi {
  /** The issues of a MuNG document (MuNG Studio's validation, exactly). */
  runValidation(mungXml: string, options?: CallOptions): Promise<ValidationIssue[]>;
}

/** MuNG Studio's `MaskManipulationApi`. */
export interface MaskManipulationApi {
  /** Cut lines between the separate lines of a mask (a pixel is in it iff A > 0), in mask coordinates. */
  computeCutLines(mask: ImageDataLike, options?: CallOptions): Promise<StudioPoint[][]>;
  /**
   * The mask split into bands along the cut lines (coordinates are truncated
   * to integers), placed on the page: N cut lines give N + 1 bands.
   */
  separateLines(
    left: number,
    top: number,
    mask: ImageDataLike,
    cutLines: readonly (readonly PointLike[])[],
    options?: CallOptions,
  ): Promise<SeparatedBand[]>;
  /** A `staff` node spanning 5 `staffLine` nodes. */
  generateStaffFromStafflines(nodes: readonly NodeInput[], options?: CallOptions): Promise<StudioNode>;
  /** The 6 `staffSpace` nodes of each staff (the staff and its 5 linked lines are passed in). */
  generateStaffspaces(nodes: readonly NodeInput[], options?: CallOptions): Promise<StudioNode[]>;
  /** All nodes, with links added from symbols to their staves and staff positions. */
  snapNodesToStaves(nodes: readonly NodeInput[], options?: CallOptions): Promise<StudioNode[]>;
}

/** MuNG Studio's `BackgroundImageToolsApi`. */
export interface BackgroundImageToolsApi {
  /** "Binarize region": the ink of a page region, R = A = 255 where ink. */
  otsuBinarizeRegion(region: ImageDataLike, options?: CallOptions): Promise<StudioImageData>;
  /** "Stafflines tool": the long horizontal lines of a page region, R = A = 255 where ink. */
  detectStafflines(region: ImageDataLike, options?: CallOptions): Promise<StudioImageData>;
}

/**
 * A runtime with MuNG Studio's `PythonRuntime` shape, answered by a
 * `mung-runtime serve` server; plus batch validation and script execution.
 */
export interface MungRuntime {
  readonly mungValidation: MungValidationApi;
  readonly maskManipulation: MaskManipulationApi;
  readonly backgroundImageToolsApi: BackgroundImageToolsApi;
  /**
   * Validates many documents in one request; yields each document's result as
   * soon as the server has it (NDJSON), in completion order. Breaking out of
   * the loop ends the request.
   */
  validateBatch(documents: BatchInput, options?: CallOptions): AsyncGenerator<BatchResult, void, undefined>;
  /**
   * Runs a Python snippet in a fresh sandbox, with `globals` defined; only on
   * a server started with `--allow-execute` (else a 403 error).
   */
  execute(code: string, globals?: Record<string, unknown>, options?: CallOptions): Promise<ExecuteResult>;
}

// Compile-only check (`npm run typecheck`, with the DOM's types as in MuNG
// Studio): what createRuntime returns can stand where MuNG Studio uses its
// `PythonRuntime`, with MuNG Studio's own types (its editor `Node`,
// `ImageData`, `DOMPoint`), so replacing the Pyodide runtime is a change of
// one constructor. The interfaces below restate the signatures of MuNG
// Studio's three runtime APIs.

import { createRuntime, latestOnly, MungRuntimeError } from "../../dist/index.js";

/** MuNG Studio's editor node (src/mung/Node.ts), field for field. */
interface Node {
  readonly id: number;
  readonly className: string;
  readonly top: number;
  readonly left: number;
  readonly width: number;
  readonly height: number;
  readonly syntaxOutlinks: number[];
  readonly syntaxInlinks: number[];
  readonly precedenceOutlinks: number[];
  readonly precedenceInlinks: number[];
  readonly decodedMask: ImageData | null;
  readonly textTranscription: string | null;
  readonly data: { [key: string]: string };
  readonly polygon: number[] | null;
}

interface ValidationIssue {
  code: number;
  message: string;
  nodeId: number;
  resolution: { operations: { updateNodeId: number; newClassName: string }[] } | null;
  fingerprint: string | null;
}

interface StudioPythonRuntime {
  readonly mungValidation: { runValidation(mungXml: string): Promise<ValidationIssue[]> };
  readonly maskManipulation: {
    computeCutLines(mask: ImageData): Promise<DOMPoint[][]>;
    separateLines(
      left: number,
      top: number,
      originalMask: ImageData,
      cutLines: DOMPoint[][],
    ): Promise<[number, number, number, number, ImageData][]>;
    generateStaffFromStafflines(stafflines: readonly Node[]): Promise<Node>;
    generateStaffspaces(nodes: readonly Node[]): Promise<Node[]>;
    snapNodesToStaves(nodes: readonly Node[]): Promise<Node[]>;
  };
  readonly backgroundImageToolsApi: {
    otsuBinarizeRegion(region: ImageData): Promise<ImageData>;
    detectStafflines(region: ImageData): Promise<ImageData>;
  };
}

export const runtime: StudioPythonRuntime = createRuntime({ baseUrl: "http://127.0.0.1:8080", token: "t" });

export async function uses(mask: ImageData, lines: Node[], signal: AbortSignal): Promise<void> {
  const cuts: DOMPoint[][] = await runtime.maskManipulation.computeCutLines(mask);
  const bands = await runtime.maskManipulation.separateLines(0, 0, mask, cuts);
  const [left, top, width, height, band] = bands[0]!;
  const staff: Node = await runtime.maskManipulation.generateStaffFromStafflines(lines);
  const image: ImageData = await runtime.backgroundImageToolsApi.otsuBinarizeRegion(mask);
  const latest = latestOnly(createRuntime({ baseUrl: "http://127.0.0.1:8080" }).maskManipulation.computeCutLines);
  const newest: DOMPoint[][] = await latest(mask);
  latest.cancel();
  await createRuntime({ baseUrl: "http://x" }).backgroundImageToolsApi.detectStafflines(mask, { signal });
  try {
    await runtime.mungValidation.runValidation("<Nodes/>");
  } catch (e) {
    if (e instanceof MungRuntimeError) console.log(e.message, e.status, e.kind, e.problem?.detail);
  }
  console.log(left, top, width, height, band.data, staff.decodedMask?.data, image.colorSpace, newest);
}

// Compile-only check without the DOM's types (a Node program, with Node's
// own types): the same calls type-check with plain objects for images and
// points.

import { createRuntime, type PlainImageData, type PlainPoint } from "../../dist/index.js";

export async function uses(): Promise<void> {
  const runtime = createRuntime({ baseUrl: "http://127.0.0.1:8080" });
  const region = { width: 1, height: 1, data: new Uint8ClampedArray(4) };
  const mask: PlainImageData = await runtime.backgroundImageToolsApi.otsuBinarizeRegion(region);
  const cuts: PlainPoint[][] = await runtime.maskManipulation.computeCutLines(mask);
  const bands = await runtime.maskManipulation.separateLines(0, 0, mask, [[{ x: 0, y: 1 }]]);
  const band: PlainImageData = bands[0]![4];
  for await (const result of runtime.validateBatch([{ name: "a.xml", xml: "<Nodes/>" }])) {
    if ("issues" in result) console.log(result.issues.length);
  }
  console.log(cuts, band, (await runtime.execute("1 + 1")).value);
}

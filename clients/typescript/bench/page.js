// The bench page: round trips of otsuBinarizeRegion on one region through
// the client (raw RGBA both ways) and through PNG (the region encoded to a
// PNG in the page, multipart in, PNG out, decoded in the page into MuNG
// Studio's mask form), interleaved, each timed with performance.now(), in
// chunks the bench script asks for (`window.chunk(pairs)`).

import { createRuntime } from "/dist/index.js";

const { server, width, height, rgba } = await (await fetch("/bench.json")).json();
const region = new ImageData(Uint8ClampedArray.from(atob(rgba), (c) => c.charCodeAt(0)), width, height);
const runtime = createRuntime({ baseUrl: server, retries: 0 });
const canvas = new OffscreenCanvas(width, height);
const g = canvas.getContext("2d", { willReadFrequently: true });

async function raw() {
  return runtime.backgroundImageToolsApi.otsuBinarizeRegion(region);
}

async function png() {
  g.putImageData(region, 0, 0);
  const form = new FormData();
  form.append("image", await canvas.convertToBlob({ type: "image/png" }), "region.png");
  const response = await fetch(`${server}/v1/extract/binarize`, { method: "POST", body: form });
  if (!response.ok) throw new Error(`PNG route: ${response.status} ${await response.text()}`);
  const bitmap = await createImageBitmap(await response.blob());
  g.clearRect(0, 0, width, height);
  g.drawImage(bitmap, 0, 0);
  const grey = g.getImageData(0, 0, width, height).data;
  // MuNG Studio's mask colours: R = A = 255 where the PNG is white.
  const mask = new Uint8ClampedArray(grey.length);
  for (let i = 0; i < grey.length; i += 4) if (grey[i] > 127) mask[i] = mask[i + 3] = 255;
  return new ImageData(mask, width, height);
}

function same(a, b) {
  return a.data.length === b.data.length && a.data.every((v, i) => v === b.data[i]);
}

try {
  const first = await raw();
  if (!same(first, await png())) throw new Error("the raw and the PNG round trips answer different masks");
  for (let i = 0; i < 5; i++) await raw(), await png();
  // The test runs the round trips in chunks, between its own baseline calls.
  window.chunk = async (pairs) => {
    const times = { raw: [], png: [] };
    for (let i = 0; i < pairs; i++) {
      for (const [name, call] of i % 2 ? [["raw", raw], ["png", png]] : [["png", png], ["raw", raw]]) {
        const t = performance.now();
        await call();
        times[name].push(performance.now() - t);
      }
    }
    return times;
  };
  window.finish({ inkPixels: first.data.filter((v, i) => i % 4 === 3 && v).length });
} catch (e) {
  window.finish({ error: String(e && e.message || e) });
}

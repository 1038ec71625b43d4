// Where the tests find the server binary, the real data and the browser,
// and what they do when one is missing: skip with the reason, except under
// CI=true, where a missing input fails the test.

import { existsSync } from "node:fs";
import { delimiter, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The client package. */
export const PACKAGE = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
/** The repository root. */
export const REPO = resolve(PACKAGE, "../..");

export const CI = process.env.CI === "true" || process.env.CI === "1";

/** `mung-runtime`: `$MUNG_RUNTIME_BIN`, or the release build `cargo test --release` makes. */
export function binary() {
  const path = process.env.MUNG_RUNTIME_BIN || join(REPO, "target/release/mung-runtime");
  if (!existsSync(path)) {
    throw new Error(
      `the mung-runtime binary is missing at ${path}: run \`cargo build --release\` at the repository root ` +
        "(or set MUNG_RUNTIME_BIN to a built mung-runtime)",
    );
  }
  return path;
}

/** The real data: `$MUNG_RUNTIME_DATA`, or `../shared/data` beside the repository. */
export const DATA = process.env.MUNG_RUNTIME_DATA || resolve(REPO, "../shared/data");
const HAVE_DATA = existsSync(join(DATA, "mung-samples"));
const NO_DATA = `needs the shared data at ${DATA} (set MUNG_RUNTIME_DATA, or place it at ../shared/data)`;

/**
 * `node:test` options for a test that needs the shared data: skipped with the
 * reason where it is absent, run (and failing) under CI=true.
 */
export const needsData = HAVE_DATA || CI ? {} : { skip: NO_DATA };

/** The shared data directory; throws with the reason when it is absent. */
export function data() {
  if (!HAVE_DATA) throw new Error(NO_DATA);
  return DATA;
}

function which(name) {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    const path = join(dir, name);
    if (dir && existsSync(path)) return path;
  }
  return undefined;
}

/** Chromium and chromedriver: `$MUNG_RUNTIME_CHROMIUM`/`$MUNG_RUNTIME_CHROMEDRIVER`, or on the PATH. */
export const CHROMIUM = process.env.MUNG_RUNTIME_CHROMIUM || which("chromium");
export const CHROMEDRIVER = process.env.MUNG_RUNTIME_CHROMEDRIVER || which("chromedriver");
const NO_BROWSER =
  "needs Chromium and chromedriver (Debian packages chromium and chromium-driver, " +
  "or MUNG_RUNTIME_CHROMIUM and MUNG_RUNTIME_CHROMEDRIVER)";

/** `node:test` options for a test that needs the browser (and the data). */
export const needsBrowser =
  !CI && !(CHROMIUM && CHROMEDRIVER) ? { skip: NO_BROWSER } : needsData;

/** Throws with the reason when the browser is absent. */
export function browserTools() {
  if (!CHROMIUM || !CHROMEDRIVER) throw new Error(NO_BROWSER);
  return { chromium: CHROMIUM, chromedriver: CHROMEDRIVER };
}

/** The sandbox page: a printed song book annotated in MuNG Studio (355 nodes) and its page image. */
export const SANDBOX_PAGE =
  "mung-samples/sandbox-data/4b494e80-4cd2-11ea-a3ba-005056827e52_89218983-dac6-4e8f-9549-05f18d613154";

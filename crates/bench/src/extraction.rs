//! Section 4, extraction: the mask tools on the sandbox page through the
//! host API (warm instance), against MuNG Studio's code natively (OpenCV)
//! and the numpy reference path in the sandbox, calls interleaved.

use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result};
use mung_runtime::{Mask, MaskKernels, Point, Region, RgbaImage, Runtime};
use serde_json::{Value, json};

use crate::ctx::{Bench, Data};
use crate::measure::{self, Series};
use crate::mungdoc;
use crate::native::{NativeEnv, NativeServer};
use crate::report::Target;
use crate::table::{Ctx, Def};

/// The section's title (`--only extraction` keeps the rows under it).
pub(crate) const SECTION: &str = "4 extraction (sandbox page, warm instance, through the host API)";

/// The 500×500 region of the sandbox page for the end-to-end binarize row.
const REGION_500: Region = Region { x: 400, y: 600, width: 500, height: 500 };

/// The operations of the section, in row order.
const EXTRACT_OPS: [&str; 6] = [
    "otsu_binarize_region",
    "detect_stafflines",
    "detect_stafflines_staff",
    "compute_cut_lines",
    "separate_lines",
    "generate_staff_from_stafflines",
];

/// The section's rows.
pub(crate) fn rows(c: &Ctx) -> Vec<Def> {
    let cv = "MuNG Studio's code natively (OpenCV 4.10, 1 thread, IPP off)";
    let page = c.label("page");
    // (op, what, baseline: OpenCV's or mstudio's code natively, ratio limit)
    let ops = [
        ("otsu_binarize_region", format!("otsu_binarize_region, full page {page}"), cv, 1.5),
        ("detect_stafflines", format!("detect_stafflines, full page {page}"), cv, 1.5),
        ("detect_stafflines_staff", format!("detect_stafflines, first staff's region {}", c.label("staff")), cv, 1.5),
        (
            "compute_cut_lines",
            "compute_cut_lines, that region's stafflines mask".into(),
            "MuNG Studio's code natively (pure Python)",
            1.0,
        ),
        ("separate_lines", format!("separate_lines, that mask along its {} cut lines", c.label("cuts")), cv, 1.0),
    ];
    let mut rows: Vec<Def> = ops
        .into_iter()
        .map(|(op, what, desc, limit)| {
            Def::secs(SECTION, &format!("extract.{op}"), what)
                .vs(&format!("native.cv2.{op}"), desc, "sandbox / MuNG Studio's code")
                .target(Target::ratio_at_most(limit))
                .kernel_notes(&format!("native.mstudio.{op}"))
        })
        .collect();
    // MuNG logic, still Python: against the same code natively.
    rows.push(
        Def::secs(
            SECTION,
            "extract.generate_staff_from_stafflines",
            "generate_staff_from_stafflines, its 5 staffLine nodes",
        )
        .vs(
            "native.mstudio.generate_staff_from_stafflines",
            "native CPython, same mstudio code",
            "sandbox / native mstudio",
        )
        .target(Target::ratio_at_most(1.5)),
    );
    rows.push(
        Def::secs(SECTION, "binarize_500", "binarize a 500×500 region end to end (crop + call)")
            .vs("native.cv2.otsu_binarize_region_500", cv, "sandbox / OpenCV")
            .target(Target::ratio_at_most(2.0))
            .kernel_notes("native.mstudio.otsu_binarize_region_500"),
    );
    rows
}

/// Section 4: each mask tool through the host API, alternating with the
/// numpy reference path and native calls; returns the inputs as files for
/// the native baselines that run later.
pub(crate) fn extraction(
    b: &mut Bench,
    rt: &Runtime,
    data: &Data,
    tmp: &Path,
    native: Option<&NativeEnv>,
) -> Option<Value> {
    let keys: Vec<String> = EXTRACT_OPS.iter().map(|o| format!("extract.{o}")).chain(["binarize_500".into()]).collect();
    let (Some(png), Some(xml)) = (&data.page, &data.page_xml) else {
        b.skip(
            &keys.iter().map(String::as_str).collect::<Vec<_>>(),
            "no sandbox page (data/mung-samples/sandbox-data)",
        );
        return None;
    };
    b.progress("extraction: preparing inputs from the sandbox page and its document");
    let prepared = (|| -> Result<_> {
        let page = RgbaImage::open(png, mung_runtime::DEFAULT_MEMORY_LIMIT)?;
        let nodes = mungdoc::read_nodes(&std::fs::read_to_string(xml)?)?;
        let (staff, lines) = mungdoc::first_staff(&nodes)?;
        let pad = 10i32;
        let x0 = (staff.left - pad).max(0) as u32;
        let y0 = (staff.top - pad).max(0) as u32;
        let x1 = ((staff.left + staff.width as i32 + pad) as u32).min(page.width());
        let y1 = ((staff.top + staff.height as i32 + pad) as u32).min(page.height());
        let region = Region { x: x0, y: y0, width: x1 - x0, height: y1 - y0 };
        let staff_region = page.crop(region)?;
        let staff_mask = rt.detect_stafflines(staff_region.clone())?;
        let cuts = rt.compute_cut_lines(staff_mask.clone())?;
        Ok((page, lines, region, staff_region, staff_mask, cuts))
    })();
    let (page, lines, region, staff_region, staff_mask, cuts) = match prepared {
        Ok(p) => p,
        Err(e) => {
            b.skip(&keys.iter().map(String::as_str).collect::<Vec<_>>(), &format!("failed to prepare inputs: {e:#}"));
            return None;
        }
    };
    b.labels.insert("page", format!("{}×{}", page.width(), page.height()));
    b.labels.insert("staff", format!("{}×{} at ({}, {})", region.width, region.height, region.x, region.y));
    b.labels.insert("cuts", cuts.len().to_string());

    // The same inputs, as files, for the native baselines.
    let spec = (|| -> Result<Value> {
        let write = |name: &str, bytes: &[u8]| -> Result<String> {
            let p = tmp.join(name);
            std::fs::write(&p, bytes)?;
            Ok(p.to_string_lossy().into_owned())
        };
        let image = |name: &str, img: &RgbaImage| -> Result<Value> {
            Ok(json!({"file": write(name, img.pixels())?, "width": img.width(), "height": img.height()}))
        };
        let mask = |name: &str, m: &Mask| -> Result<Value> {
            Ok(json!({"file": write(name, m.pixels())?, "width": m.width(), "height": m.height()}))
        };
        let mut nodes = Vec::new();
        for (i, l) in lines.iter().enumerate() {
            let m = l.mask.as_ref().context("a staff line without a mask")?;
            nodes.push(json!({"id": l.id, "top": l.top, "left": l.left, "width": l.width, "height": l.height,
                              "mask": mask(&format!("line{i}.bin"), m)?}));
        }
        Ok(json!({
            "page": image("page.rgba", &page)?,
            "region500": [REGION_500.x, REGION_500.y, REGION_500.width, REGION_500.height],
            "staff_region": image("staff_region.rgba", &staff_region)?,
            "staff_mask": mask("staff_mask.bin", &staff_mask)?,
            "cut_lines": cuts.iter().map(|l| l.iter().map(|p: &Point| [p.x, p.y]).collect::<Vec<_>>()).collect::<Vec<_>>(),
            "stafflines": nodes,
        }))
    })();
    let spec = match spec {
        Ok(s) => Some(s),
        Err(e) => {
            b.notes.push(format!("could not write the extraction inputs for the native baselines: {e:#}"));
            None
        }
    };
    // One native process answers each row's call between the sandbox's calls.
    let mut server = match (native, &spec) {
        (Some(env), Some(spec)) => {
            b.progress("extraction: starting the native process (mstudio and OpenCV, warmed up)");
            let path = tmp.join("extraction_spec.json");
            match std::fs::write(&path, spec.to_string())
                .map_err(anyhow::Error::from)
                .and_then(|()| env.server("serve-extraction", &path))
            {
                Ok((srv, ready)) => {
                    if let Some(agrees) = ready["agrees"].as_str() {
                        b.notes.push(format!("native {agrees}"));
                    }
                    for k in ["opencv", "numpy"] {
                        if let Some(v) = ready[k].as_str() {
                            b.versions.insert(format!("native {k}"), v.to_string());
                        }
                    }
                    Some(srv)
                }
                Err(e) => {
                    b.notes.push(format!(
                        "native extraction calls could not be interleaved ({e:#}); measured later instead"
                    ));
                    None
                }
            }
        }
        _ => None,
    };

    // The same calls on the numpy reference path in the sandbox (what ran
    // before the Rust kernels), alternating with the kernels' calls.
    let reference = match b.builder().mask_kernels(MaskKernels::Reference).build() {
        Ok(r) => Some(r),
        Err(e) => {
            b.notes.push(format!("the reference mask path could not be built: {e}"));
            None
        }
    };
    let reference = reference.as_ref();
    let n = b.runs;
    b.progress(
        "extraction: each operation through the host API (warm instance), alternating with the numpy reference \
         path and native calls",
    );
    // Inputs are made before the rounds, so no call pays for a copy (two
    // calls per round: the kernels' and the reference's).
    let copies = |k: usize| 2 * (k + 1);
    let mut inputs: Vec<RgbaImage> = (0..copies(n)).map(|_| page.clone()).collect();
    interleaved_op(b, &mut server, "otsu_binarize_region", n, (rt, reference), |rt| {
        Ok(rt.otsu_binarize_region(inputs.pop().context("input")?).map(drop)?)
    });
    let mut inputs: Vec<RgbaImage> = (0..copies(n)).map(|_| page.clone()).collect();
    interleaved_op(b, &mut server, "detect_stafflines", n, (rt, reference), |rt| {
        Ok(rt.detect_stafflines(inputs.pop().context("input")?).map(drop)?)
    });
    let mut inputs: Vec<RgbaImage> = (0..copies(n)).map(|_| staff_region.clone()).collect();
    interleaved_op(b, &mut server, "detect_stafflines_staff", n, (rt, reference), |rt| {
        Ok(rt.detect_stafflines(inputs.pop().context("input")?).map(drop)?)
    });
    let m = b.n(20);
    let mut inputs: Vec<Mask> = (0..copies(m)).map(|_| staff_mask.clone()).collect();
    interleaved_op(b, &mut server, "compute_cut_lines", m, (rt, reference), |rt| {
        Ok(rt.compute_cut_lines(inputs.pop().context("input")?).map(drop)?)
    });
    let mut inputs: Vec<Mask> = (0..copies(n)).map(|_| staff_mask.clone()).collect();
    interleaved_op(b, &mut server, "separate_lines", n, (rt, reference), |rt| {
        Ok(rt.separate_lines(0, 0, inputs.pop().context("input")?, &cuts).map(drop)?)
    });
    let mut inputs: Vec<Vec<mung_runtime::Node>> = (0..=n).map(|_| lines.clone()).collect();
    interleaved_op(b, &mut server, "generate_staff_from_stafflines", n, (rt, None), |rt| {
        Ok(rt.generate_staff_from_stafflines(inputs.pop().context("input")?).map(drop)?)
    });
    b.progress("extraction: binarize a 500×500 region end to end (crop + host API call)");
    interleaved_op(b, &mut server, "otsu_binarize_region_500", b.n(10), (rt, reference), |rt| {
        let crop = page.crop(REGION_500)?;
        rt.otsu_binarize_region(crop)?;
        Ok(())
    });
    spec
}

/// One extraction row: each sandbox call (one warm-up, then `rounds`) is
/// followed by the same call on the numpy reference path, when there is
/// one, and natively, in mstudio and in OpenCV, when the native process is
/// there. `call` gets the runtime to call.
fn interleaved_op(
    b: &mut Bench,
    server: &mut Option<NativeServer>,
    op: &str,
    rounds: usize,
    (rt, reference): (&Runtime, Option<&Runtime>),
    mut call: impl FnMut(&Runtime) -> Result<()>,
) {
    let key = if op == "otsu_binarize_region_500" { "binarize_500".to_string() } else { format!("extract.{op}") };
    let impls = ["mstudio", "cv2"];
    let mut ours = (Vec::new(), Vec::new());
    let mut before = (Vec::new(), Vec::new());
    let mut theirs: [(Vec<f64>, Vec<f64>); 2] = Default::default();
    let mut timed = |rt: &Runtime, into: &mut (Vec<f64>, Vec<f64>), keep: bool| -> Result<()> {
        let cpu_start = measure::thread_cpu();
        let start = Instant::now();
        call(rt)?;
        if keep {
            into.0.push(start.elapsed().as_secs_f64());
            into.1.push(measure::thread_cpu() - cpu_start);
        }
        Ok(())
    };
    let result = (|| -> Result<()> {
        for round in 0..=rounds {
            timed(rt, &mut ours, round > 0)?;
            if let Some(reference) = reference {
                timed(reference, &mut before, round > 0)?;
            }
            if let Some(srv) = server.as_mut() {
                for (i, imp) in impls.iter().enumerate() {
                    let (wall, cpu) = srv.request(&format!("{imp} {op}"))?;
                    if round > 0 {
                        theirs[i].0.push(wall);
                        theirs[i].1.push(cpu);
                    }
                }
            }
        }
        Ok(())
    })();
    match result {
        Ok(()) => {
            let mut s = Series::new(ours.0, 1);
            s.cpu = ours.1;
            if !theirs[0].0.is_empty() || !before.0.is_empty() {
                s.note = Some("calls alternate with the numpy reference path's and the native baselines'".into());
            }
            b.record(&key, Ok(s));
            if !before.0.is_empty() {
                let mut r = Series::new(before.0, 1).with_note("the numpy reference path in the sandbox, alternating");
                r.cpu = before.1;
                b.record(&format!("reference.{key}"), Ok(r));
            }
            for (i, imp) in impls.iter().enumerate() {
                let (wall, cpu) = std::mem::take(&mut theirs[i]);
                if !wall.is_empty() {
                    let mut n =
                        Series::new(wall, 1).with_note("one native process, calls alternating with the sandbox's");
                    n.cpu = cpu;
                    b.record(&format!("native.{imp}.{op}"), Ok(n));
                }
            }
        }
        Err(e) => {
            b.record(&key, Err(e));
        }
    }
}

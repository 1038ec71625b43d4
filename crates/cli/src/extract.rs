//! `mung-runtime extract`: MuNG Studio's mask tools on page images.

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use mung_runtime::{ExtractError, Mask, PlacedMask, Point, Region, RegionTool, RgbaImage, Runtime};
use serde_json::json;

use crate::args::SandboxArgs;
use crate::fail;
use crate::fsutil::{same_file, write_atomic};
use crate::out::out;

/// Exit statuses: 0 success, 1 the operation does not apply to this input
/// (e.g. no separate lines to cut), 2 invalid input or usage.
#[derive(Subcommand)]
pub(crate) enum ExtractCommand {
    /// "Binarize region": the ink of a page region (Otsu on the
    /// bilateral-filtered lightness), as a mask PNG or a node added to a
    /// MuNG document.
    Binarize(RegionArgs),
    /// "Stafflines tool": the long horizontal lines of a page region.
    Stafflines(RegionArgs),
    /// Cut lines between the separate lines of a mask (JSON on stdout, or -o).
    CutLines(CutLinesArgs),
    /// Split a mask into bands along cut lines; writes one PNG per band and
    /// bands.json into a directory.
    Separate(SeparateArgs),
}

#[derive(Args)]
#[command(after_help = "Without --into, -o names the mask PNG (white = ink, same size as the region). \
    With --into DOC.xml --class-name CLASS, the mask (cropped to its ink) becomes a new node of DOC, and \
    -o names the new document; DOC itself is never modified (an -o that names an input is refused).\n\nExit status: 0 done, 1 the operation does not apply to this input, 2 bad arguments, unreadable or \
    invalid input.")]
pub(crate) struct RegionArgs {
    /// The page image (PNG or JPEG, any size).
    #[arg(long, value_name = "PAGE")]
    image: PathBuf,

    /// The region of the page, X,Y,W,H in pixels.
    #[arg(long, value_name = "X,Y,W,H")]
    region: Region,

    /// Keep only the mask inside this polygon (page coordinates:
    /// x1,y1,x2,y2,...), as MuNG Studio clips to the drawn polygon.
    #[arg(long, value_name = "x1,y1,x2,y2,...")]
    polygon: Option<String>,

    /// Add the result as a node to this MuNG document (see -o).
    #[arg(long, value_name = "DOC.xml", requires = "class_name")]
    into: Option<PathBuf>,

    /// The class of the added node, e.g. noteheadBlack.
    #[arg(long, value_name = "CLASS", requires = "into")]
    class_name: Option<String>,

    /// Output file: the mask PNG, or with --into the new document.
    #[arg(short, long, value_name = "FILE")]
    output: PathBuf,

    #[command(flatten)]
    sandbox: SandboxArgs,
}

#[derive(Args)]
pub(crate) struct CutLinesArgs {
    /// The mask image (white or opaque = inside).
    #[arg(long, value_name = "MASK.png")]
    mask: PathBuf,

    /// Write the JSON here instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,

    #[command(flatten)]
    sandbox: SandboxArgs,
}

#[derive(Args)]
pub(crate) struct SeparateArgs {
    /// The mask image (white or opaque = inside).
    #[arg(long, value_name = "MASK.png")]
    mask: PathBuf,

    /// The cut lines, as `cut-lines` writes them.
    #[arg(long, value_name = "CUTS.json")]
    cuts: PathBuf,

    /// The mask's left edge on the page (added to the band positions).
    #[arg(long, default_value_t = 0, allow_negative_numbers = true)]
    left: i32,

    /// The mask's top edge on the page.
    #[arg(long, default_value_t = 0, allow_negative_numbers = true)]
    top: i32,

    /// The directory for band-NNN.png and bands.json (created if missing).
    #[arg(short, long, value_name = "DIR")]
    output: PathBuf,

    #[command(flatten)]
    sandbox: SandboxArgs,
}

pub(crate) fn run(cmd: ExtractCommand, cache_dir: Option<PathBuf>) -> u8 {
    let result = match cmd {
        ExtractCommand::Binarize(a) => region_op(a, cache_dir, RegionTool::Binarize),
        ExtractCommand::Stafflines(a) => region_op(a, cache_dir, RegionTool::Stafflines),
        ExtractCommand::CutLines(a) => cut_lines(a, cache_dir),
        ExtractCommand::Separate(a) => separate(a, cache_dir),
    };
    match result {
        Ok(()) => 0,
        Err(Failure::Extract(ExtractError::Unsupported(m))) => {
            eprintln!("mung-runtime: {m}");
            1
        }
        Err(Failure::Extract(e)) => fail(mung_runtime::error_chain(&e)),
        Err(Failure::Other(m)) => fail(m),
    }
}

enum Failure {
    Extract(ExtractError),
    Other(String),
}

impl From<ExtractError> for Failure {
    fn from(e: ExtractError) -> Self {
        Failure::Extract(e)
    }
}

impl From<String> for Failure {
    fn from(e: String) -> Self {
        Failure::Other(e)
    }
}

fn runtime(sandbox: &SandboxArgs, cache_dir: Option<PathBuf>) -> Result<Runtime, Failure> {
    let builder = sandbox.builder(cache_dir)?;
    builder.max_instances(2).build().map_err(|e| Failure::Other(mung_runtime::error_chain(&e)))
}

fn region_op(args: RegionArgs, cache_dir: Option<PathBuf>, tool: RegionTool) -> Result<(), Failure> {
    refuse_overwrite(&args.output, std::iter::once(args.image.as_path()).chain(args.into.as_deref()))?;
    let region = args.region;
    // Decoding is bounded by the sandbox's memory cap: an image too big for
    // the sandbox is refused before the host decodes it.
    let crop = RgbaImage::open_region(&args.image, Some(region), args.sandbox.memory.0)?;
    let polygon = args
        .polygon
        .as_deref()
        .map(|p| Point::parse_list(p, 3).map_err(|e| Failure::Other(format!("--polygon: {e}"))))
        .transpose()?;
    // Read the document before any work, so a bad path fails fast.
    let document = match &args.into {
        Some(path) => Some(read_text(path, &args.sandbox)?),
        None => None,
    };
    let runtime = runtime(&args.sandbox, cache_dir)?;
    let mask = runtime.region_mask(tool, crop, region, polygon.as_deref())?;
    match (document, &args.class_name) {
        (Some(xml), Some(class_name)) => {
            let placed = PlacedMask { left: region.x as i32, top: region.y as i32, mask };
            let (new_xml, id) = runtime.insert_node(&xml, class_name, placed)?;
            write_atomic(&args.output, new_xml.as_bytes())?;
            eprintln!("added node {id} ({class_name}) to {}", args.output.display());
        }
        _ => save_mask(&mask, &args.output)?,
    }
    Ok(())
}

fn cut_lines(args: CutLinesArgs, cache_dir: Option<PathBuf>) -> Result<(), Failure> {
    if let Some(output) = &args.output {
        refuse_overwrite(output, [args.mask.as_path()])?;
    }
    let mask = open_mask(&args.mask, &args.sandbox)?;
    let runtime = runtime(&args.sandbox, cache_dir)?;
    let lines = runtime.compute_cut_lines(mask)?;
    let json: Vec<Vec<[i32; 2]>> = lines.iter().map(|l| l.iter().map(|p| [p.x, p.y]).collect()).collect();
    let text = serde_json::to_string(&json).map_err(|e| e.to_string())? + "\n";
    match &args.output {
        Some(path) => write_atomic(path, text.as_bytes())?,
        None => out!("{text}"),
    }
    Ok(())
}

/// What `separate` writes into its directory: `band-NNN.png` files and an index.
const BAND_PREFIX: &str = "band-";
const BANDS_INDEX: &str = "bands.json";

fn separate(args: SeparateArgs, cache_dir: Option<PathBuf>) -> Result<(), Failure> {
    for input in [&args.mask, &args.cuts] {
        let name = input.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        if name == BANDS_INDEX || name.starts_with(BAND_PREFIX) {
            refuse_overwrite(&args.output.join(name), [input.as_path()])?;
        }
    }
    let mask = open_mask(&args.mask, &args.sandbox)?;
    let text = read_text(&args.cuts, &args.sandbox)?;
    let raw: Vec<Vec<[i32; 2]>> = serde_json::from_str(&text)
        .map_err(|e| format!("{} is not a list of polylines [[[x,y],...],...]: {e}", args.cuts.display()))?;
    let cuts: Vec<Vec<Point>> = raw.iter().map(|l| l.iter().map(|&[x, y]| Point { x, y }).collect()).collect();
    let runtime = runtime(&args.sandbox, cache_dir)?;
    let bands = runtime.separate_lines(args.left, args.top, mask, &cuts)?;
    std::fs::create_dir_all(&args.output).map_err(|e| format!("cannot create {}: {e}", args.output.display()))?;
    let mut index = Vec::new();
    for (i, band) in bands.iter().enumerate() {
        let file = format!("{BAND_PREFIX}{i:03}.png");
        save_mask(&band.mask, &args.output.join(&file))?;
        index.push(json!({
            "file": file, "left": band.left, "top": band.top,
            "width": band.mask.width(), "height": band.mask.height(),
        }));
    }
    let listing = serde_json::to_string_pretty(&index).map_err(|e| e.to_string())? + "\n";
    write_atomic(&args.output.join(BANDS_INDEX), listing.as_bytes())?;
    eprintln!("wrote {} bands to {}", bands.len(), args.output.display());
    Ok(())
}

/// Refuses an output that is one of the inputs: inputs are never modified,
/// so an in-place edit must be asked for by writing elsewhere and moving the
/// result.
fn refuse_overwrite<'a>(output: &Path, inputs: impl IntoIterator<Item = &'a Path>) -> Result<(), Failure> {
    for input in inputs {
        if same_file(output, input) {
            return Err(Failure::Other(format!(
                "-o {} is also an input ({}); inputs are never modified, choose another output file",
                output.display(),
                input.display()
            )));
        }
    }
    Ok(())
}

/// A mask picture, refused before decoding when too big for the sandbox.
fn open_mask(path: &Path, sandbox: &SandboxArgs) -> Result<Mask, Failure> {
    let bytes = read_file(path, sandbox.memory.0)?;
    Mask::decode(&bytes, sandbox.memory.0).map_err(|e| Failure::Other(format!("{}: {e}", path.display())))
}

/// The bytes of an input file, bounded like everything the sandbox gets
/// (by its memory cap).
fn read_file(path: &Path, max: u64) -> Result<Vec<u8>, Failure> {
    mung_runtime::read_input(path, max).map_err(|e| Failure::Other(format!("cannot read {}: {e}", path.display())))
}

fn read_text(path: &Path, sandbox: &SandboxArgs) -> Result<String, Failure> {
    String::from_utf8(read_file(path, sandbox.memory.0)?)
        .map_err(|_| Failure::Other(format!("cannot read {}: stream did not contain valid UTF-8", path.display())))
}

fn save_mask(mask: &Mask, path: &Path) -> Result<(), Failure> {
    write_atomic(path, &mask.to_png()).map_err(Failure::Other)
}

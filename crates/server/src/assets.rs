//! The page for people, served from the binary (no CDN, no build step):
//! `index.html`, its stylesheet and its JavaScript modules (`app.js` is the
//! entry; it imports the others by relative path under `/assets/`).

use axum::extract::Path;
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use mung_runtime_wire::ProblemType;

use crate::problem::Problem;

const INDEX_HTML: &str = include_str!("../assets/index.html");

const JS: &str = "text/javascript; charset=utf-8";

/// Every file under `/assets/`: name, contents, media type.
const ASSETS: &[(&str, &str, &str)] = &[
    ("app.js", include_str!("../assets/app.js"), JS),
    ("binarize.js", include_str!("../assets/binarize.js"), JS),
    ("canvas.js", include_str!("../assets/canvas.js"), JS),
    ("documents.js", include_str!("../assets/documents.js"), JS),
    ("image.js", include_str!("../assets/image.js"), JS),
    ("issues.js", include_str!("../assets/issues.js"), JS),
    ("page.js", include_str!("../assets/page.js"), JS),
    ("render.js", include_str!("../assets/render.js"), JS),
    ("status.js", include_str!("../assets/status.js"), JS),
    ("style.css", include_str!("../assets/style.css"), "text/css; charset=utf-8"),
];

pub(crate) async fn index() -> Html<&'static str> {
    Html(INDEX_HTML)
}

pub(crate) async fn asset(Path(file): Path<String>) -> Response {
    let Some(&(_, body, media)) = ASSETS.iter().find(|(name, ..)| *name == file) else {
        return Problem::new(ProblemType::NOT_FOUND, format!("no asset {file:?}")).into_response();
    };
    ([(header::CONTENT_TYPE, media), (header::CACHE_CONTROL, "no-cache")], body).into_response()
}

#[cfg(test)]
mod tests {
    use super::ASSETS;

    /// Every file in `assets/` is served, and every module a served module
    /// imports is served too (a file added but not listed would 404 in the
    /// browser only).
    #[test]
    fn every_asset_and_import_is_served() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("assets");
        let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|name| name != "index.html")
            .collect();
        on_disk.sort();
        let served: Vec<&str> = ASSETS.iter().map(|(name, ..)| *name).collect();
        assert_eq!(on_disk, served);
        for (name, body, _) in ASSETS {
            for line in body.lines().filter(|l| l.starts_with("import ")) {
                let target = line.split("from './").nth(1).and_then(|rest| rest.split('\'').next());
                let target = target.unwrap_or_else(|| panic!("{name}: not a relative import: {line}"));
                assert!(served.contains(&target), "{name} imports {target}, which is not served");
            }
        }
    }
}

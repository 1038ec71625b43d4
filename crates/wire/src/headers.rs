//! Names of the headers mung-runtime adds to its answers (lower case, as
//! HTTP/2 and `http::HeaderName` want them).

/// Where a mask's left edge lies on the page, in pixels.
pub const LEFT: &str = "x-mung-left";

/// Where a mask's top edge lies on the page, in pixels.
pub const TOP: &str = "x-mung-top";

/// A mask's width in pixels (needed to read a raw RGBA answer).
pub const WIDTH: &str = "x-mung-width";

/// A mask's height in pixels (needed to read a raw RGBA answer).
pub const HEIGHT: &str = "x-mung-height";

/// `/v1/fix`: how many class names the fix renamed.
pub const RENAMED: &str = "x-mung-renamed";

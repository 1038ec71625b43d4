//! Who is calling: the token that authenticated a request.

/// The index of the token that authenticated a request in the server's
/// token list, or `None` when the server has no tokens.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Caller(pub Option<usize>);

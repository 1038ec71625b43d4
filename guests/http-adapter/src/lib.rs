//! The HTTP adapter of mung-runtime's portable component.
//!
//! Composed in front of the standalone component (whose `mung:runtime`
//! exports satisfy this adapter's imports), it turns the whole into a
//! `wasi:http/incoming-handler` that `wasmtime serve` (or another wasi:http
//! host) can run, serving the native server's `/v1/validate`, `/v1/fix` and
//! `/v1/extract/*` routes with the same bodies and the same problem+json
//! errors. The composition (`python-wasm/src/component.rs`, `compose_http`)
//! exports the standalone component's `mung:runtime` interfaces beside this
//! handler, so the composed component can still be called directly.

mod extract;
mod http;
mod problem;
mod routes;

use problem::Problems as _;

wit_bindgen::generate!({
    path: ["../../wit", "wit"],
    world: "mung:http/http@0.1.0",
    generate_all,
});

struct Adapter;

impl wasip2::exports::http::incoming_handler::Guest for Adapter {
    fn handle(request: wasip2::http::types::IncomingRequest, out: wasip2::http::types::ResponseOutparam) {
        let response = match http::Request::read(request) {
            Ok(request) => routes::route(&request),
            Err(problem) => problem.response(),
        };
        http::send(out, response);
    }
}

wasip2::http::proxy::export!(Adapter);

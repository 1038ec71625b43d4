//! The product is one standard WASI 0.2 component: it loads and runs under
//! plain wasmtime + wasmtime-wasi (the dynamic component API, no bindings,
//! no project code), looked up by export name and called with `Val`s.
//! The portable HTTP component exports the same interfaces.

use wasmtime::component::{Component, Linker, ResourceTable, Val};
use wasmtime::{Config, Engine, Store};
use wasmtime_wasi::{FsPerms, WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

struct Host {
    wasi: WasiCtx,
    table: ResourceTable,
}

impl WasiView for Host {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

#[test]
fn the_component_runs_under_plain_wasmtime() {
    // The project only tells where its files are; everything below is
    // wasmtime's public API.
    let info = crate::common::runtime().info().clone();
    let stdlib = info.stdlib_dir.clone();
    let vendor = info.vendor_dir.clone();

    let mut config = Config::new();
    config.wasm_exceptions(true);
    let engine = Engine::new(&config).unwrap();
    let component = Component::from_file(&engine, &info.component_path).expect("a valid component");

    // Its imports are WASI 0.2 only.
    let imports: Vec<String> = component.component_type().imports(&engine).map(|(name, _)| name.to_string()).collect();
    assert!(imports.iter().all(|name| name.starts_with("wasi:")), "{imports:?}");
    let exports: Vec<String> = component.component_type().exports(&engine).map(|(name, _)| name.to_string()).collect();
    for name in ["mung:runtime/python@0.1.0", "mung:runtime/validation@0.1.0", "mung:runtime/extraction@0.1.0"] {
        assert!(exports.iter().any(|e| e == name), "{name} not in {exports:?}");
    }

    let mut linker = Linker::new(&engine);
    wasmtime_wasi::p2::add_to_linker_sync(&mut linker).unwrap();
    let start = |kernels: Option<&str>| {
        let mut wasi = WasiCtxBuilder::new();
        wasi.args(&["python", "/packages", "/vendor"])
            .env("HOME", "/tmp")
            .env("TMPDIR", "/tmp")
            .env("PYTHONTZPATH", "");
        if let Some(kernels) = kernels {
            wasi.env("MUNG_RUNTIME_MASK_KERNELS", kernels);
        }
        wasi.preopened_dir(&stdlib, "/usr/local/lib", FsPerms::ReadOnly).unwrap();
        wasi.preopened_dir(&info.packages_dir, "/packages", FsPerms::ReadOnly).unwrap();
        wasi.preopened_dir(&vendor, "/vendor", FsPerms::ReadOnly).unwrap();
        let mut store = Store::new(&engine, Host { wasi: wasi.build(), table: ResourceTable::new() });
        let instance = linker.instantiate(&mut store, &component).unwrap();
        (store, instance)
    };
    let (mut store, instance) = start(None);

    let python = instance.get_export_index(&mut store, None, "mung:runtime/python@0.1.0").expect("python interface");
    let execute = instance.get_export_index(&mut store, Some(&python), "execute").expect("execute");
    let execute = instance.get_func(&mut store, execute).unwrap();
    let mut result = [Val::Bool(false)];
    execute
        .call(
            &mut store,
            &[Val::String("import numpy\nint(numpy.arange(7).sum()) * 2".into()), Val::String("{}".into())],
            &mut result,
        )
        .unwrap();
    assert_eq!(result[0], Val::Result(Ok(Some(Box::new(Val::String("42".into()))))));

    let validation = instance.get_export_index(&mut store, None, "mung:runtime/validation@0.1.0").unwrap();
    let validate = instance.get_export_index(&mut store, Some(&validation), "validate").unwrap();
    let validate = instance.get_func(&mut store, validate).unwrap();
    let xml = std::fs::read_to_string(crate::common::fixtures().join("small.xml")).unwrap();
    let mut result = [Val::Bool(false)];
    validate.call(&mut store, &[Val::String(xml)], &mut result).unwrap();
    let Val::Result(Ok(Some(issues))) = &result[0] else { panic!("validate failed: {:?}", result[0]) };
    let Val::List(issues) = issues.as_ref() else { panic!("not a list: {issues:?}") };
    let expected: Vec<serde_json::Value> =
        serde_json::from_slice(&std::fs::read(crate::common::fixtures().join("small.expected.json")).unwrap()).unwrap();
    assert_eq!(issues.len(), expected.len());
    let Val::Record(first) = &issues[0] else { panic!("not a record") };
    assert_eq!(first[0], ("code".to_string(), Val::U32(expected[0]["code"].as_u64().unwrap() as u32)));

    // The library cannot send pixels that do not match their size
    // (`Mask::new`, `RgbaImage::new`), but the sandbox does not rely on
    // that: both kernels refuse them, in the words the library uses.
    for kernels in [None, Some("reference")] {
        let (mut store, instance) = start(kernels);
        let extraction = instance.get_export_index(&mut store, None, "mung:runtime/extraction@0.1.0").unwrap();
        let mut call = |name: &str, arg: Val| {
            let func = instance.get_export_index(&mut store, Some(&extraction), name).unwrap();
            let func = instance.get_func(&mut store, func).unwrap();
            let mut result = [Val::Bool(false)];
            func.call(&mut store, &[arg], &mut result).unwrap();
            let [result] = result;
            result
        };
        let pixels = |w: u32, h: u32, n: usize| {
            let bytes = vec![Val::U8(1); n];
            Val::Record(vec![
                ("width".into(), Val::U32(w)),
                ("height".into(), Val::U32(h)),
                ("pixels".into(), Val::List(bytes)),
            ])
        };
        let cases = [
            (
                "otsu-binarize-region",
                pixels(10, 10, 399),
                mung_runtime::RgbaImage::new(10, 10, vec![0; 399]).unwrap_err(),
            ),
            (
                "otsu-binarize-region",
                pixels(u32::MAX, u32::MAX, 4),
                mung_runtime::RgbaImage::new(u32::MAX, u32::MAX, vec![0; 4]).unwrap_err(),
            ),
            ("compute-cut-lines", pixels(5, 5, 3), mung_runtime::Mask::new(5, 5, vec![0; 3]).unwrap_err()),
        ];
        for (name, arg, host) in cases {
            let mung_runtime::ExtractError::InvalidInput(words) = host else { panic!("{host:?}") };
            let refusal = Val::Variant("invalid-input".into(), Some(Box::new(Val::String(words))));
            assert_eq!(call(name, arg), Val::Result(Err(Some(Box::new(refusal)))), "{name} ({kernels:?} kernels)");
        }
    }
}

/// The `mung:runtime` interfaces of `wit/runtime.wit`.
const INTERFACES: [&str; 3] =
    ["mung:runtime/python@0.1.0", "mung:runtime/validation@0.1.0", "mung:runtime/extraction@0.1.0"];

/// A component's top-level export names and its validated types.
fn exports_and_types(bytes: &[u8]) -> (Vec<String>, wasmparser::types::Types) {
    let types = wasmparser::Validator::new_with_features(wasmparser::WasmFeatures::all())
        .validate_all(bytes)
        .expect("a valid component");
    let mut names = Vec::new();
    let mut depth = 0usize;
    for payload in wasmparser::Parser::new(0).parse_all(bytes) {
        match payload.unwrap() {
            wasmparser::Payload::Version { .. } => depth += 1,
            wasmparser::Payload::End(_) => depth -= 1,
            wasmparser::Payload::ComponentExportSection(reader) if depth == 1 => {
                names.extend(reader.into_iter().map(|e| e.unwrap().name.name.to_string()));
            }
            _ => {}
        }
    }
    names.sort();
    (names, types)
}

/// The functions of the instance a component exports as `interface`.
fn functions(types: &wasmparser::types::Types, interface: &str) -> Vec<String> {
    let types = types.as_ref();
    let item = types.component_item_for_export(interface).unwrap_or_else(|| panic!("{interface} not exported"));
    let wasmparser::component_types::ComponentEntityType::Instance(id) = item.ty else {
        panic!("{interface} is not an instance")
    };
    types[id].exports.keys().cloned().collect()
}

/// The portable HTTP component exports `wasi:http/incoming-handler` and,
/// beside it, the standalone component's three interfaces with the same
/// functions: the composition exports them, nothing forwards them (the
/// HTTP adapter does not even import `mung:runtime/python`). Its routes are
/// called by `wasmtime_serve.rs`.
#[test]
fn the_http_component_exports_the_runtime_interfaces() {
    let runtime = crate::common::runtime();
    let http = std::fs::read(runtime.http_component_path().expect("the HTTP component")).unwrap();
    let (names, http_types) = exports_and_types(&http);
    drop(http);
    let mut expected: Vec<&str> = INTERFACES.to_vec();
    expected.push("wasi:http/incoming-handler@0.2.12");
    expected.sort_unstable();
    assert_eq!(names, expected);

    let standalone = std::fs::read(&runtime.info().component_path).unwrap();
    let (_, standalone_types) = exports_and_types(&standalone);
    for interface in INTERFACES {
        let theirs = functions(&standalone_types, interface);
        assert!(!theirs.is_empty(), "{interface} of the standalone component has no functions");
        assert_eq!(functions(&http_types, interface), theirs, "{interface}");
    }
}

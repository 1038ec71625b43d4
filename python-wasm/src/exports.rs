//! Exporting an internal function of a module, found by its debug name.
//!
//! The snapshot builder needs to call one of wasi-libc's own functions
//! (`__wasilibc_reset_preopens`) that the interpreter module defines but does
//! not export. The module keeps its `name` section, so the function can be
//! found by name and given an export; nothing else in the module changes.

use wasm_encoder::RawSection;
use wasmparser::{KnownCustom, Name, Parser, Payload, TypeRef};

const SECTION_EXPORT: u8 = 7;

/// Returns `module` with the function whose `name`-section name is
/// `function` also exported as `export_name`. The function must take and
/// return nothing. Fails if there is no such function, or if `export_name`
/// is already taken by another export.
pub fn export_named_function(module: &[u8], function: &str, export_name: &str) -> anyhow::Result<Vec<u8>> {
    let mut sections = Vec::new(); // (id, byte range) of each section, in order
    let mut imported_funcs = 0u32;
    let mut func_types: Vec<(usize, usize)> = Vec::new(); // (params, results) per type index
    let mut defined: Vec<u32> = Vec::new(); // type index of each defined function
    let mut found: Option<u32> = None;
    let mut exports: Option<std::ops::Range<usize>> = None;
    for payload in Parser::new(0).parse_all(module) {
        let payload = payload?;
        match &payload {
            Payload::ImportSection(imports) => {
                for import in imports.clone().into_imports() {
                    if matches!(import?.ty, TypeRef::Func(_) | TypeRef::FuncExact(_)) {
                        imported_funcs += 1;
                    }
                }
            }
            Payload::TypeSection(types) => {
                for ty in types.clone().into_iter_err_on_gc_types() {
                    let ty = ty?;
                    func_types.push((ty.params().len(), ty.results().len()));
                }
            }
            Payload::FunctionSection(funcs) => {
                for ty in funcs.clone() {
                    defined.push(ty?);
                }
            }
            Payload::ExportSection(reader) => {
                for export in reader.clone() {
                    let export = export?;
                    anyhow::ensure!(export.name != export_name, "the module already exports `{export_name}`");
                }
                exports = Some(reader.range());
            }
            Payload::CustomSection(custom) => {
                if let KnownCustom::Name(names) = custom.as_known() {
                    for part in names {
                        if let Name::Function(map) = part? {
                            for naming in map {
                                let naming = naming?;
                                if naming.name == function {
                                    found = Some(naming.index);
                                }
                            }
                        }
                    }
                }
            }
            _ => {}
        }
        if let Some(section) = payload.as_section() {
            sections.push(section);
        }
    }
    let index = found.ok_or_else(|| anyhow::format_err!("the module has no function named `{function}`"))?;
    let ty = index
        .checked_sub(imported_funcs)
        .and_then(|i| defined.get(i as usize))
        .ok_or_else(|| anyhow::format_err!("`{function}` is imported, not defined, by the module"))?;
    anyhow::ensure!(func_types.get(*ty as usize) == Some(&(0, 0)), "`{function}` does not have the type [] -> []");
    let exports = exports.ok_or_else(|| anyhow::format_err!("the module has no export section"))?;

    // The export section is a count followed by the entries: bump the count
    // and append one entry.
    let (count, entries_start) = read_u32_leb(module, exports.start)?;
    let mut data = Vec::new();
    write_u32_leb(&mut data, count + 1);
    data.extend_from_slice(&module[entries_start..exports.end]);
    write_u32_leb(&mut data, export_name.len() as u32);
    data.extend_from_slice(export_name.as_bytes());
    data.push(0x00); // a function
    write_u32_leb(&mut data, index);

    let mut out = wasm_encoder::Module::new();
    for (id, range) in sections {
        if id == SECTION_EXPORT {
            out.section(&RawSection { id, data: &data });
        } else {
            out.section(&RawSection { id, data: &module[range] });
        }
    }
    Ok(out.finish())
}

fn read_u32_leb(bytes: &[u8], mut at: usize) -> anyhow::Result<(u32, usize)> {
    let mut value = 0u64;
    for shift in (0..35).step_by(7) {
        let byte = *bytes.get(at).ok_or_else(|| anyhow::format_err!("truncated LEB128"))?;
        at += 1;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return u32::try_from(value).map(|v| (v, at)).map_err(|_| anyhow::format_err!("LEB128 out of range"));
        }
    }
    anyhow::bail!("LEB128 too long")
}

fn write_u32_leb(out: &mut Vec<u8>, mut value: u32) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exports_a_named_function_and_keeps_the_rest() {
        let wat = r#"(module
            (import "env" "f" (func $imported))
            (global $g (mut i32) (i32.const 7))
            (func $hidden (global.set $g (i32.const 42)))
            (func $typed (param i32))
            (func (export "get") (result i32) (global.get $g)))"#;
        let module = wat::parse_str(wat).unwrap();
        let out = export_named_function(&module, "hidden", "reset").unwrap();
        wasmparser::Validator::new().validate_all(&out).unwrap();
        let names: Vec<(String, u32)> = Parser::new(0)
            .parse_all(&out)
            .filter_map(|p| match p.unwrap() {
                Payload::ExportSection(r) => {
                    Some(r.into_iter().map(|e| e.unwrap()).map(|e| (e.name.to_string(), e.index)).collect::<Vec<_>>())
                }
                _ => None,
            })
            .flatten()
            .collect();
        assert_eq!(names, vec![("get".to_string(), 3), ("reset".to_string(), 1)]);
        assert!(export_named_function(&module, "typed", "x").unwrap_err().to_string().contains("type"));
        assert!(export_named_function(&module, "imported", "x").is_err());
        assert!(export_named_function(&module, "missing", "x").unwrap_err().to_string().contains("no function"));
        assert!(export_named_function(&module, "hidden", "get").unwrap_err().to_string().contains("already"));
    }
}

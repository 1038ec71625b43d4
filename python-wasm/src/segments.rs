//! Fewer data segments in a snapshot module.
//!
//! wasmtime visits every data segment of a module each time it makes an
//! instance. A wizer snapshot of the interpreter has about 20,000: the base
//! module's 10,000 segments (already applied, so wizer leaves them as empty
//! passive segments to keep their indices) and up to 10,000 of the snapshot's
//! own. Without `memory.init`/`data.drop` in the code nothing refers to a
//! segment by index, so the empty ones can go and the snapshot's can be merged
//! across small gaps of zeros: instantiation gets cheaper, and the memory image
//! (made from the same bytes) does not change.

use wasm_encoder::{ConstExpr, DataCountSection, DataSection, RawSection};
use wasmparser::{
    DataKind, DataSectionReader, ImportSectionReader, Operator, Parser, Payload, Validator, WasmFeatures,
};

/// Zeros we add to join two neighbouring segments, at most. The compiled
/// module's memory image spans the gaps anyway.
const MAX_GAP: u32 = 1 << 20;

const SECTION_DATA: u8 = 11;
const SECTION_DATA_COUNT: u8 = 12;

/// What [`compact_data_segments`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Compaction {
    /// Data segments before.
    pub before: usize,
    /// Data segments after.
    pub after: usize,
}

/// Rewrites `module` with its data segments merged, or returns `None` when it
/// cannot be done safely (the code uses segment indices, a passive segment
/// holds bytes, an offset is not a constant, segments overlap, or there is
/// more than one memory). The result is validated before it is returned.
pub fn compact_data_segments(module: &[u8]) -> anyhow::Result<Option<(Vec<u8>, Compaction)>> {
    let mut sections = Vec::new(); // (id, byte range) of each section, in order
    let mut segments = Vec::new(); // (offset, bytes) of the active segments
    let mut before = 0;
    for payload in Parser::new(0).parse_all(module) {
        match payload? {
            Payload::Version { .. } | Payload::End(_) => {}
            Payload::MemorySection(memories) if memories.count() > 1 => return Ok(None),
            Payload::ImportSection(ref imports) if imports_memory(imports.clone())? => return Ok(None),
            Payload::DataSection(reader) => {
                sections.push((SECTION_DATA, reader.range()));
                before = reader.count() as usize;
                if !collect_active(reader, &mut segments)? {
                    return Ok(None);
                }
            }
            Payload::CodeSectionEntry(body) => {
                let mut ops = body.get_operators_reader()?;
                while !ops.eof() {
                    if matches!(ops.read()?, Operator::MemoryInit { .. } | Operator::DataDrop { .. }) {
                        return Ok(None);
                    }
                }
            }
            other => {
                if let Some((id, range)) = other.as_section() {
                    sections.push((id, range));
                }
            }
        }
    }
    segments.sort_by_key(|(offset, _)| *offset);
    let Some(merged) = merge(&segments) else { return Ok(None) };

    let mut out = wasm_encoder::Module::new();
    for (id, range) in sections {
        match id {
            // The data count, if any, must match the new data section.
            SECTION_DATA_COUNT => {
                out.section(&DataCountSection { count: merged.len() as u32 });
            }
            SECTION_DATA => {
                out.section(&data_section(&merged));
            }
            _ => {
                out.section(&RawSection { id, data: &module[range] });
            }
        }
    }
    let bytes = out.finish();
    Validator::new_with_features(WasmFeatures::all()).validate_all(&bytes)?;
    let after = merged.len();
    Ok(Some((bytes, Compaction { before, after })))
}

/// Whether the module imports a memory (then its data is not ours to merge).
fn imports_memory(imports: ImportSectionReader<'_>) -> anyhow::Result<bool> {
    for import in imports.into_imports() {
        if matches!(import?.ty, wasmparser::TypeRef::Memory(_)) {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Collects the active segments; false if one of them cannot be handled or a
/// passive segment holds bytes.
fn collect_active<'a>(reader: DataSectionReader<'a>, out: &mut Vec<(u32, &'a [u8])>) -> anyhow::Result<bool> {
    for data in reader {
        let data = data?;
        match data.kind {
            DataKind::Passive if data.data.is_empty() => {}
            DataKind::Passive => return Ok(false),
            DataKind::Active { memory_index: 0, offset_expr } => {
                let mut ops = offset_expr.get_operators_reader();
                let (Operator::I32Const { value }, Operator::End) = (ops.read()?, ops.read()?) else {
                    return Ok(false);
                };
                if !ops.eof() {
                    return Ok(false);
                }
                out.push((value as u32, data.data));
            }
            DataKind::Active { .. } => return Ok(false),
        }
    }
    Ok(true)
}

/// Joins sorted segments separated by at most [`MAX_GAP`] zeros; `None` if
/// two overlap (their order would then matter).
fn merge(segments: &[(u32, &[u8])]) -> Option<Vec<(u32, Vec<u8>)>> {
    let mut merged: Vec<(u32, Vec<u8>)> = Vec::new();
    for &(offset, bytes) in segments {
        if bytes.is_empty() {
            continue;
        }
        if let Some((start, data)) = merged.last_mut() {
            let end = *start as u64 + data.len() as u64;
            if (offset as u64) < end {
                return None;
            }
            let gap = offset as u64 - end;
            if gap <= MAX_GAP as u64 {
                data.resize(data.len() + gap as usize, 0);
                data.extend_from_slice(bytes);
                continue;
            }
        }
        merged.push((offset, bytes.to_vec()));
    }
    Some(merged)
}

fn data_section(segments: &[(u32, Vec<u8>)]) -> DataSection {
    let mut section = DataSection::new();
    for (offset, bytes) in segments {
        section.active(0, &ConstExpr::i32_const(*offset as i32), bytes.iter().copied());
    }
    section
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(module: &[u8]) -> usize {
        for payload in Parser::new(0).parse_all(module) {
            if let Payload::DataSection(reader) = payload.unwrap() {
                return reader.count() as usize;
            }
        }
        0
    }

    #[test]
    fn merges_active_segments_and_drops_empty_passive_ones() {
        let wat = r#"(module
            (memory 1)
            (data "")
            (data (i32.const 8) "ab")
            (data (i32.const 16) "cd")
            (data (i32.const 100000) "ef")
            (func (export "f") (result i32) (i32.load8_u (i32.const 17))))"#;
        let module = wat::parse_str(wat).unwrap();
        let (out, c) = compact_data_segments(&module).unwrap().unwrap();
        assert_eq!(c, Compaction { before: 4, after: 1 });
        assert_eq!(count(&out), 1);
        // The bytes land where they were, with zeros between.
        let mut reader = None;
        for p in Parser::new(0).parse_all(&out) {
            if let Payload::DataSection(r) = p.unwrap() {
                reader = Some(r);
            }
        }
        let seg = reader.unwrap().into_iter().next().unwrap().unwrap();
        assert_eq!(&seg.data[..10], b"ab\0\0\0\0\0\0cd");
        assert_eq!(seg.data.len(), 100002 - 8);
        assert_eq!(&seg.data[seg.data.len() - 2..], b"ef");
    }

    #[test]
    fn leaves_modules_that_use_segment_indices_alone() {
        let wat = r#"(module
            (memory 1)
            (data "x")
            (data (i32.const 8) "ab")
            (func (memory.init 0 (i32.const 0) (i32.const 0) (i32.const 1)) (data.drop 0)))"#;
        let module = wat::parse_str(wat).unwrap();
        assert!(compact_data_segments(&module).unwrap().is_none());
        let wat = r#"(module (memory 1) (data (i32.const 8) "ab") (data (i32.const 9) "cd"))"#;
        assert!(compact_data_segments(&wat::parse_str(wat).unwrap()).unwrap().is_none(), "overlap");
    }

    #[test]
    fn far_apart_segments_stay_apart() {
        let wat = r#"(module (memory 100) (data (i32.const 0) "a") (data (i32.const 4000000) "b"))"#;
        let (out, c) = compact_data_segments(&wat::parse_str(wat).unwrap()).unwrap().unwrap();
        assert_eq!((c.after, count(&out)), (2, 2));
    }
}

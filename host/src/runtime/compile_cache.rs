//! A disk cache of compiled components, so `logsandbox run` does not spend a quarter of
//! a second in Cranelift on every invocation.
//!
//! A compiled component is named by the SHA-256 of its wasm bytes and the engine's
//! compatibility hash (wasmtime version and configuration), so a different component,
//! wasmtime or engine setting never loads a stale file. Files are written to a temporary
//! name and renamed into place, so concurrent processes never see half a file.
//!
//! A compiled component is native code that wasmtime maps and runs as is: a damaged file
//! would crash the host, not fail to load. So each file starts with the SHA-256 of the rest,
//! checked before anything is handed to wasmtime; a file that does not match is compiled
//! again and replaced.
//!
//! Where: `$LOGSANDBOX_CACHE_DIR`, else `$XDG_CACHE_HOME/logsandbox`, else
//! `~/.cache/logsandbox`. `LOGSANDBOX_CACHE_DIR=off` disables it. Any failure of the cache
//! falls back to compiling: the cache can make a run faster, never fail it.

use std::hash::{Hash, Hasher};
use std::path::PathBuf;

use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

/// The directory of the cache, or None when it is off or has no home.
fn dir() -> Option<PathBuf> {
    match std::env::var_os("LOGSANDBOX_CACHE_DIR") {
        Some(v) if v == "off" => None,
        Some(v) => Some(PathBuf::from(v)),
        None => std::env::var_os("XDG_CACHE_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
            .map(|d| d.join("logsandbox")),
    }
}

fn file_name(engine: &Engine, wasm: &[u8]) -> String {
    let mut compat = std::hash::DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut compat);
    let digest = Sha256::digest(wasm);
    let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
    format!("{hex}-{:016x}.cwasm", compat.finish())
}

/// At most this many compiled components are kept; the oldest go first.
const KEEP: usize = 32;

/// The component for `wasm`: from the cache when it holds it, else compiled (and cached).
pub fn load(engine: &Engine, wasm: &[u8]) -> wasmtime::Result<Component> {
    load_in(dir(), engine, wasm)
}

fn load_in(dir: Option<PathBuf>, engine: &Engine, wasm: &[u8]) -> wasmtime::Result<Component> {
    let Some(dir) = dir else {
        return Component::new(engine, wasm);
    };
    let path = dir.join(file_name(engine, wasm));
    if let Some(artifact) = read_verified(&path) {
        tracing::debug!(cache = %path.display(), "compiled component read from the cache");
        // SAFETY: these bytes are exactly what `store` wrote from a component this engine
        // compiled (their SHA-256 matches the one written with them), under a name that
        // binds them to these wasm bytes and to this engine's version and configuration;
        // wasmtime checks the header again.
        if let Ok(component) = unsafe { Component::deserialize(engine, artifact) } {
            return Ok(component);
        }
    }
    let started = std::time::Instant::now();
    let component = Component::new(engine, wasm)?;
    tracing::debug!(
        bytes = wasm.len(),
        ms = started.elapsed().as_millis() as u64,
        "component compiled"
    );
    if let Ok(bytes) = component.serialize() {
        let mut file = Sha256::digest(&bytes).to_vec();
        file.extend_from_slice(&bytes);
        store(&dir, &path, &file);
    }
    Ok(component)
}

/// The compiled component in `path`, if the file is there and its checksum holds.
fn read_verified(path: &std::path::Path) -> Option<Vec<u8>> {
    let mut file = std::fs::read(path).ok()?;
    if file.len() < 32 || Sha256::digest(&file[32..]).as_slice() != &file[..32] {
        tracing::warn!(
            "the cached component {} fails its checksum: compiling it again",
            path.display()
        );
        return None;
    }
    Some(file.split_off(32))
}

fn store(dir: &std::path::Path, path: &std::path::Path, bytes: &[u8]) {
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    let written = std::fs::create_dir_all(dir)
        .and_then(|_| std::fs::write(&tmp, bytes))
        .and_then(|_| std::fs::rename(&tmp, path));
    if let Err(e) = written {
        tracing::warn!(
            "could not write the compiled-component cache {}: {e}; the component is compiled again next time",
            path.display()
        );
        let _ = std::fs::remove_file(&tmp);
        return;
    }
    prune(dir);
}

/// Removes all but the `KEEP` most recently written compiled components.
fn prune(dir: &std::path::Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut files: Vec<(std::time::SystemTime, PathBuf)> = entries
        .filter_map(|e| e.ok())
        .filter(|e| e.path().extension().is_some_and(|x| x == "cwasm"))
        .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
        .collect();
    if files.len() <= KEEP {
        return;
    }
    files.sort();
    for (_, path) in &files[..files.len() - KEEP] {
        let _ = std::fs::remove_file(path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cwasm_files(dir: &std::path::Path) -> Vec<PathBuf> {
        std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "cwasm"))
            .collect()
    }

    #[test]
    fn a_component_is_compiled_once_then_loaded_and_a_corrupt_file_is_recompiled() {
        let dir = std::env::temp_dir().join(format!("logsandbox-cache-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let mut config = wasmtime::Config::new();
        config.wasm_component_model(true);
        let engine = Engine::new(&config).unwrap();
        let wasm = wat::parse_str("(component (core module))").unwrap();
        load_in(Some(dir.clone()), &engine, &wasm).unwrap();
        let files = cwasm_files(&dir);
        assert_eq!(files.len(), 1);
        let written = std::fs::metadata(&files[0]).unwrap().modified().unwrap();
        load_in(Some(dir.clone()), &engine, &wasm).unwrap();
        assert_eq!(
            std::fs::metadata(&files[0]).unwrap().modified().unwrap(),
            written,
            "loaded, not rewritten"
        );
        // Another component gets its own file.
        let other = wat::parse_str("(component (core module) (core module))").unwrap();
        load_in(Some(dir.clone()), &engine, &other).unwrap();
        assert_eq!(cwasm_files(&dir).len(), 2);
        // A corrupt file is not trusted: the component is compiled again.
        std::fs::write(&files[0], b"not a compiled component").unwrap();
        load_in(Some(dir.clone()), &engine, &wasm).unwrap();
        let rewritten = std::fs::read(&files[0]).unwrap();
        assert!(rewritten.len() > 100, "rewritten");
        // A flipped byte inside the native code is caught by the checksum before wasmtime
        // sees it (it would have mapped and run it).
        let mut damaged = rewritten.clone();
        let last = damaged.len() - 1;
        damaged[last] ^= 0xff;
        std::fs::write(&files[0], &damaged).unwrap();
        assert!(read_verified(&files[0]).is_none());
        load_in(Some(dir.clone()), &engine, &wasm).unwrap();
        assert_eq!(
            std::fs::read(&files[0]).unwrap(),
            rewritten,
            "compiled again"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

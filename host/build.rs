//! Builds the wasm guest whenever the host is built, so `cargo run` and `cargo test`
//! need no extra step.
//!
//! The guest is built by a nested `cargo build --target wasm32-wasip2` into its own
//! target directory (`target/guest`): sharing the outer one would deadlock on cargo's
//! build lock. Each variant (the product guest; a test guest that traps on purpose; the
//! mutant guests, one known bug each) is built with its own features and copied into
//! `OUT_DIR`. The variants use a quick profile without LTO.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

const TARGET: &str = "wasm32-wasip2";

/// (file name in OUT_DIR, cargo features of the guest, cargo profile)
const VARIANTS: &[(&str, &str, &str)] = &[
    ("logsandbox_guest.wasm", "", "wasm-guest"),
    ("guest_trap_on_store.wasm", "trap-on-store", "wasm-test"),
    ("guest_list_on_client.wasm", "list-on-client", "wasm-test"),
    ("guest_hostile.wasm", "hostile", "wasm-test"),
    (
        "mutant_publish_before_drain.wasm",
        "mutant-publish-before-drain",
        "wasm-test",
    ),
    (
        "mutant_drain_without_cancel.wasm",
        "mutant-drain-without-cancel",
        "wasm-test",
    ),
    (
        "mutant_trim_past_clamp.wasm",
        "mutant-trim-past-clamp",
        "wasm-test",
    ),
    (
        "mutant_store_after_seal.wasm",
        "mutant-store-after-seal",
        "wasm-test",
    ),
    (
        "mutant_equal_version_accepted.wasm",
        "mutant-equal-version-accepted",
        "wasm-test",
    ),
    (
        "mutant_commit_before_quorum.wasm",
        "mutant-commit-before-quorum",
        "wasm-test",
    ),
    (
        "mutant_forget_seal_on_recovery.wasm",
        "mutant-forget-seal-on-recovery",
        "wasm-test",
    ),
    (
        "mutant_trim_beyond_tail.wasm",
        "mutant-trim-beyond-tail",
        "wasm-test",
    ),
    (
        "mutant_wait_resolves_early.wasm",
        "mutant-wait-resolves-early",
        "wasm-test",
    ),
    (
        "mutant_no_immediate_fetch.wasm",
        "mutant-no-immediate-fetch",
        "wasm-test",
    ),
    (
        "mutant_wait_fetches.wasm",
        "mutant-wait-fetches",
        "wasm-test",
    ),
    (
        "mutant_retryable_as_terminal.wasm",
        "mutant-retryable-as-terminal",
        "wasm-test",
    ),
    (
        "mutant_extend_without_cas.wasm",
        "mutant-extend-without-cas",
        "wasm-test",
    ),
];

fn main() {
    let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let root = manifest_dir
        .parent()
        .expect("host/ sits in the workspace root");
    for watched in ["guest/src", "guest/Cargo.toml", "wit"] {
        println!("cargo:rerun-if-changed={}", root.join(watched).display());
    }
    println!("cargo:rerun-if-env-changed=LOGSANDBOX_GUEST_TARGET_DIR");

    ensure_target();
    let target_dir = env::var_os("LOGSANDBOX_GUEST_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            env::var_os("CARGO_TARGET_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| root.join("target"))
                .join("guest")
        });
    let out_dir = PathBuf::from(env::var("OUT_DIR").unwrap());
    for (file, features, profile) in VARIANTS {
        build_guest(root, &target_dir, features, profile);
        let built = target_dir
            .join(TARGET)
            .join(profile)
            .join("logsandbox_guest.wasm");
        std::fs::copy(&built, out_dir.join(file))
            .unwrap_or_else(|e| panic!("copying the guest component {}: {e}", built.display()));
    }
}

/// Makes sure the wasm target is installed: adds it with rustup, or stops saying how.
fn ensure_target() {
    let rustc = env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let sysroot = Command::new(&rustc)
        .args(["--print", "sysroot"])
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
    let installed = |root: &Option<String>| {
        root.as_ref()
            .is_some_and(|r| Path::new(r).join("lib/rustlib").join(TARGET).exists())
    };
    if installed(&sysroot) {
        return;
    }
    println!("cargo:warning=the {TARGET} target is missing; running `rustup target add {TARGET}`");
    let added = Command::new("rustup")
        .args(["target", "add", TARGET])
        .status()
        .is_ok_and(|s| s.success());
    if !added || !installed(&sysroot) {
        panic!(
            "\n\nlogsandbox builds its node logic as a wasm component and needs the {TARGET} \
             target.\nInstall it with:\n\n    rustup target add {TARGET}\n\nthen build again.\n"
        );
    }
}

fn build_guest(root: &Path, target_dir: &Path, features: &str, profile: &str) {
    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(root)
        .args(["build", "--package", "logsandbox-guest", "--lib"])
        .args(["--target", TARGET, "--profile", profile])
        .arg("--target-dir")
        .arg(target_dir);
    if !features.is_empty() {
        cmd.args(["--features", features]);
    }
    // The outer build's flags and wrappers (clippy, coverage) must not leak into the guest.
    for var in [
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTC_WRAPPER",
        "RUSTC_WORKSPACE_WRAPPER",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET",
        "CARGO_PROFILE_RELEASE_DEBUG",
    ] {
        cmd.env_remove(var);
    }
    let status = cmd
        .status()
        .unwrap_or_else(|e| panic!("running cargo to build the wasm guest: {e}"));
    if !status.success() {
        panic!(
            "building the wasm guest failed (features: {features:?}); run\n    cargo build -p \
             logsandbox-guest --target {TARGET} --profile wasm-guest\nto see why"
        );
    }
}

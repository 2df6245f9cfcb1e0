//! Replays every fuzz target's committed inputs once, on stable and without AFL++: the seed
//! corpora (`fuzz/corpus/<target>/`) and the crashes fuzzing found (`fuzz/regressions/<target>/`),
//! through the same `auth_eid::fuzzing` entry points the AFL++ harness calls.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use auth_eid::fuzzing::{target, TARGETS};

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

/// The files of `fuzz/<kind>/<target>/`, sorted; none if the folder does not exist.
fn inputs(kind: &str, target: &str) -> Vec<PathBuf> {
    let Ok(dir) = std::fs::read_dir(fuzz_dir().join(kind).join(target)) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = dir
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

/// Folder names under `fuzz/<kind>/`.
fn folders(kind: &str) -> Vec<String> {
    let Ok(dir) = std::fs::read_dir(fuzz_dir().join(kind)) else {
        return Vec::new();
    };
    dir.map(|e| e.unwrap())
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect()
}

#[test]
fn fuzz_corpora_and_regressions_replay_without_a_panic() {
    let mut failures = Vec::new();
    let mut replayed = 0;
    for t in TARGETS {
        let seeds = inputs("corpus", t.name);
        assert!(!seeds.is_empty(), "fuzz/corpus/{} has no seed", t.name);
        for file in seeds.iter().chain(&inputs("regressions", t.name)) {
            let data = std::fs::read(file).unwrap();
            if catch_unwind(AssertUnwindSafe(|| (t.run)(&data))).is_err() {
                failures.push(file.display().to_string());
            }
            replayed += 1;
        }
    }
    assert!(failures.is_empty(), "panicked on: {failures:?}");
    assert!(replayed >= TARGETS.len());
}

#[test]
fn fuzz_folders_name_known_targets() {
    for kind in ["corpus", "regressions"] {
        for name in folders(kind) {
            assert!(target(&name).is_some(), "fuzz/{kind}/{name} is no target");
        }
    }
}

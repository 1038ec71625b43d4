//! Native CPython environments, for baselines and oracles.
//!
//! Tests compare the sandbox with the real libraries run natively (OpenCV
//! for the mask tools, scikit-image for the `skimage` stand-in), and the
//! benchmark measures the same Python code under native CPython. Both need a
//! virtual environment with pinned packages; this creates it once, with the
//! machine's `python3` and pip, under the cache.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

use crate::cache::CacheDir;
use crate::fetch::run_python;
use crate::pins::PYTHON_ENV;
use crate::{ArtifactError, Result};

/// What the native baseline needs: the libraries the sandbox has, plus the
/// references it is compared with (test and benchmark only; never shipped).
pub const BASELINE_REQUIREMENTS: &[&str] = &[
    "numpy==2.4.6",
    "scipy==1.17.1",
    "lxml==6.1.3",
    "pillow==13.0.0",
    "scikit-image==0.26.0",
    "opencv-python-headless==4.10.0.84",
];

/// A virtual environment with a fixed set of requirements.
#[derive(Clone, Debug)]
pub struct NativePython {
    dir: PathBuf,
}

impl NativePython {
    /// Makes sure a venv named `name` with `requirements` exists in `cache`.
    pub fn ensure(cache: &CacheDir, name: &str, requirements: &[&str]) -> Result<NativePython> {
        let mut h = Sha256::new();
        for r in requirements {
            h.update(r.as_bytes());
            h.update([0]);
        }
        let key = hex::encode(h.finalize());
        let dir = cache.root().join("venvs").join(format!("{name}-{}", &key[..12]));
        let marker = dir.join(".complete");
        if marker.exists() {
            return Ok(NativePython { dir });
        }
        let _lock = cache.lock(&format!("venv-{name}"))?;
        if marker.exists() {
            return Ok(NativePython { dir });
        }
        if dir.exists() {
            fs::remove_dir_all(&dir).map_err(ArtifactError::io(format!("removing incomplete {}", dir.display())))?;
        }
        tracing::info!(venv = %dir.display(), "creating a native Python environment (once)");
        let python = std::env::var(PYTHON_ENV).unwrap_or_else(|_| "python3".to_string());
        let files = "the baseline packages";
        run_python(Command::new(&python).args(["-m", "venv"]).arg(&dir), &python, "creating the venv", files)?;
        let venv_python = dir.join("bin/python");
        run_python(
            Command::new(&venv_python)
                .args(["-m", "pip", "install", "--disable-pip-version-check", "--quiet"])
                .args(requirements),
            &python,
            &format!("installing {}", requirements.join(" ")),
            files,
        )?;
        fs::write(&marker, requirements.join("\n")).map_err(ArtifactError::io("writing the venv marker"))?;
        Ok(NativePython { dir })
    }

    /// The venv's Python executable.
    pub fn python(&self) -> PathBuf {
        self.dir.join("bin/python")
    }

    /// The venv's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

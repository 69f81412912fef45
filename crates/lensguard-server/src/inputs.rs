//! Turning command-line paths into the list of files to inspect, and reading
//! each one within the size limit.

use anyhow::{Context, bail};
use lensguard_vision::Error as VisionError;
use std::io::Read;
use std::path::{Path, PathBuf};

const IMAGE_EXTENSIONS: &[&str] = &["jpg", "jpeg", "png", "webp"];

/// One thing to inspect: a file, or a folder entry that could not be listed
/// (reported as an `unreadable` photo rather than stopping the batch).
pub enum Input {
    /// A file to read and inspect.
    File(PathBuf),
    /// A path found while walking a folder that could not be read.
    Unlistable(PathBuf, String),
}

impl Input {
    /// The path to show in output.
    pub fn path(&self) -> &Path {
        match self {
            Input::File(p) | Input::Unlistable(p, _) => p,
        }
    }
}

/// Expands files and folders into inputs, in a stable order: arguments in the
/// order given, folder contents sorted by path. Symbolic links are followed
/// (walkdir detects loops). A missing path, or no photo at all, is a usage error.
pub fn collect(paths: &[PathBuf]) -> anyhow::Result<Vec<Input>> {
    let mut inputs = Vec::new();
    for path in paths {
        let meta =
            std::fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
        if meta.is_file() {
            inputs.push(Input::File(path.clone()));
        } else if meta.is_dir() {
            let walker = walkdir::WalkDir::new(path)
                .follow_links(true)
                .sort_by_file_name()
                .into_iter()
                .filter_entry(|e| e.depth() == 0 || !is_hidden(e.file_name()));
            for entry in walker {
                match entry {
                    Ok(e) if e.file_type().is_file() && has_image_extension(e.path()) => {
                        inputs.push(Input::File(e.into_path()));
                    }
                    Ok(_) => {}
                    Err(e) => {
                        let at = e.path().unwrap_or(path).to_path_buf();
                        inputs.push(Input::Unlistable(at, e.to_string()));
                    }
                }
            }
        } else {
            bail!("{} is neither a file nor a folder", path.display());
        }
    }
    if inputs.is_empty() {
        let named: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
        bail!(
            "no photos found in {} (folders are searched for .jpg, .jpeg, .png and .webp files)",
            named.join(", ")
        );
    }
    Ok(inputs)
}

fn is_hidden(name: &std::ffi::OsStr) -> bool {
    name.to_string_lossy().starts_with('.')
}

fn has_image_extension(path: &Path) -> bool {
    path.extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .is_some_and(|e| IMAGE_EXTENSIONS.contains(&e.as_str()))
}

/// Why a file could not be read.
pub enum ReadError {
    /// Over the byte limit (checked before reading the content).
    TooLarge(VisionError),
    /// The operating system refused or failed.
    Io(std::io::Error),
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadError::TooLarge(e) => e.fmt(f),
            ReadError::Io(e) => e.fmt(f),
        }
    }
}

/// Reads a file, refusing one larger than `limit` bytes without reading it all.
pub fn read_limited(path: &Path, limit: u64) -> Result<Vec<u8>, ReadError> {
    let file = std::fs::File::open(path).map_err(ReadError::Io)?;
    let declared = file.metadata().map_err(ReadError::Io)?.len();
    let too_large = |size| ReadError::TooLarge(VisionError::FileTooLarge { size, limit });
    if declared > limit {
        return Err(too_large(declared));
    }
    let mut bytes = Vec::with_capacity(declared as usize);
    // The file may grow while we read it: never read past the limit.
    file.take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(ReadError::Io)?;
    if bytes.len() as u64 > limit {
        return Err(too_large(bytes.len() as u64));
    }
    Ok(bytes)
}

//! Results of running vector files.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Serialize, Serializer};

/// A vector file format the runner understands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Format {
    /// Wycheproof `aead_test_schema` (SM4-GCM, SM4-CCM).
    WycheproofAead,
    /// Wycheproof `ind_cpa_test_schema` (SM4-ECB/CBC/CTR/OFB/CFB/XTS).
    WycheproofIndCpa,
    /// Wycheproof `mac_test_schema` (HMAC-SM3, truncated tags included).
    WycheproofMac,
    /// Wycheproof `hkdf_test_schema` (HKDF-SM3).
    WycheproofHkdf,
    /// gmkit `hash_test_schema` (SM3), see testvectors/README.md.
    GmkitHash,
    /// gmkit `block_cipher_kat_test_schema` (iterated SM4 block KATs).
    GmkitBlockKat,
    /// Wycheproof `ecdsa_verify_schema` shape with `Sm2Verify` groups
    /// (SM2-with-SM3 signature verification), see testvectors/README.md.
    WycheproofSm2Verify,
    /// OpenSSL `evp_test` data (`Cipher =`, `Digest =`, `MAC =` stanzas).
    OpensslEvp,
    /// The file could not be identified (or not read).
    Unknown,
}

impl Format {
    /// The stable name used in reports (`wycheproof-aead`, `openssl-evp`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Format::WycheproofAead => "wycheproof-aead",
            Format::WycheproofIndCpa => "wycheproof-ind-cpa",
            Format::WycheproofMac => "wycheproof-mac",
            Format::WycheproofHkdf => "wycheproof-hkdf",
            Format::GmkitHash => "gmkit-hash",
            Format::GmkitBlockKat => "gmkit-block-kat",
            Format::WycheproofSm2Verify => "wycheproof-sm2-verify",
            Format::OpensslEvp => "openssl-evp",
            Format::Unknown => "unknown",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One vector that did not behave as its file says.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Failure {
    /// Which vector: `tcId 17` (JSON files), `line 42` (start of an evp
    /// stanza), or a file-level location such as `line 3 column 7`.
    pub id: String,
    /// What went wrong.
    pub reason: String,
    /// The vector's own comment (Wycheproof `comment`, or the `#` lines just
    /// before an evp stanza), usually naming its source.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// One vector that was not run, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Skip {
    /// Which vector (same forms as [`Failure::id`]).
    pub id: String,
    /// Why it was not run (unsupported algorithm, mode, keyword...).
    pub reason: String,
}

/// The outcome of one file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FileReport {
    /// The file, as it was given or found.
    #[serde(serialize_with = "path_lossy")]
    pub path: PathBuf,
    /// Its detected format.
    pub format: Format,
    /// The file's algorithm (JSON files), when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub algorithm: Option<String>,
    /// Vectors that behaved as expected.
    pub passed: usize,
    /// Vectors that did not (equals `failures.len()`).
    pub failed: usize,
    /// Vectors not run (equals `skips.len()`).
    pub skipped: usize,
    /// Every failure, in file order.
    pub failures: Vec<Failure>,
    /// Every skipped vector with its reason, in file order.
    pub skips: Vec<Skip>,
    /// Set when the file as a whole could not be read, identified or parsed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

fn path_lossy<S: Serializer>(p: &Path, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&p.to_string_lossy())
}

impl FileReport {
    pub(crate) fn new(path: &Path, format: Format) -> Self {
        FileReport {
            path: path.to_path_buf(),
            format,
            algorithm: None,
            passed: 0,
            failed: 0,
            skipped: 0,
            failures: Vec::new(),
            skips: Vec::new(),
            error: None,
        }
    }

    /// A report for a file that could not be run at all: one failure naming
    /// the location of the problem.
    pub fn from_error(path: &Path, err: &crate::RunError) -> Self {
        let mut r = FileReport::new(path, err.format());
        r.fail(err.location(), err.detail(), None);
        r.error = Some(err.to_string());
        r
    }

    pub(crate) fn pass(&mut self) {
        self.passed += 1;
    }

    pub(crate) fn fail(&mut self, id: String, reason: String, comment: Option<String>) {
        self.failed += 1;
        self.failures.push(Failure {
            id,
            reason,
            comment: comment.filter(|c| !c.is_empty()),
        });
    }

    pub(crate) fn skip(&mut self, id: String, reason: String) {
        self.skipped += 1;
        self.skips.push(Skip { id, reason });
    }

    /// True if the file parsed and no vector failed.
    pub fn is_success(&self) -> bool {
        self.failed == 0 && self.error.is_none()
    }
}

/// The outcome of a whole run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Report {
    /// The SM4 backend the vectors ran on.
    pub backend: String,
    /// Total passed vectors.
    pub passed: usize,
    /// Total failed vectors (including one per unreadable file).
    pub failed: usize,
    /// Total skipped vectors.
    pub skipped: usize,
    /// Per-file results, in the order the files were run.
    pub files: Vec<FileReport>,
}

impl Report {
    pub(crate) fn new(backend: String) -> Self {
        Report {
            backend,
            passed: 0,
            failed: 0,
            skipped: 0,
            files: Vec::new(),
        }
    }

    pub(crate) fn push(&mut self, file: FileReport) {
        self.passed += file.passed;
        self.failed += file.failed;
        self.skipped += file.skipped;
        self.files.push(file);
    }

    /// True if at least one file ran, every file parsed and no vector failed.
    pub fn is_success(&self) -> bool {
        !self.files.is_empty() && self.failed == 0 && self.files.iter().all(FileReport::is_success)
    }
}

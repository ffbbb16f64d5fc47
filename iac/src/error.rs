//! Errors for input the caller must fix; what adaptd only cannot patch is a suggestion,
//! not an error.

/// Why a plan could not be made.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum IacError {
    /// An IaC file does not parse; nothing in it could be located safely.
    #[error("{file}:{line}:{col}: cannot parse {what}: {message}")]
    Parse {
        /// Relative path.
        file: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        col: usize,
        /// `HCL`, `YAML` or `JSON`.
        what: &'static str,
        /// The parser's message.
        message: String,
    },
    /// A mapping in the config names a resource the repository does not have.
    #[error("iac mapping of component `{component}`: {message}")]
    Mapping {
        /// Component name.
        component: String,
        /// What is wrong.
        message: String,
    },
    /// A `.tfvars` file named in the config cannot be used.
    #[error("iac.var_files: `{path}` {why}")]
    VarFile {
        /// The path as configured.
        path: String,
        /// What is wrong.
        why: String,
    },
    /// Two edits of one file overlap (a bug, reported instead of writing bad text).
    #[error("{file}: edits overlap at bytes {at}; refusing to write a corrupted file")]
    Overlap {
        /// Relative path.
        file: String,
        /// Byte offset.
        at: usize,
    },
}

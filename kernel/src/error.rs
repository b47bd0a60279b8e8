//! Errors: a stable [`ErrorCode`] (the same on every target), a human message, and
//! where it happened (the pipeline step and, for pipeline checks, the parameter).

use std::fmt;

/// The stable error codes of the boundary. Split by who is at fault, like
/// image-rs's `ImageError`: the pipeline author, the input, this build, a limit, or us.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// Unknown op, bad parameter, or kinds that do not chain.
    BadPipeline,
    /// The input is corrupt or not what the step expects.
    BadInput,
    /// A format or feature this build does not have.
    Unsupported,
    /// A limit was hit (input, output, pixels, rows, depth, ...).
    TooLarge,
    /// A bug: never reachable from any input.
    Internal,
}

impl ErrorCode {
    /// Every code, in the order of DESIGN.md.
    pub const ALL: [ErrorCode; 5] = [
        ErrorCode::BadPipeline,
        ErrorCode::BadInput,
        ErrorCode::Unsupported,
        ErrorCode::TooLarge,
        ErrorCode::Internal,
    ];

    /// The snake_case name used in JSON, JS and HTTP bodies.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::BadPipeline => "bad_pipeline",
            ErrorCode::BadInput => "bad_input",
            ErrorCode::Unsupported => "unsupported",
            ErrorCode::TooLarge => "too_large",
            ErrorCode::Internal => "internal",
        }
    }

    /// The HTTP status of HTTP API v1.
    pub fn http_status(self) -> u16 {
        match self {
            ErrorCode::BadPipeline => 400,
            ErrorCode::BadInput => 422,
            ErrorCode::Unsupported => 415,
            ErrorCode::TooLarge => 413,
            ErrorCode::Internal => 500,
        }
    }

    /// The process exit code of the CLI (sysexits.h).
    pub fn exit_code(self) -> i32 {
        match self {
            ErrorCode::BadPipeline => 2,
            ErrorCode::BadInput => 65,
            ErrorCode::Unsupported => 69,
            ErrorCode::TooLarge => 75,
            ErrorCode::Internal => 70,
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error of `run`: its code, a message for people, and where it happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    /// The stable code.
    pub code: ErrorCode,
    /// What went wrong, for people. Not stable: match on `code`.
    pub message: String,
    /// The 0-based index of the step in the pipeline as written, if a step is at fault.
    pub step: Option<usize>,
    /// The parameter at fault, if any.
    pub param: Option<String>,
}

impl Error {
    /// A new error with no location.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Error {
        Error {
            code,
            message: message.into(),
            step: None,
            param: None,
        }
    }

    /// `bad_pipeline`.
    pub fn bad_pipeline(message: impl Into<String>) -> Error {
        Error::new(ErrorCode::BadPipeline, message)
    }

    /// `bad_input`.
    pub fn bad_input(message: impl Into<String>) -> Error {
        Error::new(ErrorCode::BadInput, message)
    }

    /// `unsupported`.
    pub fn unsupported(message: impl Into<String>) -> Error {
        Error::new(ErrorCode::Unsupported, message)
    }

    /// `too_large`.
    pub fn too_large(message: impl Into<String>) -> Error {
        Error::new(ErrorCode::TooLarge, message)
    }

    /// `internal`.
    pub fn internal(message: impl Into<String>) -> Error {
        Error::new(ErrorCode::Internal, message)
    }

    /// Sets the step, unless one is already set.
    pub fn at_step(mut self, step: usize) -> Error {
        self.step.get_or_insert(step);
        self
    }

    /// Sets the parameter at fault.
    pub fn with_param(mut self, param: impl Into<String>) -> Error {
        self.param = Some(param.into());
        self
    }

    /// The error as the JSON object of the boundary:
    /// `{"code": ..., "message": ..., "step": ..., "param": ...}` (`step`/`param` may be null).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "code": self.code.as_str(),
            "message": self.message,
            "step": self.step,
            "param": self.param,
        })
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for Error {}

/// Shorthand for this crate's results.
pub type Result<T, E = Error> = std::result::Result<T, E>;

//! Licences: the model, its JWS encoding, issuance and verification.
//!
//! The format is written down in `docs/licence-format.md`.

pub mod annotated;
pub mod issue;
pub mod json;
pub mod jws;
pub mod model;
pub mod original;
pub mod verify;

pub use issue::{Authority, IssueError, Issued, Signer, SigningKey};
pub use model::{Claims, FieldValue, IssuanceRequest, LicenceFace};
pub use verify::{Check, Outcome, Report, Verifier};

//! zhengzhao (证照): issue, verify and serve electronic licences, and audit every access.
//!
//! The crate is split by concern:
//! - [`codes`]: the identifier codes every other part carries as validated types
//!   (统一社会信用代码, 居民身份证号, region codes, licence type codes, GB/T 36904 licence ids).
//! - [`licence`]: the licence model, its JWS encoding, issuance and verification.
//! - [`pki`]: trust anchors bound to regions, certificate path validation, certificate facts.
//! - [`audit`]: the append-only audit log, its proofs and the auditor's replay.
//! - [`store`]: the node's RocksDB database: column families, key encodings, reads, and the
//!   group commit of entries with the node's own records. Nothing else knows its layout.
//! - [`ofd`]: OFD documents (GB/T 33190), read strictly within bounds, their electronic seals
//!   and signatures (GB/T 38540, GM/T 0031, GB/T 35275), and their verification.
//! - [`node`]: the node: configuration, mutual TLS, the HTTP API, usage copies.
//! - [`demo`]: the demo PKI, seals and node configuration of the four demo regions (public
//!   test material, never for production).
//! - [`cli`]: the command line, a thin layer over the above.
//! - [`fuzzing`]: fuzz target bodies, shared by `fuzz/` and the seed-replay tests.

pub mod audit;
pub mod cli;
pub mod codes;
pub mod demo;
pub mod fuzzing;
pub mod gm;
pub mod licence;
pub mod node;
pub mod ofd;
pub mod pki;
pub mod store;

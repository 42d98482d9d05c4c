//! Fuzz target bodies, shared by `fuzz/` and the seed-replay tests.
//!
//! Each `fuzz_*` function takes arbitrary bytes, runs one part of the library on them and
//! asserts what must hold for every input. `fuzz/` (cargo-fuzz) drives them with libFuzzer;
//! `tests/fuzz_seeds.rs` replays the committed seeds in `fuzz/corpus/` on stable.
//!
//! One file per target: [`fuzz_identifiers`], [`fuzz_licence`], [`fuzz_notes`], [`fuzz_ofd`]
//! and [`fuzz_http`] (with [`http_exchange`], the one request it sends).

mod http;
mod identifiers;
mod licence;
mod notes;
mod ofd;

pub use http::{fuzz_http, http_exchange};
pub use identifiers::fuzz_identifiers;
pub use licence::fuzz_licence;
pub use notes::fuzz_notes;
pub use ofd::fuzz_ofd;

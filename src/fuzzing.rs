//! Fuzz target bodies, shared by `fuzz/` and the seed-replay tests.

//! Signed notes, checkpoints, cosignatures, proof files and keys: see
//! `zhengzhao::fuzzing::fuzz_notes`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| zhengzhao::fuzzing::fuzz_notes(data));

//! Identifier parsers: see `zhengzhao::fuzzing::fuzz_identifiers`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| zhengzhao::fuzzing::fuzz_identifiers(data));

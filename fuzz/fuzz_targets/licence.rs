//! Licence tokens through `jws::decode` and the verifier: see `zhengzhao::fuzzing::fuzz_licence`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| zhengzhao::fuzzing::fuzz_licence(data));

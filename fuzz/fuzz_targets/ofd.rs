//! OFD packages, their verification, and electronic seals and signatures: see
//! `zhengzhao::fuzzing::fuzz_ofd`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| zhengzhao::fuzzing::fuzz_ofd(data));

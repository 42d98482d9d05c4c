//! HTTP requests (method, path, query, headers, body, caller) through the node's dispatcher,
//! without a socket: see `zhengzhao::fuzzing::fuzz_http`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| zhengzhao::fuzzing::fuzz_http(data));

//! See `orderspot::fuzzing::http_request`: nothing may panic, and what it checks must hold.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| orderspot::fuzzing::http_request(data));

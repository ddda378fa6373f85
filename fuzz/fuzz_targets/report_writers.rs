//! See `orderspot::fuzzing::report_writers`: nothing may panic, and what it checks must hold.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| orderspot::fuzzing::report_writers(data));

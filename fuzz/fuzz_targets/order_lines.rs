//! See `orderspot::fuzzing::order_lines`: nothing may panic, and what it checks must hold.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| orderspot::fuzzing::order_lines(data));

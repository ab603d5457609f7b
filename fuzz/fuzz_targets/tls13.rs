#![no_main]
// See probewatch::fuzzing::tls13 for the input layout and the invariants checked.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(e) = probewatch::fuzzing::tls13(data) {
        panic!("tls13: {e}");
    }
});

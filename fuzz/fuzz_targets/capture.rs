#![no_main]
// See probewatch::fuzzing::capture_file for the input layout and the invariants checked.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(e) = probewatch::fuzzing::capture_file(data) {
        panic!("capture: {e}");
    }
});

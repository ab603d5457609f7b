#![no_main]
// See probewatch::fuzzing::keylog for the input layout and the invariants checked.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(e) = probewatch::fuzzing::keylog(data) {
        panic!("keylog: {e}");
    }
});

#![no_main]
// See probewatch::fuzzing::quic_hs for the input layout and the invariants checked.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(e) = probewatch::fuzzing::quic_hs(data) {
        panic!("quic_hs: {e}");
    }
});

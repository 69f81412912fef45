//! Decode, every check and the verdict on arbitrary bytes must never panic.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| lensguard_vision::fuzz::inspect_bytes(data));

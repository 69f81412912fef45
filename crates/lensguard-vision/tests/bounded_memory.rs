//! Memory stays bounded on hostile headers: the decompression bombs are refused
//! before any large allocation. A counting global allocator records the peak
//! number of live bytes while each fixture is inspected. This file holds a single
//! test so no other test's allocations mix into the count.

#![allow(clippy::expect_used, clippy::unwrap_used)] // test helpers fail loudly by design

use lensguard_core::{Limits, Policy, Verdict};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: delegates every call to the system allocator unchanged; only counts.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let live = LIVE.fetch_add(layout.size(), Ordering::SeqCst) + layout.size();
            PEAK.fetch_max(live, Ordering::SeqCst);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::SeqCst);
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

#[test]
fn bombs_are_refused_before_allocating_their_pixels() {
    let dir = lensguard_testkit::bad_input_dir();
    let now = time::OffsetDateTime::UNIX_EPOCH;
    let policy = Policy::default();
    for name in [
        "bomb-65535x65535.png",
        "bomb-19000x19000.png",
        "huge-dimensions.jpg",
    ] {
        let bytes = std::fs::read(dir.join(name)).expect("fixture");
        let before = LIVE.load(Ordering::SeqCst);
        PEAK.store(before, Ordering::SeqCst);
        let report = lensguard_vision::inspect(&bytes, &policy, &Limits::default(), now);
        let grew = PEAK.load(Ordering::SeqCst) - before;
        assert_eq!(report.verdict, Verdict::Error, "{name}");
        // The smallest bomb declares 361 million pixels (over 1 GB as RGB).
        assert!(grew < 4 * 1024 * 1024, "{name}: peak grew by {grew} bytes");
    }
}

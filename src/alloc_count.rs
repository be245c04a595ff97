//! Heap allocations counted per thread, so the media loops can show that forwarding does not
//! allocate per packet.
//!
//! "No per-packet heap allocation" is a property of the running server, not of one function:
//! it holds only if every layer a packet passes through (our loop, `rtc`'s pipeline, SRTP,
//! the interceptors) keeps it. Counting allocations made on each media loop's own thread and
//! dividing by the packets it forwarded tests exactly that, in tests and in production
//! (`/metrics`). The count is a thread-local increment, cheap next to the allocation itself.
//! It counts only where the binary installs [`CountingAllocator`] as its global allocator;
//! elsewhere [`allocations_on_this_thread`] stays at zero.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

thread_local! {
    // `const` and no destructor: safe to touch from inside the allocator, on any thread,
    // at any point of its life.
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

/// The system allocator, counting each allocation (and reallocation) on the calling thread.
pub struct CountingAllocator;

fn count() {
    let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
}

// SAFETY: every call is passed unchanged to `System`; counting touches only a thread-local.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count();
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

/// Allocations made so far on the calling thread (zero unless [`CountingAllocator`] is the
/// global allocator).
pub fn allocations_on_this_thread() -> u64 {
    ALLOCATIONS.try_with(Cell::get).unwrap_or(0)
}

/// A point in the calling thread's count: what a stretch of code allocates is
/// `Mark::now()` before it and [`Mark::since`] after it.
#[derive(Debug, Clone, Copy)]
pub struct Mark(u64);

impl Mark {
    pub fn now() -> Self {
        Mark(allocations_on_this_thread())
    }

    /// Allocations made on this thread since the mark.
    pub fn since(self) -> u64 {
        allocations_on_this_thread() - self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_what_this_thread_allocates_through_the_counting_allocator() {
        let a = CountingAllocator;
        let before = Mark::now();
        let layout = Layout::from_size_align(64, 8).unwrap();
        // SAFETY: a valid non-zero layout, freed with the same layout.
        unsafe {
            let p = a.alloc(layout);
            assert!(!p.is_null());
            let p = a.realloc(p, layout, 128);
            a.dealloc(p, Layout::from_size_align(128, 8).unwrap());
        }
        assert_eq!(before.since(), 2);
        // Another thread's allocations are its own.
        std::thread::spawn(move || unsafe {
            let p = CountingAllocator.alloc(layout);
            CountingAllocator.dealloc(p, layout);
        })
        .join()
        .unwrap();
        assert_eq!(before.since(), 2);
    }
}

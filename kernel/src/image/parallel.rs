//! Row-parallel loops: rayon on native builds (feature `rayon`), a plain loop otherwise.
//!
//! Work is split by rows and every row is computed the same way whatever the split, so
//! the output is byte-identical with and without threads.

/// Below this many bytes of image, threads cost more than they save.
const PARALLEL_MIN_BYTES: usize = 1 << 18;

/// Threads that may run rows at once.
pub fn threads() -> usize {
    #[cfg(feature = "rayon")]
    return rayon::current_num_threads();
    #[cfg(not(feature = "rayon"))]
    1
}

/// Calls `f(y, row)` for every row of `buf`, a buffer of rows of `stride` values.
pub fn for_each_row<T, F>(buf: &mut [T], stride: usize, f: F)
where
    T: Send,
    F: Fn(usize, &mut [T]) + Sync + Send,
{
    #[cfg(feature = "rayon")]
    if size_of_val(buf) >= PARALLEL_MIN_BYTES {
        use rayon::prelude::*;
        buf.par_chunks_exact_mut(stride)
            .enumerate()
            .for_each(|(y, row)| f(y, row));
        return;
    }
    let _ = PARALLEL_MIN_BYTES;
    buf.chunks_exact_mut(stride).enumerate().for_each(|(y, row)| f(y, row));
}

/// Calls `f(first_row, band)` for bands of `rows` rows of `buf` (the last one may be
/// shorter): for work that walks a block of rows at a time (tiles).
pub fn for_each_band<T, F>(buf: &mut [T], stride: usize, rows: usize, f: F)
where
    T: Send,
    F: Fn(usize, &mut [T]) + Sync + Send,
{
    let chunk = stride * rows.max(1);
    if chunk == 0 {
        return;
    }
    #[cfg(feature = "rayon")]
    if size_of_val(buf) >= PARALLEL_MIN_BYTES {
        use rayon::prelude::*;
        buf.par_chunks_mut(chunk)
            .enumerate()
            .for_each(|(i, band)| f(i * rows.max(1), band));
        return;
    }
    buf.chunks_mut(chunk)
        .enumerate()
        .for_each(|(i, band)| f(i * rows.max(1), band));
}

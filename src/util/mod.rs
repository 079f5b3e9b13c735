//! Helpers with no knowledge of releases: per-build cancellation, atomic
//! file-system writes, which run owns a temporary, and ordered parallel
//! maps.

pub(crate) mod cancel;

pub(crate) mod fs;
pub(crate) mod owner;
pub(crate) mod parallel;

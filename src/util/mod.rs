//! Helpers with no knowledge of releases: per-build cancellation, atomic
//! file-system writes and ordered parallel maps.

pub(crate) mod cancel;

pub(crate) mod fs;
pub(crate) mod parallel;

//! Helpers with no knowledge of releases: per-build cancellation, atomic
//! file-system writes, which run owns a temporary, ordered parallel maps
//! and dates.

pub(crate) mod cancel;

pub(crate) mod fs;
pub(crate) mod owner;
pub(crate) mod parallel;
pub(crate) mod time;

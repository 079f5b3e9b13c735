//! Helpers with no knowledge of releases: per-build cancellation, atomic
//! file-system writes, which run owns a temporary, ordered parallel maps,
//! dates, and path resolution in another machine's file system.

pub(crate) mod cancel;

pub(crate) mod fs;
pub(crate) mod owner;
pub(crate) mod parallel;
pub(crate) mod time;
pub(crate) mod view;

//! Tools built on the pipeline and the formats: [`check`] validates a
//! release however it was written, [`inspect`] lists what a release needs
//! from the machine it runs on, [`init`] writes a starting release
//! configuration.

pub mod check;
pub mod init;
pub mod inspect;

//! Tools built on the pipeline and the formats: [`check`] validates a
//! release however it was written, [`inspect`] lists what a release needs
//! from the machine it runs on, [`init`] writes a starting release
//! configuration, [`clean`] finds and removes what killed runs left,
//! [`sbom`] lists what a release is made of.

pub mod check;
pub mod clean;
pub mod init;
pub mod inspect;
pub mod sbom;

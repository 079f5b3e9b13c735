//! The file formats relpack reads and writes, each a codec with no
//! knowledge of releases: Erlang terms as text ([`term`]), the external
//! term format of `.boot` files ([`etf`]), `.app` files ([`app`]), BEAM
//! chunks ([`beam`]), ELF dependencies ([`elf`]), boot scripts ([`boot`]),
//! and, inside the crate, SHA-256 digests, raw DEFLATE and OCI image
//! layouts.

pub mod app;
pub mod beam;
pub mod boot;
pub(crate) mod deflate;
pub(crate) mod digest;
pub mod elf;
pub mod etf;
pub(crate) mod oci;
pub mod term;

//! The words every stage shares, below all of them: how an application
//! starts, whether ERTS is bundled, how a tarball is compressed, when
//! hooks run, the rules for release names and cookies, and what changes
//! with the bundled Elixir and OTP versions, and the machine a release
//! is for. Nothing here
//! opens a file.

mod codec;
mod erts;
mod hook;
mod names;
mod start_type;
mod target;
mod toolchain;

pub use codec::Codec;
pub use erts::IncludeErts;
pub use hook::Hook;
pub use names::{is_valid_cookie, validate_cookie, validate_release_name, COOKIE_RULE};
pub use start_type::StartType;
pub use target::{
    pair_roots, parse_targets, Arch, Libc, Target, TargetFile, TargetRoot, TARGET_NAMES,
};
pub use toolchain::{Chunk, Toolchain, Version};

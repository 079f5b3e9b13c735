//! The shared libraries an ELF file needs (`DT_NEEDED`), read from its
//! dynamic section: what a release's `beam.smp`, NIFs and port programs
//! require from the system they run on; and the machine, class and C
//! library they were built for.
//!
//! Only what that question needs is parsed: the header, the section
//! headers, the `SHT_DYNAMIC` section and the string table it links to.
//! 32- and 64-bit, little- and big-endian; every offset is bounds-checked,
//! so a truncated or hostile file gives an error, never a panic.

use crate::vocab::{Arch, Libc, Target};

/// Why a file could not be read as ELF.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ElfError(pub String);

impl std::fmt::Display for ElfError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Whether `bytes` start like an ELF file.
pub fn is_elf(bytes: &[u8]) -> bool {
    bytes.starts_with(b"\x7fELF")
}

/// Whether the file at `path` starts like an ELF file (reading 4 bytes).
pub(crate) fn file_is_elf(path: &std::path::Path) -> bool {
    let mut magic = [0u8; 4];
    std::fs::File::open(path)
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut magic))
        .is_ok_and(|()| is_elf(&magic))
}

const SHT_DYNAMIC: u32 = 6;
const DT_NULL: u64 = 0;
const DT_NEEDED: u64 = 1;

struct Reader<'a> {
    bytes: &'a [u8],
    wide: bool,
    big: bool,
}

impl Reader<'_> {
    /// A reader of `bytes`, if they start like an ELF file's header.
    fn new(bytes: &[u8]) -> Result<Reader<'_>, ElfError> {
        if !is_elf(bytes) || bytes.len() < 0x34 {
            return Err(ElfError("not an ELF file".into()));
        }
        Ok(Reader {
            bytes,
            wide: bytes[4] == 2,
            big: bytes[5] == 2,
        })
    }

    fn slice(&self, at: u64, len: u64) -> Result<&[u8], ElfError> {
        let start = usize::try_from(at).ok();
        let end = start.and_then(|s| s.checked_add(usize::try_from(len).ok()?));
        match (start, end) {
            (Some(s), Some(e)) if e <= self.bytes.len() => Ok(&self.bytes[s..e]),
            _ => Err(ElfError(format!("offset {at} beyond the end of the file"))),
        }
    }

    fn uint(&self, at: u64, size: u64) -> Result<u64, ElfError> {
        let b = self.slice(at, size)?;
        let mut v: u64 = 0;
        for i in 0..b.len() {
            let byte = if self.big { b[i] } else { b[b.len() - 1 - i] };
            v = (v << 8) | byte as u64;
        }
        Ok(v)
    }

    /// A native word: 8 bytes in ELF64, 4 in ELF32.
    fn word(&self, at: u64) -> Result<u64, ElfError> {
        self.uint(at, if self.wide { 8 } else { 4 })
    }
}

/// Libraries ERTS opens with `dlopen` at run time instead of naming them
/// in `DT_NEEDED`, each with the message an ERTS prints at every node's
/// start when it cannot: OTP's SCTP support. OTP 25's and 27's ERTS try
/// libsctp for `gen_sctp` alone and say nothing; OTP 29's socket NIF
/// warns (`Failed open sctp dynamic library: libsctp.so.1`) on every
/// start, and sid's erlang-base depends on libsctp1. So it is needed
/// where the binary holds that message.
const DLOPENED: &[(&str, &str)] = &[("libsctp.so.1", "Failed open sctp dynamic library")];

/// What an ELF file loads: its `DT_NEEDED` sonames, in order, then the
/// `dlopen`ed ones it cannot do without (see `DLOPENED`).
pub fn loaded_libraries(bytes: &[u8]) -> Result<Vec<String>, ElfError> {
    let mut libs = needed_libraries(bytes)?;
    let holds = |text: &[u8]| bytes.windows(text.len()).any(|w| w == text);
    for (name, complaint) in DLOPENED {
        if !libs.iter().any(|l| l == name) && holds(complaint.as_bytes()) {
            libs.push((*name).to_owned());
        }
    }
    Ok(libs)
}

/// The `DT_NEEDED` sonames of an ELF file, in order. A static executable
/// needs none.
pub fn needed_libraries(bytes: &[u8]) -> Result<Vec<String>, ElfError> {
    let r = Reader::new(bytes)?;
    let (shoff, shentsize, shnum) = if r.wide {
        (r.uint(0x28, 8)?, r.uint(0x3A, 2)?, r.uint(0x3C, 2)?)
    } else {
        (r.uint(0x20, 4)?, r.uint(0x2E, 2)?, r.uint(0x30, 2)?)
    };
    let section = |i: u64| -> Result<(u32, u64, u64, u32, u64), ElfError> {
        let at = shoff.wrapping_add(i.wrapping_mul(shentsize));
        let kind = r.uint(at.wrapping_add(4), 4)? as u32;
        let (offset, size, link, entsize) = if r.wide {
            (
                r.uint(at.wrapping_add(0x18), 8)?,
                r.uint(at.wrapping_add(0x20), 8)?,
                r.uint(at.wrapping_add(0x28), 4)?,
                r.uint(at.wrapping_add(0x38), 8)?,
            )
        } else {
            (
                r.uint(at.wrapping_add(0x10), 4)?,
                r.uint(at.wrapping_add(0x14), 4)?,
                r.uint(at.wrapping_add(0x18), 4)?,
                r.uint(at.wrapping_add(0x24), 4)?,
            )
        };
        Ok((kind, offset, size, link as u32, entsize))
    };
    let mut needed = Vec::new();
    for i in 0..shnum {
        let (kind, offset, size, link, entsize) = section(i)?;
        if kind != SHT_DYNAMIC {
            continue;
        }
        let (_, str_off, str_size, _, _) = section(link as u64)?;
        let strings = r.slice(str_off, str_size)?;
        let entsize = if entsize == 0 {
            if r.wide {
                16
            } else {
                8
            }
        } else {
            entsize
        };
        let half = entsize / 2;
        for e in 0..size / entsize {
            let at = offset.wrapping_add(e.wrapping_mul(entsize));
            let tag = r.word(at)?;
            if tag == DT_NULL {
                break;
            }
            if tag == DT_NEEDED {
                let name_at =
                    usize::try_from(r.uint(at.wrapping_add(half), half)?).unwrap_or(usize::MAX);
                let rest = strings
                    .get(name_at..)
                    .ok_or_else(|| ElfError("DT_NEEDED name beyond the string table".into()))?;
                let end = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
                needed.push(String::from_utf8_lossy(&rest[..end]).into_owned());
            }
        }
    }
    Ok(needed)
}

const PT_INTERP: u32 = 3;

/// The program interpreter (`PT_INTERP`, the dynamic loader's path, e.g.
/// `/lib64/ld-linux-x86-64.so.2`) of an ELF file; `None` for a shared
/// library or a static executable.
pub fn interpreter(bytes: &[u8]) -> Result<Option<String>, ElfError> {
    let r = Reader::new(bytes)?;
    let (phoff, phentsize, phnum) = if r.wide {
        (r.uint(0x20, 8)?, r.uint(0x36, 2)?, r.uint(0x38, 2)?)
    } else {
        (r.uint(0x1C, 4)?, r.uint(0x2A, 2)?, r.uint(0x2C, 2)?)
    };
    for i in 0..phnum {
        let at = phoff.wrapping_add(i.wrapping_mul(phentsize));
        if r.uint(at, 4)? as u32 != PT_INTERP {
            continue;
        }
        let (offset, size) = if r.wide {
            (
                r.uint(at.wrapping_add(0x08), 8)?,
                r.uint(at.wrapping_add(0x20), 8)?,
            )
        } else {
            (
                r.uint(at.wrapping_add(0x04), 4)?,
                r.uint(at.wrapping_add(0x10), 4)?,
            )
        };
        let path = r.slice(offset, size)?;
        let end = path.iter().position(|&b| b == 0).unwrap_or(path.len());
        return Ok(Some(String::from_utf8_lossy(&path[..end]).into_owned()));
    }
    Ok(None)
}

/// What an ELF file was built for: what a machine checks before it runs
/// or loads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BuiltFor {
    /// `e_machine` (62 x86-64, 183 AArch64).
    pub machine: u16,
    /// ELF64 rather than ELF32.
    pub wide: bool,
    /// Big-endian.
    pub big: bool,
    /// The C library it links, when it links one (a static executable
    /// or a library needing no libc says nothing).
    pub libc: Option<Libc>,
}

impl std::fmt::Display for BuiltFor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} (ELF{}{}",
            Arch::describe_machine(self.machine),
            if self.wide { 64 } else { 32 },
            if self.big { ", big-endian" } else { "" }
        )?;
        match self.libc {
            Some(Libc::Gnu) => f.write_str(", glibc)"),
            Some(Libc::Musl) => f.write_str(", musl)"),
            None => f.write_str(")"),
        }
    }
}

/// What the ELF file `bytes` was built for.
pub fn built_for(bytes: &[u8]) -> Result<BuiltFor, ElfError> {
    let r = Reader::new(bytes)?;
    let machine = r.uint(0x12, 2)? as u16;
    let needed = needed_libraries(bytes)?;
    let interp = interpreter(bytes)?.unwrap_or_default();
    let libc = if needed
        .iter()
        .any(|l| l == "libc.so" || l.starts_with("libc.musl-"))
        || interp.contains("ld-musl")
    {
        Some(Libc::Musl)
    } else if needed.iter().any(|l| l == "libc.so.6") || interp.contains("ld-linux") {
        Some(Libc::Gnu)
    } else {
        None
    };
    Ok(BuiltFor {
        machine,
        wide: r.wide,
        big: r.big,
        libc,
    })
}

impl BuiltFor {
    /// Whether a machine of `target` runs or loads it.
    pub fn runs_on(&self, target: Target) -> bool {
        self.machine == target.arch.elf_machine()
            && self.wide
            && !self.big
            && self.libc.is_none_or(|l| l == target.libc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tells_what_a_binary_was_built_for() {
        let exe = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        let built = built_for(&exe).unwrap();
        let host = Target::host().unwrap();
        assert!(built.runs_on(host), "{built}");
        let other = Target {
            arch: match host.arch {
                Arch::X86_64 => Arch::Aarch64,
                Arch::Aarch64 => Arch::X86_64,
            },
            libc: host.libc,
        };
        assert!(!built.runs_on(other));
        assert!(built.to_string().contains("ELF64"), "{built}");
        assert!(built_for(&exe[..0x20]).is_err());
    }

    #[test]
    fn reads_a_real_binary() {
        // Whatever runs these tests is dynamically linked against libc.
        let exe = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        let libs = needed_libraries(&exe).unwrap();
        assert!(libs.iter().any(|l| l.starts_with("libc.so")), "{libs:?}");
    }

    #[test]
    fn reads_the_interpreter() {
        let exe = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        let interp = interpreter(&exe).unwrap().expect("a dynamic executable");
        assert!(
            interp.starts_with('/') && interp.contains("ld-"),
            "{interp}"
        );
    }

    #[test]
    fn hostile_input_is_an_error() {
        assert!(needed_libraries(b"not elf").is_err());
        let exe = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        for cut in [0x10, 0x40, 0x200, exe.len() / 2] {
            let _ = needed_libraries(&exe[..cut]);
            let _ = interpreter(&exe[..cut]);
        }
        let mut garbage = exe[..0x40].to_vec();
        garbage[0x28..0x30].copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(needed_libraries(&garbage).is_err());
    }
}

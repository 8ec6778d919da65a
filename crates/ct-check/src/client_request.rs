//! Valgrind client requests: the only `unsafe` code in this crate.
//!
//! A client request is a "magic" instruction sequence that does nothing on a
//! real CPU but that valgrind's JIT recognises: it reads a six-word request
//! array whose address is in `rax` and puts the answer in `rdx`. On a real
//! CPU, `rdx` keeps the default value that was loaded into it, so every
//! request is a harmless no-op outside valgrind.
//!
//! The sequence and the request codes are those of
//! `/usr/include/valgrind/valgrind.h` and `memcheck.h` (valgrind 3.x, stable
//! ABI since 3.0). Only x86-64 Linux is wired up; on every other target the
//! requests are compiled to nothing and return their default value.

/// `VG_USERREQ_TOOL_BASE('M', 'C')`: the base of memcheck's request codes.
const MEMCHECK_BASE: u64 = ((b'M' as u64) << 24) | ((b'C' as u64) << 16);
/// `VG_USERREQ__MAKE_MEM_UNDEFINED` (memcheck.h): mark a range undefined.
pub(crate) const MAKE_MEM_UNDEFINED: u64 = MEMCHECK_BASE + 1;
/// `VG_USERREQ__MAKE_MEM_DEFINED` (memcheck.h): mark a range defined.
pub(crate) const MAKE_MEM_DEFINED: u64 = MEMCHECK_BASE + 2;
/// `VG_USERREQ__RUNNING_ON_VALGRIND` (valgrind.h): answers the nesting depth.
pub(crate) const RUNNING_ON_VALGRIND: u64 = 0x1001;

/// Issues the client request `request` with up to five word arguments and
/// returns valgrind's answer, or `default` when not running under valgrind.
#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
#[inline]
pub(crate) fn request(default: u64, request: u64, args: [u64; 5]) -> u64 {
    let words: [u64; 6] = [request, args[0], args[1], args[2], args[3], args[4]];
    let result: u64;
    // SAFETY: the four `rol rdi` rotate by 3 + 13 + 61 + 51 = 128 bits in
    // total, so `rdi` ends up unchanged; `xchg rbx, rbx` changes no register
    // (and `rbx` is not used as an operand, as `asm!` requires). The only
    // outputs are `rdx` (declared) and the flags (clobbered by default, since
    // `preserves_flags` is not given). Nothing touches the stack (`nostack`).
    // Under valgrind the sequence is replaced by a read of the six words at
    // `rax`, which point into `words`, alive and initialised for the whole
    // block; memory is not declared `nomem`/`readonly`, so the compiler
    // treats the block as a barrier that may read any memory whose address
    // escaped into `words` (the range being marked), and cannot move accesses
    // to that range across it. Valgrind changes only its own shadow state, never
    // the program's memory.
    unsafe {
        core::arch::asm!(
            "rol rdi, 3",
            "rol rdi, 13",
            "rol rdi, 61",
            "rol rdi, 51",
            "xchg rbx, rbx",
            in("rax") words.as_ptr(),
            inlateout("rdx") default => result,
            options(nostack),
        );
    }
    result
}

/// Issues the client request `request`; on this target there is no valgrind
/// wiring, so it always returns `default`.
#[cfg(not(all(target_arch = "x86_64", target_os = "linux")))]
#[inline(always)]
pub(crate) fn request(default: u64, request: u64, args: [u64; 5]) -> u64 {
    let _ = (request, args);
    default
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_codes_match_memcheck_h() {
        // Values of the enum in memcheck.h as compiled by gcc.
        assert_eq!(MAKE_MEM_UNDEFINED, 0x4d43_0001);
        assert_eq!(MAKE_MEM_DEFINED, 0x4d43_0002);
        assert_eq!(RUNNING_ON_VALGRIND, 0x1001);
    }
}

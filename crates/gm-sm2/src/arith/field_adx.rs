//! Montgomery multiplication mod the SM2 prime for x86-64 CPUs with BMI2
//! and ADX (checked at run time, see [`available`]), and the choice of the
//! x86-64 backend as a whole: with it on, and AVX2 reported, the table
//! scans use AVX2 too ([`avx2_scans`]). `GMKIT_SM2_FIELD=portable` turns
//! both off.
//!
//! The same algorithm as the portable code in [`super::field`]: a
//! schoolbook product, then four shift-only Montgomery steps on the low
//! half (p ≡ -1 mod 2^64, so each step's multiplier is the low limb), one
//! addition of the halves and a conditional subtraction of p. What the
//! compiler cannot do from Rust is the product's schedule: MULX leaves the
//! flags alone, and ADCX/ADOX keep two independent carry chains (low and
//! high halves of the partial products) in CF and OF, so each row is four
//! multiplications and eight additions with no flag juggling.
//!
//! Constant time: straight-line code, no branches, no memory addresses
//! that depend on data; the final subtraction is selected with CMOV.
//! `crates/ct-check` runs this backend under valgrind on secret inputs.
#![allow(unsafe_code)]

use core::arch::asm;
use core::sync::atomic::{AtomicU8, Ordering};

const UNKNOWN: u8 = 0;
const PORTABLE: u8 = 1;
const ADX: u8 = 2;
/// ADX, and AVX2 for the table scans ([`super::scan_avx2`]).
const ADX_AVX2: u8 = 3;

static BACKEND: AtomicU8 = AtomicU8::new(UNKNOWN);

#[inline(always)]
fn state() -> u8 {
    match BACKEND.load(Ordering::Relaxed) {
        UNKNOWN => detect(),
        s => s,
    }
}

/// Whether the CPU has BMI2 (MULX) and ADX (ADCX/ADOX), so [`mont_mul`]
/// may run. `GMKIT_SM2_FIELD=portable` in the environment turns this
/// backend off (read once), for side-by-side measurements.
#[inline(always)]
pub(super) fn available() -> bool {
    state() >= ADX
}

/// Whether this backend also scans tables with AVX2: it is on and the CPU
/// reports AVX2.
#[inline(always)]
pub(super) fn avx2_scans() -> bool {
    state() == ADX_AVX2
}

/// The state for a CPU with BMI2 and ADX, given what CPUID says of AVX2.
fn on_state() -> u8 {
    if std::is_x86_feature_detected!("avx2") {
        ADX_AVX2
    } else {
        ADX
    }
}

#[cold]
fn detect() -> u8 {
    set_portable(std::env::var_os("GMKIT_SM2_FIELD").is_some_and(|v| v == "portable"));
    BACKEND.load(Ordering::Relaxed)
}

/// Turns this backend off (`portable`), or back on where CPUID reports
/// BMI2 and ADX (ignoring `GMKIT_SM2_FIELD`).
pub(super) fn set_portable(portable: bool) {
    let s = if !portable && cpu_has_bmi2_adx() {
        on_state()
    } else {
        PORTABLE
    };
    BACKEND.store(s, Ordering::Relaxed);
}

/// Whether CPUID reports BMI2 and ADX (ignoring `GMKIT_SM2_FIELD`).
pub(super) fn cpu_has_bmi2_adx() -> bool {
    std::is_x86_feature_detected!("bmi2") && std::is_x86_feature_detected!("adx")
}

/// Turns this backend on when the kernel's `/proc/cpuinfo` lists `bmi2`
/// and `adx` for the CPU, even if CPUID as this process sees it does not.
/// That is the case under valgrind, which executes MULX/ADCX/ADOX but
/// hides ADX from CPUID: the constant-time check uses this to run the
/// assembly, with the AVX2 scans (which valgrind does report) when
/// `avx2_scans` is set and CPUID reports AVX2, else with the portable
/// scans. Returns whether the backend is on.
#[cfg(target_os = "linux")]
pub(super) fn enable_from_proc_cpuinfo(avx2_scans: bool) -> bool {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let flags = cpuinfo
        .lines()
        .find(|l| l.starts_with("flags"))
        .unwrap_or("");
    let listed = |f: &str| flags.split_whitespace().any(|w| w == f);
    if listed("bmi2") && listed("adx") {
        BACKEND.store(if avx2_scans { on_state() } else { ADX }, Ordering::Relaxed);
        true
    } else {
        available()
    }
}

/// One Montgomery step on the low half [d3:d2:d1:d0] (k = d0), leaving
/// the result in [d0:d3:d2:d1]; temporaries rax, rcx, rdx, rdi. The window
/// [k:d3:d2:d1] minus u = k·(2^32 - 1) (rcx:rax) and minus k·2^160 (rdi:rdx
/// at limbs 2-3) is never negative, so no borrow leaves it.
macro_rules! reduce_step {
    ($d3:literal, $d2:literal, $d1:literal, $d0:literal) => {
        concat!(
            "mov rax, ",
            $d0,
            "\n",
            "shl rax, 32\n",
            "mov rcx, ",
            $d0,
            "\n",
            "shr rcx, 32\n",
            "mov rdx, rax\n",
            "mov rdi, rcx\n",
            "sub rax, ",
            $d0,
            "\n",
            "sbb rcx, 0\n",
            "sub ",
            $d1,
            ", rax\n",
            "sbb ",
            $d2,
            ", rcx\n",
            "sbb ",
            $d3,
            ", rdx\n",
            "sbb ",
            $d0,
            ", rdi",
        )
    };
}

/// The end shared by [`mont_mul`] and [`mont_sqr`]: the 512-bit product
/// is in [r15:r14:r13:r12:r11:r10:r9:r8]. Four Montgomery steps fold the low
/// half [r11:r10:r9:r8] (see `field::reduce_step`; each rotates which
/// register holds the low limb, so r8..r11 end least significant first),
/// then [rax:r15:r14:r13:r12] = high half + reduced low half (< 2p), and
/// adding 2^320 - p carries out exactly when that sum is >= p, in which
/// case its low four limbs (the sum minus p) replace r12..r15 by CMOV.
/// Clobbers rax, rcx, rdx, rdi, rsi, r8-r11; the result is in r12..r15.
macro_rules! reduce_and_finish {
    () => {
        concat!(
            reduce_step!("r11", "r10", "r9", "r8"),
            "\n",
            reduce_step!("r8", "r11", "r10", "r9"),
            "\n",
            reduce_step!("r9", "r8", "r11", "r10"),
            "\n",
            reduce_step!("r10", "r9", "r8", "r11"),
            "\n",
            // [rax:r15:r14:r13:r12] = high half + reduced low half
            "xor eax, eax",
            "\n",
            "add r12, r8",
            "\n",
            "adc r13, r9",
            "\n",
            "adc r14, r10",
            "\n",
            "adc r15, r11",
            "\n",
            "adc rax, 0",
            "\n",
            // + (2^320 - p), selected if it carries out
            "mov ecx, 1",
            "\n",
            "mov edx, 0xffffffff",
            "\n",
            "xor edi, edi",
            "\n",
            "mov rsi, 0x100000000",
            "\n",
            "mov r8, -1",
            "\n",
            "add rcx, r12",
            "\n",
            "adc rdx, r13",
            "\n",
            "adc rdi, r14",
            "\n",
            "adc rsi, r15",
            "\n",
            "adc r8, rax",
            "\n",
            "cmovc r12, rcx",
            "\n",
            "cmovc r13, rdx",
            "\n",
            "cmovc r14, rdi",
            "\n",
            "cmovc r15, rsi",
        )
    };
}

/// One row of [`mont_mul`] after the first: [t4:t3:t2:t1:t0] += a_i · b,
/// where a_i arrives in t4 (the row's new top limb) and b is behind rcx.
/// The low halves of the partial products ride the CF chain (ADCX), the
/// high halves the OF chain (ADOX); temporaries rax, rdx, rdi.
macro_rules! mul_row {
    ($t0:literal, $t1:literal, $t2:literal, $t3:literal, $t4:literal) => {
        concat!(
            "mov rdx, ",
            $t4,
            "\n",
            "xor eax, eax\n",
            "mulx rdi, rax, [rcx]\n",
            "adcx ",
            $t0,
            ", rax\n",
            "adox ",
            $t1,
            ", rdi\n",
            "mulx rdi, rax, [rcx + 8]\n",
            "adcx ",
            $t1,
            ", rax\n",
            "adox ",
            $t2,
            ", rdi\n",
            "mulx rdi, rax, [rcx + 16]\n",
            "adcx ",
            $t2,
            ", rax\n",
            "adox ",
            $t3,
            ", rdi\n",
            "mulx ",
            $t4,
            ", rax, [rcx + 24]\n",
            "adcx ",
            $t3,
            ", rax\n",
            // MOV leaves CF and OF alone; the top limb cannot overflow.
            "mov eax, 0\n",
            "adox ",
            $t4,
            ", rax\n",
            "adcx ",
            $t4,
            ", rax",
        )
    };
}

/// a·b·2^-256 mod p for a, b < p (Montgomery form), fully reduced.
/// Only call when [`available`] is true (or the caller otherwise knows the
/// CPU has BMI2 and ADX).
///
/// a arrives in registers (a0 in rdx, the MULX multiplier, and a1..a3 in
/// the registers that rows 1..3 create as their top limbs, so each is
/// moved into rdx just before its register is reused) and b is read from
/// memory: a result of a previous multiplication (in r12..r15) feeds the
/// next one without a trip through memory.
#[inline(always)]
pub(super) fn mont_mul(a: &[u64; 4], b: &[u64; 4]) -> [u64; 4] {
    let (r0, r1, r2, r3): (u64, u64, u64, u64);
    // SAFETY: the assembly reads the 32 bytes behind `b` (a valid, aligned
    // `[u64; 4]`) and nothing else; it writes only the registers declared
    // here (inputs are declared clobbered), keeps no stack, and clobbers the
    // flags, which `asm!` assumes by default. MULX, ADCX and ADOX need BMI2
    // and ADX: the callers check `available()` first (the valgrind harness,
    // whose CPU model hides ADX, checks /proc/cpuinfo instead).
    unsafe {
        asm!(
            // Row 0: [r12:r11:r10:r9:r8] = a0 · b
            "mulx r9, r8, [rcx]",
            "mulx r10, rax, [rcx + 8]",
            "add r9, rax",
            "mulx r11, rax, [rcx + 16]",
            "adc r10, rax",
            "mulx r12, rax, [rcx + 24]",
            "adc r11, rax",
            "adc r12, 0",
            // Rows 1-3: += a_i · b << 64·i
            mul_row!("r9", "r10", "r11", "r12", "r13"),
            mul_row!("r10", "r11", "r12", "r13", "r14"),
            mul_row!("r11", "r12", "r13", "r14", "r15"),
            reduce_and_finish!(),
            inout("rdx") a[0] => _,
            inout("r13") a[1] => r1,
            inout("r14") a[2] => r2,
            inout("r15") a[3] => r3,
            inout("rcx") b.as_ptr() => _,
            out("rsi") _,
            out("rax") _,
            out("rdi") _,
            out("r8") _,
            out("r9") _,
            out("r10") _,
            out("r11") _,
            out("r12") r0,
            options(pure, readonly, nostack),
        );
    }
    [r0, r1, r2, r3]
}

/// a²·2^-256 mod p for a < p (Montgomery form), fully reduced: the six
/// cross products once, doubled, plus the four squares (10 MULX instead of
/// 16), then the same reduction as [`mont_mul`]. Only call when
/// [`available`] is true.
#[inline(always)]
pub(super) fn mont_sqr(a: &[u64; 4]) -> [u64; 4] {
    let (r0, r1, r2, r3): (u64, u64, u64, u64);
    // SAFETY: as in `mont_mul`: reads only the 32 bytes behind `a`, writes
    // only the declared registers, no stack; needs BMI2 and ADX, which the
    // callers check first.
    unsafe {
        asm!(
            // Cross products into [r14:r13:r12:r11:r10:r9] (limbs 1..6),
            // rcx = 0 throughout. CF chain: a0·a1, a0·a2, a0·a3, a3·a1,
            // a3·a2; OF chain: a1·a2.
            "xor ecx, ecx",
            "mov rdx, [rsi]",
            "mulx r10, r9, [rsi + 8]",
            "mulx r11, rax, [rsi + 16]",
            "adcx r10, rax",
            "mulx r12, rax, [rsi + 24]",
            "adcx r11, rax",
            "mov rdx, [rsi + 24]",
            "mulx r13, rax, [rsi + 8]",
            "adcx r12, rax",
            "mulx r14, rax, [rsi + 16]",
            "adcx r13, rax",
            "adcx r14, rcx",
            "mov rdx, [rsi + 8]",
            "mulx rdi, rax, [rsi + 16]",
            "adox r11, rax",
            "adox r12, rdi",
            "adox r13, rcx",
            "adox r14, rcx",
            // Double them into [r15:r14:..:r9].
            "xor r15d, r15d",
            "adcx r9, r9",
            "adcx r10, r10",
            "adcx r11, r11",
            "adcx r12, r12",
            "adcx r13, r13",
            "adcx r14, r14",
            "adcx r15, r15",
            // Add the squares a_i² at limbs 2i, 2i+1 (r8 = low of a0²).
            "mov rdx, [rsi]",
            "mulx rax, r8, rdx",
            "add r9, rax",
            "mov rdx, [rsi + 8]",
            "mulx rdi, rax, rdx",
            "adc r10, rax",
            "adc r11, rdi",
            "mov rdx, [rsi + 16]",
            "mulx rdi, rax, rdx",
            "adc r12, rax",
            "adc r13, rdi",
            "mov rdx, [rsi + 24]",
            "mulx rdi, rax, rdx",
            "adc r14, rax",
            "adc r15, rdi",
            reduce_and_finish!(),
            inout("rsi") a.as_ptr() => _,
            out("rcx") _,
            out("rdx") _,
            out("rax") _,
            out("rdi") _,
            out("r8") _,
            out("r9") _,
            out("r10") _,
            out("r11") _,
            out("r12") r0,
            out("r13") r1,
            out("r14") r2,
            out("r15") r3,
            options(pure, readonly, nostack),
        );
    }
    [r0, r1, r2, r3]
}

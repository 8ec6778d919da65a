//! SM4 key-schedule constants (GB/T 32907-2016, section 7.3).

/// System parameter FK.
pub(crate) const FK: [u32; 4] = [0xa3b1_bac6, 0x56aa_3350, 0x677d_9197, 0xb270_22dc];

/// Fixed parameters CK: byte j of CK_i is (4i + j) * 7 mod 256.
pub(crate) const CK: [u32; 32] = {
    let mut ck = [0u32; 32];
    let mut i = 0;
    while i < 32 {
        let mut w = 0u32;
        let mut j = 0;
        while j < 4 {
            w = (w << 8) | (((4 * i + j) * 7) % 256) as u32;
            j += 1;
        }
        ck[i] = w;
        i += 1;
    }
    ck
};

#[cfg(test)]
mod tests {
    #[test]
    fn ck_matches_standard_listing() {
        // First and last CK values as printed in GB/T 32907-2016 section 7.3.
        assert_eq!(super::CK[0], 0x0007_0e15);
        assert_eq!(super::CK[1], 0x1c23_2a31);
        assert_eq!(super::CK[31], 0x646b_7279);
    }
}

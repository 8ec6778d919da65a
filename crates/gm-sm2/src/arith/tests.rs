//! The field arithmetic against an independent big-integer reference
//! (`num-bigint`), and scalar multiplication against RustCrypto `sm2`.

use num_bigint::BigUint;
use sm2::elliptic_curve::point::AffineCoordinates;
use sm2::elliptic_curve::Group;
use sm2::elliptic_curve::PrimeField;
use sm2::{ProjectivePoint, Scalar};

use super::field::{limbs_to_be, Fe, P};
use super::*;

const P_HEX: &str = "fffffffeffffffffffffffffffffffffffffffff00000000ffffffffffffffff";
const N_HEX: &str = "fffffffeffffffffffffffffffffffff7203df6b21c6052b53bbf40939d54123";

fn big(hex_str: &str) -> BigUint {
    BigUint::parse_bytes(hex_str.as_bytes(), 16).unwrap()
}

fn p() -> BigUint {
    big(P_HEX)
}

fn to_be32(v: &BigUint) -> [u8; 32] {
    let b = v.to_bytes_be();
    let mut out = [0u8; 32];
    out[32 - b.len()..].copy_from_slice(&b);
    out
}

fn fe(v: &BigUint) -> Fe {
    Fe::from_bytes(&to_be32(v)).expect("below p")
}

fn val(f: Fe) -> BigUint {
    BigUint::from_bytes_be(&f.to_bytes())
}

/// Deterministic xorshift stream, so failures reproduce.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn bytes(&mut self) -> [u8; 32] {
        let mut out = [0u8; 32];
        for c in out.chunks_mut(8) {
            c.copy_from_slice(&self.next().to_be_bytes());
        }
        out
    }
    fn below(&mut self, m: &BigUint) -> BigUint {
        BigUint::from_bytes_be(&self.bytes()) % m
    }
}

/// Edge values: 0, 1, 2, p-1, p-2, and values that stress carries.
fn edge_values() -> Vec<BigUint> {
    let p = p();
    let one = BigUint::from(1u8);
    let two32 = BigUint::from(1u64 << 32);
    let mut v = vec![
        BigUint::from(0u8),
        one.clone(),
        BigUint::from(2u8),
        BigUint::from(3u8),
        &p - &one,
        &p - 2u8,
        &p - &two32,
        (BigUint::from(1u8) << 255u32) % &p,
        (BigUint::from(1u8) << 224u32),
        (BigUint::from(1u8) << 192u32) - &one,
        (BigUint::from(1u8) << 128u32) - &one,
        (BigUint::from(1u8) << 64u32) - &one,
        BigUint::from(1u8) << 64u32,
        (&p >> 1u32) + &one,
        &p >> 1u32,
    ];
    // R mod p and R^2 mod p themselves.
    v.push((BigUint::from(1u8) << 256u32) % &p);
    v.push((BigUint::from(1u8) << 512u32) % &p);
    v
}

#[test]
fn modulus_constant_matches() {
    assert_eq!(BigUint::from_bytes_be(&limbs_to_be(&P)), p());
}

/// The MULX/ADX assembly's product a·b and square a², when this CPU can
/// run it (both backends are checked on such machines, whatever `Fe::mul`
/// picked).
fn adx_mul(a: &Fe, b: &Fe) -> Option<(Fe, Fe)> {
    #[cfg(target_arch = "x86_64")]
    if super::field_adx::cpu_has_bmi2_adx() {
        return Some((
            Fe(super::field_adx::mont_mul(&a.0, &b.0)),
            Fe(super::field_adx::mont_sqr(&a.0)),
        ));
    }
    let _ = (a, b);
    None
}

#[test]
fn field_ops_match_big_integers_on_edge_and_random_inputs() {
    let p = p();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut values = edge_values();
    for _ in 0..300 {
        values.push(rng.below(&p));
    }
    for a in &values {
        let fa = fe(a);
        assert_eq!(&val(fa), a, "round trip");
        assert_eq!(val(fa.square()), (a * a) % &p, "square {a:x}");
        assert_eq!(val(fa.square_portable()), (a * a) % &p, "square {a:x}");
        if let Some((sq, sq2)) = adx_mul(&fa, &fa) {
            assert_eq!(val(sq), (a * a) % &p, "MULX/ADX a * a {a:x}");
            assert_eq!(val(sq2), (a * a) % &p, "MULX/ADX square {a:x}");
        }
        assert_eq!(val(fa.neg()), (&p - a) % &p, "neg {a:x}");
        assert_eq!(val(fa.double()), (a + a) % &p, "double {a:x}");
        for c in [0u64, 1, 2, 3, 4, 8, 27, 0xffff_ffff, 1 << 32] {
            assert_eq!(val(fa.mul_small(c)), (a * c) % &p, "{c} * {a:x}");
        }
        assert_eq!(fa.is_zero_mask() != 0, *a == BigUint::from(0u8));
        let inv = fa.invert();
        if *a == BigUint::from(0u8) {
            assert_eq!(val(inv), BigUint::from(0u8));
        } else {
            assert_eq!(val(inv.mul(&fa)), BigUint::from(1u8), "inverse of {a:x}");
            assert_eq!(val(inv), a.modpow(&(&p - 2u8), &p));
            assert_eq!(val(fa.invert_fermat()), val(inv), "Fermat chain");
        }
    }
    // Pairs: every edge value with every edge value, plus random pairs.
    let edges = edge_values();
    let mut pairs: Vec<(BigUint, BigUint)> = Vec::new();
    for a in &edges {
        for b in &edges {
            pairs.push((a.clone(), b.clone()));
        }
    }
    for _ in 0..2000 {
        pairs.push((rng.below(&p), rng.below(&p)));
    }
    for (a, b) in &pairs {
        let (fa, fb) = (fe(a), fe(b));
        assert_eq!(val(fa.mul(&fb)), (a * b) % &p, "{a:x} * {b:x}");
        assert_eq!(val(fa.mul_portable(&fb)), (a * b) % &p, "{a:x} * {b:x}");
        if let Some((ab, _)) = adx_mul(&fa, &fb) {
            assert_eq!(val(ab), (a * b) % &p, "MULX/ADX {a:x} * {b:x}");
        }
        assert_eq!(val(fa.add(&fb)), (a + b) % &p, "{a:x} + {b:x}");
        assert_eq!(val(fa.sub(&fb)), (a + &p - b) % &p, "{a:x} - {b:x}");
        let m = if (a.bits() + b.bits()) % 2 == 0 {
            u64::MAX
        } else {
            0
        };
        let sel = Fe::select(&fa, &fb, m);
        assert_eq!(&val(sel), if m == 0 { a } else { b });
    }
}

#[test]
fn values_at_or_above_p_are_rejected() {
    let p = p();
    let max = (BigUint::from(1u8) << 256u32) - 1u8;
    for v in [p.clone(), &p + 1u8, &p + (1u64 << 32), max] {
        assert!(Fe::from_bytes(&to_be32(&v)).is_none(), "{v:x} accepted");
    }
    assert!(Fe::from_bytes(&to_be32(&(&p - 1u8))).is_some());
}

fn sm2_scalar(bytes: &[u8; 32]) -> Scalar {
    Option::from(Scalar::from_repr((*bytes).into())).expect("below n")
}

fn xy_of(p: &ProjectivePoint) -> ([u8; 32], [u8; 32]) {
    let a = p.to_affine();
    let sec1 = crate::key::point_bytes(&a);
    (a.x().into(), sec1[33..].try_into().unwrap())
}

/// Scalars that exercise the windowing: small, large, long zero runs,
/// and the ends of the range.
fn edge_scalars() -> Vec<[u8; 32]> {
    let n = big(N_HEX);
    let mut v: Vec<BigUint> = vec![
        BigUint::from(1u8),
        BigUint::from(2u8),
        BigUint::from(31u8),
        BigUint::from(32u8),
        BigUint::from(33u8),
        BigUint::from(63u8),
        BigUint::from(64u8),
        &n - 1u8,
        &n - 2u8,
        &n - 32u8,
        // n - 6: Booth digit 0 is -3 and the partial sum is -3·P, so the
        // variable-base product hits the doubling case of the addition.
        &n - 6u8,
        &n >> 1u32,
        BigUint::from(1u8) << 255u32,
        BigUint::from(1u8) << 252u32,
        (BigUint::from(1u8) << 255u32) - 1u8,
        BigUint::from(0x8000_0000u64) << 200u32,
    ];
    // Near the top comb window: d·2^253 mod n and its negation.
    for d in 1u32..=16 {
        let k = (BigUint::from(d) << 253u32) % &n;
        v.push(&n - &k);
        v.push(k);
    }
    for k in [6u32, 12, 60, 126, 250, 251] {
        v.push(BigUint::from(1u8) << k);
        v.push((BigUint::from(1u8) << k) - 1u8);
    }
    v.iter().map(|x| to_be32(&(x % &n))).collect()
}

#[test]
fn base_multiplication_matches_rustcrypto() {
    let n = big(N_HEX);
    let mut rng = Rng(0x1234_5678_9abc_def1);
    let mut scalars = edge_scalars();
    for _ in 0..200 {
        let k = rng.below(&n);
        if k != BigUint::from(0u8) {
            scalars.push(to_be32(&k));
        }
    }
    for k in &scalars {
        let ours = mul_base(k).to_affine().expect("finite");
        let theirs = ProjectivePoint::mul_by_generator(&sm2_scalar(k));
        assert_eq!(ours.to_xy_bytes(), xy_of(&theirs), "k = {}", hex::encode(k));
    }
    assert!(
        mul_base(&[0u8; 32]).to_affine().is_none(),
        "0·G is infinity"
    );
}

/// The batched comb against RustCrypto on the edge scalars and random
/// ones, in batches of different sizes (so every scalar meets neighbours
/// at different positions in the shared inversion).
#[test]
fn batched_base_multiplication_matches_rustcrypto() {
    let n = big(N_HEX);
    let zero = [0u8; 32];
    let mut rng = Rng(0x7777_1234_5678_9abc);
    let mut scalars: Vec<[u8; 32]> = edge_scalars().into_iter().filter(|k| *k != zero).collect();
    for _ in 0..100 {
        let k = rng.below(&n);
        if k != BigUint::from(0u8) {
            scalars.push(to_be32(&k));
        }
    }
    let want: Vec<_> = scalars
        .iter()
        .map(|k| xy_of(&ProjectivePoint::mul_by_generator(&sm2_scalar(k))))
        .collect();
    for size in [1usize, 2, 7, 32, 64, scalars.len()] {
        for (chunk, want) in scalars.chunks(size).zip(want.chunks(size)) {
            let (got, bad) = mul_base_batch(chunk);
            assert_eq!(got.len(), chunk.len());
            assert_eq!(bad, vec![0; chunk.len()], "batch of {size}");
            for ((p, w), k) in got.iter().zip(want).zip(chunk) {
                assert_eq!(
                    &p.to_xy_bytes(),
                    w,
                    "batch of {size}, k = {}",
                    hex::encode(k)
                );
            }
        }
    }
    let (none, bad) = mul_base_batch(&[]);
    assert!(none.is_empty() && bad.is_empty());
    // k = 0 (infinity) is flagged, and its neighbours are still right.
    let (got, bad) = mul_base_batch(&[scalars[0], zero, scalars[1]]);
    assert_eq!(bad, [0, u64::MAX, 0]);
    assert_eq!(got[0].to_xy_bytes(), want[0]);
    assert_eq!(got[2].to_xy_bytes(), want[1]);
}

/// The wNAF recoding used by verification: the digits are odd and below
/// 16 in magnitude, no two nonzero digits are closer than 5 positions, and
/// they sum back to k, on the edge scalars, random ones and 2^256 - 1 (the
/// longest carry).
#[test]
fn wnaf_digits_are_a_width_5_naf_of_k() {
    use num_bigint::BigInt;
    let mut rng = Rng(0x0005_eed0_fa11_d161);
    let mut scalars = edge_scalars();
    scalars.push([0u8; 32]);
    scalars.push([0xff; 32]);
    scalars.extend((0..500).map(|_| rng.bytes()));
    for k in &scalars {
        let digits = mul::wnaf(k);
        let mut sum = BigInt::from(0);
        let mut last: Option<usize> = None;
        for (i, &d) in digits.iter().enumerate() {
            if d == 0 {
                continue;
            }
            assert!(d % 2 != 0 && (-15..=15).contains(&d), "digit {d} at {i}");
            if let Some(j) = last {
                assert!(i - j >= 5, "digits at {j} and {i}, k = {}", hex::encode(k));
            }
            last = Some(i);
            sum += BigInt::from(d) << i;
        }
        assert_eq!(
            sum,
            BigInt::from_bytes_be(num_bigint::Sign::Plus, k),
            "k = {}",
            hex::encode(k)
        );
    }
}

#[test]
fn variable_base_multiplication_matches_rustcrypto() {
    let n = big(N_HEX);
    let mut rng = Rng(0x0fed_cba9_8765_4321);
    let mut scalars = edge_scalars();
    for _ in 0..60 {
        scalars.push(to_be32(&rng.below(&n)));
    }
    for (i, k) in scalars.iter().enumerate() {
        // A random base point, and G itself.
        let base_scalar = sm2_scalar(&to_be32(&(rng.below(&n) | BigUint::from(1u8))));
        let _ = i;
        let base = ProjectivePoint::mul_by_generator(&base_scalar);
        for base in [base, ProjectivePoint::GENERATOR] {
            let ours_base = Affine::from_sm2(&base.to_affine());
            let theirs = base * sm2_scalar(k);
            match mul_var(k, &ours_base).to_affine() {
                Some(ours) => assert_eq!(ours.to_xy_bytes(), xy_of(&theirs)),
                None => assert!(bool::from(sm2::elliptic_curve::Group::is_identity(&theirs))),
            }
        }
    }
}

#[test]
fn variable_base_handles_every_small_multiple() {
    // k = 1..=40 over P walks through every table entry and the doubling
    // case inside the complete addition.
    let base = ProjectivePoint::mul_by_generator(&Scalar::from(12345u64));
    let ours_base = Affine::from_sm2(&base.to_affine());
    for k in 1u64..=40 {
        let kb = to_be32(&BigUint::from(k));
        let ours = mul_var(&kb, &ours_base).to_affine().unwrap();
        assert_eq!(
            ours.to_xy_bytes(),
            xy_of(&(base * Scalar::from(k))),
            "k = {k}"
        );
    }
}

#[test]
fn double_base_matches_rustcrypto() {
    let n = big(N_HEX);
    let mut rng = Rng(0x5555_aaaa_3333_cccc);
    let edges = edge_scalars();
    for i in 0..150usize {
        let s = if i < edges.len() {
            edges[i]
        } else {
            to_be32(&rng.below(&n))
        };
        let t = to_be32(&rng.below(&n));
        let p_scalar = Scalar::from(1000u64 + i as u64);
        let p = ProjectivePoint::mul_by_generator(&p_scalar);
        let p_ours = Affine::from_sm2(&p.to_affine());
        let ours = mul_double_vartime(&s, &t, &p_ours);
        let theirs = ProjectivePoint::mul_by_generator(&sm2_scalar(&s)) + p * sm2_scalar(&t);
        assert_eq!(ours.to_affine().unwrap().to_xy_bytes(), xy_of(&theirs));
        if i % 10 == 0 {
            // The precomputed-table path gives the same point.
            let table = PointTable::new(&p_ours);
            let ours = mul_double_vartime_table(&s, &t, &table);
            assert_eq!(ours.to_affine().unwrap().to_xy_bytes(), xy_of(&theirs));
        }
    }
    // s·G + t·P = infinity when P = G and t = n - s.
    let s = to_be32(&BigUint::from(77u8));
    let t = to_be32(&(big(N_HEX) - 77u8));
    let g = Affine::from_sm2(&ProjectivePoint::GENERATOR.to_affine());
    assert!(mul_double_vartime(&s, &t, &g).to_affine().is_none());
    let g_table = PointTable::new(&g);
    assert!(mul_double_vartime_table(&s, &t, &g_table)
        .to_affine()
        .is_none());
    let ours = mul_double_vartime_table(&s, &s, &g_table)
        .to_affine()
        .unwrap();
    let theirs = ProjectivePoint::mul_by_generator(&Scalar::from(154u64));
    assert_eq!(ours.to_xy_bytes(), xy_of(&theirs));
    // And the doubling case: P = G, s = t.
    let ours = mul_double_vartime(&s, &s, &g).to_affine().unwrap();
    let theirs = ProjectivePoint::mul_by_generator(&Scalar::from(154u64));
    assert_eq!(ours.to_xy_bytes(), xy_of(&theirs));
}

#[test]
fn generator_and_b_constants_match_the_standard() {
    // GB/T 32918.5 parameters.
    let gx = big("32c4ae2c1f1981195f9904466a39c9948fe30bbff2660be1715a4589334c74c7");
    let gy = big("bc3736a2f4f6779c59bdcee36b692153d0a9877cc62a474002df32e52139f0a0");
    let b = big("28e9fa9e9d9f5e344d5a9e4bcf6509a7f39789f515ab8f92ddbcbd414d940e93");
    assert_eq!(val(point::G.x), gx);
    assert_eq!(val(point::G.y), gy);
    assert_eq!(val(point::B), b);
    assert!(point::G.is_on_curve());
    let off = Affine {
        x: point::G.x,
        y: point::G.y.add(&Fe::ONE),
    };
    assert!(!off.is_on_curve());
}

#[test]
fn projective_x_comparison_covers_x_at_or_above_n() {
    let p = p();
    let n = big(N_HEX);
    assert_eq!(
        BigUint::from_bytes_be(&[
            0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x8d, 0xfc, 0x20, 0x93, 0xde, 0x39,
            0xfa, 0xd5, 0xac, 0x44, 0x0b, 0xf6, 0xc6, 0x2a, 0xbe, 0xdc,
        ]),
        &p - &n
    );
    assert_eq!(BigUint::from_bytes_be(&N_BYTES), n);
    let mut rng = Rng(77);
    // x in [n, p) (x mod n = x - n), and ordinary x below n; Z random.
    for x in [
        n.clone(),
        &n + 5u8,
        &p - 1u8,
        BigUint::from(12345u32),
        &n - 1u8,
    ] {
        let z = fe(&(rng.below(&p) | BigUint::from(1u8)));
        let j = Jacobian {
            x: fe(&x).mul(&z.square()),
            y: Fe::ONE,
            z,
        };
        let c = &x % &n;
        assert!(j.x_mod_n_equals_vartime(&to_be32(&c)), "x = {x:x}");
        assert!(!j.x_mod_n_equals_vartime(&to_be32(&((&c + 1u8) % &n))));
    }
}

#[test]
fn special_form_reduction_matches_the_generic_one() {
    let p = p();
    let mut rng = Rng(4242);
    let mut inputs: Vec<[u64; 8]> = Vec::new();
    // Products of edge values (all below p^2), and random ones.
    let mut vals = edge_values();
    for _ in 0..50 {
        vals.push(rng.below(&p));
    }
    for a in &vals {
        for b in &vals {
            let prod = a * b;
            let bytes = prod.to_bytes_le();
            let mut t = [0u64; 8];
            for (i, chunk) in bytes.chunks(8).enumerate() {
                let mut w = [0u8; 8];
                w[..chunk.len()].copy_from_slice(chunk);
                t[i] = u64::from_le_bytes(w);
            }
            inputs.push(t);
        }
    }
    for t in inputs {
        let a = Fe(super::field::montgomery_reduce_generic(t));
        let b = super::field::montgomery_reduce_for_tests(t);
        assert_eq!(a.0, b.0, "{t:x?}");
    }
}

/// The safegcd inversion on raw limbs against x^(p-2) mod p (num-bigint):
/// every power of two and its neighbours, p minus those, bit patterns,
/// and random values, each with a random adjusting factor; and
/// `Fe::invert` against the Fermat chain it replaced.
#[test]
fn safegcd_inversion_matches_fermat() {
    let p = p();
    let one = BigUint::from(1u8);
    let mut rng = Rng(0x1234_5678_9abc_def1);
    let mut xs: Vec<BigUint> = edge_values();
    for k in 0..256u32 {
        let pow = &one << k;
        for v in [&pow - &one, pow.clone(), &pow + &one] {
            if v < p {
                xs.push(&p - &v);
            }
            xs.push(v % &p);
        }
    }
    for pattern in [
        0x5555_5555_5555_5555u64,
        0xaaaa_aaaa_aaaa_aaaa,
        0x0f0f_0f0f_0f0f_0f0f,
    ] {
        let limbs = [pattern; 4];
        xs.push(BigUint::from_bytes_be(&limbs_to_be(&limbs)) % &p);
    }
    for _ in 0..2000 {
        xs.push(rng.below(&p));
    }
    let zero = BigUint::from(0u8);
    let edge_adjusts = [zero.clone(), one.clone(), &p - &one, (&one << 256u32) % &p];
    for (i, x) in xs.iter().map(|x| x % &p).enumerate() {
        let x = &x;
        // The first 400 inputs (the edge values, powers of two and their
        // neighbours) with the edge adjusting factors 0, 1, p - 1, R in
        // turn, the rest with random ones.
        let adjust = if i < 400 {
            edge_adjusts[i % edge_adjusts.len()].clone()
        } else {
            rng.below(&p)
        };
        let got = super::inv::invert_adjusted(
            &super::field::limbs_from_be(&to_be32(x)),
            &super::field::limbs_from_be(&to_be32(&adjust)),
        );
        let got = BigUint::from_bytes_be(&limbs_to_be(&got));
        let want = if *x == zero {
            zero.clone()
        } else {
            (x.modpow(&(&p - 2u8), &p) * &adjust) % &p
        };
        assert_eq!(got, want, "adjust·{x:x}^-1 (adjust {adjust:x})");
    }
    for _ in 0..300 {
        let a = fe(&rng.below(&p));
        assert_eq!(val(a.invert()), val(a.invert_fermat()));
    }
}

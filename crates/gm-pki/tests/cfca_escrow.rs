//! Escrowed encryption keys: CFCA responses from the gmsm test suite
//! (tests/data/cfca/gmsm_escrow_*.txt and the inline cases below, all from
//! gmsm `cfca/pkcs10_test.go` `TestParseEscrowPrivateKey`; see README.md
//! there), and envelopes built here from DESIGN.md section 3 with
//! [`EscrowedKey::seal`] and by hand.

use gm_pki::cfca::{decrypt_escrowed_key, DualCsr, Error, EscrowedKey, ESCROW_PREFIX};
use gm_sm2::{Ciphertext, CiphertextFormat, PrivateKey};

const ENC_D: &str = "f6e02c941a0dfdac58d8b3b1bc1bd136f179741b7465ebc7b0b25bb381840a3b";

fn temp_key() -> PrivateKey {
    let hex = include_str!("data/cfca/gmsm_escrow_temp_key.hex").trim();
    PrivateKey::from_bytes(&hex::decode(hex).unwrap()).unwrap()
}

const BARE: &str = "MIHGAgEBBIHArhtKwTVT8dPEkykVRpvQNMxHv/yeqtaKZiSp2MbjcqMZtPfKW8IatiIPPitNhQtU5C7gMbsUxgf5Yo16vDSXdoWqoOOaes2pEJwmXWZI55lMMWc168WgzQ82fmMi05Vhlw9HNjGI3azE6MS5/ujSNGLZ0qAAmLnBiHlXFAXXAWRiy9MxZKwF4xKn6qMaKmkqbYmTbBbEJEhzJBmu0IJ1kNDcTFirAyapghHSw267erSUwsHjkQis9mKYpzGied0E";

#[test]
fn decrypts_cfca_responses_in_every_accepted_form() {
    let tmp = temp_key();
    let with_newlines: String = BARE
        .as_bytes()
        .chunks(64)
        .map(|c| format!("{}\r\n", std::str::from_utf8(c).unwrap()))
        .collect();
    let inputs: Vec<Vec<u8>> = vec![
        include_bytes!("data/cfca/gmsm_escrow_prefixed.txt").to_vec(),
        include_bytes!("data/cfca/gmsm_escrow_commas.txt").to_vec(),
        BARE.as_bytes().to_vec(),
        with_newlines.clone().into_bytes(),
        format!("{ESCROW_PREFIX}{:016}{with_newlines}", with_newlines.len()).into_bytes(),
        format!("{ESCROW_PREFIX}{:016}{with_newlines}", BARE.len()).into_bytes(),
        format!("  {ESCROW_PREFIX}{:016}{BARE}\n\n", BARE.len()).into_bytes(),
        EscrowedKey::parse(BARE.as_bytes()).unwrap().to_der(),
    ];
    for input in inputs {
        let key = decrypt_escrowed_key(&input, &tmp)
            .unwrap_or_else(|e| panic!("{e}: {:?}", String::from_utf8_lossy(&input)));
        assert_eq!(hex::encode(&key.to_bytes()[..]), ENC_D);
    }
}

#[test]
fn gmsm_error_cases_are_typed() {
    let tmp = temp_key();
    // Too short to hold the prefix.
    assert!(matches!(
        decrypt_escrowed_key(b"000000000000000100000000000000010", &tmp).unwrap_err(),
        Error::Encoding { .. }
    ));
    // Declared length does not match.
    let wrong_len = format!("{ESCROW_PREFIX}0000000000000273{BARE}");
    assert_eq!(
        decrypt_escrowed_key(wrong_len.as_bytes(), &tmp).unwrap_err(),
        Error::EscrowLength {
            declared: 273,
            actual: 268
        }
    );
    // A length field that is not decimal.
    let bad_len = format!("{ESCROW_PREFIX}0000000000000/73{BARE}");
    assert!(matches!(
        decrypt_escrowed_key(bad_len.as_bytes(), &tmp).unwrap_err(),
        Error::Encoding { .. }
    ));
    // Digits, but not CFCA's prefix.
    let bad_prefix = format!("1{}0000000000000268{BARE}", &ESCROW_PREFIX[1..]);
    assert!(matches!(
        decrypt_escrowed_key(bad_prefix.as_bytes(), &tmp).unwrap_err(),
        Error::EscrowPrefix(_)
    ));
    // Not a SEQUENCE once decoded.
    let not_seq = format!("N{}", &BARE[1..]);
    assert!(matches!(
        decrypt_escrowed_key(not_seq.as_bytes(), &tmp).unwrap_err(),
        Error::Der { .. }
    ));
    // gmsm: "failed to decrypt" (a 197-byte ciphertext with a 0x04 prefix
    // around a 100-byte plaintext).
    let c1 = "MIHLAgEBBIHFBNMWBxk04B00wJQC1fQsida/0ZZEAMh/ggaC006oQUFFQKJp18YgC/9xkkBLa75DxPy85+n21gZaXUs3s628SaQiKejqH7yx3Pr0onRepDED5O/grQoyxdHL3LpuC4jp7MrOeVDqC6PAWIhZanDhdN4617QJeBmKbkZSqo/SNXfh9+QDDwBBNMLV27LR53ShpAUYbJwqQoW2Od4+MGkzUK3jy+T9HbPcaAZMedAuhXhQgRf69x8CNSHjmOVVFQQZe7OHYY8=";
    assert!(matches!(
        decrypt_escrowed_key(c1.as_bytes(), &tmp).unwrap_err(),
        Error::EscrowDecrypt(_)
    ));
    // gmsm: "invalid decrypted private key data" (100-byte plaintext).
    let c2 = "MIHKAgEBBIHEMEiAGc8dn+9mKnIlaesNqV2h53FxzNm1O4Bl5P16t6QT4JcJvTcTsh9DiHZF1Z0b+z/PrAT2r8aST2aKwRBPLrkWHKKDLZnCtAuz3Al1sV5ZMb5dCVX/Gy3LWMhVNwmzgkV6hfuFokTc2qL7p297XG4nnT11jz7iI1sRJ2E7bn52tF6W6ApICJuDKyFiLVKmMayn3PSsd8+I5IXNNtIer+GYKabAkNHwao4cuK1tuhy1uiSlwfzWq1CSHFD+LIRbXpijQA==";
    assert_eq!(
        decrypt_escrowed_key(c2.as_bytes(), &tmp).unwrap_err(),
        Error::EscrowPlaintextLength(100)
    );
    // gmsm: "invalid private key" (d out of range).
    let c3 = "MIHGAgEBBIHANZyM9KF7qqyUDzh6wZmLU6czep9FxJfojSpxrAYbNN2j/Jad5cOaNmhO4tL+tfk42O8y9+jUebPWCUOuSXZADJZOEyRo2tehvrT2CxEEA9cJ0pK87uXiRsd9vLyjYeEzbngO8tpFrSrpF8G/KYbJ1QiI3W+QLQnofwtChNVwOjyjLxoFO9gx3jvfVH79ECoYC11UL0o0YASx9niiGkqT/q8tqbr7DwIDu0tbXVfwhjJJ2zNZIdECDkV3o7as9ika";
    assert!(matches!(
        decrypt_escrowed_key(c3.as_bytes(), &tmp).unwrap_err(),
        Error::Sm2 {
            what: "escrowed private key d",
            ..
        }
    ));
    // gmsm: "point not on SM2 P256 curve" (X || Y invalid).
    let c4 = "MIHGAgEBBIHAaxudEYQXAT4n+s2fhHJlPVvY2+TNRAS96F7vskiENVLHahIWxtDeU6BeJ5SFTEXTz5vdYp4as66DU69xCWNYl4kDCy3gfT2iIDEp6NcbPHkAp/rKIFXMUZyBq9wGCkeAZwvpK09JMLffvGWTFU7MzepyFtYTsRjwZ5tBX+8GaSDHaCD0CtVtz5k3bFRLPE2ru4XZW787BiEBrxUG9Zn5pnkNLlnVmUNSI01qKXJxK/hAJ+B82DtXdZgSUaspW5ro";
    assert!(matches!(
        decrypt_escrowed_key(c4.as_bytes(), &tmp).unwrap_err(),
        Error::Sm2 {
            what: "escrowed public key X || Y",
            ..
        }
    ));
    // gmsm: "key pair mismatch".
    let c5 = "MIHGAgEBBIHA7pcowvNdY6kHesm6Ni1rM+iFNSXOXyET+gstbxQ0Vq1+W+YmZUTNQs8CpNuU6fpjZt8azXvKwdrUKEMaadZR4vTBwl+UcvjdpwlBmI8o9UxYkWNSGeI0CWHCgml57xHbhAl3xlRzCi2qOakvEcwTRmzvB73Pt/DgahSPGSmdOy3CrAyMkhcrHiiR9aIWXEKbOnwST+wcRJ65Mr+5ZDOaN8wg6NzLttnWg93CA3k1AsziCGe/sRW6Qd2FrcvMZQc2";
    assert_eq!(
        decrypt_escrowed_key(c5.as_bytes(), &tmp).unwrap_err(),
        Error::EscrowKeyPairMismatch
    );
    // The wrong temporary key.
    let other = PrivateKey::generate().unwrap();
    assert!(matches!(
        decrypt_escrowed_key(BARE.as_bytes(), &other).unwrap_err(),
        Error::EscrowDecrypt(_)
    ));
}

#[test]
fn full_dual_key_flow_round_trip() {
    // Applicant: signing key + dual CSR with a fresh temporary key.
    let sign = PrivateKey::generate().unwrap();
    let name = [0x30, 0x00];
    let (csr, temp) = DualCsr::generate(&sign, &name, "111111").unwrap();
    // CA: reads the temporary key from the CSR and escrows a new key to it.
    let received = DualCsr::parse(csr.to_der()).unwrap();
    let enc_key = PrivateKey::generate().unwrap();
    let response = EscrowedKey::seal(&enc_key, received.temp_public_key().unwrap())
        .unwrap()
        .to_text();
    assert!(response.starts_with(ESCROW_PREFIX));
    // Applicant: decrypts with the temporary key.
    assert_eq!(
        decrypt_escrowed_key(response.as_bytes(), &temp).unwrap(),
        enc_key
    );
}

#[test]
fn ciphertext_with_the_04_prefix_is_accepted() {
    let tmp = temp_key();
    let enc_key = PrivateKey::generate().unwrap();
    let sealed = EscrowedKey::seal(&enc_key, tmp.public_key()).unwrap();
    assert_eq!(sealed.ciphertext().len(), 192);
    let with_prefix = Ciphertext::from_bytes(sealed.ciphertext(), CiphertextFormat::C1C3C2NoPrefix)
        .unwrap()
        .to_bytes(CiphertextFormat::C1C3C2);
    let mut der = vec![0x30, 0x81, 0xc7, 0x02, 0x01, 0x01, 0x04, 0x81, 0xc1];
    der.extend_from_slice(&with_prefix);
    let parsed = EscrowedKey::parse(&der).unwrap();
    assert_eq!(parsed.decrypt(&tmp).unwrap(), enc_key);
}

#[test]
fn envelope_errors() {
    // Version 2.
    let der = [0x30, 0x06, 0x02, 0x01, 0x02, 0x04, 0x01, 0x00];
    assert!(matches!(
        EscrowedKey::parse(&der).unwrap_err(),
        Error::UnsupportedVersion { version: 2, .. }
    ));
    // Ciphertext too short to be SM2.
    let der = [0x30, 0x06, 0x02, 0x01, 0x01, 0x04, 0x01, 0x00];
    assert_eq!(
        EscrowedKey::parse(&der).unwrap_err(),
        Error::EscrowCiphertextLength(1)
    );
    // Truncations of a real one.
    let full = EscrowedKey::parse(BARE.as_bytes()).unwrap().to_der();
    for n in 0..full.len() {
        assert!(EscrowedKey::parse(&full[..n]).is_err());
    }
    assert!(EscrowedKey::parse(b"").is_err());
    assert!(EscrowedKey::parse(b"\xff\xfe").is_err());
}

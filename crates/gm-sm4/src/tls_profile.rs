//! The RFC 8998 AEAD profiles (16-byte key, 12-byte nonce, 16-byte tag
//! appended) over the general GCM and CCM types, behind the `aead` traits.

/// Defines `$name`, a newtype over `$generic` with the RustCrypto `aead`
/// traits (`KeyInit`, `AeadCore`, `AeadInOut`, hence `Aead`).
macro_rules! tls_profile {
    ($(#[$doc:meta])* $name:ident over $generic:ident, $mode:literal) => {
        $(#[$doc])*
        #[derive(Clone, Debug)]
        pub struct $name($generic);

        impl $name {
            #[doc = concat!("Builds ", $mode, " over an already keyed SM4 (keeping its backend).")]
            pub fn with_cipher(cipher: $crate::Sm4) -> Self {
                Self($generic::with_cipher(cipher))
            }
        }

        impl cipher::KeySizeUser for $name {
            type KeySize = aead::consts::U16;
        }

        impl cipher::KeyInit for $name {
            fn new(key: &cipher::Key<Self>) -> Self {
                Self($generic::new(&key.0))
            }
        }

        impl aead::AeadCore for $name {
            type NonceSize = aead::consts::U12;
            type TagSize = aead::consts::U16;
            const TAG_POSITION: aead::TagPosition = aead::TagPosition::Postfix;
        }

        impl aead::AeadInOut for $name {
            fn encrypt_inout_detached(
                &self,
                nonce: &aead::Nonce<Self>,
                associated_data: &[u8],
                buffer: aead::inout::InOutBuf<'_, '_, u8>,
            ) -> aead::Result<aead::Tag<Self>> {
                let buf = buffer.into_out_with_copied_in();
                let mut tag = aead::Tag::<Self>::default();
                self.0
                    .seal_in_place_detached(nonce, associated_data, buf, &mut tag)
                    .map_err(|_| aead::Error)?;
                Ok(tag)
            }

            /// On failure the output buffer is zeroed.
            fn decrypt_inout_detached(
                &self,
                nonce: &aead::Nonce<Self>,
                associated_data: &[u8],
                buffer: aead::inout::InOutBuf<'_, '_, u8>,
                tag: &aead::Tag<Self>,
            ) -> aead::Result<()> {
                let buf = buffer.into_out_with_copied_in();
                self.0
                    .open_in_place_detached(nonce, associated_data, buf, tag)
                    .map_err(|_| aead::Error)
            }
        }
    };
}

pub(crate) use tls_profile;

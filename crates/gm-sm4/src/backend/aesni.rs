//! placeholder
#![allow(unsafe_code)]
use crate::RawBlock;
pub(crate) fn crypt(rk: &[u32; 32], blocks: &mut [RawBlock]) {
    super::soft::crypt(rk, blocks)
}
pub(crate) fn tau(word: u32) -> u32 {
    super::soft::tau(word)
}

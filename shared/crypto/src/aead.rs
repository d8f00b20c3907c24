//! AES-256-GCM sealing shared by master keys and data keys.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use ring::aead::{Aad, LessSafeKey, Nonce, NONCE_LEN};
use ring::rand::{SecureRandom, SystemRandom};

use crate::{Binding, KeyringError, Sealed};

pub(crate) fn seal(
    key: &LessSafeKey,
    rng: &SystemRandom,
    kid: &str,
    binding: Binding<'_>,
    plaintext: &[u8],
) -> Result<Sealed, KeyringError> {
    let ad = binding.version();
    let aad = binding.associated_data(ad, kid).ok_or(KeyringError::Open)?;
    let mut nonce = [0u8; NONCE_LEN];
    rng.fill(&mut nonce).map_err(|_| KeyringError::Random)?;
    let mut buf = plaintext.to_vec();
    key.seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::from(&aad), &mut buf)
        .map_err(|_| KeyringError::Open)?;
    Ok(Sealed { ad, kid: kid.to_string(), nonce: B64.encode(nonce), ct: B64.encode(buf) })
}

pub(crate) fn open(key: &LessSafeKey, binding: Binding<'_>, sealed: &Sealed) -> Result<Vec<u8>, KeyringError> {
    let aad = binding.associated_data(sealed.ad, &sealed.kid).ok_or(KeyringError::Open)?;
    let nonce: [u8; NONCE_LEN] =
        B64.decode(&sealed.nonce).ok().and_then(|n| n.try_into().ok()).ok_or(KeyringError::Open)?;
    let mut buf = B64.decode(&sealed.ct).map_err(|_| KeyringError::Open)?;
    let plain = key
        .open_in_place(Nonce::assume_unique_for_key(nonce), Aad::from(&aad), &mut buf)
        .map_err(|_| KeyringError::Open)?;
    Ok(plain.to_vec())
}

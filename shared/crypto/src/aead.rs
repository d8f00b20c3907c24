//! AES-256-GCM sealing shared by master keys and data keys.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use ring::aead::{Aad, LessSafeKey, Nonce, NONCE_LEN};
use ring::rand::{SecureRandom, SystemRandom};

use crate::{KeyringError, Sealed};

pub(crate) fn seal(
    key: &LessSafeKey,
    rng: &SystemRandom,
    kid: &str,
    purpose: &str,
    plaintext: &[u8],
) -> Result<Sealed, KeyringError> {
    let mut nonce = [0u8; NONCE_LEN];
    rng.fill(&mut nonce).map_err(|_| KeyringError::Random)?;
    let mut buf = plaintext.to_vec();
    key.seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::from(purpose.as_bytes()), &mut buf)
        .map_err(|_| KeyringError::Open)?;
    Ok(Sealed { kid: kid.to_string(), nonce: B64.encode(nonce), ct: B64.encode(buf) })
}

pub(crate) fn open(key: &LessSafeKey, purpose: &str, sealed: &Sealed) -> Result<Vec<u8>, KeyringError> {
    let nonce: [u8; NONCE_LEN] =
        B64.decode(&sealed.nonce).ok().and_then(|n| n.try_into().ok()).ok_or(KeyringError::Open)?;
    let mut buf = B64.decode(&sealed.ct).map_err(|_| KeyringError::Open)?;
    let plain = key
        .open_in_place(Nonce::assume_unique_for_key(nonce), Aad::from(purpose.as_bytes()), &mut buf)
        .map_err(|_| KeyringError::Open)?;
    Ok(plain.to_vec())
}

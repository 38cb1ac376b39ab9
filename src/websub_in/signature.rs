//! The `X-Hub-Signature` of a WebSub push (W3C WebSub section 8): `METHOD=HEX`, an HMAC
//! of the raw body under the subscription's secret. Pure: no IO.

use hmac::{Hmac, Mac};

/// Why a push's signature is refused, in words for the source page.
#[derive(Debug, PartialEq, thiserror::Error)]
pub enum SignatureError {
    #[error("the push has no X-Hub-Signature")]
    Missing,
    #[error("the push's X-Hub-Signature is not METHOD=HEX")]
    Malformed,
    #[error("the push's X-Hub-Signature uses `{0}`, which is not sha1, sha256, sha384 or sha512")]
    UnknownMethod(String),
    #[error("the push's X-Hub-Signature does not match its body")]
    Mismatch,
}

/// Checks `header` (the `X-Hub-Signature` value, if any) against `body` under `secret`.
/// The comparison is constant-time (`Mac::verify_slice`).
pub fn verify(header: Option<&str>, secret: &[u8], body: &[u8]) -> Result<(), SignatureError> {
    let header = header.map(str::trim).filter(|value| !value.is_empty());
    let header = header.ok_or(SignatureError::Missing)?;
    let (method, hex_digest) = header.split_once('=').ok_or(SignatureError::Malformed)?;
    let digest = hex::decode(hex_digest.trim()).map_err(|_| SignatureError::Malformed)?;
    match method.trim().to_ascii_lowercase().as_str() {
        "sha1" => check::<Hmac<sha1::Sha1>>(secret, body, &digest),
        "sha256" => check::<Hmac<sha2::Sha256>>(secret, body, &digest),
        "sha384" => check::<Hmac<sha2::Sha384>>(secret, body, &digest),
        "sha512" => check::<Hmac<sha2::Sha512>>(secret, body, &digest),
        other => Err(SignatureError::UnknownMethod(
            other.chars().take(20).collect(),
        )),
    }
}

fn check<M: Mac + hmac::digest::KeyInit>(
    secret: &[u8],
    body: &[u8],
    digest: &[u8],
) -> Result<(), SignatureError> {
    let mut mac = <M as hmac::digest::KeyInit>::new_from_slice(secret)
        .expect("HMAC takes keys of any length");
    mac.update(body);
    mac.verify_slice(digest)
        .map_err(|_| SignatureError::Mismatch)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";
    const BODY: &[u8] = b"<feed xmlns=\"http://www.w3.org/2005/Atom\"/>";

    /// The header a hub sends for `body` under `secret`, with sha256.
    fn sign_sha256(secret: &[u8], body: &[u8]) -> String {
        let mut mac =
            <Hmac<sha2::Sha256> as hmac::digest::KeyInit>::new_from_slice(secret).unwrap();
        mac.update(body);
        format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
    }

    fn hmac_hex<M: Mac + hmac::digest::KeyInit>() -> String {
        let mut mac = <M as hmac::digest::KeyInit>::new_from_slice(SECRET).unwrap();
        mac.update(BODY);
        hex::encode(mac.finalize().into_bytes())
    }

    #[track_caller]
    fn check(header: Option<&str>, expected: Result<(), SignatureError>) {
        assert_eq!(verify(header, SECRET, BODY), expected);
    }

    #[test]
    fn sha256_signature_verifies() {
        check(Some(&sign_sha256(SECRET, BODY)), Ok(()));
    }

    #[test]
    fn sha1_signature_verifies() {
        check(
            Some(&format!("sha1={}", hmac_hex::<Hmac<sha1::Sha1>>())),
            Ok(()),
        );
    }

    #[test]
    fn sha384_and_sha512_verify_and_the_method_ignores_case() {
        check(
            Some(&format!("sha384={}", hmac_hex::<Hmac<sha2::Sha384>>())),
            Ok(()),
        );
        check(
            Some(&format!("SHA512={}", hmac_hex::<Hmac<sha2::Sha512>>())),
            Ok(()),
        );
    }

    #[test]
    fn wrong_secret_or_body_is_a_mismatch() {
        let other = sign_sha256(b"another secret", BODY);
        check(Some(&other), Err(SignatureError::Mismatch));
        let tampered = sign_sha256(SECRET, b"<feed/>");
        check(Some(&tampered), Err(SignatureError::Mismatch));
        let sha1_as_sha256 = format!("sha256={}", hmac_hex::<Hmac<sha1::Sha1>>());
        check(Some(&sha1_as_sha256), Err(SignatureError::Mismatch));
    }

    #[test]
    fn missing_header_is_refused() {
        check(None, Err(SignatureError::Missing));
        check(Some("  "), Err(SignatureError::Missing));
    }

    #[test]
    fn malformed_headers_are_refused() {
        check(Some("sha256"), Err(SignatureError::Malformed));
        check(Some("sha256=not-hex"), Err(SignatureError::Malformed));
        check(Some("sha256=abc"), Err(SignatureError::Malformed));
        check(
            Some("md5=00"),
            Err(SignatureError::UnknownMethod("md5".into())),
        );
    }
}

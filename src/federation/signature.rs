//! HTTP Signatures on ActivityPub requests, in and out: draft-cavage-http-signatures-12
//! (what Mastodon and most of the fediverse send) and RFC 9421, RSA keys only, through the
//! `actpub-httpsig` crate. Pure: no IO, no clock of its own (callers pass `now`), and no key
//! fetching (the caller reads [`claimed_key`], fetches that key, then calls [`verify`]).

use std::time::SystemTime;

use actpub_httpsig::{
    CavageHeaderParams, CavageSigner, Component, DigestAlgorithm, Error as SigError, Rfc9421Signer,
    RsaBits, SIGNATURE_INPUT_HEADER, SigningKey, VerifyPolicy, VerifyingKey, content_digest_header,
    parse_signature_dict, parse_signature_input_dict, sha256_digest_header,
    verify_any_content_digest_header, verify_digest_header,
};
use chrono::{DateTime, Utc};
use http::header::{CONTENT_TYPE, DATE, HOST};
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use url::Url;

/// The oldest signature accepted: Mastodon's window (a delivery retried for hours keeps
/// its signature date only if re-signed; ours are re-signed on every try).
pub const MAX_AGE_SECS: i64 = 12 * 3600;
/// How far ahead of our clock a signature may be dated.
pub const MAX_FUTURE_SECS: i64 = 3600;
/// The smallest RSA key accepted, ours or a sender's.
pub const MIN_KEY_BITS: usize = 2048;
/// The media type of every activity we POST.
pub const ACTIVITY_JSON: &str = "application/activity+json";

/// Draft-cavage `headers` a GET must cover (also what [`sign_get`] covers).
pub const CAVAGE_GET_COVERS: &[&str] = &["(request-target)", "host", "date"];
/// Draft-cavage `headers` a POST, or any request with a body, must cover (also what
/// [`sign_post`] covers).
pub const CAVAGE_POST_COVERS: &[&str] = &["(request-target)", "host", "date", "digest"];
/// RFC 9421 components a GET must cover (also what [`sign_get`] covers). `@target-uri`
/// holds the scheme and authority, so `@authority` is not required.
pub const RFC9421_GET_COVERS: &[&str] = &["@method", "@target-uri"];
/// RFC 9421 components a POST, or any request with a body, must cover.
pub const RFC9421_POST_COVERS: &[&str] = &["@method", "@target-uri", "content-digest"];

/// Which of the two signature standards a request uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// draft-cavage-http-signatures-12: one `Signature` header with `keyId`, `headers`
    /// and `signature` parameters.
    Cavage,
    /// RFC 9421 HTTP Message Signatures: `Signature-Input` and `Signature` dictionaries.
    Rfc9421,
}

/// One RSA key pair: the private half as PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`), the
/// public half as SPKI PEM (`-----BEGIN PUBLIC KEY-----`, what an actor's `publicKeyPem`
/// holds). Its `Debug` shows no key material.
pub struct KeyPair {
    key: SigningKey,
    public_pem: String,
}

/// Why a request could not be signed, or a key not made or read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignError {
    /// The key could not be generated, read or used.
    #[error("{0}")]
    Key(String),
    /// The URL cannot be a request's target (no host, or not an address `http` takes).
    #[error("cannot sign a request to {url}: {reason}")]
    Url {
        /// The URL as given.
        url: String,
        /// Why it cannot be signed.
        reason: String,
    },
}

/// What an inbound request looks like to the verifier.
#[derive(Debug, Clone, Copy)]
pub struct Inbound<'a> {
    /// The request's method.
    pub method: &'a Method,
    /// The URL the sender signed: the inbox builds it from `base_url` and the request's
    /// path and query, since a reverse proxy may have rewritten scheme and host. Its
    /// authority is also what the signed `host` line must name, whatever `Host` says.
    pub target_uri: &'a Url,
    /// The request's headers as received.
    pub headers: &'a HeaderMap,
    /// The request's body as received.
    pub body: &'a [u8],
}

/// The key a request claims to be signed with, read without verifying anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    /// The `keyId` (draft-cavage) or `keyid` (RFC 9421), as sent.
    pub key_id: String,
    /// The standard the request is signed under.
    pub scheme: Scheme,
}

/// A request whose signature, coverage, body digest and date all checked out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The key that signed it; its owner is the sender.
    pub key_id: String,
    /// The standard it was signed under.
    pub scheme: Scheme,
}

/// Why an inbound signature is refused, in words fit for a 401 body and the log.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// Neither `Signature` nor `Signature-Input` was sent.
    #[error("no Signature header")]
    NoSignature,
    /// A signature header is there but cannot be read.
    #[error("the {header} header cannot be read: {reason}")]
    Garbled {
        /// `Signature` or `Signature-Input`.
        header: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The signature names an algorithm other than `hs2019`, `rsa-sha256` (draft-cavage)
    /// or `rsa-v1_5-sha256` (RFC 9421).
    #[error(
        "the signature algorithm `{0}` is not accepted (only hs2019, rsa-sha256 and rsa-v1_5-sha256)"
    )]
    UnknownAlgorithm(String),
    /// The signature leaves out a header or component it must cover.
    #[error("the signature does not cover `{0}`")]
    NotCovered(String),
    /// A header the request must carry (Date, Digest, Content-Digest, or one the
    /// signature covers) is absent.
    #[error("the request has no {0} header")]
    MissingHeader(String),
    /// `Digest` is not the SHA-256 of the body.
    #[error("the Digest header does not match the body")]
    DigestMismatch,
    /// `Content-Digest` is not the digest of the body.
    #[error("the Content-Digest header does not match the body")]
    ContentDigestMismatch,
    /// A digest header names no algorithm we check.
    #[error("the {header} header has no {accepted} digest")]
    UnsupportedDigest {
        /// `Digest` or `Content-Digest`.
        header: &'static str,
        /// The algorithms we check.
        accepted: &'static str,
    },
    /// A digest header is not in its standard form.
    #[error("the {header} header cannot be read: {reason}")]
    GarbledDigest {
        /// `Digest` or `Content-Digest`.
        header: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// `Date` is not an HTTP date.
    #[error("the Date header is not an HTTP date")]
    BadDate,
    /// Neither a `created` parameter nor a `Date` header says when it was signed.
    #[error("the signature does not say when it was made (no created parameter, no Date)")]
    NoTime,
    /// Signed longer ago than [`MAX_AGE_SECS`].
    #[error("the {what} is {} old; at most 12 hours is accepted", span(*.age_secs))]
    TooOld {
        /// `Date` or `signature's created time`.
        what: &'static str,
        /// Its age in seconds.
        age_secs: i64,
    },
    /// Dated further ahead of our clock than [`MAX_FUTURE_SECS`].
    #[error("the {what} is {} ahead of our clock; at most 1 hour is accepted", span(*.ahead_secs))]
    InFuture {
        /// `Date` or `signature's created time`.
        what: &'static str,
        /// How far ahead, in seconds.
        ahead_secs: i64,
    },
    /// The signature's `expires` has passed.
    #[error("the signature expired {} ago", span(*.ago_secs))]
    Expired {
        /// Since when, in seconds.
        ago_secs: i64,
    },
    /// The owner's `publicKeyPem` is not an RSA public key we can use.
    #[error("the key of {key_id} is not a usable RSA public key: {reason}")]
    UnusableKey {
        /// The key's id.
        key_id: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The owner's key is shorter than [`MIN_KEY_BITS`].
    #[error("the key of {key_id} has {bits} bits; at least 2048 are needed")]
    KeyTooSmall {
        /// The key's id.
        key_id: String,
        /// Its modulus size.
        bits: usize,
    },
    /// The signature is not one the key made over this request (forged, altered, made
    /// with another key, or made for another method, target or host).
    #[error("the signature does not verify with the key of {key_id}")]
    BadSignature {
        /// The key it was checked with.
        key_id: String,
    },
}

impl KeyPair {
    /// A new RSA 2048 key pair.
    pub fn generate() -> Result<KeyPair, SignError> {
        let key = SigningKey::generate_rsa(RsaBits::Rsa2048)
            .map_err(|err| SignError::Key(format!("cannot generate a key: {err}")))?;
        KeyPair::from_key(key)
    }

    /// Reads a private key: PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`, what
    /// [`KeyPair::private_pem`] writes) or PKCS#1 (`-----BEGIN RSA PRIVATE KEY-----`). Only
    /// RSA keys of 2048 to 8192 bits are taken.
    pub fn from_private_pem(pem: &str) -> Result<KeyPair, SignError> {
        let key = SigningKey::from_pem(pem).map_err(|err| SignError::Key(err.to_string()))?;
        KeyPair::from_key(key)
    }

    /// The private key as PKCS#8 PEM, with LF line ends.
    pub fn private_pem(&self) -> String {
        lf(&self.key.to_pem())
    }

    /// The public key as SPKI PEM with LF line ends, for an actor's `publicKey.publicKeyPem`.
    pub fn public_pem(&self) -> &str {
        &self.public_pem
    }

    fn from_key(key: SigningKey) -> Result<KeyPair, SignError> {
        let public = key.verifying_key();
        if !matches!(public, VerifyingKey::Rsa(_)) {
            return Err(SignError::Key("not an RSA key".to_owned()));
        }
        let public_pem = lf(&public.to_pem());
        Ok(KeyPair { key, public_pem })
    }
}

/// The crate writes PEM with CRLF line ends; key files and actors have always had LF.
fn lf(pem: &str) -> String {
    pem.replace("\r\n", "\n")
}

impl std::fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyPair").finish_non_exhaustive()
    }
}

/// The key a request claims and its scheme, read without verifying: the caller fetches
/// that key (async), then calls [`verify`]. A request with `Signature-Input` is RFC 9421,
/// else one with `Signature` is draft-cavage. A missing or garbled signature, or one in
/// an algorithm we do not take, is a [`Refusal`].
pub fn claimed_key(req: &Inbound) -> Result<Claim, Refusal> {
    match read_signature(req.headers)? {
        Parsed::Cavage(params) => Ok(Claim {
            key_id: params.key_id,
            scheme: Scheme::Cavage,
        }),
        Parsed::Rfc9421 { key_id, .. } => Ok(Claim {
            key_id,
            scheme: Scheme::Rfc9421,
        }),
    }
}

/// The full check of an inbound request against the public key (SPKI PEM) of the key it
/// claims: the signature is valid for this method, target and host; it covers what it
/// must ([`CAVAGE_POST_COVERS`], [`RFC9421_POST_COVERS`], or the GET sets for a GET
/// without a body); the body matches `Digest` (SHA-256) and `Content-Digest` (sha-256 and
/// sha-512, whichever are sent), each required where its scheme needs it and checked
/// whenever present; the date (`created`, else `Date`) is at most 12 hours old and at
/// most 1 hour ahead of `now`; `expires` has not passed; the key is RSA of at least
/// 2048 bits.
pub fn verify(req: &Inbound, public_key_pem: &str, now: SystemTime) -> Result<Verified, Refusal> {
    let parsed = read_signature(req.headers)?;
    let with_body = *req.method == Method::POST || !req.body.is_empty();
    let (key_id, scheme, created) = match &parsed {
        Parsed::Cavage(params) => {
            let required = if with_body {
                CAVAGE_POST_COVERS
            } else {
                CAVAGE_GET_COVERS
            };
            let covered: Vec<&str> = params.headers.iter().map(String::as_str).collect();
            check_coverage(&covered, required)?;
            (params.key_id.clone(), Scheme::Cavage, params.created)
        }
        Parsed::Rfc9421 {
            key_id,
            components,
            created,
        } => {
            let required = if with_body {
                RFC9421_POST_COVERS
            } else {
                RFC9421_GET_COVERS
            };
            let covered: Vec<&str> = components.iter().map(Component::identifier).collect();
            check_coverage(&covered, required)?;
            (key_id.clone(), Scheme::Rfc9421, *created)
        }
    };

    check_date_header(req.headers, scheme)?;
    check_digests(req, scheme, with_body)?;
    let key = read_public_key(public_key_pem, &key_id)?;

    let mut policy = VerifyPolicy::mastodon();
    policy.max_age = Some(chrono::Duration::seconds(MAX_AGE_SECS));
    policy.max_clock_skew_future = Some(chrono::Duration::seconds(MAX_FUTURE_SECS));
    policy.require_timestamp = true;
    policy.cavage_required_headers = if with_body {
        CAVAGE_POST_COVERS
    } else {
        CAVAGE_GET_COVERS
    };
    let what = if created.is_some() {
        "signature's created time"
    } else {
        "Date"
    };
    let now = DateTime::<Utc>::from(now);
    match scheme {
        Scheme::Cavage => {
            let request = rebuild(req)?;
            actpub_httpsig::cavage_verify_with_policy(&request, &policy, now, |_| Ok(key.clone()))
                .map_err(|err| refusal(err, scheme, &key_id, what))?;
        }
        // The crate's RFC 9421 verifier writes the `@signature-params` line anew, in its own
        // parameter order and without the parameters it does not know, where RFC 9421
        // (section 2.3) signs the line as the sender serialized it: a signer that puts
        // `keyid` before `alg` (as the RFC's own examples do) would not verify. So the
        // signature base is built here, from the crate's parsers and its policy check.
        Scheme::Rfc9421 => verify_rfc9421(req, &key, &key_id, &policy, now, what)?,
    }
    Ok(Verified { key_id, scheme })
}

/// RFC 9421 section 3.2: the signature base from the covered components and the
/// `Signature-Input` member as sent (serialized again by `sfv`, which keeps the order of
/// its parameters), checked with the key; freshness by the crate's policy.
fn verify_rfc9421(
    req: &Inbound,
    key: &VerifyingKey,
    key_id: &str,
    policy: &VerifyPolicy,
    now: DateTime<Utc>,
    what: &'static str,
) -> Result<(), Refusal> {
    let garbled = |header: &'static str, reason: String| Refusal::Garbled { header, reason };
    let text = |name: &str| {
        req.headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .unwrap_or("")
    };
    let raw_input = text(SIGNATURE_INPUT_HEADER);
    let dict: sfv::Dictionary = sfv::Parser::new(raw_input)
        .parse()
        .map_err(|err| garbled(SIGNATURE_INPUT, err.to_string()))?;
    let Some((label, sfv::ListEntry::InnerList(inner))) = dict.into_iter().next() else {
        return Err(garbled(SIGNATURE_INPUT, "no inner list".to_owned()));
    };
    let params_line = sfv::FieldType::serialize(&vec![sfv::ListEntry::InnerList(inner)])
        .ok_or_else(|| garbled(SIGNATURE_INPUT, "an empty member".to_owned()))?;
    let (_, input) = parse_signature_input_dict(raw_input)
        .map_err(|err| garbled(SIGNATURE_INPUT, err.to_string()))?
        .into_iter()
        .next()
        .ok_or_else(|| garbled(SIGNATURE_INPUT, "no signature".to_owned()))?;
    let date = req.headers.get(DATE).and_then(|value| value.to_str().ok());
    policy
        .check(input.created, input.expires, date, now)
        .map_err(|err| refusal(err, Scheme::Rfc9421, key_id, what))?;
    let signatures = parse_signature_dict(text("signature"))
        .map_err(|err| garbled(SIGNATURE, err.to_string()))?;
    let Some((_, signature)) = signatures
        .into_iter()
        .find(|(name, _)| name.as_str() == label.as_str())
    else {
        return Err(garbled(
            SIGNATURE,
            format!("no signature labelled `{}`", label.as_str()),
        ));
    };
    let mut base = String::new();
    for component in &input.components {
        let value = component_value(component, req)?;
        base.push_str(&component.lexical());
        base.push_str(": ");
        base.push_str(&value);
        base.push('\n');
    }
    base.push_str("\"@signature-params\": ");
    base.push_str(&params_line);
    key.verify(base.as_bytes(), &signature)
        .map_err(|_| Refusal::BadSignature {
            key_id: key_id.to_owned(),
        })
}

/// A covered component's value (RFC 9421 section 2), for our own target URL.
fn component_value(component: &Component, req: &Inbound) -> Result<String, Refusal> {
    let url = req.target_uri;
    Ok(match component {
        Component::Method => req.method.as_str().to_owned(),
        Component::TargetUri => url[..url::Position::AfterQuery].to_owned(),
        Component::Authority => host_header(url),
        Component::Scheme => url.scheme().to_owned(),
        Component::Path => url.path().to_owned(),
        Component::Query => format!("?{}", url.query().unwrap_or("")),
        Component::RequestTarget => {
            url[url::Position::BeforePath..url::Position::AfterQuery].to_owned()
        }
        // What the sender named, as for draft-cavage, whatever a proxy made of Host.
        Component::Header(name) if name == "host" => host_header(url),
        Component::Header(name) => {
            let values: Vec<&str> = req
                .headers
                .get_all(name.as_str())
                .iter()
                .map(|value| value.to_str().map(str::trim))
                .collect::<Result<_, _>>()
                .map_err(|_| Refusal::Garbled {
                    header: SIGNATURE_INPUT,
                    reason: format!("the covered {name} header is not plain text"),
                })?;
            if values.is_empty() {
                return Err(Refusal::MissingHeader(name.clone()));
            }
            values.join(", ")
        }
        other => {
            return Err(Refusal::Garbled {
                header: SIGNATURE_INPUT,
                reason: format!("the component {} is not supported", other.identifier()),
            });
        }
    })
}

/// The headers to add to a POST of `body` to `url`: `Date`, `Host`, `Digest` (draft-cavage)
/// or `Content-Digest` (RFC 9421), `Content-Type: application/activity+json`, `Signature`
/// and, for RFC 9421, `Signature-Input`, signed with `key` under `key_id`. Sign again for
/// every try: the date is `now`.
pub fn sign_post(
    key: &KeyPair,
    key_id: &str,
    url: &Url,
    body: &[u8],
    scheme: Scheme,
    now: SystemTime,
) -> Result<Vec<(HeaderName, HeaderValue)>, SignError> {
    let mut request = unsigned(Method::POST, url, now)?;
    let headers = request.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(ACTIVITY_JSON));
    let (digest_name, digest) = match scheme {
        Scheme::Cavage => (
            HeaderName::from_static("digest"),
            sha256_digest_header(body),
        ),
        Scheme::Rfc9421 => (
            HeaderName::from_static("content-digest"),
            content_digest_header(body),
        ),
    };
    headers.insert(digest_name, header_value(&digest)?);
    sign(key, key_id, request, scheme, true, now)
}

/// The headers to add to a signed GET of `url` (a key, an actor, an outbox): `Date`,
/// `Host`, `Signature` and, for RFC 9421, `Signature-Input`, covering
/// `(request-target) host date` or `@method @target-uri`.
pub fn sign_get(
    key: &KeyPair,
    key_id: &str,
    url: &Url,
    scheme: Scheme,
    now: SystemTime,
) -> Result<Vec<(HeaderName, HeaderValue)>, SignError> {
    let request = unsigned(Method::GET, url, now)?;
    sign(key, key_id, request, scheme, false, now)
}

/// Whether a key id and an actor id are on the same host, compared case-insensitively
/// with the port (explicit or the scheme's default). Ids that are not URLs with a host
/// never match.
pub fn same_origin_host(key_id: &str, actor: &str) -> bool {
    let (Ok(key), Ok(actor)) = (Url::parse(key_id), Url::parse(actor)) else {
        return false;
    };
    match (key.host_str(), actor.host_str()) {
        (Some(key_host), Some(actor_host)) => {
            key_host.eq_ignore_ascii_case(actor_host)
                && key.port_or_known_default() == actor.port_or_known_default()
        }
        _ => false,
    }
}

/// The `Host` header a client sends for `url`: the host, with the port when it is not the
/// scheme's default.
pub fn host_header(url: &Url) -> String {
    let host = url.host_str().unwrap_or("");
    match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    }
}

/// A signature header, read.
enum Parsed {
    Cavage(CavageHeaderParams),
    Rfc9421 {
        key_id: String,
        components: Vec<Component>,
        created: Option<i64>,
    },
}

const SIGNATURE: &str = "Signature";
const SIGNATURE_INPUT: &str = "Signature-Input";

fn read_signature(headers: &HeaderMap) -> Result<Parsed, Refusal> {
    let garbled = |header: &'static str, reason: String| Refusal::Garbled { header, reason };
    if let Some(input) = headers.get(SIGNATURE_INPUT_HEADER) {
        let input = input
            .to_str()
            .map_err(|_| garbled(SIGNATURE_INPUT, "not plain text".to_owned()))?;
        let mut inputs = parse_signature_input_dict(input)
            .map_err(|err| garbled(SIGNATURE_INPUT, err.to_string()))?;
        // One signature per request, as Mastodon expects: a second label would be a
        // second chance to slip past the policy.
        if inputs.len() != 1 {
            return Err(garbled(
                SIGNATURE_INPUT,
                format!("{} signatures; exactly one is accepted", inputs.len()),
            ));
        }
        let (label, input) = inputs.remove(0);
        let signature = headers
            .get(http::header::HeaderName::from_static("signature"))
            .ok_or(Refusal::NoSignature)?
            .to_str()
            .map_err(|_| garbled(SIGNATURE, "not plain text".to_owned()))?;
        let signatures =
            parse_signature_dict(signature).map_err(|err| garbled(SIGNATURE, err.to_string()))?;
        if !signatures.iter().any(|(name, _)| *name == label) {
            return Err(garbled(
                SIGNATURE,
                format!("no signature labelled `{label}`"),
            ));
        }
        if let Some(alg) = input.algorithm.as_deref()
            && alg != "rsa-v1_5-sha256"
        {
            return Err(Refusal::UnknownAlgorithm(alg.to_owned()));
        }
        let key_id = input
            .keyid
            .clone()
            .ok_or_else(|| garbled(SIGNATURE_INPUT, "no keyid".to_owned()))?;
        return Ok(Parsed::Rfc9421 {
            key_id,
            components: input.components,
            created: input.created,
        });
    }
    let signature = headers
        .get(http::header::HeaderName::from_static("signature"))
        .ok_or(Refusal::NoSignature)?
        .to_str()
        .map_err(|_| garbled(SIGNATURE, "not plain text".to_owned()))?;
    let params =
        CavageHeaderParams::parse(signature).map_err(|err| garbled(SIGNATURE, err.to_string()))?;
    if let Some(alg) = params.algorithm.as_deref()
        && !matches!(alg, "hs2019" | "rsa-sha256")
    {
        return Err(Refusal::UnknownAlgorithm(alg.to_owned()));
    }
    if params.key_id.is_empty() {
        return Err(garbled(SIGNATURE, "an empty keyId".to_owned()));
    }
    Ok(Parsed::Cavage(params))
}

fn check_coverage(covered: &[&str], required: &[&str]) -> Result<(), Refusal> {
    match required
        .iter()
        .find(|needed| !covered.iter().any(|name| name.eq_ignore_ascii_case(needed)))
    {
        Some(missing) => Err(Refusal::NotCovered((*missing).to_owned())),
        None => Ok(()),
    }
}

/// A `Date` that is there must be a date; draft-cavage signs it, so it must be there.
/// (The crate would take an unreadable `Date` for a missing one.)
fn check_date_header(headers: &HeaderMap, scheme: Scheme) -> Result<(), Refusal> {
    match headers.get(DATE) {
        Some(value) => {
            let text = value.to_str().map_err(|_| Refusal::BadDate)?;
            httpdate::parse_http_date(text).map_err(|_| Refusal::BadDate)?;
            Ok(())
        }
        None if scheme == Scheme::Cavage => Err(Refusal::MissingHeader("Date".to_owned())),
        None => Ok(()),
    }
}

/// Every digest sent must match the body, and the one the scheme signs must be sent when
/// there is a body.
fn check_digests(req: &Inbound, scheme: Scheme, with_body: bool) -> Result<(), Refusal> {
    let digest = req.headers.get(HeaderName::from_static("digest"));
    let content_digest = req.headers.get(HeaderName::from_static("content-digest"));
    if with_body {
        match (scheme, digest, content_digest) {
            (Scheme::Cavage, None, _) => return Err(Refusal::MissingHeader("Digest".to_owned())),
            (Scheme::Rfc9421, _, None) => {
                return Err(Refusal::MissingHeader("Content-Digest".to_owned()));
            }
            _ => {}
        }
    }
    if let Some(digest) = digest {
        check_digest(digest, req.body)?;
    }
    if let Some(content_digest) = content_digest {
        check_content_digest(content_digest, req.body)?;
    }
    Ok(())
}

/// RFC 3230 `Digest`: a list of `algorithm=base64`; its SHA-256 entry must match. The
/// crate reads one entry only, so the list is split here.
fn check_digest(value: &HeaderValue, body: &[u8]) -> Result<(), Refusal> {
    const HEADER: &str = "Digest";
    let text = value.to_str().map_err(|_| Refusal::GarbledDigest {
        header: HEADER,
        reason: "not plain text".to_owned(),
    })?;
    let sha256 = text.split(',').map(str::trim).find(|entry| {
        entry
            .split_once('=')
            .is_some_and(|(algorithm, _)| algorithm.trim().eq_ignore_ascii_case("sha-256"))
    });
    let Some(entry) = sha256 else {
        return Err(Refusal::UnsupportedDigest {
            header: HEADER,
            accepted: "SHA-256",
        });
    };
    let (_, encoded) = entry.split_once('=').unwrap_or_default();
    verify_digest_header(&format!("SHA-256={}", encoded.trim()), body).map_err(|err| match err {
        SigError::DigestMismatch => Refusal::DigestMismatch,
        other => Refusal::GarbledDigest {
            header: HEADER,
            reason: other.to_string(),
        },
    })
}

/// RFC 9530 `Content-Digest`: each of its sha-256 and sha-512 entries must match, and one
/// of them must be there.
fn check_content_digest(value: &HeaderValue, body: &[u8]) -> Result<(), Refusal> {
    const HEADER: &str = "Content-Digest";
    let text = value.to_str().map_err(|_| Refusal::GarbledDigest {
        header: HEADER,
        reason: "not plain text".to_owned(),
    })?;
    let mut n_checked = 0;
    for algorithm in [DigestAlgorithm::Sha256, DigestAlgorithm::Sha512] {
        match verify_any_content_digest_header(text, body, &[algorithm]) {
            Ok(_) => n_checked += 1,
            Err(SigError::UnsupportedDigestAlgorithm(_)) => {}
            Err(SigError::DigestMismatch) => return Err(Refusal::ContentDigestMismatch),
            Err(other) => {
                return Err(Refusal::GarbledDigest {
                    header: HEADER,
                    reason: other.to_string(),
                });
            }
        }
    }
    if n_checked == 0 {
        return Err(Refusal::UnsupportedDigest {
            header: HEADER,
            accepted: "sha-256 or sha-512",
        });
    }
    Ok(())
}

fn read_public_key(pem: &str, key_id: &str) -> Result<VerifyingKey, Refusal> {
    let unusable = |reason: String| Refusal::UnusableKey {
        key_id: key_id.to_owned(),
        reason,
    };
    let key = VerifyingKey::from_pem(pem).map_err(|err| unusable(err.to_string()))?;
    let VerifyingKey::Rsa(rsa) = &key else {
        return Err(unusable("not an RSA key".to_owned()));
    };
    // The crate takes any SPKI and leaves the size to the verification, which then only
    // says "does not verify"; reading the size first gives the reason.
    let modulus_len = aws_lc_rs::rsa::PublicKey::from_der(rsa.as_spki_der())
        .map_err(|err| unusable(err.to_string()))?
        .modulus_len();
    let bits = modulus_len * 8;
    if bits < MIN_KEY_BITS {
        return Err(Refusal::KeyTooSmall {
            key_id: key_id.to_owned(),
            bits,
        });
    }
    Ok(key)
}

/// The request as the sender saw it: our public URL as target, and its authority as
/// `Host` (a proxy in front may have changed it; the signature must name us either way).
fn rebuild(req: &Inbound) -> Result<http::Request<()>, Refusal> {
    let uri: http::Uri = request_uri(req.target_uri).map_err(|reason| Refusal::Garbled {
        header: "request target",
        reason,
    })?;
    let mut request = http::Request::new(());
    *request.method_mut() = req.method.clone();
    *request.uri_mut() = uri;
    let mut headers = req.headers.clone();
    if let Ok(host) = HeaderValue::from_str(&host_header(req.target_uri)) {
        headers.insert(HOST, host);
    }
    *request.headers_mut() = headers;
    Ok(request)
}

fn request_uri(url: &Url) -> Result<http::Uri, String> {
    if url.host_str().is_none_or(str::is_empty) {
        return Err("no host".to_owned());
    }
    let without_fragment = &url[..url::Position::AfterQuery];
    without_fragment
        .parse::<http::Uri>()
        .map_err(|err| err.to_string())
}

fn unsigned(method: Method, url: &Url, now: SystemTime) -> Result<http::Request<()>, SignError> {
    let uri = request_uri(url).map_err(|reason| SignError::Url {
        url: url.to_string(),
        reason,
    })?;
    let mut request = http::Request::new(());
    *request.method_mut() = method;
    *request.uri_mut() = uri;
    let headers = request.headers_mut();
    headers.insert(HOST, header_value(&host_header(url))?);
    headers.insert(DATE, header_value(&httpdate::fmt_http_date(now))?);
    Ok(request)
}

fn sign(
    key: &KeyPair,
    key_id: &str,
    mut request: http::Request<()>,
    scheme: Scheme,
    with_body: bool,
    now: SystemTime,
) -> Result<Vec<(HeaderName, HeaderValue)>, SignError> {
    let result = match scheme {
        Scheme::Cavage => {
            let covers = if with_body {
                CAVAGE_POST_COVERS
            } else {
                CAVAGE_GET_COVERS
            };
            CavageSigner::new(&key.key, key_id)
                .with_headers(covers.iter().copied())
                .sign(&mut request)
        }
        Scheme::Rfc9421 => {
            let mut components = vec![Component::Method, Component::TargetUri];
            if with_body {
                components.push(Component::Header("content-digest".to_owned()));
            }
            let created = DateTime::<Utc>::from(now).timestamp();
            Rfc9421Signer::new(&key.key, key_id)
                .with_components(components)
                .with_created(created)
                .sign(&mut request)
        }
    };
    result.map_err(|err| SignError::Key(format!("cannot sign: {err}")))?;
    Ok(request
        .headers()
        .iter()
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect())
}

fn header_value(text: &str) -> Result<HeaderValue, SignError> {
    HeaderValue::from_str(text).map_err(|err| SignError::Key(format!("cannot sign: {err}")))
}

/// The crate's reasons, in ours.
fn refusal(err: SigError, scheme: Scheme, key_id: &str, what: &'static str) -> Refusal {
    let header = match scheme {
        Scheme::Cavage => SIGNATURE,
        Scheme::Rfc9421 => SIGNATURE_INPUT,
    };
    match err {
        SigError::VerificationFailed => Refusal::BadSignature {
            key_id: key_id.to_owned(),
        },
        SigError::TimestampTooOld { timestamp, now } => Refusal::TooOld {
            what,
            age_secs: (now - timestamp).num_seconds(),
        },
        SigError::TimestampInFuture { timestamp, now } => Refusal::InFuture {
            what,
            ahead_secs: (timestamp - now).num_seconds(),
        },
        SigError::TimestampExpired { expires, now } => Refusal::Expired {
            ago_secs: (now - expires).num_seconds(),
        },
        SigError::TimestampMissing => Refusal::NoTime,
        SigError::RequiredHeaderAbsent(name) => Refusal::MissingHeader(name),
        SigError::MissingHeader(_) => Refusal::NoSignature,
        SigError::UnsupportedAlgorithm(alg) => Refusal::UnknownAlgorithm(alg),
        SigError::KeyResolution(reason) => Refusal::UnusableKey {
            key_id: key_id.to_owned(),
            reason,
        },
        other => Refusal::Garbled {
            header,
            reason: other.to_string(),
        },
    }
}

/// "13 hours", "1 hour", "5 minutes", "30 seconds".
fn span(secs: i64) -> String {
    let plural = |n: i64, unit: &str| {
        if n == 1 {
            format!("1 {unit}")
        } else {
            format!("{n} {unit}s")
        }
    };
    let secs = secs.max(0);
    if secs >= 3600 {
        plural(secs / 3600, "hour")
    } else if secs >= 60 {
        plural(secs / 60, "minute")
    } else {
        plural(secs, "second")
    }
}

#[cfg(test)]
mod tests {
    use std::sync::OnceLock;
    use std::time::Duration;

    use proptest::prelude::*;

    use super::*;

    const KEY_ID: &str = "https://social.example/users/bob#main-key";
    const INBOX: &str = "https://tributary.example/ana/inbox";
    const BODY: &[u8] = br#"{"type":"Follow","actor":"https://social.example/users/bob"}"#;

    /// Two key pairs, made once: the sender's and somebody else's.
    fn keys() -> &'static (KeyPair, KeyPair) {
        static KEYS: OnceLock<(KeyPair, KeyPair)> = OnceLock::new();
        KEYS.get_or_init(|| (KeyPair::generate().unwrap(), KeyPair::generate().unwrap()))
    }

    fn sender() -> &'static KeyPair {
        &keys().0
    }

    fn now() -> SystemTime {
        httpdate::parse_http_date("Tue, 01 Dec 2026 10:05:00 GMT").unwrap()
    }

    /// A request as it reaches the inbox.
    struct Req {
        method: Method,
        url: Url,
        headers: HeaderMap,
        body: Vec<u8>,
    }

    impl Req {
        fn inbound(&self) -> Inbound<'_> {
            Inbound {
                method: &self.method,
                target_uri: &self.url,
                headers: &self.headers,
                body: &self.body,
            }
        }

        fn verify(&self) -> Result<Verified, Refusal> {
            verify(&self.inbound(), sender().public_pem(), now())
        }

        fn set(&mut self, name: &'static str, value: &str) {
            self.headers
                .insert(name, HeaderValue::from_str(value).unwrap());
        }
    }

    fn post(scheme: Scheme, signed_at: SystemTime) -> Req {
        let url = Url::parse(INBOX).unwrap();
        let signed = sign_post(sender(), KEY_ID, &url, BODY, scheme, signed_at).unwrap();
        Req {
            method: Method::POST,
            url,
            headers: signed.into_iter().collect(),
            body: BODY.to_vec(),
        }
    }

    fn get(scheme: Scheme) -> Req {
        let url = Url::parse("https://tributary.example/ana/outbox?page=2").unwrap();
        let signed = sign_get(sender(), KEY_ID, &url, scheme, now()).unwrap();
        Req {
            method: Method::GET,
            url,
            headers: signed.into_iter().collect(),
            body: Vec::new(),
        }
    }

    /// A draft-cavage POST signed over `covers` only (with its Digest header).
    fn cavage_post_covering(covers: &[&str]) -> Req {
        let url = Url::parse(INBOX).unwrap();
        let mut request = unsigned(Method::POST, &url, now()).unwrap();
        let headers = request.headers_mut();
        headers.insert("digest", header_value(&sha256_digest_header(BODY)).unwrap());
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(ACTIVITY_JSON));
        CavageSigner::new(&sender().key, KEY_ID)
            .with_headers(covers.iter().copied())
            .sign(&mut request)
            .unwrap();
        Req {
            method: Method::POST,
            url,
            headers: request.headers().clone(),
            body: BODY.to_vec(),
        }
    }

    #[track_caller]
    fn refused(req: &Req, expected: Refusal) {
        assert_eq!(req.verify(), Err(expected));
    }

    fn bad_signature() -> Refusal {
        Refusal::BadSignature {
            key_id: KEY_ID.to_owned(),
        }
    }

    #[test]
    fn cavage_post_signed_then_verified() {
        let req = post(Scheme::Cavage, now());
        let value = req.headers["signature"].to_str().unwrap();
        assert!(
            value.contains(r#"headers="(request-target) host date digest""#),
            "{value}"
        );
        assert!(value.contains(r#"algorithm="rsa-sha256""#), "{value}");
        assert_eq!(req.headers["content-type"], ACTIVITY_JSON);
        assert_eq!(req.headers["host"], "tributary.example");
        assert_eq!(req.headers["date"], "Tue, 01 Dec 2026 10:05:00 GMT");
        assert_eq!(
            req.verify(),
            Ok(Verified {
                key_id: KEY_ID.to_owned(),
                scheme: Scheme::Cavage
            })
        );
    }

    #[test]
    fn rfc9421_post_signed_then_verified() {
        let req = post(Scheme::Rfc9421, now());
        let input = req.headers["signature-input"].to_str().unwrap();
        assert!(
            input.starts_with(r#"sig1=("@method" "@target-uri" "content-digest");created="#),
            "{input}"
        );
        assert!(req.headers.contains_key("content-digest"));
        assert!(!req.headers.contains_key("digest"));
        assert_eq!(
            req.verify(),
            Ok(Verified {
                key_id: KEY_ID.to_owned(),
                scheme: Scheme::Rfc9421
            })
        );
    }

    #[test]
    fn signed_gets_verify_in_both_schemes() {
        let cavage = get(Scheme::Cavage);
        let value = cavage.headers["signature"].to_str().unwrap();
        assert!(
            value.contains(r#"headers="(request-target) host date""#),
            "{value}"
        );
        assert_eq!(cavage.verify().unwrap().scheme, Scheme::Cavage);
        let rfc9421 = get(Scheme::Rfc9421);
        assert_eq!(rfc9421.verify().unwrap().scheme, Scheme::Rfc9421);
    }

    #[test]
    fn claimed_key_names_the_key_and_scheme_without_checking() {
        for scheme in [Scheme::Cavage, Scheme::Rfc9421] {
            let mut req = post(scheme, now());
            req.body = b"changed".to_vec();
            assert_eq!(
                claimed_key(&req.inbound()),
                Ok(Claim {
                    key_id: KEY_ID.to_owned(),
                    scheme
                })
            );
        }
    }

    #[test]
    fn a_forged_signature_is_refused() {
        for scheme in [Scheme::Cavage, Scheme::Rfc9421] {
            let mut req = post(scheme, now());
            let value = req.headers["signature"].to_str().unwrap().to_owned();
            // Change one base64 character well inside the signature.
            let at = value.len() - 20;
            let swapped = if &value[at..=at] == "A" { "B" } else { "A" };
            let forged = format!("{}{swapped}{}", &value[..at], &value[at + 1..]);
            req.set("signature", &forged);
            refused(&req, bad_signature());
        }
    }

    #[test]
    fn another_key_is_refused() {
        for scheme in [Scheme::Cavage, Scheme::Rfc9421] {
            let req = post(scheme, now());
            assert_eq!(
                verify(&req.inbound(), keys().1.public_pem(), now()),
                Err(bad_signature())
            );
        }
    }

    #[test]
    fn a_date_13_hours_old_is_refused() {
        let req = post(Scheme::Cavage, now() - Duration::from_secs(13 * 3600));
        let refusal = req.verify().unwrap_err();
        assert_eq!(
            refusal,
            Refusal::TooOld {
                what: "Date",
                age_secs: 13 * 3600
            }
        );
        assert_eq!(
            refusal.to_string(),
            "the Date is 13 hours old; at most 12 hours is accepted"
        );
        // 11 hours is fine.
        assert!(
            post(Scheme::Cavage, now() - Duration::from_secs(11 * 3600))
                .verify()
                .is_ok()
        );
    }

    #[test]
    fn a_created_time_13_hours_old_is_refused() {
        let req = post(Scheme::Rfc9421, now() - Duration::from_secs(13 * 3600));
        refused(
            &req,
            Refusal::TooOld {
                what: "signature's created time",
                age_secs: 13 * 3600,
            },
        );
    }

    #[test]
    fn a_date_2_hours_ahead_is_refused() {
        for scheme in [Scheme::Cavage, Scheme::Rfc9421] {
            let req = post(scheme, now() + Duration::from_secs(2 * 3600));
            let refusal = req.verify().unwrap_err();
            assert!(
                matches!(
                    refusal,
                    Refusal::InFuture {
                        ahead_secs: 7200,
                        ..
                    }
                ),
                "{refusal:?}"
            );
            assert!(refusal.to_string().contains("2 hours ahead"), "{refusal}");
        }
        // Half an hour ahead (a slow clock here) is fine.
        assert!(
            post(Scheme::Cavage, now() + Duration::from_secs(1800))
                .verify()
                .is_ok()
        );
    }

    #[test]
    fn an_expired_signature_is_refused() {
        let url = Url::parse(INBOX).unwrap();
        let mut request = unsigned(Method::POST, &url, now()).unwrap();
        request
            .headers_mut()
            .insert("digest", header_value(&sha256_digest_header(BODY)).unwrap());
        let at = DateTime::<Utc>::from(now()).timestamp();
        CavageSigner::new(&sender().key, KEY_ID)
            .with_headers(CAVAGE_POST_COVERS.iter().copied())
            .with_created(at - 600)
            .with_expires(at - 60)
            .sign(&mut request)
            .unwrap();
        let req = Req {
            method: Method::POST,
            url,
            headers: request.headers().clone(),
            body: BODY.to_vec(),
        };
        refused(&req, Refusal::Expired { ago_secs: 60 });
    }

    #[test]
    fn a_body_changed_after_signing_fails_the_digest() {
        let mut req = post(Scheme::Cavage, now());
        req.body = br#"{"type":"Delete"}"#.to_vec();
        refused(&req, Refusal::DigestMismatch);
        assert_eq!(
            Refusal::DigestMismatch.to_string(),
            "the Digest header does not match the body"
        );
    }

    #[test]
    fn a_body_changed_after_signing_fails_the_content_digest() {
        let mut req = post(Scheme::Rfc9421, now());
        req.body = br#"{"type":"Delete"}"#.to_vec();
        refused(&req, Refusal::ContentDigestMismatch);
    }

    #[test]
    fn both_digests_sent_must_both_match() {
        let mut req = post(Scheme::Cavage, now());
        req.set("content-digest", &content_digest_header(b"something else"));
        refused(&req, Refusal::ContentDigestMismatch);
        // A sha-512 entry is checked too.
        let mut req = post(Scheme::Rfc9421, now());
        let both = format!(
            "{}, sha-512=:{}:",
            content_digest_header(BODY),
            "A".repeat(86) + "=="
        );
        req.set("content-digest", &both);
        refused(&req, Refusal::ContentDigestMismatch);
        // A Digest list is read entry by entry.
        let mut req = post(Scheme::Cavage, now());
        let list = format!("sha-512=AAAA, {}", sha256_digest_header(BODY));
        req.set("digest", &list);
        refused(&req, bad_signature());
        let mut req = post(Scheme::Cavage, now());
        req.set("digest", "SHA-512=AAAA");
        refused(
            &req,
            Refusal::UnsupportedDigest {
                header: "Digest",
                accepted: "SHA-256",
            },
        );
    }

    #[test]
    fn a_post_without_digest_is_refused() {
        let mut req = post(Scheme::Cavage, now());
        req.headers.remove("digest");
        refused(&req, Refusal::MissingHeader("Digest".to_owned()));
        let mut req = post(Scheme::Rfc9421, now());
        req.headers.remove("content-digest");
        refused(&req, Refusal::MissingHeader("Content-Digest".to_owned()));
    }

    #[test]
    fn a_signature_must_cover_digest_date_and_host() {
        let check = |covers: &[&str], missing: &str| {
            refused(
                &cavage_post_covering(covers),
                Refusal::NotCovered(missing.to_owned()),
            );
        };
        check(&["(request-target)", "host", "date"], "digest");
        check(&["(request-target)", "host", "digest"], "date");
        check(&["(request-target)", "date", "digest"], "host");
        check(&["host", "date", "digest"], "(request-target)");
        // The full set, in another order and with more, is fine.
        let req =
            cavage_post_covering(&["date", "digest", "host", "(request-target)", "content-type"]);
        assert!(req.verify().is_ok());
    }

    #[test]
    fn an_rfc9421_signature_must_cover_method_target_and_content_digest() {
        let url = Url::parse(INBOX).unwrap();
        let mut request = unsigned(Method::POST, &url, now()).unwrap();
        request.headers_mut().insert(
            "content-digest",
            header_value(&content_digest_header(BODY)).unwrap(),
        );
        Rfc9421Signer::new(&sender().key, KEY_ID)
            .with_components(vec![Component::Method, Component::TargetUri])
            .with_created(DateTime::<Utc>::from(now()).timestamp())
            .sign(&mut request)
            .unwrap();
        let req = Req {
            method: Method::POST,
            url,
            headers: request.headers().clone(),
            body: BODY.to_vec(),
        };
        refused(&req, Refusal::NotCovered("content-digest".to_owned()));
    }

    #[test]
    fn a_garbled_signature_header_is_refused() {
        for garbage in [
            "garbage",
            "keyId=",
            r#"keyId="https://social.example/k",headers="(request-target) host date digest""#,
            r#"signature="AAAA""#,
            r#"keyId="","signature="AAAA""#,
            r#"keyId="a",keyId="b",signature="AAAA""#,
            r#"keyId="a",created=soon,signature="AAAA""#,
            r#"keyId="a\"#,
        ] {
            let mut req = post(Scheme::Cavage, now());
            req.set("signature", garbage);
            let refusal = claimed_key(&req.inbound()).unwrap_err();
            assert!(
                matches!(
                    refusal,
                    Refusal::Garbled {
                        header: "Signature",
                        ..
                    }
                ),
                "{garbage}: {refusal:?}"
            );
            assert!(req.verify().is_err(), "{garbage}");
        }
        // Well-formed parameters around a signature that is not base64.
        let mut req = post(Scheme::Cavage, now());
        let value = req.headers["signature"].to_str().unwrap();
        let broken = format!("{}%%%\"", &value[..value.rfind('"').unwrap()]);
        req.set("signature", &broken);
        assert!(
            matches!(req.verify(), Err(Refusal::Garbled { .. })),
            "{:?}",
            req.verify()
        );
        for garbage in [
            "sig1",
            "sig1=(",
            r#"sig1=("@method");keyid=3"#,
            "a=(), b=()",
        ] {
            let mut req = post(Scheme::Rfc9421, now());
            req.set("signature-input", garbage);
            assert!(
                matches!(
                    claimed_key(&req.inbound()),
                    Err(Refusal::Garbled {
                        header: "Signature-Input",
                        ..
                    })
                ),
                "{garbage}: {:?}",
                claimed_key(&req.inbound())
            );
        }
    }

    #[test]
    fn no_signature_header_is_refused() {
        let mut req = post(Scheme::Cavage, now());
        req.headers.remove("signature");
        assert_eq!(claimed_key(&req.inbound()), Err(Refusal::NoSignature));
        assert_eq!(Refusal::NoSignature.to_string(), "no Signature header");
        refused(&req, Refusal::NoSignature);
    }

    #[test]
    fn an_unknown_algorithm_is_refused() {
        let mut req = post(Scheme::Cavage, now());
        let value = req.headers["signature"]
            .to_str()
            .unwrap()
            .replace("rsa-sha256", "hmac-sha256");
        req.set("signature", &value);
        assert_eq!(
            claimed_key(&req.inbound()),
            Err(Refusal::UnknownAlgorithm("hmac-sha256".to_owned()))
        );
        let mut req = post(Scheme::Rfc9421, now());
        let value = req.headers["signature-input"]
            .to_str()
            .unwrap()
            .replace("rsa-v1_5-sha256", "rsa-pss-sha512");
        req.set("signature-input", &value);
        refused(&req, Refusal::UnknownAlgorithm("rsa-pss-sha512".to_owned()));
    }

    #[test]
    fn hs2019_is_accepted() {
        let mut req = post(Scheme::Cavage, now());
        let value = req.headers["signature"]
            .to_str()
            .unwrap()
            .replace(r#"algorithm="rsa-sha256""#, r#"algorithm="hs2019""#);
        req.set("signature", &value);
        assert!(req.verify().is_ok(), "{:?}", req.verify());
    }

    #[test]
    fn a_signature_replayed_to_another_inbox_is_refused() {
        for scheme in [Scheme::Cavage, Scheme::Rfc9421] {
            let mut req = post(scheme, now());
            req.url = Url::parse("https://tributary.example/bob/inbox").unwrap();
            refused(&req, bad_signature());
            // Or to the same path on another server.
            let mut req = post(scheme, now());
            req.url = Url::parse("https://elsewhere.example/ana/inbox").unwrap();
            refused(&req, bad_signature());
        }
    }

    #[test]
    fn a_host_rewritten_by_the_proxy_does_not_matter() {
        for scheme in [Scheme::Cavage, Scheme::Rfc9421] {
            let mut req = post(scheme, now());
            req.set("host", "127.0.0.1:8080");
            assert!(req.verify().is_ok(), "{scheme:?}: {:?}", req.verify());
        }
    }

    #[test]
    fn an_unreadable_date_is_refused() {
        let mut req = post(Scheme::Rfc9421, now());
        req.set("date", "yesterday");
        refused(&req, Refusal::BadDate);
        let mut req = post(Scheme::Cavage, now());
        req.headers.remove("date");
        refused(&req, Refusal::MissingHeader("Date".to_owned()));
    }

    #[test]
    fn unusable_keys_are_refused() {
        let req = post(Scheme::Cavage, now());
        let refusal = verify(&req.inbound(), "junk", now()).unwrap_err();
        assert!(
            matches!(refusal, Refusal::UnusableKey { .. }),
            "{refusal:?}"
        );
        let private = sender().private_pem();
        let refusal = verify(&req.inbound(), &private, now()).unwrap_err();
        assert!(
            matches!(refusal, Refusal::UnusableKey { .. }),
            "{refusal:?}"
        );
    }

    #[test]
    fn private_keys_round_trip_through_pem() {
        let pem = sender().private_pem();
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"));
        let again = KeyPair::from_private_pem(&pem).unwrap();
        assert_eq!(again.public_pem(), sender().public_pem());
        assert!(KeyPair::from_private_pem("junk").is_err());
        assert!(KeyPair::from_private_pem(sender().public_pem()).is_err());
        assert_eq!(format!("{:?}", sender()), "KeyPair { .. }");
    }

    #[test]
    fn same_origin_host_compares_host_and_port() {
        let check = |key_id: &str, actor: &str, expected: bool| {
            assert_eq!(
                same_origin_host(key_id, actor),
                expected,
                "{key_id} {actor}"
            );
        };
        check(
            "https://Social.Example/users/bob#main-key",
            "https://social.example/users/bob",
            true,
        );
        check(
            "https://social.example:443/k",
            "https://social.example/users/bob",
            true,
        );
        check(
            "https://social.example:8443/k",
            "https://social.example/users/bob",
            false,
        );
        check(
            "https://evil.example/k",
            "https://social.example/users/bob",
            false,
        );
        check(
            "https://social.example.evil/k",
            "https://social.example/u",
            false,
        );
        check("not a url", "https://social.example/u", false);
        check("urn:x:y", "urn:x:z", false);
    }

    /// A fixture request made by the openssl command line (tests/it/fixtures/federation/make.sh).
    struct Fixture {
        req: Req,
        now: SystemTime,
        public_key_pem: String,
        private_key_pem: Option<String>,
    }

    fn fixture(json: &str) -> Fixture {
        let value: serde_json::Value = serde_json::from_str(json).unwrap();
        let text = |key: &str| value[key].as_str().unwrap().to_owned();
        let mut headers = HeaderMap::new();
        for pair in value["headers"].as_array().unwrap() {
            let name = HeaderName::from_bytes(pair[0].as_str().unwrap().as_bytes()).unwrap();
            headers.append(
                name,
                HeaderValue::from_str(pair[1].as_str().unwrap()).unwrap(),
            );
        }
        Fixture {
            req: Req {
                method: Method::from_bytes(text("method").as_bytes()).unwrap(),
                url: Url::parse(&text("url")).unwrap(),
                headers,
                body: text("body").into_bytes(),
            },
            now: httpdate::parse_http_date(&text("now")).unwrap(),
            public_key_pem: text("public_key_pem"),
            private_key_pem: value["private_key_pem"].as_str().map(str::to_owned),
        }
    }

    impl Fixture {
        fn verify(&self) -> Result<Verified, Refusal> {
            verify(&self.req.inbound(), &self.public_key_pem, self.now)
        }
    }

    const MASTODON_POST: &str =
        include_str!("../../tests/it/fixtures/federation/cavage_rsa_sha256_post.json");
    const HS2019_GET: &str =
        include_str!("../../tests/it/fixtures/federation/cavage_hs2019_get.json");
    const RFC9421_POST: &str =
        include_str!("../../tests/it/fixtures/federation/rfc9421_rsa_v1_5_post.json");
    const RSA1024_POST: &str =
        include_str!("../../tests/it/fixtures/federation/cavage_rsa1024_post.json");

    #[test]
    fn a_post_signed_by_openssl_as_mastodon_signs_verifies() {
        let fixture = fixture(MASTODON_POST);
        assert_eq!(
            fixture.verify(),
            Ok(Verified {
                key_id: "https://mastodon.example/users/bob#main-key".to_owned(),
                scheme: Scheme::Cavage
            })
        );
        let mut changed = fixture;
        changed.req.body.push(b' ');
        assert_eq!(changed.verify(), Err(Refusal::DigestMismatch));
        changed.req.headers.insert(
            "digest",
            header_value(&sha256_digest_header(&changed.req.body)).unwrap(),
        );
        assert!(matches!(
            changed.verify(),
            Err(Refusal::BadSignature { .. })
        ));
    }

    #[test]
    fn a_get_signed_by_openssl_with_hs2019_verifies() {
        let fixture = fixture(HS2019_GET);
        assert_eq!(fixture.verify().map(|ok| ok.scheme), Ok(Scheme::Cavage));
        let mut other_page = fixture;
        other_page.req.url.set_query(Some("page=2"));
        assert!(matches!(
            other_page.verify(),
            Err(Refusal::BadSignature { .. })
        ));
    }

    #[test]
    fn an_rfc9421_post_signed_by_openssl_verifies() {
        let signed = fixture(RFC9421_POST);
        assert_eq!(
            signed.verify(),
            Ok(Verified {
                key_id: "https://mastodon.example/users/bob#main-key".to_owned(),
                scheme: Scheme::Rfc9421
            })
        );
        let mut changed = signed;
        changed.req.body.push(b' ');
        assert_eq!(changed.verify(), Err(Refusal::ContentDigestMismatch));
        let mut replayed = fixture(RFC9421_POST);
        replayed.req.url = Url::parse("https://tributary.example/bob/inbox").unwrap();
        assert!(matches!(
            replayed.verify(),
            Err(Refusal::BadSignature { .. })
        ));
        let mut late = fixture(RFC9421_POST);
        late.now += Duration::from_secs(13 * 3600);
        assert!(matches!(late.verify(), Err(Refusal::TooOld { .. })));
    }

    /// Why the RFC 9421 signature base is built here: the crate's own verifier refuses
    /// this request, signed correctly with the parameters in the RFC's order. When this
    /// fails, the crate has been fixed and `verify_rfc9421` can go.
    #[test]
    fn the_crate_alone_refuses_rfc9421_parameters_in_the_rfcs_order() {
        let fixture = fixture(RFC9421_POST);
        let request = rebuild(&fixture.req.inbound()).unwrap();
        let key = VerifyingKey::from_pem(&fixture.public_key_pem).unwrap();
        let policy = VerifyPolicy::no_freshness_check();
        let result =
            actpub_httpsig::rfc9421_verify_with_policy(&request, &policy, Utc::now(), |_| {
                Ok(key.clone())
            });
        assert!(
            matches!(result, Err(SigError::VerificationFailed)),
            "{result:?}"
        );
    }

    #[test]
    fn a_1024_bit_key_is_refused() {
        let fixture = fixture(RSA1024_POST);
        assert_eq!(
            fixture.verify(),
            Err(Refusal::KeyTooSmall {
                key_id: "https://mastodon.example/users/bob#main-key".to_owned(),
                bits: 1024
            })
        );
        let private = fixture.private_key_pem.as_deref().unwrap();
        assert!(KeyPair::from_private_pem(private).is_err());
    }

    /// Pieces of signature syntax, to build hostile header values from.
    fn fragment() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("keyId=\"".to_owned()),
            Just("\"".to_owned()),
            Just(",".to_owned()),
            Just("=".to_owned()),
            Just("\\".to_owned()),
            Just("headers=\"(request-target) host date digest\"".to_owned()),
            Just("algorithm=\"hs2019\"".to_owned()),
            Just("signature=\"".to_owned()),
            Just("created=".to_owned()),
            Just("expires=".to_owned()),
            Just("sig1=".to_owned()),
            Just("(\"@method\" \"@target-uri\" \"content-digest\")".to_owned()),
            Just(";keyid=\"".to_owned()),
            Just(";created=".to_owned()),
            Just(":".to_owned()),
            Just("(".to_owned()),
            Just(")".to_owned()),
            Just("sha-256=".to_owned()),
            Just("SHA-256=".to_owned()),
            "[A-Za-z0-9+/=]{0,12}",
            "-?[0-9]{1,20}",
            "[ -~]{0,8}",
        ]
    }

    fn hostile_value() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            proptest::collection::vec(fragment(), 0..12)
                .prop_map(|parts| parts.concat().into_bytes()),
            proptest::collection::vec(any::<u8>(), 0..64),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// No header value makes `claimed_key` or `verify` panic.
        #[test]
        fn hostile_headers_never_panic(
            signature in hostile_value(),
            input in proptest::option::of(hostile_value()),
            digest in proptest::option::of(hostile_value()),
            content_digest in proptest::option::of(hostile_value()),
            date in proptest::option::of(hostile_value()),
            post in any::<bool>(),
        ) {
            let mut req = if post { self::post(Scheme::Cavage, now()) } else { get(Scheme::Cavage) };
            let mut put = |name: &'static str, bytes: Option<Vec<u8>>| {
                if let Some(bytes) = bytes {
                    match HeaderValue::from_bytes(&bytes) {
                        Ok(value) => { req.headers.insert(name, value); }
                        Err(_) => { req.headers.remove(name); }
                    }
                }
            };
            put("signature", Some(signature));
            put("signature-input", input);
            put("digest", digest);
            put("content-digest", content_digest);
            put("date", date);
            let _ = claimed_key(&req.inbound());
            // The signature was replaced by noise, so it never verifies.
            prop_assert!(verify(&req.inbound(), sender().public_pem(), now()).is_err());
        }

        /// An RFC 9421 request that passes every other check reaches the signature base
        /// with whatever components and parameters `Signature-Input` lists: no panic, and
        /// no success with a signature made over other ones.
        #[test]
        fn hostile_signature_inputs_never_panic(
            extra in proptest::collection::vec(
                prop_oneof![
                    Just("\"@authority\"".to_owned()),
                    Just("\"@query\"".to_owned()),
                    Just("\"@query-param\";name=\"a\"".to_owned()),
                    Just("\"host\"".to_owned()),
                    Just("\"Content-Type\"".to_owned()),
                    Just("\"x-absent\"".to_owned()),
                    Just("\"bad name\"".to_owned()),
                    Just("\"\\\"\"".to_owned()),
                    Just("\"content-digest\";sf".to_owned()),
                    "\"[ -~&&[^\"\\\\]]{0,10}\"",
                ],
                0..4,
            ),
            params in "(;[a-z]{1,6}=(\"[ -~&&[^\"\\\\]]{0,8}\"|-?[0-9]{1,16}|\\?[01]))*",
        ) {
            let mut req = post(Scheme::Rfc9421, now());
            let created = DateTime::<Utc>::from(now()).timestamp();
            let input = format!(
                "sig1=(\"@method\" \"@target-uri\" \"content-digest\" {});created={created};keyid=\"{KEY_ID}\"{params}",
                extra.join(" ")
            );
            if let Ok(value) = HeaderValue::from_str(&input) {
                req.headers.insert("signature-input", value);
                let _ = claimed_key(&req.inbound());
                let result = verify(&req.inbound(), sender().public_pem(), now());
                prop_assert!(result.is_err(), "{input}");
            }
        }
    }
}

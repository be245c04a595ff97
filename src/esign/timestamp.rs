//! RFC 3161 signature timestamps (optional in production).
//!
//! A timestamp authority signs "this hash existed at time T"; embedded as the
//! id-aa-signatureTimeStampToken unsigned attribute over the CMS signature value it proves
//! the signature existed before T, independent of the claimed `/M` time (PAdES B-T).
//!
//! The request and response are small, so they are declared here with the `der` derive.
//! The transport is a minimal HTTP/1.1 POST over `std::net::TcpStream` for `http://` TSAs
//! (a timestamp token is itself signed, so TLS adds little); anything else implements
//! [`Tsa`] itself.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use anyhow::{Context, anyhow, bail, ensure};
use der::asn1::{Int, ObjectIdentifier as Oid, OctetString};
use der::{Any, Decode, Encode, Header, Reader, Sequence, Tag, Tagged};
use ring::rand::{SecureRandom, SystemRandom};
use x509_cert::spki::AlgorithmIdentifierOwned;

use super::cms;

pub const OID_TST_INFO: Oid = Oid::new_unwrap("1.2.840.113549.1.9.16.1.4");

/// A timestamp authority.
pub trait Tsa {
    /// A TimeStampToken (DER `ContentInfo`) over the SHA-256 `message_imprint_sha256`.
    fn timestamp(&self, message_imprint_sha256: &[u8; 32]) -> anyhow::Result<Vec<u8>>;
}

/// Any closure from a request's DER to a response's DER is a transport.
pub struct TsaFn<F: Fn(&[u8]) -> anyhow::Result<Vec<u8>>>(pub F);

impl<F: Fn(&[u8]) -> anyhow::Result<Vec<u8>>> Tsa for TsaFn<F> {
    fn timestamp(&self, imprint: &[u8; 32]) -> anyhow::Result<Vec<u8>> {
        let (req, nonce) = request_der(imprint)?;
        token_from_response(&(self.0)(&req)?, imprint, &nonce)
    }
}

/// An RFC 3161 TSA reached by HTTP POST (`application/timestamp-query`), `http://` only.
pub struct HttpTsa {
    pub url: String,
}

impl Tsa for HttpTsa {
    fn timestamp(&self, imprint: &[u8; 32]) -> anyhow::Result<Vec<u8>> {
        let (req, nonce) = request_der(imprint)?;
        let resp = http_post(&self.url, &req).with_context(|| format!("TSA {}", self.url))?;
        token_from_response(&resp, imprint, &nonce)
    }
}

#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct MessageImprint {
    pub hash_algorithm: AlgorithmIdentifierOwned,
    pub hashed_message: OctetString,
}

/// `TimeStampReq` (RFC 3161 §2.4.1) without policy and extensions.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct TimeStampReq {
    version: u8,
    message_imprint: MessageImprint,
    nonce: Option<Int>,
    #[asn1(default = "Default::default")]
    cert_req: bool,
}

/// A TimeStampReq for `imprint` with a random nonce; returns (DER, nonce bytes).
pub fn request_der(imprint: &[u8; 32]) -> anyhow::Result<(Vec<u8>, Vec<u8>)> {
    let mut nonce = [0u8; 8];
    SystemRandom::new()
        .fill(&mut nonce)
        .map_err(|_| anyhow!("no randomness"))?;
    nonce[0] = (nonce[0] & 0x7f) | 0x01;
    let req = TimeStampReq {
        version: 1,
        message_imprint: MessageImprint {
            hash_algorithm: cms::sha256_alg(),
            hashed_message: OctetString::new(imprint.to_vec())?,
        },
        nonce: Some(Int::new(&nonce)?),
        cert_req: true,
    };
    Ok((req.to_der()?, nonce.to_vec()))
}

/// The token from a `TimeStampResp`, after checking status, imprint and nonce.
pub fn token_from_response(
    resp: &[u8],
    imprint: &[u8; 32],
    nonce: &[u8],
) -> anyhow::Result<Vec<u8>> {
    let (status, token) = der::SliceReader::new(resp)
        .and_then(|mut r| {
            r.sequence(|seq| {
                let status = seq.sequence(|info| {
                    let status = u32::decode(info)?;
                    while !info.is_finished() {
                        Any::decode(info)?;
                    }
                    Ok(status)
                })?;
                let token = if seq.is_finished() {
                    None
                } else {
                    Some(seq.tlv_bytes()?.to_vec())
                };
                Ok((status, token))
            })
        })
        .map_err(|e| anyhow!("not a TimeStampResp: {e}"))?;
    ensure!(status <= 1, "TSA refused the request (PKIStatus {status})");
    let token = token.ok_or_else(|| anyhow!("TSA granted but sent no token"))?;
    let info = parse_tst_info(&cms::parse_signed_data(&token)?)?;
    ensure!(info.imprint == imprint, "TSA token is for another hash");
    ensure!(
        info.nonce.as_deref() == Some(nonce),
        "TSA token nonce mismatch"
    );
    Ok(token)
}

/// What a verified timestamp token says.
#[derive(Clone, Debug)]
pub struct TokenInfo {
    /// genTime as written (`YYYYMMDDhhmmss[.f]Z`).
    pub gen_time: String,
    /// genTime in Unix milliseconds (fraction ignored).
    pub gen_time_ms: i64,
    pub imprint: Vec<u8>,
    pub nonce: Option<Vec<u8>>,
    /// Subject CN of the TSA certificate, when carried.
    pub tsa_name: Option<String>,
}

fn parse_tst_info(p: &cms::ParsedSignedData) -> anyhow::Result<TokenInfo> {
    ensure!(
        p.econtent_type == OID_TST_INFO,
        "token content is not TSTInfo"
    );
    let tst = p
        .econtent
        .as_deref()
        .ok_or_else(|| anyhow!("token without TSTInfo"))?;
    let (imprint, gen_time, nonce) = der::SliceReader::new(tst)
        .and_then(|mut r| {
            r.sequence(|s| {
                u8::decode(s)?; // version
                Oid::decode(s)?; // policy
                let imprint = MessageImprint::decode(s)?;
                Int::decode(s)?; // serialNumber
                // genTime may carry fractional seconds, which `der`'s type rejects.
                let header = Header::decode(s)?;
                header.tag.assert_eq(Tag::GeneralizedTime)?;
                let gen_raw = s.read_slice(header.length)?.to_vec();
                let mut nonce = None;
                while !s.is_finished() {
                    let any = Any::decode(s)?;
                    if any.tag() == Tag::Integer && nonce.is_none() {
                        nonce = Some(any.decode_as::<Int>()?.as_bytes().to_vec());
                    }
                }
                Ok((imprint, gen_raw, nonce))
            })
        })
        .map_err(|e| anyhow!("TSTInfo: {e}"))?;
    ensure!(
        imprint.hash_algorithm.oid == cms::OID_SHA256,
        "timestamp imprint is not SHA-256"
    );
    let gen_time = String::from_utf8(gen_time).context("genTime")?;
    let gen_time_ms = parse_generalized(&gen_time)?;
    let tsa_name = p
        .signer_cert
        .as_deref()
        .and_then(|c| super::ca::cert_info(c).ok())
        .map(|i| i.subject.name);
    Ok(TokenInfo {
        gen_time,
        gen_time_ms,
        imprint: imprint.hashed_message.into_bytes(),
        nonce,
        tsa_name,
    })
}

fn parse_generalized(s: &str) -> anyhow::Result<i64> {
    let digits = s
        .get(..14)
        .filter(|d| d.bytes().all(|b| b.is_ascii_digit()));
    let digits = digits.ok_or_else(|| anyhow!("bad genTime {s:?}"))?;
    ensure!(s.ends_with('Z'), "genTime {s:?} is not UTC");
    let t = chrono::NaiveDateTime::parse_from_str(digits, "%Y%m%d%H%M%S").context("genTime")?;
    Ok(t.and_utc().timestamp_millis())
}

/// Verify a timestamp token: the TSA's signature over its TSTInfo and that the TSTInfo
/// stamps `expected_imprint` (SHA-256). Trust in the TSA itself is not judged here.
pub fn verify_token(token: &[u8], expected_imprint: &[u8]) -> anyhow::Result<TokenInfo> {
    let p = cms::parse_signed_data(token)?;
    let tst = p
        .econtent
        .as_deref()
        .ok_or_else(|| anyhow!("token without TSTInfo"))?;
    ensure!(
        p.content_type_attr == Some(OID_TST_INFO),
        "token content-type attribute is not TSTInfo"
    );
    let md = p
        .message_digest
        .as_deref()
        .ok_or_else(|| anyhow!("token without message-digest"))?;
    ensure!(
        md == cms::digest_with(&p.digest_alg, tst)?.as_slice(),
        "token message-digest mismatch"
    );
    cms::verify_signer(&p).context("TSA signature")?;
    let info = parse_tst_info(&p)?;
    ensure!(
        info.imprint == expected_imprint,
        "timestamp is for another signature"
    );
    Ok(info)
}

/// Minimal HTTP/1.1 POST of a timestamp query; returns the response body.
fn http_post(url: &str, body: &[u8]) -> anyhow::Result<Vec<u8>> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| anyhow!("only http:// TSA URLs are supported"))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let addr = if authority.contains(':') {
        authority.to_owned()
    } else {
        format!("{authority}:80")
    };
    let mut stream = TcpStream::connect(&addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(15)))?;
    stream.set_write_timeout(Some(Duration::from_secs(15)))?;
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: {authority}\r\nContent-Type: application/timestamp-query\r\n\
         Accept: application/timestamp-reply\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )?;
    stream.write_all(body)?;
    let mut resp = Vec::new();
    stream.take(1 << 20).read_to_end(&mut resp)?;
    let split = resp
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| anyhow!("bad HTTP response"))?;
    let head = String::from_utf8_lossy(&resp[..split]).to_string();
    let status = head.split_whitespace().nth(1).unwrap_or("");
    if status != "200" {
        bail!("HTTP status {status}");
    }
    let body = &resp[split + 4..];
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        return dechunk(body);
    }
    Ok(body.to_vec())
}

fn dechunk(mut body: &[u8]) -> anyhow::Result<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let eol = body
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or_else(|| anyhow!("bad chunk"))?;
        let size_text = String::from_utf8_lossy(&body[..eol]);
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)?;
        body = &body[eol + 2..];
        if size == 0 {
            return Ok(out);
        }
        ensure!(body.len() >= size, "truncated chunk");
        out.extend_from_slice(&body[..size]);
        body = body.get(size + 2..).unwrap_or(&[]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_is_der_and_generalized_time_parses() {
        let (req, nonce) = request_der(&[7u8; 32]).unwrap();
        let parsed = TimeStampReq::from_der(&req).unwrap();
        assert!(parsed.cert_req);
        assert_eq!(parsed.nonce.unwrap().as_bytes(), nonce.as_slice());
        assert_eq!(
            parse_generalized("20250102030405Z").unwrap(),
            1_735_787_045_000
        );
        assert_eq!(
            parse_generalized("20250102030405.123Z").unwrap(),
            1_735_787_045_000
        );
        assert!(parse_generalized("2025").is_err());
        assert!(token_from_response(b"garbage", &[0; 32], &[]).is_err());
        assert_eq!(dechunk(b"3\r\nabc\r\n0\r\n\r\n").unwrap(), b"abc");
    }

    #[test]
    fn http_transport_posts_the_query() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            let mut req = Vec::new();
            let mut buf = [0u8; 1024];
            while !req.ends_with(b"query") {
                let n = s.read(&mut buf).unwrap();
                assert!(n > 0);
                req.extend_from_slice(&buf[..n]);
            }
            s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nreply")
                .unwrap();
            String::from_utf8(req).unwrap()
        });
        let body = http_post(&format!("http://{addr}/tsa"), b"query").unwrap();
        assert_eq!(body, b"reply");
        let req = server.join().unwrap();
        assert!(req.starts_with("POST /tsa HTTP/1.1\r\n"), "{req}");
        assert!(req.contains("Content-Type: application/timestamp-query"));
        assert!(http_post("https://tsa.example/", b"q").is_err());
    }
}

//! Kernel signatures: ed25519 over the kernel component's sha256.
//!
//! - Keys are PEM files: the secret key PKCS#8, the public key SPKI — the formats
//!   `openssl genpkey -algorithm ed25519` and `openssl pkey -pubout` use.
//! - A signature is a detached file next to the kernel, `KERNEL.wasm.sig`: the base64 of
//!   the 64-byte ed25519 signature of [`message`] (`kiln-kernel-v1 ` + the component's
//!   sha256 in hex). It can be checked without kiln:
//!   `printf 'kiln-kernel-v1 %s' "$(sha256sum k.wasm | cut -c1-64)" > m;
//!   base64 -d k.wasm.sig > s; openssl pkeyutl -verify -pubin -inkey k.pub -rawin -in m -sigfile s`.
//! - [`Trust`] is what a server accepts: kernels signed by one of its keys, or, with
//!   `allow_unsigned` (development only), any kernel.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use ed25519_dalek::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey};
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use sha2::{Digest, Sha256};

/// What is signed for a component whose sha256 is `sha256_hex`.
pub fn message(sha256_hex: &str) -> String {
    format!("kiln-kernel-v1 {sha256_hex}")
}

/// The sha256 of `bytes`, lower-case hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    format!("{:x}", Sha256::digest(bytes))
}

/// The detached signature's path for a kernel file: `PATH.sig`.
pub fn signature_path(kernel: &Path) -> PathBuf {
    with_suffix(kernel, ".sig")
}

/// Writes a new key pair: `{out}.key` (secret, mode 0600) and `{out}.pub`. Refuses to
/// overwrite either.
pub fn keygen(out: &Path) -> anyhow::Result<(PathBuf, PathBuf)> {
    let (secret_path, public_path) = (with_suffix(out, ".key"), with_suffix(out, ".pub"));
    for p in [&secret_path, &public_path] {
        anyhow::ensure!(!p.exists(), "{} exists; not overwriting a key", p.display());
    }
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| anyhow::anyhow!("no randomness from the OS: {e}"))?;
    let key = SigningKey::from_bytes(&seed);
    let secret = key
        .to_pkcs8_pem(Default::default())
        .map_err(|e| anyhow::anyhow!("encoding the secret key: {e}"))?;
    let public = key
        .verifying_key()
        .to_public_key_pem(Default::default())
        .map_err(|e| anyhow::anyhow!("encoding the public key: {e}"))?;
    write_new(&secret_path, secret.as_bytes(), 0o600)?;
    write_new(&public_path, public.as_bytes(), 0o644)?;
    Ok((secret_path, public_path))
}

/// Signs the kernel file at `kernel` with the secret key at `key`; writes `kernel.sig`
/// (replacing an older one) and returns its path.
pub fn sign(kernel: &Path, key: &Path) -> anyhow::Result<PathBuf> {
    let pem = std::fs::read_to_string(key).map_err(|e| anyhow::anyhow!("reading key {}: {e}", key.display()))?;
    let key = SigningKey::from_pkcs8_pem(&pem)
        .map_err(|e| anyhow::anyhow!("{}: not an ed25519 secret key in PKCS#8 PEM: {e}", key.display()))?;
    let bytes = std::fs::read(kernel).map_err(|e| anyhow::anyhow!("reading kernel {}: {e}", kernel.display()))?;
    // A component's preamble: magic, version 0x0d, layer 1. Signing anything else is a
    // mistake no server would accept anyway.
    anyhow::ensure!(
        bytes.starts_with(b"\0asm\x0d\0\x01\0"),
        "{} is not a WebAssembly component (kiln kernels are; `kiln export-kernel` writes one)",
        kernel.display()
    );
    let signature = key.sign(message(&sha256_hex(&bytes)).as_bytes());
    let path = signature_path(kernel);
    crate::fs::write_atomically(&path, format!("{}\n", BASE64.encode(signature.to_bytes())).as_bytes())
        .map_err(|e| anyhow::anyhow!("writing {}: {e}", path.display()))?;
    Ok(path)
}

/// The kernels a server accepts.
#[derive(Clone, Default)]
pub struct Trust {
    keys: Vec<VerifyingKey>,
    /// Accept kernels without a valid signature (development only).
    pub allow_unsigned: bool,
}

/// How a kernel was accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Accepted {
    /// Signed by a trusted key.
    Signed,
    /// Not verified, and why; accepted only because of `allow_unsigned`.
    Unverified(Refused),
}

/// Why a kernel was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused(pub String);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Refused {}

impl Trust {
    /// Reads the public keys (SPKI PEM) at `paths`.
    pub fn new(paths: &[PathBuf], allow_unsigned: bool) -> anyhow::Result<Trust> {
        let keys = paths
            .iter()
            .map(|p| {
                let pem = std::fs::read_to_string(p)
                    .map_err(|e| anyhow::anyhow!("reading trusted key {}: {e}", p.display()))?;
                VerifyingKey::from_public_key_pem(&pem)
                    .map_err(|e| anyhow::anyhow!("{}: not an ed25519 public key in PEM: {e}", p.display()))
            })
            .collect::<anyhow::Result<_>>()?;
        Ok(Trust { keys, allow_unsigned })
    }

    /// Checks a kernel whose sha256 is `sha256_hex` against its signature file's content
    /// (`None`: there is none).
    pub fn check(&self, sha256_hex: &str, signature: Option<&str>) -> Result<Accepted, Refused> {
        match self.verify(sha256_hex, signature) {
            Ok(()) => Ok(Accepted::Signed),
            Err(e) if self.allow_unsigned => Ok(Accepted::Unverified(e)),
            Err(e) => Err(e),
        }
    }

    /// [`Trust::check`] for the component `bytes` from `source`, logging loudly when
    /// it is let in unverified.
    pub fn admit(&self, bytes: &[u8], signature: Option<&str>, source: &str) -> Result<(), Refused> {
        let sha256 = sha256_hex(bytes);
        if let Accepted::Unverified(why) = self.check(&sha256, signature)? {
            tracing::warn!(
                source,
                sha256,
                "LOADING AN UNVERIFIED KERNEL ({why}): --allow-unsigned is for development only"
            );
        }
        Ok(())
    }

    fn verify(&self, sha256_hex: &str, signature: Option<&str>) -> Result<(), Refused> {
        let Some(text) = signature else {
            return Err(Refused("the kernel is unsigned (no signature)".into()));
        };
        if self.keys.is_empty() {
            return Err(Refused(
                "no trusted key to check its signature against: give --trust KEY (or --allow-unsigned, for development)"
                    .into(),
            ));
        }
        let bytes = BASE64
            .decode(text.trim())
            .map_err(|_| Refused("the signature is not base64".into()))?;
        let signature = Signature::from_slice(&bytes)
            .map_err(|_| Refused(format!("the signature is {} bytes, not 64", bytes.len())))?;
        let message = message(sha256_hex);
        if self
            .keys
            .iter()
            .any(|k| k.verify(message.as_bytes(), &signature).is_ok())
        {
            Ok(())
        } else {
            Err(Refused(
                "the signature does not match the kernel under any trusted key (tampered, or signed by another key)"
                    .into(),
            ))
        }
    }
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(suffix);
    PathBuf::from(p)
}

/// Creates `path` (failing if it exists) with `mode` on Unix.
fn write_new(path: &Path, bytes: &[u8], mode: u32) -> anyhow::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, mode);
    #[cfg(not(unix))]
    let _ = mode;
    let mut file = options
        .open(path)
        .map_err(|e| anyhow::anyhow!("creating {}: {e}", path.display()))?;
    file.write_all(bytes)
        .and_then(|_| file.sync_all())
        .map_err(|e| anyhow::anyhow!("writing {}: {e}", path.display()))
}

/// Largest kernel file read (kernels are ~2 MB).
pub const MAX_KERNEL_BYTES: u64 = 64 << 20;

/// Largest signature file read (one base64 line).
const MAX_SIGNATURE_BYTES: u64 = 4 << 10;

/// A kernel file and its signature file's content (`None` when there is none). Only
/// regular files are read (a FIFO or a device would block or never end), each within
/// its size cap.
pub fn read_kernel_file(path: &Path) -> Result<(Vec<u8>, Option<String>), String> {
    let bytes = read_regular(path, MAX_KERNEL_BYTES).map_err(|e| format!("reading kernel {}: {e}", path.display()))?;
    let sig_path = signature_path(path);
    let signature = match read_regular(&sig_path, MAX_SIGNATURE_BYTES) {
        Ok(s) => Some(String::from_utf8(s).map_err(|_| format!("signature {} is not text", sig_path.display()))?),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(format!("reading signature {}: {e}", sig_path.display())),
    };
    Ok((bytes, signature))
}

/// The bytes of a regular file of at most `cap` bytes; anything else is an error.
fn read_regular(path: &Path, cap: u64) -> std::io::Result<Vec<u8>> {
    use std::io::{Error, ErrorKind, Read};
    let not_regular = || Error::new(ErrorKind::InvalidInput, "not a regular file");
    // Checked before opening too: opening a FIFO for reading blocks until a writer comes.
    if !std::fs::metadata(path)?.is_file() {
        return Err(not_regular());
    }
    let file = std::fs::File::open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(not_regular());
    }
    if meta.len() > cap {
        return Err(Error::new(ErrorKind::InvalidInput, format!("larger than {cap} bytes")));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    // The file may grow while it is read: never past the cap.
    file.take(cap + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > cap {
        return Err(Error::new(ErrorKind::InvalidInput, format!("larger than {cap} bytes")));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_files_are_regular_and_capped() {
        let dir = std::env::temp_dir().join(format!("kiln-read-kernel-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let ok = dir.join("ok.wasm");
        std::fs::write(&ok, b"\0asm").unwrap();
        assert_eq!(read_kernel_file(&ok).unwrap(), (b"\0asm".to_vec(), None));
        // Over the cap (a sparse file: no disk used).
        let big = dir.join("big.wasm");
        std::fs::File::create(&big)
            .unwrap()
            .set_len(MAX_KERNEL_BYTES + 1)
            .unwrap();
        assert!(read_kernel_file(&big).unwrap_err().contains("larger than"));
        // A directory, and (on unix) a FIFO, which would block a plain read forever.
        assert!(read_kernel_file(&dir).unwrap_err().contains("not a regular file"));
        #[cfg(unix)]
        {
            let fifo = dir.join("fifo.wasm");
            let made = std::process::Command::new("mkfifo").arg(&fifo).status().unwrap();
            assert!(made.success());
            assert!(read_kernel_file(&fifo).unwrap_err().contains("not a regular file"));
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    fn pair() -> (SigningKey, Trust) {
        let key = SigningKey::from_bytes(&[7; 32]);
        let trust = Trust {
            keys: vec![key.verifying_key()],
            allow_unsigned: false,
        };
        (key, trust)
    }

    #[test]
    fn a_signed_digest_is_accepted_and_any_change_refused() {
        let (key, trust) = pair();
        let sha = sha256_hex(b"kernel");
        let sig = BASE64.encode(key.sign(message(&sha).as_bytes()).to_bytes());
        assert_eq!(trust.check(&sha, Some(&sig)), Ok(Accepted::Signed));
        assert!(trust.check(&sha256_hex(b"kernel!"), Some(&sig)).is_err());
        let other = SigningKey::from_bytes(&[8; 32]);
        let foreign = BASE64.encode(other.sign(message(&sha).as_bytes()).to_bytes());
        assert!(trust.check(&sha, Some(&foreign)).is_err());
        assert!(trust.check(&sha, None).unwrap_err().0.contains("unsigned"));
        assert!(trust.check(&sha, Some("!!")).unwrap_err().0.contains("base64"));
        assert!(trust.check(&sha, Some("AAAA")).unwrap_err().0.contains("not 64"));
    }

    #[test]
    fn allow_unsigned_accepts_anything_and_says_so() {
        let (_, mut trust) = pair();
        trust.allow_unsigned = true;
        assert!(matches!(trust.check("00", None), Ok(Accepted::Unverified(_))));
    }
}

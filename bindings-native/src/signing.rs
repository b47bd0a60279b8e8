//! Kernel signatures: ed25519 over a manifest of the kernel component.
//!
//! - Keys are PEM files: the secret key PKCS#8, the public key SPKI — the formats
//!   `openssl genpkey -algorithm ed25519` and `openssl pkey -pubout` use.
//! - A signature is a detached file next to the kernel, `KERNEL.wasm.sig`, one line (so
//!   it also fits the admin API's `kiln-signature` header): a [`Manifest`] — the
//!   component's sha256, the version its `describe()` names, and the purpose `kernel` —
//!   then ` sig=` and the base64 of the 64-byte ed25519 signature of the manifest text:
//!   `kiln-kernel-v2 sha256=<hex> version=<version> purpose=kernel sig=<base64>`.
//!   It can be checked without kiln: `sed 's/ sig=.*//' k.wasm.sig | tr -d '\n' > m;
//!   sed 's/.* sig=//' k.wasm.sig | base64 -d > s;
//!   openssl pkeyutl -verify -pubin -inkey k.pub -rawin -in m -sigfile s`.
//! - [`Trust`] is what a server accepts: kernels signed by one of its keys (or, with
//!   `allow_unsigned`, development only, any kernel), whose digest is not on the
//!   revocation list, and whose version is not below the highest that has been the
//!   primary (at first, the kernel built into this binary) unless `allow_downgrade`.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use ed25519_dalek::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey};
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use semver::Version;
use sha2::{Digest, Sha256};

/// What a kernel's signature attests: the component's digest and the version it names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    /// sha256 of the component, lower-case hex.
    pub sha256: String,
    /// The version the kernel's `describe()` names.
    pub version: String,
}

/// The first word of a manifest: its format.
const MANIFEST_V2: &str = "kiln-kernel-v2";

/// The one purpose of kernel signatures: a signature by the same key over the same
/// digest for anything else is not a kernel's.
const PURPOSE: &str = "kernel";

impl Manifest {
    /// The text that is signed.
    pub fn text(&self) -> String {
        format!(
            "{MANIFEST_V2} sha256={} version={} purpose={PURPOSE}",
            self.sha256, self.version
        )
    }

    /// The signature line for this manifest signed by `key`.
    pub fn signed_by(&self, key: &SigningKey) -> String {
        let text = self.text();
        format!("{text} sig={}", BASE64.encode(key.sign(text.as_bytes()).to_bytes()))
    }

    /// A signature line's manifest and signature, fields in their order.
    fn parse(line: &str) -> Result<(Manifest, Signature), Refused> {
        let refuse = |why: &str| {
            Err(Refused(format!(
                "the signature file is not a kiln-kernel-v2 manifest: {why}"
            )))
        };
        let line = line.trim();
        if line.starts_with("kiln-kernel-v1") || (!line.contains(' ') && !line.is_empty()) {
            return Err(Refused(
                "the signature is of an older format (digest only, no version): sign the kernel again with this kiln"
                    .into(),
            ));
        }
        let fields: Vec<&str> = line.split(' ').collect();
        let [format, sha256, version, purpose, sig] = fields[..] else {
            return refuse("it needs five fields separated by single spaces");
        };
        if format != MANIFEST_V2 {
            return refuse("it does not start with kiln-kernel-v2");
        }
        let (Some(sha256), Some(version), Some(purpose), Some(sig)) = (
            sha256.strip_prefix("sha256="),
            version.strip_prefix("version="),
            purpose.strip_prefix("purpose="),
            sig.strip_prefix("sig="),
        ) else {
            return refuse("fields are sha256=, version=, purpose=, sig=, in this order");
        };
        if purpose != PURPOSE {
            return Err(Refused(format!("the signature is for {purpose:?}, not for a kernel")));
        }
        let bytes = BASE64
            .decode(sig)
            .map_err(|_| Refused("the signature is not base64".into()))?;
        let signature = Signature::from_slice(&bytes)
            .map_err(|_| Refused(format!("the signature is {} bytes, not 64", bytes.len())))?;
        let manifest = Manifest {
            sha256: sha256.to_owned(),
            version: version.to_owned(),
        };
        Ok((manifest, signature))
    }
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

/// Signs the kernel file at `kernel`, whose `describe()` names `version`, with the
/// secret key at `key`; writes `kernel.sig` (replacing an older one) and returns its path.
pub fn sign(kernel: &Path, version: &str, key: &Path) -> anyhow::Result<PathBuf> {
    let pem = std::fs::read_to_string(key).map_err(|e| anyhow::anyhow!("reading key {}: {e}", key.display()))?;
    let key = SigningKey::from_pkcs8_pem(&pem)
        .map_err(|e| anyhow::anyhow!("{}: not an ed25519 secret key in PKCS#8 PEM: {e}", key.display()))?;
    let bytes = std::fs::read(kernel).map_err(|e| anyhow::anyhow!("reading kernel {}: {e}", kernel.display()))?;
    ensure_component(&bytes, kernel)?;
    let manifest = Manifest {
        sha256: sha256_hex(&bytes),
        version: version.to_owned(),
    };
    let path = signature_path(kernel);
    crate::fs::write_atomically(&path, format!("{}\n", manifest.signed_by(&key)).as_bytes())
        .map_err(|e| anyhow::anyhow!("writing {}: {e}", path.display()))?;
    Ok(path)
}

/// Refuses what is not a WebAssembly component (a component's preamble: magic, version
/// 0x0d, layer 1): signing anything else is a mistake no server would accept anyway.
pub fn ensure_component(bytes: &[u8], path: &Path) -> anyhow::Result<()> {
    anyhow::ensure!(
        bytes.starts_with(b"\0asm\x0d\0\x01\0"),
        "{} is not a WebAssembly component (kiln kernels are; `kiln export-kernel` writes one)",
        path.display()
    );
    Ok(())
}

/// The kernels a server accepts.
#[derive(Clone)]
pub struct Trust {
    keys: Vec<VerifyingKey>,
    /// Accept kernels without a valid signature (development only).
    pub allow_unsigned: bool,
    /// Accept kernels older than the floor.
    pub allow_downgrade: bool,
    /// A file of revoked digests, read at each check.
    revoked: Option<PathBuf>,
    /// The highest version that has been the primary: at first the embedded kernel's.
    floor: Arc<Mutex<Version>>,
}

/// How a kernel was accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Accepted {
    /// Signed by a trusted key, with this manifest.
    Signed(Manifest),
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

impl Default for Trust {
    fn default() -> Self {
        Trust {
            keys: Vec::new(),
            allow_unsigned: false,
            allow_downgrade: false,
            revoked: None,
            floor: Arc::new(Mutex::new(
                version(kiln_kernel::VERSION).unwrap_or(Version::new(0, 0, 0)),
            )),
        }
    }
}

/// A kernel version: semantic versioning, so that versions can be ordered.
fn version(text: &str) -> Result<Version, Refused> {
    Version::parse(text).map_err(|e| Refused(format!("the kernel's version {text:?} is not a semantic version: {e}")))
}

impl Trust {
    /// Reads the public keys (SPKI PEM) at `paths`, and the revocation list at
    /// `revoked` (read again at each check, so a new list applies to the next load).
    pub fn new(
        paths: &[PathBuf],
        allow_unsigned: bool,
        allow_downgrade: bool,
        revoked: Option<PathBuf>,
    ) -> anyhow::Result<Trust> {
        let keys = paths
            .iter()
            .map(|p| {
                let pem = std::fs::read_to_string(p)
                    .map_err(|e| anyhow::anyhow!("reading trusted key {}: {e}", p.display()))?;
                VerifyingKey::from_public_key_pem(&pem)
                    .map_err(|e| anyhow::anyhow!("{}: not an ed25519 public key in PEM: {e}", p.display()))
            })
            .collect::<anyhow::Result<_>>()?;
        if let Some(path) = &revoked {
            read_revoked(path).map_err(anyhow::Error::msg)?;
        }
        Ok(Trust {
            keys,
            allow_unsigned,
            allow_downgrade,
            revoked,
            ..Trust::default()
        })
    }

    /// Checks a kernel whose sha256 is `sha256_hex` against its signature file's content
    /// (`None`: there is none) and the revocation list.
    pub fn check(&self, sha256_hex: &str, signature: Option<&str>) -> Result<Accepted, Refused> {
        if let Some(path) = &self.revoked {
            // Even unsigned kernels: a revoked digest never loads.
            if read_revoked(path).map_err(Refused)?.contains(sha256_hex) {
                return Err(Refused(format!(
                    "the kernel's digest {sha256_hex} is revoked ({})",
                    path.display()
                )));
            }
        }
        match self.verify(sha256_hex, signature) {
            Ok(manifest) => Ok(Accepted::Signed(manifest)),
            Err(e) if self.allow_unsigned => Ok(Accepted::Unverified(e)),
            Err(e) => Err(e),
        }
    }

    /// [`Trust::check`] for the component `bytes` from `source`, logging loudly when
    /// it is let in unverified. The manifest, when it was signed.
    pub fn admit(&self, bytes: &[u8], signature: Option<&str>, source: &str) -> Result<Option<Manifest>, Refused> {
        let sha256 = sha256_hex(bytes);
        match self.check(&sha256, signature)? {
            Accepted::Signed(manifest) => Ok(Some(manifest)),
            Accepted::Unverified(why) => {
                tracing::warn!(
                    source,
                    sha256,
                    "LOADING AN UNVERIFIED KERNEL ({why}): --allow-unsigned is for development only"
                );
                Ok(None)
            }
        }
    }

    /// Whether a kernel admitted with `manifest`, whose `describe()` names `version`,
    /// may serve: the manifest names that version, and it is not below the floor (the
    /// highest version that has been the primary) unless `allow_downgrade`.
    pub fn check_version(&self, manifest: Option<&Manifest>, version_text: &str) -> Result<(), Refused> {
        if let Some(m) = manifest
            && m.version != version_text
        {
            return Err(Refused(format!(
                "the signature is for version {:?}, the kernel names {version_text:?}",
                m.version
            )));
        }
        let v = version(version_text)?;
        let floor = self.floor.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if v < *floor && !self.allow_downgrade {
            return Err(Refused(format!(
                "version {v} is older than {floor}, which has served here (a downgrade: --allow-downgrade permits it)"
            )));
        }
        Ok(())
    }

    /// Raises the floor to `version` (it has become the primary).
    pub fn raise_floor(&self, version_text: &str) {
        if let Ok(v) = version(version_text) {
            let mut floor = self.floor.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            if v > *floor {
                *floor = v;
            }
        }
    }

    fn verify(&self, sha256_hex: &str, signature: Option<&str>) -> Result<Manifest, Refused> {
        let Some(text) = signature else {
            return Err(Refused("the kernel is unsigned (no signature)".into()));
        };
        if self.keys.is_empty() {
            return Err(Refused(
                "no trusted key to check its signature against: give --trust KEY (or --allow-unsigned, for development)"
                    .into(),
            ));
        }
        let (manifest, signature) = Manifest::parse(text)?;
        if !self
            .keys
            .iter()
            .any(|k| k.verify(manifest.text().as_bytes(), &signature).is_ok())
        {
            return Err(Refused(
                "the signature does not match its manifest under any trusted key (tampered, or signed by another key)"
                    .into(),
            ));
        }
        if manifest.sha256 != sha256_hex {
            return Err(Refused(format!(
                "the signature is for the kernel {}, not this one ({sha256_hex})",
                manifest.sha256
            )));
        }
        Ok(manifest)
    }
}

/// The digests in a revocation list: one sha256 (hex) per line; blank lines and lines
/// starting with `#` are skipped.
fn read_revoked(path: &Path) -> Result<std::collections::HashSet<String>, String> {
    let text = read_regular(path, MAX_KERNEL_BYTES)
        .map_err(|e| format!("reading the revocation list {}: {e}", path.display()))?;
    let text = String::from_utf8(text).map_err(|_| format!("the revocation list {} is not text", path.display()))?;
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            if l.len() == 64 && l.bytes().all(|b| b.is_ascii_hexdigit()) {
                Ok(l.to_ascii_lowercase())
            } else {
                Err(format!(
                    "the revocation list {} has a line that is not a sha256: {l:?}",
                    path.display()
                ))
            }
        })
        .collect()
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
            ..Trust::default()
        };
        (key, trust)
    }

    fn manifest(bytes: &[u8], version: &str) -> Manifest {
        Manifest {
            sha256: sha256_hex(bytes),
            version: version.into(),
        }
    }

    #[test]
    fn a_signed_manifest_is_accepted_and_any_change_refused() {
        let (key, trust) = pair();
        let m = manifest(b"kernel", "0.1.0");
        let line = m.signed_by(&key);
        assert!(
            line.starts_with("kiln-kernel-v2 sha256=") && !line.contains('\n'),
            "{line}"
        );
        assert_eq!(trust.check(&m.sha256, Some(&line)), Ok(Accepted::Signed(m.clone())));
        // Another kernel under the same signature.
        let other = sha256_hex(b"kernel!");
        assert!(trust.check(&other, Some(&line)).unwrap_err().0.contains("not this one"));
        // Any field changed after signing: the signature no longer matches.
        for (from, to) in [
            ("version=0.1.0", "version=9.0.0"),
            ("purpose=kernel", "purpose=kernel "),
        ] {
            let changed = line.replacen(from, to, 1);
            assert!(trust.check(&m.sha256, Some(&changed)).is_err(), "{changed}");
        }
        // Signed for another purpose by the same key.
        let text = m.text().replace("purpose=kernel", "purpose=docs");
        let docs = format!("{text} sig={}", BASE64.encode(key.sign(text.as_bytes()).to_bytes()));
        assert!(
            trust
                .check(&m.sha256, Some(&docs))
                .unwrap_err()
                .0
                .contains("not for a kernel")
        );
        // A foreign key; none; a v1 signature (digest only); garbage.
        let foreign = m.signed_by(&SigningKey::from_bytes(&[8; 32]));
        assert!(
            trust
                .check(&m.sha256, Some(&foreign))
                .unwrap_err()
                .0
                .contains("does not match")
        );
        assert!(trust.check(&m.sha256, None).unwrap_err().0.contains("unsigned"));
        let v1 = BASE64.encode(key.sign(format!("kiln-kernel-v1 {}", m.sha256).as_bytes()).to_bytes());
        assert!(
            trust
                .check(&m.sha256, Some(&v1))
                .unwrap_err()
                .0
                .contains("older format")
        );
        let bad = line.replace(" sig=", " sig=!!");
        assert!(trust.check(&m.sha256, Some(&bad)).unwrap_err().0.contains("base64"));
    }

    #[test]
    fn versions_below_the_floor_are_refused_unless_allowed() {
        let (_, mut trust) = pair();
        let m = manifest(b"k", "0.2.0");
        assert_eq!(trust.check_version(Some(&m), "0.2.0"), Ok(()));
        assert!(
            trust
                .check_version(Some(&m), "0.3.0")
                .unwrap_err()
                .0
                .contains("signature is for version")
        );
        trust.raise_floor("0.3.0");
        assert!(
            trust
                .check_version(Some(&m), "0.2.0")
                .unwrap_err()
                .0
                .contains("downgrade")
        );
        assert!(trust.check_version(None, "0.2.9").unwrap_err().0.contains("downgrade"));
        assert_eq!(trust.check_version(None, "0.3.0"), Ok(()));
        assert_eq!(trust.check_version(None, "1.0.0"), Ok(()));
        assert!(trust.check_version(None, "latest").unwrap_err().0.contains("semantic"));
        // The floor never goes down; a clone shares it.
        trust.raise_floor("0.1.0");
        assert!(trust.clone().check_version(None, "0.2.0").is_err());
        trust.allow_downgrade = true;
        assert_eq!(trust.check_version(Some(&m), "0.2.0"), Ok(()));
        // At first the floor is the embedded kernel's version.
        assert!(Trust::default().check_version(None, "0.0.1").is_err());
        assert_eq!(Trust::default().check_version(None, kiln_kernel::VERSION), Ok(()));
    }

    #[test]
    fn revoked_digests_never_load() {
        let (key, mut trust) = pair();
        let dir = std::env::temp_dir().join(format!("kiln-revoked-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let list = dir.join("revoked.txt");
        let m = manifest(b"kernel", "0.1.0");
        std::fs::write(&list, format!("# revoked\n\n{}\n", m.sha256.to_uppercase())).unwrap();
        trust.revoked = Some(list.clone());
        let line = m.signed_by(&key);
        assert!(trust.check(&m.sha256, Some(&line)).unwrap_err().0.contains("revoked"));
        trust.allow_unsigned = true;
        assert!(
            trust.check(&m.sha256, None).unwrap_err().0.contains("revoked"),
            "unsigned or not"
        );
        // Read at each check: taken off the list, it loads again.
        std::fs::write(&list, "").unwrap();
        assert_eq!(trust.check(&m.sha256, Some(&line)), Ok(Accepted::Signed(m.clone())));
        // A list that cannot be read refuses everything (and is an error at start).
        std::fs::write(&list, "not a digest\n").unwrap();
        assert!(
            trust
                .check(&m.sha256, Some(&line))
                .unwrap_err()
                .0
                .contains("not a sha256")
        );
        assert!(Trust::new(&[], false, false, Some(list.clone())).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn allow_unsigned_accepts_anything_and_says_so() {
        let (_, mut trust) = pair();
        trust.allow_unsigned = true;
        assert!(matches!(trust.check("00", None), Ok(Accepted::Unverified(_))));
    }
}

//! Which certificates an outbound TLS connection accepts: the web PKI roots (compiled in) plus CA
//! files the user names, turned into a rustls client configuration.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio_rustls::rustls::pki_types::CertificateDer;
use tokio_rustls::rustls::pki_types::pem::{self, PemObject as _};
use tokio_rustls::rustls::{self, RootCertStore};

/// The web PKI roots plus these CA files (PEM).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Trust {
    ca_files: Vec<PathBuf>,
}

/// Why a trust could not be turned into a TLS configuration. Each message names the file.
#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    /// The file could not be read.
    #[error("CA file {}: {source}", path.display())]
    Read {
        /// The CA file.
        path: PathBuf,
        /// Why reading failed.
        source: std::io::Error,
    },
    /// The file is not PEM.
    #[error("CA file {}: not PEM ({source})", path.display())]
    NotPem {
        /// The CA file.
        path: PathBuf,
        /// The PEM parser's complaint.
        source: pem::Error,
    },
    /// The file is PEM but holds no certificate.
    #[error("CA file {}: no PEM certificate in it", path.display())]
    Empty {
        /// The CA file.
        path: PathBuf,
    },
    /// A certificate in the file cannot serve as a root.
    #[error("CA file {}: {source}", path.display())]
    Rejected {
        /// The CA file.
        path: PathBuf,
        /// Why rustls refused it.
        source: rustls::Error,
    },
    /// rustls refused the configuration itself (no protocol version in common with the provider).
    #[error("{0}")]
    Config(#[source] rustls::Error),
}

impl Trust {
    /// Trusts the web PKI roots and `ca_files`.
    pub fn new(ca_files: impl IntoIterator<Item = PathBuf>) -> Self {
        Self { ca_files: ca_files.into_iter().collect() }
    }

    /// Also trusts `path`.
    #[must_use]
    pub fn with(mut self, path: PathBuf) -> Self {
        if !self.ca_files.contains(&path) {
            self.ca_files.push(path);
        }
        self
    }

    /// The extra CA files.
    pub fn ca_files(&self) -> &[PathBuf] {
        &self.ca_files
    }

    /// Reads every CA file now, so a missing or broken one is reported before connecting.
    pub fn check(&self) -> Result<(), TrustError> {
        self.ca_files.iter().try_for_each(|p| read_certs(p, std::fs::read(p)).map(drop))
    }

    /// The rustls configuration, reading the CA files with blocking I/O: for start-up, where a
    /// target built once serves every later request.
    pub fn client_config(&self) -> Result<Arc<rustls::ClientConfig>, TrustError> {
        let files = self.ca_files.iter().map(|p| (p.as_path(), std::fs::read(p)));
        build_config(files.collect())
    }

    /// The rustls configuration, reading the CA files afresh without blocking the runtime: a
    /// certificate regenerated at the same path is picked up by the next connection.
    pub async fn client_config_async(&self) -> Result<Arc<rustls::ClientConfig>, TrustError> {
        let mut files = Vec::with_capacity(self.ca_files.len());
        for path in &self.ca_files {
            files.push((path.as_path(), tokio::fs::read(path).await));
        }
        build_config(files)
    }
}

/// Web roots plus the certificates of each `(path, contents)`, in order (the first bad file is
/// the one reported).
fn build_config(
    files: Vec<(&Path, std::io::Result<Vec<u8>>)>,
) -> Result<Arc<rustls::ClientConfig>, TrustError> {
    let mut roots = RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
    for (path, bytes) in files {
        for cert in read_certs(path, bytes)? {
            roots.add(cert).map_err(|source| TrustError::Rejected { path: path.to_owned(), source })?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(TrustError::Config)?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

fn read_certs(
    path: &Path,
    bytes: std::io::Result<Vec<u8>>,
) -> Result<Vec<CertificateDer<'static>>, TrustError> {
    let bytes = bytes.map_err(|source| TrustError::Read { path: path.to_owned(), source })?;
    let certs = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|source| TrustError::NotPem { path: path.to_owned(), source })?;
    if certs.is_empty() {
        return Err(TrustError::Empty { path: path.to_owned() });
    }
    Ok(certs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn bad_ca_files_name_the_file() {
        let dir = std::env::temp_dir().join(format!("cr-net-trust-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let junk = dir.join("junk.pem");
        std::fs::write(&junk, "not a certificate").expect("write");
        let trust = Trust::new([junk.clone()]);
        let e = trust.check().expect_err("junk").to_string();
        assert!(e.contains("junk.pem") && e.contains("no PEM certificate"), "{e}");
        let e = trust.client_config().expect_err("junk");
        assert!(matches!(e, TrustError::Empty { .. }), "{e}");
        let e = trust.client_config_async().await.expect_err("junk");
        assert!(matches!(e, TrustError::Empty { .. }), "{e}");
        let missing = Trust::new([dir.join("missing.pem")]);
        let e = missing.check().expect_err("missing").to_string();
        assert!(e.starts_with("CA file ") && e.contains("missing.pem"), "{e}");
        assert!(Trust::default().check().is_ok());
        assert!(Trust::default().client_config().is_ok());
        // The first bad file is the one named.
        let both = Trust::new([dir.join("missing.pem")]).with(junk.clone()).with(junk);
        assert_eq!(both.ca_files().len(), 2, "a file is added once");
        assert!(matches!(both.client_config(), Err(TrustError::Read { .. })));
        let _ = std::fs::remove_dir_all(&dir);
    }
}

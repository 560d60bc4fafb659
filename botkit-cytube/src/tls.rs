//! TLS trust for `wss://` and `https://` discovery: the public web roots plus any extra
//! root certificates the config names.
//!
//! Public CyTube servers (cytu.be) have certificates from public CAs, which the bundled
//! webpki roots cover, so the bot needs no system certificate store. A self-hosted CyTube
//! often runs with a private CA; `tls_roots` lists PEM files whose certificates are trusted
//! *in addition*, for both the websocket (rustls with the aws-lc-rs provider the workspace
//! already builds) and the discovery request (reqwest).

use std::path::Path;
use std::sync::Arc;

use tokio_rustls::rustls::pki_types::CertificateDer;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::{self, ClientConfig, RootCertStore};

use crate::error::CytubeError;

/// The extra roots read from the config's PEM files.
#[derive(Debug, Clone, Default)]
pub struct ExtraRoots {
    pems: Vec<Vec<u8>>,
    ders: Vec<CertificateDer<'static>>,
}

impl ExtraRoots {
    /// Reads every certificate in the PEM files `paths`.
    pub fn load(paths: &[impl AsRef<Path>]) -> Result<Self, CytubeError> {
        let mut roots = Self::default();
        for path in paths {
            let path = path.as_ref();
            let pem = std::fs::read(path).map_err(|e| {
                CytubeError::Config(format!("tls_roots: cannot read `{}`: {e}", path.display()))
            })?;
            roots.add_pem(&pem).map_err(|e| {
                CytubeError::Config(format!("tls_roots: `{}`: {e}", path.display()))
            })?;
        }
        Ok(roots)
    }

    /// Adds the certificates of one PEM document.
    pub fn add_pem(&mut self, pem: &[u8]) -> Result<(), String> {
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(pem)
            .collect::<Result<_, _>>()
            .map_err(|e| format!("not a valid PEM file ({e})"))?;
        if certs.is_empty() {
            return Err(
                "no `-----BEGIN CERTIFICATE-----` block in it; give the CA certificate in PEM"
                    .into(),
            );
        }
        // Checked now, so a bad certificate is a config error and not a failed connect later.
        let mut store = RootCertStore::empty();
        for cert in &certs {
            store
                .add(cert.clone())
                .map_err(|e| format!("a certificate cannot be a trust root ({e})"))?;
        }
        self.ders.extend(certs);
        self.pems.push(pem.to_vec());
        Ok(())
    }

    /// Whether no extra root is configured.
    pub fn is_empty(&self) -> bool {
        self.ders.is_empty()
    }

    /// The rustls client config for websockets: webpki roots plus these.
    pub fn rustls_config(&self) -> Result<Arc<ClientConfig>, CytubeError> {
        let mut roots = RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        for cert in &self.ders {
            roots
                .add(cert.clone())
                .map_err(|e| CytubeError::Config(format!("tls_roots: {e}")))?;
        }
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| CytubeError::Config(format!("TLS setup: {e}")))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(Arc::new(config))
    }

    /// A reqwest client builder that trusts these roots too.
    pub fn http_client(
        &self,
        builder: reqwest::ClientBuilder,
    ) -> Result<reqwest::ClientBuilder, CytubeError> {
        let mut certs = Vec::new();
        for pem in &self.pems {
            certs.extend(
                reqwest::Certificate::from_pem_bundle(pem)
                    .map_err(|e| CytubeError::Config(format!("tls_roots: {e}")))?,
            );
        }
        Ok(if certs.is_empty() {
            builder
        } else {
            builder.tls_certs_merge(certs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_root_files_are_config_errors_naming_the_file() {
        let err = ExtraRoots::load(&["/nonexistent/ca.pem"]).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/ca.pem"), "{err}");
        let mut roots = ExtraRoots::default();
        let err = roots.add_pem(b"hello").unwrap_err();
        assert!(err.contains("BEGIN CERTIFICATE"), "{err}");
        let ca = include_bytes!("../tests/peer/ca.pem");
        roots.add_pem(ca).expect("the test CA");
        assert!(!roots.is_empty());
        assert!(roots.rustls_config().is_ok());
    }
}

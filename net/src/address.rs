//! Reading the host, port and scheme out of an `http://` or `https://` URL.

/// Where a URL points: what dialling it needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address {
    /// Host name or address, without the brackets of an IPv6 literal (`::1`, not `[::1]`): what
    /// connecting and TLS server names want.
    pub host: String,
    /// The port, or the scheme's default (80, 443).
    pub port: u16,
    /// `https://`: the connection is TLS.
    pub tls: bool,
}

/// Why a URL cannot be dialled.
#[derive(Debug, thiserror::Error)]
pub enum UrlError {
    /// Not a URL at all.
    #[error("URL `{url}`: {source}")]
    Invalid {
        /// The URL as given.
        url: String,
        /// The parser's complaint.
        source: http::uri::InvalidUri,
    },
    /// A scheme other than `http` or `https`, or none.
    #[error("URL `{url}` must start with http:// or https://")]
    Scheme {
        /// The URL as given.
        url: String,
    },
    /// No host in it.
    #[error("URL `{url}` has no host")]
    NoHost {
        /// The URL as given.
        url: String,
    },
}

impl Address {
    /// Parses `url` (`http://` or `https://`), returning the address and the parsed URL (for its
    /// path and authority).
    pub fn parse(url: &str) -> Result<(Self, http::Uri), UrlError> {
        let uri: http::Uri =
            url.parse().map_err(|source| UrlError::Invalid { url: url.to_owned(), source })?;
        let (tls, default_port) = match uri.scheme_str() {
            Some("http") => (false, 80),
            Some("https") => (true, 443),
            _ => return Err(UrlError::Scheme { url: url.to_owned() }),
        };
        let host = uri.host().ok_or_else(|| UrlError::NoHost { url: url.to_owned() })?;
        // `[::1]` in a URL; connecting and TLS server names want `::1`.
        let host = host.trim_start_matches('[').trim_end_matches(']').to_owned();
        let port = uri.port_u16().unwrap_or(default_port);
        Ok((Self { host, port, tls }, uri))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse() {
        let (a, uri) = Address::parse("https://hooks.example/x?y=1").expect("https");
        assert_eq!(a, Address { host: "hooks.example".into(), port: 443, tls: true });
        assert_eq!(uri.path(), "/x");
        let (a, _) = Address::parse("http://[::1]:9/").expect("v6");
        assert_eq!(a, Address { host: "::1".into(), port: 9, tls: false });
        assert_eq!(Address::parse("http://h").expect("http").0.port, 80);
        let e = Address::parse("ftp://h/").expect_err("ftp");
        assert!(matches!(e, UrlError::Scheme { .. }) && e.to_string().contains("http:// or https://"), "{e}");
        assert!(matches!(Address::parse("/just/a/path"), Err(UrlError::Scheme { .. })));
        assert!(matches!(Address::parse("http://"), Err(UrlError::Invalid { .. })));
    }
}

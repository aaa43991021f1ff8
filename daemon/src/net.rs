//! Outbound HTTP with an SSRF guard: remotes must be https on public addresses unless the operator
//! allows private ones (`KOPPEL_ALLOW_PRIVATE_REMOTES`, for tests and demos).
//!
//! Three layers: the base URL is checked when an integration is saved (scheme, literal IPs in every
//! numeric form, which the WHATWG parser of the `url` crate normalises); every DNS answer is checked
//! at connect time (so a name that resolves to 127.0.0.1 is refused, also after a rebinding); every
//! redirect target is checked again before it is followed.

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use url::{Host, Url};

/// Why a remote address is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddressError {
    #[error("is not a valid URL")]
    Malformed,
    #[error("must use https")]
    NotHttps,
    #[error("must not contain a user name or password")]
    HasCredentials,
    #[error(
        "points to a private, loopback or link-local address, which is refused (set KOPPEL_ALLOW_PRIVATE_REMOTES to allow)"
    )]
    Private,
}

/// Checks an integration's base URL; returns it normalised, without a trailing slash.
pub fn check_base_url(raw: &str, allow_private: bool) -> Result<Url, AddressError> {
    let url = Url::parse(raw.trim()).map_err(|_| AddressError::Malformed)?;
    match url.scheme() {
        "https" => {}
        "http" if allow_private => {}
        "http" => return Err(AddressError::NotHttps),
        _ => return Err(AddressError::Malformed),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(AddressError::HasCredentials);
    }
    check_host(&url, allow_private)?;
    Ok(url)
}

fn check_host(url: &Url, allow_private: bool) -> Result<(), AddressError> {
    if allow_private {
        return Ok(());
    }
    match url.host() {
        None => Err(AddressError::Malformed),
        Some(Host::Ipv4(ip)) if !is_public(IpAddr::V4(ip)) => Err(AddressError::Private),
        Some(Host::Ipv6(ip)) if !is_public(IpAddr::V6(ip)) => Err(AddressError::Private),
        Some(Host::Domain(domain)) => {
            let domain = domain.trim_end_matches('.').to_ascii_lowercase();
            if domain == "localhost" || domain.ends_with(".localhost") || domain.ends_with(".local") {
                Err(AddressError::Private)
            } else {
                Ok(())
            }
        }
        Some(_) => Ok(()),
    }
}

/// Whether an address is on the public internet.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public_v4(v4);
            }
            let segments = v6.segments();
            // IPv4-compatible (::a.b.c.d), NAT64 (64:ff9b::/96) and 6to4 (2002::/16) embed an IPv4 address.
            if segments[..6] == [0, 0, 0, 0, 0, 0] && !v6.is_loopback() && !v6.is_unspecified() {
                return is_public_v4(Ipv4Addr::from(((segments[6] as u32) << 16) | segments[7] as u32));
            }
            if segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
                return is_public_v4(Ipv4Addr::from(((segments[6] as u32) << 16) | segments[7] as u32));
            }
            if segments[0] == 0x2002 {
                return is_public_v4(Ipv4Addr::from(((segments[1] as u32) << 16) | segments[2] as u32));
            }
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (segments[0] & 0xfe00) == 0xfc00 // unique local
                || (segments[0] & 0xffc0) == 0xfe80 // link-local
                || (segments[0] & 0xffc0) == 0xfec0 // site-local (deprecated)
                || (segments[0] == 0x2001 && segments[1] == 0x0db8)) // documentation
        }
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    !(ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local()
        || ip.is_broadcast()
        || ip.is_documentation()
        || ip.is_unspecified()
        || ip.is_multicast()
        || a == 0
        || a >= 240
        || (a == 100 && (64..128).contains(&b)) // shared address space
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || (a == 192 && b == 0 && ip.octets()[2] == 0)) // IETF protocol assignments
}

/// Resolves names and keeps only public addresses.
struct GuardedResolver;

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let addresses: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let public: Vec<SocketAddr> = addresses.into_iter().filter(|a| is_public(a.ip())).collect();
            if public.is_empty() {
                return Err(format!("{host} resolves only to private addresses, which are refused").into());
            }
            Ok(Box::new(public.into_iter()) as Addrs)
        })
    }
}

/// An HTTP client for remotes: timeouts, at most 5 redirects each re-checked, and the DNS guard
/// unless private remotes are allowed.
pub fn client(allow_private: bool, timeout: Duration) -> reqwest::Client {
    let redirects = reqwest::redirect::Policy::custom(move |attempt| {
        if attempt.previous().len() >= 5 {
            attempt.error("too many redirects")
        } else if attempt.url().scheme() != "https" && !allow_private {
            attempt.error("redirect to a non-https address refused")
        } else if check_host(attempt.url(), allow_private).is_err() {
            attempt.error("redirect to a private address refused")
        } else {
            attempt.follow()
        }
    });
    let mut builder = reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(Duration::from_secs(5).min(timeout))
        .redirect(redirects)
        // A proxy from the environment would resolve names itself, past the DNS guard.
        .no_proxy()
        .user_agent(concat!("Koppel/", env!("CARGO_PKG_VERSION")));
    if !allow_private {
        builder = builder.dns_resolver(Arc::new(GuardedResolver));
    }
    builder.build().expect("a TLS backend is compiled in")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_and_loopback_targets_are_refused_in_every_form() {
        for url in [
            "https://127.0.0.1/",
            "https://127.1/",
            "https://2130706433/",
            "https://0x7f.0.0.1/",
            "https://0177.0.0.1/",
            "https://10.0.0.8/",
            "https://172.16.5.4/",
            "https://192.168.1.1/",
            "https://169.254.169.254/latest/meta-data/",
            "https://100.64.0.1/",
            "https://0.0.0.0/",
            "https://[::1]/",
            "https://[::]/",
            "https://[fd00::1]/",
            "https://[fe80::1]/",
            "https://[::ffff:127.0.0.1]/",
            "https://[::ffff:a9fe:a9fe]/",
            "https://[64:ff9b::7f00:1]/",
            "https://[2002:7f00:1::]/",
            "https://localhost/",
            "https://api.localhost/",
        ] {
            assert_eq!(check_base_url(url, false), Err(AddressError::Private), "{url}");
            assert!(check_base_url(url, true).is_ok(), "{url} is allowed when private remotes are");
        }
    }

    #[test]
    fn public_https_is_accepted_and_the_rest_is_not() {
        assert!(check_base_url("https://koppel.example.com", false).is_ok());
        assert!(check_base_url("https://93.184.216.34/api", false).is_ok());
        assert!(check_base_url("https://[2606:4700::1111]/", false).is_ok());
        assert_eq!(check_base_url("http://koppel.example.com", false), Err(AddressError::NotHttps));
        assert_eq!(check_base_url("ftp://koppel.example.com", false), Err(AddressError::Malformed));
        assert_eq!(check_base_url("not a url", false), Err(AddressError::Malformed));
        assert_eq!(check_base_url("https://user:pw@koppel.example.com", false), Err(AddressError::HasCredentials));
        assert!(check_base_url("http://127.0.0.1:8080", true).is_ok());
    }

    #[tokio::test]
    async fn names_resolving_to_private_addresses_are_refused_at_connect_time() {
        let client = client(false, Duration::from_secs(5));
        let error = client.get("https://localhost:1/").send().await.unwrap_err();
        let chain = format!("{error:?}");
        assert!(chain.contains("private addresses"), "{chain}");
    }

    /// A server on loopback that answers every request with a redirect to `location`.
    async fn redirecting_to(location: &'static str) -> u16 {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let mut buffer = [0u8; 4096];
                let _ = socket.read(&mut buffer).await;
                let response = format!(
                    "HTTP/1.1 302 Found\r\nlocation: {location}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                );
                let _ = socket.write_all(response.as_bytes()).await;
                let _ = socket.shutdown().await;
            }
        });
        port
    }

    #[tokio::test]
    async fn redirects_are_checked_again() {
        let client = client(false, Duration::from_secs(5));
        for (location, refusal) in [
            ("https://10.0.0.1/", "private address"),
            ("https://[::1]/", "private address"),
            ("http://example.com/", "non-https"),
        ] {
            let port = redirecting_to(location).await;
            // The first hop is a literal loopback address, which only `check_base_url` refuses; the
            // redirect is what is tested here.
            let error = client.get(format!("http://127.0.0.1:{port}/graphql")).send().await.unwrap_err();
            let chain = format!("{error:?}");
            assert!(error.is_redirect(), "{location}: {chain}");
            assert!(chain.contains(refusal), "{location}: {chain}");
        }
    }
}

//! Which exporters spans go to, from OpenTelemetry's standard environment variables.
//!
//! Spec: <https://opentelemetry.io/docs/specs/otel/configuration/sdk-environment-variables/> and
//! <https://opentelemetry.io/docs/specs/otel/protocol/exporter/>. Read:
//! - `OTEL_TRACES_EXPORTER` — a comma-separated list of `xray` (X-Ray segment documents to the daemon,
//!   the default), `otlp`, `otlp-udp`, `none`. Inside Lambda (`AWS_LAMBDA_FUNCTION_NAME` set), `otlp`
//!   without an endpoint means OTLP over UDP to the Lambda X-Ray endpoint, as AWS's distributions do;
//! - `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` (used as is) or `OTEL_EXPORTER_OTLP_ENDPOINT` (+ `/v1/traces`);
//! - `OTEL_EXPORTER_OTLP_TRACES_HEADERS` or `OTEL_EXPORTER_OTLP_HEADERS` (`k=v,k2=v2`, values
//!   percent-decoded; a malformed entry is reported by position, never by its text, which may be a
//!   key; one the exporter writes itself, `content-type` and the like, is a warning and ignored),
//!   `OTEL_EXPORTER_OTLP_TRACES_TIMEOUT` or `OTEL_EXPORTER_OTLP_TIMEOUT` (ms);
//! - `OTEL_EXPORTER_OTLP_TRACES_PROTOCOL` or `OTEL_EXPORTER_OTLP_PROTOCOL` — only `http/protobuf`;
//! - `OTEL_EXPORTER_OTLP_[TRACES_]CERTIFICATE` (PEM certificates trusted for the collector, in place
//!   of the built-in roots), `OTEL_EXPORTER_OTLP_[TRACES_]CLIENT_CERTIFICATE` and
//!   `OTEL_EXPORTER_OTLP_[TRACES_]CLIENT_KEY` (PEM, both or neither: mutual TLS); the files are read
//!   here, so a missing one stops `init` naming the variable and path, never the contents, and so
//!   does one that is not a regular file (a directory, a FIFO, `/dev/zero`: refused unopened) or is
//!   larger than 4 MiB (read no further);
//! - `AWS_XRAY_DAEMON_ADDRESS` for both UDP forms;
//!
//! As the SDK environment variable spec asks: an empty value is unset; exporter and protocol names are
//! case-insensitive; an exporter or protocol this crate does not implement, or a timeout that is not a
//! number, is a [`ConfigWarning`] and the setting is ignored (a list with no known exporter left is
//! treated as unset: `xray`). What stays a [`ConfigError`] is what would send data somewhere it was not
//! meant to go: a malformed header list (an API key written the wrong way), an endpoint that is not a
//! URL, SigV4 over plain http, a TLS file that cannot be read or a client certificate without its key
//! (or the other way round). TLS files given for a plain `http://` endpoint are a warning: nothing
//! would use them;
//! - SigV4 is used for an `https://xray.{region}.amazonaws.com` endpoint (region from the host), or
//!   when `TELEMETRY_OTLP_SIGV4_REGION` names a region (a signing proxy, tests); a signed endpoint must
//!   be `https://` or a loopback `http://` one, since the request carries the session token.

use super::redacted::{RedactedHeaders, redacted_url};
use std::fmt;
use std::time::Duration;

/// One configured exporter. Its `Debug` shows header names, never their values (API keys), and hides
/// a URL's userinfo and query.
#[derive(Clone, PartialEq, Eq)]
pub enum ExporterKind {
    /// X-Ray segment documents over UDP to the daemon.
    Xray {
        /// `AWS_XRAY_DAEMON_ADDRESS`.
        address: String,
    },
    /// OTLP protobuf over UDP (the Lambda distributions' format).
    OtlpUdp {
        /// `AWS_XRAY_DAEMON_ADDRESS`.
        address: String,
    },
    /// OTLP/HTTP protobuf.
    OtlpHttp {
        /// The full `…/v1/traces` URL.
        url: String,
        /// Extra headers.
        headers: Vec<(String, String)>,
        /// Request timeout.
        timeout: Duration,
        /// SigV4 region, when signed for `xray`.
        sigv4_region: Option<String>,
        /// Bodies gzip-compressed (`OTEL_EXPORTER_OTLP_COMPRESSION=gzip`).
        gzip: bool,
        /// Trusted certificates and client identity for `https://` endpoints (boxed: the PEM files'
        /// records would triple every variant's size).
        tls: Box<OtlpTls>,
    },
}

/// TLS settings of the OTLP exporter spec, for a collector behind a private CA or asking for mutual
/// TLS: `OTEL_EXPORTER_OTLP_[TRACES_]CERTIFICATE`, `…CLIENT_CERTIFICATE`, `…CLIENT_KEY`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OtlpTls {
    /// Certificates (PEM) the collector's certificate must chain to, in place of the built-in roots.
    pub trusted: Option<PemFile>,
    /// The client's certificate chain and its private key (PEM), presented for mutual TLS.
    pub client: Option<(PemFile, PemFile)>,
}

impl OtlpTls {
    /// Nothing set: the built-in roots, no client certificate.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.trusted.is_none() && self.client.is_none()
    }
}

/// A PEM file a TLS variable named, read when the configuration was. Its `Debug` shows the variable,
/// the path and the length, never the bytes (a private key).
#[derive(Clone, PartialEq, Eq)]
pub struct PemFile {
    /// The variable that named it.
    pub var: &'static str,
    /// The path, as given.
    pub path: String,
    /// The file's bytes.
    pub pem: Vec<u8>,
}

impl fmt::Debug for PemFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PemFile")
            .field("var", &self.var)
            .field("path", &self.path)
            .field("bytes", &self.pem.len())
            .finish()
    }
}

impl fmt::Debug for ExporterKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Xray { address } => f.debug_struct("Xray").field("address", address).finish(),
            Self::OtlpUdp { address } => f.debug_struct("OtlpUdp").field("address", address).finish(),
            Self::OtlpHttp {
                url,
                headers,
                timeout,
                sigv4_region,
                gzip,
                tls,
            } => f
                .debug_struct("OtlpHttp")
                .field("url", &redacted_url(url))
                .field("headers", &RedactedHeaders(headers))
                .field("timeout", timeout)
                .field("sigv4_region", sigv4_region)
                .field("gzip", gzip)
                .field("tls", tls)
                .finish(),
        }
    }
}

/// An `https://` URL, or an `http://` one to this machine (`localhost`, `127.0.0.0/8`, `[::1]`): the
/// endpoints a request carrying credentials may go to.
fn is_https_or_loopback(url: &str) -> bool {
    if url.starts_with("https://") {
        return true;
    }
    let Some(rest) = url.strip_prefix("http://") else {
        return false;
    };
    let host = Authority::of(rest).host;
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// The authority of a URL (what follows `scheme://`), split: `user@host:port`, `[v6]:port`.
struct Authority<'a> {
    /// The whole authority, up to the first `/`, `?` or `#`.
    text: &'a str,
    /// The host, brackets left out of an IPv6 literal.
    host: &'a str,
    /// The port after the host, when given.
    port: Option<&'a str>,
    /// What follows the authority: path, query, fragment.
    tail: &'a str,
}

impl<'a> Authority<'a> {
    fn of(rest: &'a str) -> Self {
        let (text, tail) = rest.split_at(rest.find(['/', '?', '#']).unwrap_or(rest.len()));
        let host_port = text.rsplit_once('@').map_or(text, |(_, h)| h);
        let (host, port) = match host_port.strip_prefix('[') {
            Some(v6) => {
                let (host, after) = v6.split_once(']').unwrap_or((v6, ""));
                (host, after.strip_prefix(':'))
            }
            None => host_port
                .split_once(':')
                .map_or((host_port, None), |(h, p)| (h, Some(p))),
        };
        Self {
            text,
            host,
            port,
            tail,
        }
    }
}

/// Exporters from the environment.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TraceExportConfig {
    /// In the order named.
    pub exporters: Vec<ExporterKind>,
    /// Settings ignored, for [`init`](crate::lambda::init) to log once the subscriber is up.
    pub warnings: Vec<ConfigWarning>,
}

/// A setting the SDK environment variable spec says to warn about and ignore ("the implementation MUST
/// generate a warning and gracefully ignore the setting"), naming the variable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigWarning {
    /// An exporter name this crate does not implement (`console`, `zipkin`, a typo); skipped.
    #[error(
        "OTEL_TRACES_EXPORTER: exporter {0:?} is not supported (known: xray, otlp, otlp-udp, none); ignored"
    )]
    UnknownExporter(String),
    /// A protocol other than `http/protobuf`; `http/protobuf` is used.
    #[error("{var}: protocol {value:?} is not supported (only http/protobuf); ignored")]
    Protocol {
        /// The variable.
        var: &'static str,
        /// Its value.
        value: String,
    },
    /// A boolean that is neither `true` nor `false` (case-insensitive); read as `false`.
    #[error("{var}: {value:?} is not true or false; read as false")]
    Boolean {
        /// The variable.
        var: &'static str,
        /// Its value.
        value: String,
    },
    /// A compression other than `gzip` or `none`: request bodies are sent uncompressed.
    #[error("{var}: compression {value:?} is not supported (gzip or none); bodies are sent uncompressed")]
    Compression {
        /// The variable.
        var: &'static str,
        /// Its value.
        value: String,
    },
    /// Headers or TLS files set for `otlp` inside Lambda without an endpoint: spans go over OTLP/UDP
    /// to the Lambda X-Ray endpoint, which takes neither.
    #[error(
        "{var}: without OTEL_EXPORTER_OTLP_ENDPOINT, otlp inside Lambda sends OTLP over UDP to the Lambda X-Ray endpoint, which takes no headers or TLS; ignored (set the endpoint to post to a collector)"
    )]
    UnusedOverUdp {
        /// The variable.
        var: &'static str,
    },
    /// TLS files given for a plain `http://` endpoint: no TLS connection would use them.
    #[error("{var}: the OTLP endpoint is plain http://, so this TLS file is not used; ignored")]
    TlsOverHttp {
        /// The first TLS variable set.
        var: &'static str,
    },
    /// A timeout that is not a number of milliseconds; ignored (the general variable, else the
    /// default 10 s, is used).
    #[error("{var}: {value:?} is not a number of milliseconds; ignored")]
    Timeout {
        /// The variable.
        var: &'static str,
        /// Its value.
        value: String,
    },
    /// A header the exporter writes itself (`content-type`, `content-encoding`, `content-length`,
    /// `host`, `transfer-encoding`; with SigV4 also `authorization` and the `x-amz-*` it signs with):
    /// sent twice it would make the collector refuse the request or read the body wrongly; ignored.
    #[error("{var}: header {key:?} is set by the OTLP exporter itself; ignored")]
    ReservedHeader {
        /// The variable.
        var: &'static str,
        /// The header's name as given.
        key: String,
    },
}

/// A configuration the exporters cannot honour safely, naming the variable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// A malformed header list entry. The entry's text is never carried: it may be a credential
    /// written the wrong way (`Authorization: Bearer sk-…`); only its position, and its key when
    /// the key is a valid header name.
    #[error("{var}: entry {position} {problem}")]
    Header {
        /// The variable.
        var: &'static str,
        /// The entry's position in the comma-separated list, from 1.
        position: usize,
        /// What is wrong with it.
        problem: HeaderProblem,
    },
    /// SigV4 signing asked for an `http://` endpoint that is not on this machine: the signed request
    /// would carry the function's session token (`x-amz-security-token`) in clear.
    #[error(
        "{var}: {value:?} would be SigV4-signed over plain http; use https:// (http:// only to a loopback collector)"
    )]
    InsecureSigning {
        /// The variable.
        var: &'static str,
        /// Its value, userinfo and query `<redacted>`.
        value: String,
    },
    /// An endpoint that is not an http(s) URL.
    #[error("{var}: {value:?} is not an http:// or https:// URL")]
    Endpoint {
        /// The variable.
        var: &'static str,
        /// Its value, userinfo and query `<redacted>`.
        value: String,
    },
    /// A TLS file that cannot be read, is not a regular file, or is larger than 4 MiB. Exporting
    /// without it would either trust the wrong certificates or present none, so the exporter is not
    /// built.
    #[error("{var}: cannot read {path:?}: {reason}")]
    TlsFile {
        /// The variable.
        var: &'static str,
        /// The path it names.
        path: String,
        /// The operating system's reason, or which limit the file breaks.
        reason: String,
    },
    /// A client certificate without its private key, or a key without its certificate: mutual TLS
    /// needs both.
    #[error("{given} is set but {missing} is not: mutual TLS needs the client certificate and its key")]
    TlsPair {
        /// The variable that is set.
        given: &'static str,
        /// The one missing.
        missing: &'static str,
    },
}

/// What is wrong with one `OTEL_EXPORTER_OTLP_HEADERS` entry; see [`ConfigError::Header`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeaderProblem {
    /// No `=` in the entry.
    #[error("has no '=' (the format is key=value)")]
    NoEquals,
    /// No `=` but a `:`: a header written the HTTP way, `Name: value`.
    #[error("has no '=' (the format is key=value, not key: value)")]
    Colon,
    /// Nothing before the `=`.
    #[error("has an empty key")]
    EmptyKey,
    /// The key is not an HTTP header name (RFC 9110 token).
    #[error("has a key that is not an HTTP header name")]
    InvalidKey,
    /// The decoded value has a control character (CR, LF, NUL…) an HTTP header value cannot hold.
    #[error("({key}) has a value that is not a valid HTTP header value")]
    InvalidValue {
        /// The entry's key, a valid header name.
        key: String,
    },
}

/// An HTTP header name: an RFC 9110 token.
fn is_header_name(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// An HTTP header value as the `http` crate accepts it: no control character but tab.
fn is_header_value(s: &str) -> bool {
    s.bytes().all(|b| b == b'\t' || (b >= 0x20 && b != 0x7f))
}

/// Adds `warning` unless the same one is there already (a variable read for several exporters warns
/// once).
fn warn_once(warnings: &mut Vec<ConfigWarning>, warning: ConfigWarning) {
    if !warnings.contains(&warning) {
        warnings.push(warning);
    }
}

/// An OTLP/HTTP endpoint as the exporter posts to it, or `None` when `value` is not an absolute
/// `http`/`https` URL with a host (the scheme in any case, RFC 3986 §3.1; written lowercase). A
/// base URL (`OTEL_EXPORTER_OTLP_ENDPOINT`, `base`) gets `v1/traces` after its path, before any
/// query or fragment (OTLP exporter spec, "Endpoint URLs for OTLP/HTTP"); a signal's own URL is
/// used as it is.
fn endpoint_url(value: &str, base: bool) -> Option<String> {
    let (scheme, rest) = value.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "http" && scheme != "https" {
        return None;
    }
    let Authority {
        text: authority,
        host,
        port,
        tail,
    } = Authority::of(rest);
    let printable = |t: &str| t.bytes().all(|b| b.is_ascii_graphic());
    if host.is_empty()
        || !printable(authority)
        || !printable(tail)
        || port.is_some_and(|p| p.parse::<u16>().is_err())
    {
        return None;
    }
    if !base {
        return Some(format!("{scheme}://{rest}"));
    }
    let path_end = tail.find(['?', '#']).unwrap_or(tail.len());
    let (path, after) = tail.split_at(path_end);
    Some(format!(
        "{scheme}://{authority}{}/v1/traces{after}",
        path.trim_end_matches('/')
    ))
}

/// Decodes RFC 3986 `pct-encoded` bytes: `%` and exactly two ASCII hex digits (not a sign, which
/// `u8::from_str_radix` would take: `%+5` is not byte 5). Anything else stays as written.
pub(crate) fn percent_decode(s: &str) -> String {
    String::from_utf8_lossy(&percent_decoded_bytes(s, false).unwrap_or_default()).into_owned()
}

/// `s` percent-decoded, or `None` when a `%` is not followed by two hex digits or the bytes decoded
/// are not UTF-8: the strict reading `OTEL_RESOURCE_ATTRIBUTES` needs, where "any error, e.g.
/// failure during the decoding process" discards the whole value (resource SDK spec).
pub(crate) fn percent_decode_exact(s: &str) -> Option<String> {
    String::from_utf8(percent_decoded_bytes(s, true)?).ok()
}

/// The bytes of `s` with each `%XX` decoded; a `%` without two hex digits after it is kept as it is,
/// or gives `None` when `strict`.
fn percent_decoded_bytes(s: &str, strict: bool) -> Option<Vec<u8>> {
    fn hex(b: u8) -> Option<u8> {
        match b {
            b'0'..=b'9' => Some(b - b'0'),
            b'a'..=b'f' => Some(b - b'a' + 10),
            b'A'..=b'F' => Some(b - b'A' + 10),
            _ => None,
        }
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            if let Some(&[hi, lo]) = bytes.get(i + 1..i + 3)
                && let (Some(hi), Some(lo)) = (hex(hi), hex(lo))
            {
                out.push((hi << 4) | lo);
                i += 3;
                continue;
            }
            if strict {
                return None;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    Some(out)
}

/// The region of an X-Ray OTLP endpoint (`https://xray.{region}.amazonaws.com/...`).
///
/// ```
/// assert_eq!(telemetry::otel::config::xray_endpoint_region("https://xray.eu-west-1.amazonaws.com/v1/traces").as_deref(), Some("eu-west-1"));
/// assert_eq!(telemetry::otel::config::xray_endpoint_region("https://collector:4318/v1/traces"), None);
/// ```
#[must_use]
pub fn xray_endpoint_region(url: &str) -> Option<String> {
    let host = url.strip_prefix("https://")?.split(['/', ':']).next()?;
    let region = host.strip_prefix("xray.")?.strip_suffix(".amazonaws.com")?;
    (!region.is_empty() && region.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
        .then(|| region.to_owned())
}

impl TraceExportConfig {
    /// Reads the process environment.
    ///
    /// # Errors
    /// See [`from_lookup`](Self::from_lookup).
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Reads through `lookup` (tests pass a map).
    ///
    /// ```
    /// use telemetry::otel::{ExporterKind, TraceExportConfig};
    /// let c = TraceExportConfig::from_lookup(|k| match k {
    ///     "OTEL_TRACES_EXPORTER" => Some("otlp".into()),
    ///     "OTEL_EXPORTER_OTLP_ENDPOINT" => Some("https://xray.eu-west-1.amazonaws.com".into()),
    ///     _ => None,
    /// })?;
    /// assert!(matches!(&c.exporters[0], ExporterKind::OtlpHttp { url, sigv4_region: Some(r), .. }
    ///     if url == "https://xray.eu-west-1.amazonaws.com/v1/traces" && r == "eu-west-1"));
    /// # Ok::<(), telemetry::otel::ConfigError>(())
    /// ```
    ///
    /// # Errors
    /// A malformed header list or endpoint, or SigV4 to a plain-http remote endpoint. Unknown exporters
    /// and protocols and an unparsable timeout are [`warnings`](Self::warnings) instead.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |k: &str| lookup(k).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let first =
            |a: &'static str, b: &'static str| get(a).map(|v| (a, v)).or_else(|| get(b).map(|v| (b, v)));
        let address =
            get("AWS_XRAY_DAEMON_ADDRESS").unwrap_or_else(|| crate::xray::DEFAULT_DAEMON_ADDRESS.to_owned());
        let in_lambda = get("AWS_LAMBDA_FUNCTION_NAME").is_some();
        let mut warnings = Vec::new();
        // "a no-op SDK implementation will be used for all telemetry signals": no span is exported.
        // Logs and EMF metrics are not OpenTelemetry signals here and keep working.
        match get("OTEL_SDK_DISABLED") {
            Some(v) if v.eq_ignore_ascii_case("true") => {
                return Ok(Self {
                    exporters: Vec::new(),
                    warnings,
                });
            }
            Some(v) if !v.eq_ignore_ascii_case("false") => warnings.push(ConfigWarning::Boolean {
                var: "OTEL_SDK_DISABLED",
                value: v,
            }),
            _ => {}
        }
        let names = get("OTEL_TRACES_EXPORTER").map(|v| v.to_ascii_lowercase());
        let mut named: Vec<&str> = Vec::new();
        for name in names.iter().flat_map(|n| n.split(',')).map(str::trim) {
            match name {
                "" => {}
                "none" | "xray" | "otlp-udp" | "otlp" => named.push(name),
                other => warnings.push(ConfigWarning::UnknownExporter(other.to_owned())),
            }
        }
        // Nothing recognised: the setting is ignored, as if unset.
        if named.is_empty() {
            named.push("xray");
        }
        let mut exporters = Vec::new();
        for name in named {
            let kind = match name {
                "none" => continue,
                "xray" => ExporterKind::Xray {
                    address: address.clone(),
                },
                "otlp-udp" => ExporterKind::OtlpUdp {
                    address: address.clone(),
                },
                "otlp" => {
                    if let Some((var, p)) = first(
                        "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
                        "OTEL_EXPORTER_OTLP_PROTOCOL",
                    ) && !p.eq_ignore_ascii_case("http/protobuf")
                    {
                        warn_once(&mut warnings, ConfigWarning::Protocol { var, value: p });
                    }
                    // The OTLP exporter spec's two compressions, `gzip` and `none` (the default).
                    let gzip = match first(
                        "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION",
                        "OTEL_EXPORTER_OTLP_COMPRESSION",
                    ) {
                        Some((_, c)) if c.trim().eq_ignore_ascii_case("gzip") => true,
                        Some((var, c)) if !c.trim().eq_ignore_ascii_case("none") => {
                            warn_once(&mut warnings, ConfigWarning::Compression { var, value: c });
                            false
                        }
                        _ => false,
                    };
                    let url = match (
                        get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"),
                        get("OTEL_EXPORTER_OTLP_ENDPOINT"),
                    ) {
                        (Some(u), _) => Some(("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", u, false)),
                        (None, Some(base)) => Some(("OTEL_EXPORTER_OTLP_ENDPOINT", base, true)),
                        (None, None) => None,
                    };
                    let url = url
                        .map(|(var, u, base)| {
                            endpoint_url(&u, base).map(|url| (var, url)).ok_or_else(|| {
                                ConfigError::Endpoint {
                                    var,
                                    value: redacted_url(&u),
                                }
                            })
                        })
                        .transpose()?;
                    match url {
                        None if in_lambda => {
                            // Headers and TLS files meant for a collector: not sent anywhere, said so.
                            for (a, b) in [
                                ("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "OTEL_EXPORTER_OTLP_HEADERS"),
                                (
                                    "OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE",
                                    "OTEL_EXPORTER_OTLP_CERTIFICATE",
                                ),
                                (
                                    "OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE",
                                    "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE",
                                ),
                                (
                                    "OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY",
                                    "OTEL_EXPORTER_OTLP_CLIENT_KEY",
                                ),
                            ] {
                                if let Some((var, _)) = first(a, b) {
                                    warn_once(&mut warnings, ConfigWarning::UnusedOverUdp { var });
                                }
                            }
                            ExporterKind::OtlpUdp {
                                address: address.clone(),
                            }
                        }
                        None => {
                            let url = "http://localhost:4318/v1/traces".to_owned();
                            let sigv4_region = get("TELEMETRY_OTLP_SIGV4_REGION");
                            ExporterKind::OtlpHttp {
                                tls: Box::new(tls(&first, &url, &mut warnings)?),
                                url,
                                headers: headers(&first, sigv4_region.is_some(), &mut warnings)?,
                                timeout: timeout(&get, &mut warnings),
                                sigv4_region,
                                gzip,
                            }
                        }
                        Some((var, url)) => {
                            let sigv4_region =
                                get("TELEMETRY_OTLP_SIGV4_REGION").or_else(|| xray_endpoint_region(&url));
                            // A signed request carries the function's session token in a header.
                            if sigv4_region.is_some() && !is_https_or_loopback(&url) {
                                return Err(ConfigError::InsecureSigning {
                                    var,
                                    value: redacted_url(&url),
                                });
                            }
                            ExporterKind::OtlpHttp {
                                tls: Box::new(tls(&first, &url, &mut warnings)?),
                                headers: headers(&first, sigv4_region.is_some(), &mut warnings)?,
                                sigv4_region,
                                url,
                                timeout: timeout(&get, &mut warnings),
                                gzip,
                            }
                        }
                    }
                }
                _ => continue,
            };
            if !exporters.contains(&kind) {
                exporters.push(kind);
            }
        }
        Ok(Self { exporters, warnings })
    }
}

/// Why the configured exporters could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ExporterBuildError {
    /// The configuration names an exporter this build left out.
    #[error("exporter {exporter} needs telemetry's `{feature}` feature")]
    NotCompiled {
        /// The exporter.
        exporter: &'static str,
        /// The cargo feature.
        feature: &'static str,
    },
    /// A UDP socket for `address` could not be set up.
    #[error("UDP exporter to {address:?}: {source}")]
    Udp {
        /// `AWS_XRAY_DAEMON_ADDRESS`.
        address: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The OTLP/HTTP exporter could not start.
    #[cfg(feature = "otlp-http")]
    #[error(transparent)]
    Http(#[from] super::http::HttpExportError),
}

/// The sinks [`TraceExportConfig::build`] set up, and the UDP exporters it could not.
#[derive(Debug)]
pub struct BuiltExporters {
    /// The exporters that work, in order.
    pub sinks: crate::xray::SpanSinks,
    /// Exporters left out — a UDP one whose `AWS_XRAY_DAEMON_ADDRESS` did not resolve or whose socket
    /// could not be bound, one this build was compiled without: their spans are lost, requests and the
    /// other exporters' spans are not (`init` logs each as a warning).
    pub unavailable: Vec<ExporterBuildError>,
}

impl TraceExportConfig {
    /// Builds the sinks, in order. `resource` describes the function for the OTLP exporters.
    ///
    /// ```
    /// use telemetry::otel::{ExporterKind, TraceExportConfig};
    /// let config = TraceExportConfig {
    ///     exporters: vec![ExporterKind::Xray { address: "daemon-without-port".into() }],
    ///     ..Default::default()
    /// };
    /// let built = config.build(&opentelemetry_sdk::Resource::builder_empty().build())?;
    /// assert!(built.sinks.is_empty());
    /// assert_eq!(built.unavailable.len(), 1);
    /// # Ok::<(), telemetry::otel::ExporterBuildError>(())
    /// ```
    ///
    /// # Errors
    /// The OTLP/HTTP exporter's thread cannot start. A UDP exporter whose address does not resolve, and
    /// an exporter this build does not have (a feature left out), are
    /// [`unavailable`](BuiltExporters::unavailable), not errors: the others still export.
    pub fn build(
        &self,
        resource: &opentelemetry_sdk::Resource,
    ) -> Result<BuiltExporters, ExporterBuildError> {
        let mut sinks = crate::xray::SpanSinks::new();
        let mut unavailable = Vec::new();
        let udp_error = |address: &String, source| ExporterBuildError::Udp {
            address: address.clone(),
            source,
        };
        for kind in &self.exporters {
            sinks = match kind {
                ExporterKind::Xray { address } => match crate::xray::UdpDaemonSink::new(address) {
                    Ok(sink) => sinks.with(crate::xray::XraySegmentExporter::new(sink)),
                    Err(source) => {
                        unavailable.push(udp_error(address, source));
                        sinks
                    }
                },
                #[cfg(feature = "otlp")]
                ExporterKind::OtlpUdp { address } => {
                    match super::otlp::OtlpUdpExporter::new(address, resource.clone()) {
                        Ok(exporter) => sinks.with(exporter),
                        Err(source) => {
                            unavailable.push(udp_error(address, source));
                            sinks
                        }
                    }
                }
                // An exporter this build lacks loses its own spans, not the others' (`xray,otlp-udp`
                // on a function built without `otlp` still exports to the daemon).
                #[cfg(not(feature = "otlp"))]
                ExporterKind::OtlpUdp { .. } => {
                    unavailable.push(ExporterBuildError::NotCompiled {
                        exporter: "otlp-udp",
                        feature: "otlp",
                    });
                    sinks
                }
                #[cfg(feature = "otlp-http")]
                ExporterKind::OtlpHttp {
                    url,
                    headers,
                    timeout,
                    sigv4_region,
                    gzip,
                    tls,
                } => {
                    #[cfg(not(feature = "sigv4"))]
                    if sigv4_region.is_some() {
                        unavailable.push(ExporterBuildError::NotCompiled {
                            exporter: "otlp (SigV4)",
                            feature: "sigv4",
                        });
                        continue;
                    }
                    let mut target = super::http::HttpTarget::new(url.clone());
                    target.headers.clone_from(headers);
                    target.timeout = *timeout;
                    target.sigv4_region.clone_from(sigv4_region);
                    target.gzip = *gzip;
                    target.tls = OtlpTls::clone(tls);
                    sinks.with(super::http::OtlpHttpExporter::new(target, resource)?)
                }
                #[cfg(not(feature = "otlp-http"))]
                ExporterKind::OtlpHttp { .. } => {
                    unavailable.push(ExporterBuildError::NotCompiled {
                        exporter: "otlp (HTTP)",
                        feature: "otlp-http",
                    });
                    sinks
                }
            };
        }
        #[cfg(not(feature = "otlp"))]
        let _ = resource;
        Ok(BuiltExporters { sinks, unavailable })
    }
}

fn headers(
    first: &impl Fn(&'static str, &'static str) -> Option<(&'static str, String)>,
    signed: bool,
    warnings: &mut Vec<ConfigWarning>,
) -> Result<Vec<(String, String)>, ConfigError> {
    let Some((var, list)) = first("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "OTEL_EXPORTER_OTLP_HEADERS") else {
        return Ok(Vec::new());
    };
    let mut all: Vec<(String, String)> = list
        .split(',')
        .enumerate()
        .filter(|(_, e)| !e.trim().is_empty())
        .map(|(i, entry)| {
            let error = |problem| ConfigError::Header {
                var,
                position: i + 1,
                problem,
            };
            let (k, v) = entry.split_once('=').ok_or_else(|| {
                error(if entry.contains(':') {
                    HeaderProblem::Colon
                } else {
                    HeaderProblem::NoEquals
                })
            })?;
            let k = percent_decode(k.trim());
            if k.is_empty() {
                return Err(error(HeaderProblem::EmptyKey));
            }
            if !is_header_name(&k) {
                return Err(error(HeaderProblem::InvalidKey));
            }
            let v = percent_decode(v.trim());
            if !is_header_value(&v) {
                return Err(error(HeaderProblem::InvalidValue { key: k }));
            }
            Ok((k, v))
        })
        .collect::<Result<_, _>>()?;
    all.retain(|(k, _)| {
        let reserved = is_reserved_header(k, signed);
        if reserved {
            warn_once(warnings, ConfigWarning::ReservedHeader { var, key: k.clone() });
        }
        !reserved
    });
    Ok(all)
}

/// Whether the OTLP/HTTP exporter writes header `name` itself (the body's framing and type; with
/// SigV4 the signature and what it signs), so a configured one would go out twice.
fn is_reserved_header(name: &str, signed: bool) -> bool {
    const FRAMING: &[&str] = &[
        "content-type",
        "content-encoding",
        "content-length",
        "host",
        "transfer-encoding",
    ];
    const SIGV4: &[&str] = &[
        "authorization",
        "x-amz-date",
        "x-amz-security-token",
        "x-amz-content-sha256",
    ];
    FRAMING.iter().any(|r| name.eq_ignore_ascii_case(r))
        || (signed && SIGV4.iter().any(|r| name.eq_ignore_ascii_case(r)))
}

/// The TLS files, each variable read on its own (the signal's before the general one), for an
/// `https://` endpoint; for a plain `http://` one they are a warning and left out.
fn tls(
    first: &impl Fn(&'static str, &'static str) -> Option<(&'static str, String)>,
    url: &str,
    warnings: &mut Vec<ConfigWarning>,
) -> Result<OtlpTls, ConfigError> {
    const CERT: &str = "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE";
    const KEY: &str = "OTEL_EXPORTER_OTLP_CLIENT_KEY";
    let trusted = first(
        "OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE",
        "OTEL_EXPORTER_OTLP_CERTIFICATE",
    );
    let cert = first("OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE", CERT);
    let key = first("OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY", KEY);
    if !url.starts_with("https://") {
        if let Some((var, _)) = trusted.as_ref().or(cert.as_ref()).or(key.as_ref()) {
            warn_once(warnings, ConfigWarning::TlsOverHttp { var });
        }
        return Ok(OtlpTls::default());
    }
    let read =
        |named: Option<(&'static str, String)>| named.map(|(var, path)| read_pem(var, path)).transpose();
    let client = match (read(cert)?, read(key)?) {
        (Some(cert), Some(key)) => Some((cert, key)),
        (None, None) => None,
        (Some(cert), None) => {
            return Err(ConfigError::TlsPair {
                given: cert.var,
                missing: KEY,
            });
        }
        (None, Some(key)) => {
            return Err(ConfigError::TlsPair {
                given: key.var,
                missing: CERT,
            });
        }
    };
    Ok(OtlpTls {
        trusted: read(trusted)?,
        client,
    })
}

/// The most a TLS file may hold: 4 MiB, some twenty times the whole Mozilla CA bundle (~220 KB). A
/// larger file is a wrong path, not a certificate list, and reading it would only use up memory.
const TLS_FILE_LIMIT: u64 = 4 * 1024 * 1024;

/// Reads the PEM file `path` that `var` names: a regular file (a symbolic link to one counts, as
/// Kubernetes mounts secrets) of at most [`TLS_FILE_LIMIT`] bytes. The kind is checked before the file
/// is opened, since a device (`/dev/zero`) never ends and opening some has effects, and again on the
/// opened file ([`open_regular`]), since the path may be replaced between the two; the read is bounded
/// all the same, as a file may grow while it is read.
fn read_pem(var: &'static str, path: String) -> Result<PemFile, ConfigError> {
    use std::io::Read as _;
    let refuse = |path, reason| Err(ConfigError::TlsFile { var, path, reason });
    let kind = match std::fs::metadata(&path) {
        Ok(metadata) => metadata.file_type(),
        Err(e) => return refuse(path, e.to_string()),
    };
    if !kind.is_file() {
        return refuse(path, format!("not a regular file but {}", file_kind(kind)));
    }
    let file = match open_regular(&path) {
        Ok(file) => file,
        Err(reason) => return refuse(path, reason),
    };
    let mut pem = Vec::new();
    match file.take(TLS_FILE_LIMIT + 1).read_to_end(&mut pem) {
        Err(e) => refuse(path, e.to_string()),
        Ok(_) if pem.len() as u64 > TLS_FILE_LIMIT => refuse(
            path,
            format!(
                "larger than {} MiB, the limit for a PEM file",
                TLS_FILE_LIMIT >> 20
            ),
        ),
        Ok(_) => Ok(PemFile { var, path, pem }),
    }
}

/// Opens `path` for reading if what it names *now* is a regular file. On Unix the open does not wait
/// (`O_NONBLOCK`: a FIFO put where the checked file was would otherwise block `init` until a writer
/// came) and the kind is read from the opened file itself, so nothing can be swapped in between the
/// check and the read. `O_NONBLOCK` changes nothing for a regular file's reads.
fn open_regular(path: &str) -> Result<std::fs::File, String> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY);
    }
    let file = options.open(path).map_err(|e| e.to_string())?;
    let kind = file.metadata().map_err(|e| e.to_string())?.file_type();
    if kind.is_file() {
        Ok(file)
    } else {
        Err(format!("not a regular file but {}", file_kind(kind)))
    }
}

/// What a path that is not a regular file is, for [`read_pem`]'s error.
fn file_kind(kind: std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt as _;
        if kind.is_fifo() {
            return "a FIFO";
        }
        if kind.is_char_device() {
            return "a character device";
        }
        if kind.is_block_device() {
            return "a block device";
        }
        if kind.is_socket() {
            return "a socket";
        }
    }
    if kind.is_dir() {
        "a directory"
    } else {
        "something else"
    }
}

/// The OTLP timeout, default 10 s: the signal's own variable, else the general one. An unparsable
/// value warns and is treated as not set (the spec's rule for numeric variables), so the other one
/// still counts; `0` means no limit (the spec's "Timeout" type), which is [`NO_TIMEOUT`].
fn timeout(get: &impl Fn(&str) -> Option<String>, warnings: &mut Vec<ConfigWarning>) -> Duration {
    const DEFAULT: Duration = Duration::from_secs(10);
    let read = |var: &'static str, warnings: &mut Vec<ConfigWarning>| {
        let v = get(var)?;
        match v.parse::<u64>() {
            Ok(0) => Some(NO_TIMEOUT),
            Ok(ms) => Some(Duration::from_millis(ms)),
            Err(_) => {
                warn_once(warnings, ConfigWarning::Timeout { var, value: v });
                None
            }
        }
    };
    read("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", warnings)
        .or_else(|| read("OTEL_EXPORTER_OTLP_TIMEOUT", warnings))
        .unwrap_or(DEFAULT)
}

/// What a timeout of `0` ("no limit") becomes: a Lambda invocation's longest run, 15 minutes. A
/// flush before the process freezes still waits no longer than the invocation's deadline.
pub const NO_TIMEOUT: Duration = Duration::from_secs(15 * 60);

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Result<TraceExportConfig, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        TraceExportConfig::from_lookup(|k| map.get(k).cloned())
    }

    /// A function built without an exporter's feature (CollectIQ's functions have neither `otlp-http`
    /// nor `sigv4`) and configured with it beside X-Ray lost every exporter: `build` failed and `init`
    /// kept none. The one it lacks is unavailable (a warning); the daemon still gets the spans.
    #[cfg(all(feature = "otlp", not(feature = "otlp-http")))]
    #[test]
    fn an_exporter_not_compiled_in_leaves_the_others_exporting() {
        let c = config(&[
            ("OTEL_TRACES_EXPORTER", "xray,otlp"),
            (
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                "http://127.0.0.1:4318/v1/traces",
            ),
        ])
        .unwrap();
        assert_eq!(c.exporters.len(), 2, "{:?}", c.exporters);
        let built = c
            .build(&opentelemetry_sdk::Resource::builder_empty().build())
            .unwrap();
        assert!(!built.sinks.is_empty(), "the daemon's exporter is kept");
        assert!(matches!(
            built.unavailable.as_slice(),
            [ExporterBuildError::NotCompiled {
                feature: "otlp-http",
                ..
            }]
        ));
    }

    #[test]
    fn defaults_and_lambda_rules() {
        assert_eq!(
            config(&[]).unwrap().exporters,
            [ExporterKind::Xray {
                address: "127.0.0.1:2000".into()
            }]
        );
        // Inside Lambda, `otlp` without an endpoint is UDP to the daemon address (AWS's distributions).
        let c = config(&[
            ("OTEL_TRACES_EXPORTER", "otlp"),
            ("AWS_LAMBDA_FUNCTION_NAME", "f"),
            ("AWS_XRAY_DAEMON_ADDRESS", "169.254.79.129:2000"),
        ])
        .unwrap();
        assert_eq!(
            c.exporters,
            [ExporterKind::OtlpUdp {
                address: "169.254.79.129:2000".into()
            }]
        );
        assert!(
            config(&[("OTEL_TRACES_EXPORTER", "none")])
                .unwrap()
                .exporters
                .is_empty()
        );
    }

    fn otlp(vars: &[(&str, &str)]) -> Result<(String, Duration), ConfigError> {
        let mut all = vec![("OTEL_TRACES_EXPORTER", "otlp")];
        all.extend_from_slice(vars);
        match config(&all)?.exporters.as_slice() {
            [ExporterKind::OtlpHttp { url, timeout, .. }] => Ok((url.clone(), *timeout)),
            other => panic!("{other:?}"),
        }
    }

    /// The OTLP exporter spec's endpoint rules: a base URL gets `v1/traces` after its path (before a
    /// query), a signal's URL is used as it is, the scheme is case-insensitive (RFC 3986 §3.1), and
    /// something that is no http(s) URL with a host fails `init` instead of dropping every batch.
    #[test]
    fn endpoints_are_urls() {
        let base = |u: &str| otlp(&[("OTEL_EXPORTER_OTLP_ENDPOINT", u)]).map(|(url, _)| url);
        assert_eq!(
            base("HTTPS://collector:4318").unwrap(),
            "https://collector:4318/v1/traces"
        );
        assert_eq!(base("http://c:4318/x/").unwrap(), "http://c:4318/x/v1/traces");
        assert_eq!(
            base("http://c:4318?tenant=a").unwrap(),
            "http://c:4318/v1/traces?tenant=a"
        );
        assert_eq!(base("http://[::1]:4318").unwrap(), "http://[::1]:4318/v1/traces");
        let signal = otlp(&[("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "Http://c:4318/custom?x=1")]).unwrap();
        assert_eq!(signal.0, "http://c:4318/custom?x=1");
        for bad in [
            "http://",
            "http://bad host:4318",
            "collector:4318",
            "ftp://c",
            "http://c:99999",
            "http://:4318/",
        ] {
            assert!(
                matches!(
                    base(bad),
                    Err(ConfigError::Endpoint {
                        var: "OTEL_EXPORTER_OTLP_ENDPOINT",
                        ..
                    })
                ),
                "{bad:?}"
            );
        }
    }

    /// `0` is "no limit" (the spec's Timeout type); an unparsable signal timeout is treated as not
    /// set, so the general one still counts.
    #[test]
    fn timeouts_follow_the_spec() {
        let t = |vars: &[(&str, &str)]| otlp(vars).unwrap().1;
        assert_eq!(t(&[]), Duration::from_secs(10));
        assert_eq!(t(&[("OTEL_EXPORTER_OTLP_TIMEOUT", "0")]), NO_TIMEOUT);
        assert_eq!(
            t(&[
                ("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "5s"),
                ("OTEL_EXPORTER_OTLP_TIMEOUT", "3000")
            ]),
            Duration::from_millis(3000)
        );
        assert_eq!(
            t(&[
                ("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "2500"),
                ("OTEL_EXPORTER_OTLP_TIMEOUT", "3000")
            ]),
            Duration::from_millis(2500)
        );
        let c = config(&[
            ("OTEL_TRACES_EXPORTER", "otlp"),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "soon"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"),
        ])
        .unwrap();
        assert_eq!(c.warnings.len(), 1, "{:?}", c.warnings);
    }

    #[test]
    fn otlp_http_settings() {
        let c = config(&[
            ("OTEL_TRACES_EXPORTER", "xray, otlp"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318/"),
            ("OTEL_EXPORTER_OTLP_HEADERS", "api-key=a%3Db,tenant = t1"),
            ("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "2500"),
        ])
        .unwrap();
        assert_eq!(c.exporters.len(), 2);
        assert_eq!(
            c.exporters[1],
            ExporterKind::OtlpHttp {
                url: "http://collector:4318/v1/traces".into(),
                headers: vec![("api-key".into(), "a=b".into()), ("tenant".into(), "t1".into())],
                timeout: Duration::from_millis(2500),
                sigv4_region: None,
                gzip: false,
                tls: Box::default(),
            }
        );
        // The signal-specific endpoint is used as is.
        let c = config(&[
            ("OTEL_TRACES_EXPORTER", "otlp"),
            (
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                "https://xray.us-east-1.amazonaws.com/v1/traces",
            ),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://ignored:4318"),
        ])
        .unwrap();
        assert!(
            matches!(&c.exporters[0], ExporterKind::OtlpHttp { url, sigv4_region: Some(r), .. }
            if url == "https://xray.us-east-1.amazonaws.com/v1/traces" && r == "us-east-1")
        );
    }

    /// The exporter's own headers are not sent twice: a configured `Content-Type` would make a second
    /// one (the collector refuses the body or reads it as JSON), a configured `Authorization` beside
    /// the SigV4 signature a second credential.
    #[test]
    fn headers_the_exporter_writes_are_ignored_with_a_warning() {
        let headers_of = |c: &TraceExportConfig| match &c.exporters[0] {
            ExporterKind::OtlpHttp { headers, .. } => headers.clone(),
            other => panic!("{other:?}"),
        };
        let list = "Content-Type=application/json,x-api-key=k-1,authorization=Bearer t,Content-Encoding=br";
        let c = config(&[
            ("OTEL_TRACES_EXPORTER", "otlp"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318"),
            ("OTEL_EXPORTER_OTLP_HEADERS", list),
        ])
        .unwrap();
        assert_eq!(
            headers_of(&c),
            [
                ("x-api-key".into(), "k-1".into()),
                ("authorization".into(), "Bearer t".into())
            ]
        );
        let text: Vec<String> = c.warnings.iter().map(ToString::to_string).collect();
        assert_eq!(
            text,
            [
                "OTEL_EXPORTER_OTLP_HEADERS: header \"Content-Type\" is set by the OTLP exporter itself; ignored",
                "OTEL_EXPORTER_OTLP_HEADERS: header \"Content-Encoding\" is set by the OTLP exporter itself; ignored",
            ]
        );
        // Signed for X-Ray's OTLP endpoint: the configured credential goes too.
        let c = config(&[
            ("OTEL_TRACES_EXPORTER", "otlp"),
            (
                "OTEL_EXPORTER_OTLP_ENDPOINT",
                "https://xray.eu-west-1.amazonaws.com",
            ),
            ("OTEL_EXPORTER_OTLP_TRACES_HEADERS", list),
        ])
        .unwrap();
        assert_eq!(headers_of(&c), [(String::from("x-api-key"), String::from("k-1"))]);
        assert_eq!(c.warnings.len(), 3, "{:?}", c.warnings);
    }

    #[test]
    fn debug_shows_header_names_not_values() {
        let c = config(&[
            ("OTEL_TRACES_EXPORTER", "otlp"),
            (
                "OTEL_EXPORTER_OTLP_ENDPOINT",
                "https://user:pw-secret@collector:4318/?token=q-secret",
            ),
            ("OTEL_EXPORTER_OTLP_HEADERS", "api-key=sk-secret,tenant=t1"),
        ])
        .unwrap();
        let debug = format!("{c:?}");
        for secret in ["sk-secret", "t1", "pw-secret", "q-secret"] {
            assert!(!debug.contains(secret), "{secret} in {debug}");
        }
        assert!(
            debug.contains(r#"headers: {"api-key": <redacted>, "tenant": <redacted>}"#),
            "{debug}"
        );
        assert!(
            debug.contains(r#"url: "https://<redacted>@collector:4318/v1/traces?<redacted>""#),
            "{debug}"
        );
        assert_eq!(
            redacted_url("http://collector:4318/v1/traces"),
            "http://collector:4318/v1/traces"
        );
        assert_eq!(
            redacted_url("u:p@c:4318/x?k=v#f"),
            "<redacted>@c:4318/x?<redacted>#f"
        );
    }

    #[test]
    fn header_errors_give_the_position_never_the_text() {
        let error = |list: &str| {
            config(&[
                ("OTEL_TRACES_EXPORTER", "otlp"),
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "https://c:4318"),
                ("OTEL_EXPORTER_OTLP_HEADERS", list),
            ])
            .unwrap_err()
        };
        // A header written the HTTP way, with ':'.
        let e = error("tenant=t1,Authorization: Bearer sk-secret");
        assert_eq!(
            e,
            ConfigError::Header {
                var: "OTEL_EXPORTER_OTLP_HEADERS",
                position: 2,
                problem: HeaderProblem::Colon,
            }
        );
        assert_eq!(
            e.to_string(),
            "OTEL_EXPORTER_OTLP_HEADERS: entry 2 has no '=' (the format is key=value, not key: value)"
        );
        assert!(!format!("{e:?}").contains("sk-secret"));
        for (list, problem) in [
            ("sk-secret", HeaderProblem::NoEquals),
            (" =sk-secret", HeaderProblem::EmptyKey),
            ("Bearer sk-secret=x", HeaderProblem::InvalidKey),
            (
                "api-key=sk-secret%0D%0AHost: evil",
                HeaderProblem::InvalidValue {
                    key: "api-key".into(),
                },
            ),
        ] {
            let e = error(list);
            assert_eq!(
                e,
                ConfigError::Header {
                    var: "OTEL_EXPORTER_OTLP_HEADERS",
                    position: 1,
                    problem
                },
                "{list}"
            );
            assert!(!e.to_string().contains("sk-secret"), "{e}");
            assert!(!format!("{e:?}").contains("sk-secret"), "{e:?}");
        }
        // Empty entries count, so the position is the one a reader finds by counting commas.
        assert!(matches!(error("a=b,,c"), ConfigError::Header { position: 3, .. }));
    }

    #[test]
    fn sigv4_goes_over_https_or_to_loopback_only() {
        let signed = |endpoint: &str| {
            config(&[
                ("OTEL_TRACES_EXPORTER", "otlp"),
                ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint),
                ("TELEMETRY_OTLP_SIGV4_REGION", "eu-west-1"),
            ])
        };
        for ok in [
            "https://collector:4318",
            "http://localhost:4318",
            "http://127.0.0.1:4318",
            "http://[::1]:4318",
        ] {
            assert!(signed(ok).is_ok(), "{ok}");
        }
        for insecure in ["http://collector:4318", "http://127.0.0.1.evil.example:4318"] {
            assert!(
                matches!(
                    signed(insecure),
                    Err(ConfigError::InsecureSigning {
                        var: "OTEL_EXPORTER_OTLP_ENDPOINT",
                        ..
                    })
                ),
                "{insecure}"
            );
        }
        // Unsigned, plain http to a remote collector stays allowed (OTel's standard setup).
        assert!(
            config(&[
                ("OTEL_TRACES_EXPORTER", "otlp"),
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318"),
            ])
            .is_ok()
        );
    }

    /// SDK environment variables: "Enum values SHOULD be interpreted in a case-insensitive manner … if
    /// the user provides a value the implementation does not recognize, the implementation MUST
    /// generate a warning and gracefully ignore the setting"; an unparsable number likewise.
    #[test]
    fn unknown_values_warn_and_are_ignored() {
        let xray = ExporterKind::Xray {
            address: "127.0.0.1:2000".into(),
        };
        let c = config(&[("OTEL_TRACES_EXPORTER", "console")]).unwrap();
        assert_eq!(
            c.exporters,
            std::slice::from_ref(&xray),
            "nothing known left: as if unset"
        );
        assert_eq!(c.warnings, [ConfigWarning::UnknownExporter("console".into())]);
        let w = c.warnings[0].to_string();
        assert!(w.contains("OTEL_TRACES_EXPORTER") && w.contains("console"), "{w}");

        let c = config(&[("OTEL_TRACES_EXPORTER", "zipkin,OTLP")]).unwrap();
        assert!(
            matches!(&c.exporters[..], [ExporterKind::OtlpHttp { .. }]),
            "{c:?}"
        );
        assert_eq!(c.warnings, [ConfigWarning::UnknownExporter("zipkin".into())]);
        assert_eq!(config(&[("OTEL_TRACES_EXPORTER", "None")]).unwrap().exporters, []);
        assert_eq!(
            config(&[("OTEL_TRACES_EXPORTER", "XRay")]).unwrap().exporters,
            [xray]
        );

        let c = config(&[
            ("OTEL_TRACES_EXPORTER", "otlp"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "10s"),
        ])
        .unwrap();
        assert!(
            matches!(&c.exporters[..], [ExporterKind::OtlpHttp { timeout, .. }] if *timeout == Duration::from_secs(10)),
            "{c:?}"
        );
        assert_eq!(
            c.warnings,
            [
                ConfigWarning::Protocol {
                    var: "OTEL_EXPORTER_OTLP_PROTOCOL",
                    value: "grpc".into()
                },
                ConfigWarning::Timeout {
                    var: "OTEL_EXPORTER_OTLP_TIMEOUT",
                    value: "10s".into()
                },
            ]
        );
        assert!(
            c.warnings[0]
                .to_string()
                .starts_with("OTEL_EXPORTER_OTLP_PROTOCOL")
        );
        let c = config(&[
            ("OTEL_TRACES_EXPORTER", "otlp"),
            ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "HTTP/Protobuf"),
        ])
        .unwrap();
        assert!(c.warnings.is_empty(), "{:?}", c.warnings);
        // The spec's compressions are gzip and none (the signal's own variable first); any other
        // warns and sends bodies uncompressed.
        let gzip =
            |c: &TraceExportConfig| matches!(&c.exporters[..], [ExporterKind::OtlpHttp { gzip: true, .. }]);
        let c = config(&[
            ("OTEL_TRACES_EXPORTER", "otlp"),
            ("OTEL_EXPORTER_OTLP_COMPRESSION", "none"),
            ("OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "GZIP"),
        ])
        .unwrap();
        assert!(c.warnings.is_empty(), "{:?}", c.warnings);
        assert!(gzip(&c), "{:?}", c.exporters);
        let c = config(&[
            ("OTEL_TRACES_EXPORTER", "otlp"),
            ("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip"),
            ("OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "none"),
        ])
        .unwrap();
        assert!(!gzip(&c));
        let c = config(&[
            ("OTEL_TRACES_EXPORTER", "otlp"),
            ("OTEL_EXPORTER_OTLP_COMPRESSION", "zstd"),
        ])
        .unwrap();
        assert_eq!(
            c.warnings,
            [ConfigWarning::Compression {
                var: "OTEL_EXPORTER_OTLP_COMPRESSION",
                value: "zstd".into()
            }]
        );
        assert!(!gzip(&c));
        assert!(
            config(&[
                ("OTEL_TRACES_EXPORTER", "otlp"),
                ("OTEL_EXPORTER_OTLP_COMPRESSION", "None")
            ])
            .unwrap()
            .warnings
            .is_empty()
        );
        // Empty is unset.
        let c = config(&[("OTEL_TRACES_EXPORTER", ""), ("OTEL_EXPORTER_OTLP_PROTOCOL", "")]).unwrap();
        assert_eq!(c.exporters.len(), 1);
        assert!(c.warnings.is_empty());
    }

    /// SDK environment variables: `OTEL_SDK_DISABLED=true` (case-insensitive) makes every signal a
    /// no-op; anything but true, false or empty warns and reads as false.
    #[test]
    fn sdk_disabled_exports_no_spans() {
        for t in ["true", "TRUE", " True "] {
            let c = config(&[("OTEL_SDK_DISABLED", t), ("OTEL_TRACES_EXPORTER", "xray,otlp")]).unwrap();
            assert!(c.exporters.is_empty(), "{t:?}: {c:?}");
        }
        for f in ["false", "FALSE", ""] {
            let c = config(&[("OTEL_SDK_DISABLED", f)]).unwrap();
            assert_eq!(c.exporters.len(), 1, "{f:?}");
            assert!(c.warnings.is_empty(), "{f:?}");
        }
        let c = config(&[("OTEL_SDK_DISABLED", "1")]).unwrap();
        assert_eq!(c.exporters.len(), 1, "only `true` is true");
        assert_eq!(
            c.warnings,
            [ConfigWarning::Boolean {
                var: "OTEL_SDK_DISABLED",
                value: "1".into()
            }]
        );
    }

    #[test]
    fn errors_name_the_variable() {
        let e = config(&[
            ("OTEL_TRACES_EXPORTER", "otlp"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"),
            ("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "novalue"),
        ])
        .unwrap_err();
        assert!(e.to_string().starts_with("OTEL_EXPORTER_OTLP_TRACES_HEADERS"));
        let e = config(&[
            ("OTEL_TRACES_EXPORTER", "otlp"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4318"),
        ])
        .unwrap_err();
        assert!(matches!(
            e,
            ConfigError::Endpoint {
                var: "OTEL_EXPORTER_OTLP_ENDPOINT",
                ..
            }
        ));
        // A scheme-less URL with a password: the error shows the host, not the password.
        let e = config(&[
            ("OTEL_TRACES_EXPORTER", "otlp"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "user:pw-secret@collector:4318"),
        ])
        .unwrap_err();
        assert!(
            !e.to_string().contains("pw-secret") && e.to_string().contains("<redacted>@collector:4318"),
            "{e}"
        );
        assert_eq!(percent_decode("%zz%41"), "%zzA");
    }

    /// Only `%` and two ASCII hex digits is an encoded byte (RFC 3986 §2.1 `pct-encoded`, which the
    /// OTLP exporter spec names for header values); a sign is not a hex digit, so `%+5` stays as
    /// written rather than becoming byte 0x05.
    #[test]
    fn percent_decoding_takes_only_two_hex_digits() {
        assert_eq!(percent_decode("a%+5b"), "a%+5b");
        assert_eq!(percent_decode("a%-5b"), "a%-5b");
        assert_eq!(percent_decode("%4a%4A%2"), "JJ%2");
        let c = config(&[
            ("OTEL_TRACES_EXPORTER", "otlp"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318"),
            ("OTEL_EXPORTER_OTLP_HEADERS", "x=a%+9b"),
        ])
        .unwrap();
        let ExporterKind::OtlpHttp { headers, .. } = &c.exporters[0] else {
            panic!("{:?}", c.exporters[0]);
        };
        assert_eq!(headers, &[("x".to_owned(), "a%+9b".to_owned())]);
    }

    /// A folder of its own under the system's temporary folder, removed when dropped.
    struct Scratch(std::path::PathBuf);

    impl Scratch {
        fn new(name: &str) -> Self {
            let dir = std::env::temp_dir().join(format!("telemetry-tls-{name}-{}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            Self(dir)
        }

        fn file(&self, name: &str, text: &str) -> String {
            let path = self.0.join(name);
            std::fs::write(&path, text).unwrap();
            path.to_str().unwrap().to_owned()
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn tls_of(c: &TraceExportConfig) -> &OtlpTls {
        match &c.exporters[..] {
            [ExporterKind::OtlpHttp { tls, .. }] => tls,
            other => panic!("{other:?}"),
        }
    }

    /// The OTLP exporter spec's TLS variables: each read on its own, the signal's before the general
    /// one; the files' bytes are carried, their contents never shown.
    #[test]
    fn tls_files_are_read_signal_first() {
        let dir = Scratch::new("read");
        let (ca, ca2) = (dir.file("ca.pem", "CA"), dir.file("ca2.pem", "CA2"));
        let (cert, key) = (dir.file("c.pem", "CERT"), dir.file("k.pem", "SECRET KEY"));
        let c = config(&[
            ("OTEL_TRACES_EXPORTER", "otlp"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "https://collector.internal:4318"),
            ("OTEL_EXPORTER_OTLP_CERTIFICATE", &ca),
            ("OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE", &ca2),
            ("OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE", &cert),
            ("OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY", &key),
        ])
        .unwrap();
        let tls = tls_of(&c);
        let trusted = tls.trusted.as_ref().unwrap();
        assert_eq!(
            (trusted.var, trusted.path.as_str(), trusted.pem.as_slice()),
            ("OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE", ca2.as_str(), &b"CA2"[..])
        );
        let (c_file, k_file) = tls.client.as_ref().unwrap();
        assert_eq!(
            (c_file.var, c_file.pem.as_slice()),
            ("OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE", &b"CERT"[..])
        );
        assert_eq!(
            (k_file.var, k_file.pem.as_slice()),
            ("OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY", &b"SECRET KEY"[..])
        );
        let shown = format!("{c:?}");
        assert!(shown.contains(&key) && !shown.contains("SECRET"), "{shown}");
        assert!(c.warnings.is_empty(), "{:?}", c.warnings);
        // Nothing set: no TLS settings, and no file is looked for.
        let c = config(&[
            ("OTEL_TRACES_EXPORTER", "otlp"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "https://collector.internal:4318"),
        ])
        .unwrap();
        assert!(tls_of(&c).is_empty());
        // Another exporter never reads them.
        let c = config(&[("OTEL_EXPORTER_OTLP_CERTIFICATE", "/nowhere/ca.pem")]).unwrap();
        assert_eq!(
            c.exporters,
            vec![ExporterKind::Xray {
                address: crate::xray::DEFAULT_DAEMON_ADDRESS.into()
            }]
        );
    }

    /// A TLS file that cannot be read, or half of a client identity, stops the exporter naming the
    /// variable and the path; over plain http the files are a warning and unused.
    #[test]
    fn tls_errors_name_the_variable_and_path() {
        let dir = Scratch::new("errors");
        let key = dir.file("k.pem", "KEY");
        let https = ("OTEL_EXPORTER_OTLP_ENDPOINT", "https://collector.internal:4318");
        let e = config(&[
            ("OTEL_TRACES_EXPORTER", "otlp"),
            https,
            ("OTEL_EXPORTER_OTLP_CERTIFICATE", "/nowhere/ca.pem"),
        ])
        .unwrap_err();
        assert!(
            matches!(&e, ConfigError::TlsFile { var: "OTEL_EXPORTER_OTLP_CERTIFICATE", path, .. } if path == "/nowhere/ca.pem")
        );
        assert!(
            e.to_string()
                .starts_with("OTEL_EXPORTER_OTLP_CERTIFICATE: cannot read \"/nowhere/ca.pem\": "),
            "{e}"
        );
        let e = config(&[
            ("OTEL_TRACES_EXPORTER", "otlp"),
            https,
            ("OTEL_EXPORTER_OTLP_CLIENT_KEY", &key),
        ])
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "OTEL_EXPORTER_OTLP_CLIENT_KEY is set but OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE is not: \
             mutual TLS needs the client certificate and its key"
        );
        let e = config(&[
            ("OTEL_TRACES_EXPORTER", "otlp"),
            https,
            ("OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE", &key),
        ])
        .unwrap_err();
        assert_eq!(
            e,
            ConfigError::TlsPair {
                given: "OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE",
                missing: "OTEL_EXPORTER_OTLP_CLIENT_KEY"
            }
        );
        // Inside Lambda without an endpoint, `otlp` is OTLP/UDP: the files and headers are said unused.
        let c = config(&[
            ("AWS_LAMBDA_FUNCTION_NAME", "f"),
            ("OTEL_TRACES_EXPORTER", "otlp"),
            ("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "api-key=k"),
            ("OTEL_EXPORTER_OTLP_CERTIFICATE", "/nowhere/ca.pem"),
        ])
        .unwrap();
        assert!(
            matches!(&c.exporters[..], [ExporterKind::OtlpUdp { .. }]),
            "{c:?}"
        );
        assert_eq!(
            c.warnings,
            vec![
                ConfigWarning::UnusedOverUdp {
                    var: "OTEL_EXPORTER_OTLP_TRACES_HEADERS"
                },
                ConfigWarning::UnusedOverUdp {
                    var: "OTEL_EXPORTER_OTLP_CERTIFICATE"
                },
            ]
        );
        // Plain http (here the default endpoint): warned about, not read.
        for endpoint in [None, Some("http://collector:4318")] {
            let mut vars = vec![
                ("OTEL_TRACES_EXPORTER", "otlp"),
                ("OTEL_EXPORTER_OTLP_CLIENT_KEY", "/nowhere/k.pem"),
            ];
            vars.extend(endpoint.map(|e| ("OTEL_EXPORTER_OTLP_ENDPOINT", e)));
            let c = config(&vars).unwrap();
            assert!(tls_of(&c).is_empty());
            assert_eq!(
                c.warnings,
                vec![ConfigWarning::TlsOverHttp {
                    var: "OTEL_EXPORTER_OTLP_CLIENT_KEY"
                }]
            );
        }
    }

    /// `config` with one TLS variable set to `path`, on a thread of its own: a read that blocks (a
    /// FIFO opened, a device read to its end) fails the test after 10 s instead of hanging it.
    #[cfg(unix)]
    fn config_with_ca_within_10s(path: String) -> Result<TraceExportConfig, ConfigError> {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(config(&[
                ("OTEL_TRACES_EXPORTER", "otlp"),
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "https://collector.internal:4318"),
                ("OTEL_EXPORTER_OTLP_CERTIFICATE", &path),
            ]));
        });
        rx.recv_timeout(Duration::from_secs(10))
            .expect("reading the TLS file blocked for 10 s")
    }

    /// A TLS variable naming a device, a FIFO or a directory is refused before the path is opened,
    /// and a file is read to at most 4 MiB: `init` neither hangs nor fills memory, and says which
    /// variable and path, never the contents.
    #[cfg(unix)]
    #[test]
    fn tls_files_must_be_regular_files_of_at_most_4_mib() {
        let refused = |path: String, reason: &str| {
            let e = config_with_ca_within_10s(path.clone()).unwrap_err();
            assert_eq!(
                e.to_string(),
                format!("OTEL_EXPORTER_OTLP_CERTIFICATE: cannot read {path:?}: {reason}")
            );
        };
        // Devices that never end: neither is opened.
        refused("/dev/zero".into(), "not a regular file but a character device");
        refused("/dev/urandom".into(), "not a regular file but a character device");
        let dir = Scratch::new("kinds");
        refused(
            dir.0.to_str().unwrap().to_owned(),
            "not a regular file but a directory",
        );
        // Opening a FIFO for reading waits for a writer, which never comes.
        let fifo = dir.0.join("ca.fifo");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status().unwrap();
        assert!(made.success());
        refused(fifo.to_str().unwrap().to_owned(), "not a regular file but a FIFO");
        // One byte past the limit is refused; the limit itself is read whole.
        let limit = usize::try_from(TLS_FILE_LIMIT).unwrap();
        let big = dir.0.join("big.pem");
        std::fs::write(&big, vec![b'A'; limit + 1]).unwrap();
        refused(
            big.to_str().unwrap().to_owned(),
            "larger than 4 MiB, the limit for a PEM file",
        );
        std::fs::write(&big, vec![b'A'; limit]).unwrap();
        let c = config_with_ca_within_10s(big.to_str().unwrap().to_owned()).unwrap();
        assert_eq!(tls_of(&c).trusted.as_ref().unwrap().pem.len(), limit);
        // A symbolic link to a regular file is read (Kubernetes mounts secrets through links).
        let ca = dir.file("ca.pem", "CA");
        let link = dir.0.join("ca-link.pem");
        std::os::unix::fs::symlink(&ca, &link).unwrap();
        let c = config_with_ca_within_10s(link.to_str().unwrap().to_owned()).unwrap();
        assert_eq!(tls_of(&c).trusted.as_ref().unwrap().pem, b"CA");
    }

    /// A FIFO swapped in for the checked file after the check is opened without waiting for a
    /// writer and refused by the opened file's own kind: without `O_NONBLOCK` the open would block
    /// `init` for good (here: the test fails after 10 s).
    #[cfg(unix)]
    #[test]
    fn a_fifo_swapped_in_after_the_check_is_refused_without_waiting() {
        let dir = Scratch::new("swap");
        let fifo = dir.0.join("ca.pem");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status().unwrap();
        assert!(made.success());
        let (tx, rx) = std::sync::mpsc::channel();
        let path = fifo.to_str().unwrap().to_owned();
        // The open after the check, as `read_pem` makes it.
        std::thread::spawn(move || {
            let _ = tx.send(open_regular(&path).map(drop));
        });
        let opened = rx
            .recv_timeout(Duration::from_secs(10))
            .expect("opening a FIFO blocked for 10 s");
        assert_eq!(opened, Err("not a regular file but a FIFO".to_owned()));
        // A regular file still opens and reads whole.
        let ca = dir.file("ca2.pem", "CA");
        let mut pem = String::new();
        std::io::Read::read_to_string(&mut open_regular(&ca).unwrap(), &mut pem).unwrap();
        assert_eq!(pem, "CA");
    }
}

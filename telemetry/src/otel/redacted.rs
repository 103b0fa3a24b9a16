//! Credentials kept out of `Debug` and error text: header values and the parts of a URL that carry
//! secrets. Shared by the exporter configuration and the OTLP/HTTP exporter.

use std::fmt;

/// Header names with `<redacted>` for every value: `Debug` for `OTEL_EXPORTER_OTLP_HEADERS`, whose
/// values are API keys.
pub(crate) struct RedactedHeaders<'a>(pub(crate) &'a [(String, String)]);

impl fmt::Debug for RedactedHeaders<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.0.iter().map(|(name, _)| (name, Redacted)))
            .finish()
    }
}

struct Redacted;

impl fmt::Debug for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// `url` with its userinfo (`user:password@`) and query (`?api_key=…`) replaced by `<redacted>`: the
/// two places a URL carries credentials.
pub(crate) fn redacted_url(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").map_or(("", url), |(s, r)| (s, r));
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    let mut out = String::with_capacity(url.len());
    if !scheme.is_empty() {
        out.push_str(scheme);
        out.push_str("://");
    }
    match authority.rsplit_once('@') {
        Some((_, host)) => {
            out.push_str("<redacted>@");
            out.push_str(host);
        }
        None => out.push_str(authority),
    }
    match path.split_once('?') {
        Some((path, query)) => {
            out.push_str(path);
            out.push_str("?<redacted>");
            if let Some((_, fragment)) = query.split_once('#') {
                out.push('#');
                out.push_str(fragment);
            }
        }
        None => out.push_str(path),
    }
    out
}

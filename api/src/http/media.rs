//! Media types at `/graphql`, after the GraphQL-over-HTTP spec: which one a response is sent as
//! (`Accept`), and whether a POST body is one Koppel reads (`Content-Type`).

use axum::http::{HeaderMap, HeaderValue, header};

pub const GRAPHQL_RESPONSE_JSON: &str = "application/graphql-response+json";
pub const JSON: &str = "application/json";
pub const MULTIPART: &str = "multipart/form-data";

/// How a GraphQL response is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseMedia {
    /// `application/graphql-response+json`: the status code tells request errors (400) from results.
    GraphqlResponseJson,
    /// `application/json`: every well-formed GraphQL request is answered with 200, errors in the body.
    Json,
}

impl ResponseMedia {
    pub fn content_type(self) -> HeaderValue {
        HeaderValue::from_static(match self {
            Self::GraphqlResponseJson => "application/graphql-response+json; charset=utf-8",
            Self::Json => "application/json; charset=utf-8",
        })
    }
}

/// What a client's `Accept` header asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Accept {
    /// The GraphQL response type to send.
    pub media: ResponseMedia,
    /// `text/html` is named explicitly, as a browser does when it opens a page.
    pub html: bool,
    /// No `Accept` header, or one that takes anything (`*/*`), as `curl` and most HTTP libraries send.
    pub anything: bool,
}

impl Accept {
    pub fn from_headers(headers: &HeaderMap) -> Self {
        let values: Vec<&str> = headers.get_all(header::ACCEPT).iter().filter_map(|v| v.to_str().ok()).collect();
        if values.is_empty() {
            return Self { media: ResponseMedia::Json, html: false, anything: true };
        }
        let mut best: Option<(f32, ResponseMedia)> = None;
        let mut html = false;
        let mut anything = false;
        for range in values.iter().flat_map(|v| v.split(',')) {
            let mut parts = range.split(';');
            let essence = parts.next().unwrap_or("").trim().to_ascii_lowercase();
            let quality = parts
                .filter_map(|p| p.trim().strip_prefix("q=").and_then(|q| q.trim().parse::<f32>().ok()))
                .next()
                .unwrap_or(1.0);
            if quality <= 0.0 {
                continue;
            }
            let media = match essence.as_str() {
                GRAPHQL_RESPONSE_JSON => ResponseMedia::GraphqlResponseJson,
                JSON | "application/*" => ResponseMedia::Json,
                "*/*" => {
                    anything = true;
                    ResponseMedia::Json
                }
                "text/html" => {
                    html = true;
                    continue;
                }
                _ => continue,
            };
            // Highest quality wins; on a tie the GraphQL response type, which says more.
            let better = match best {
                None => true,
                Some((q, current)) => {
                    quality > q || (quality == q && media == ResponseMedia::GraphqlResponseJson && current != media)
                }
            };
            if better {
                best = Some((quality, media));
            }
        }
        // Nothing acceptable: the spec lets the server disregard `Accept` and answer `application/json`.
        Self { media: best.map_or(ResponseMedia::Json, |(_, media)| media), html, anything }
    }
}

/// Whether a POST is a multipart request (`multipart/form-data`): a file upload after the GraphQL
/// multipart request spec.
pub fn is_multipart(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|essence| essence.trim().eq_ignore_ascii_case(MULTIPART))
}

/// Whether a POST's `Content-Type` is JSON in UTF-8 (`application/json`, charset absent or `utf-8`).
pub fn is_json_body(headers: &HeaderMap) -> bool {
    let Some(value) = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()) else { return false };
    let mut parts = value.split(';');
    if !parts.next().unwrap_or("").trim().eq_ignore_ascii_case(JSON) {
        return false;
    }
    parts.all(|parameter| match parameter.split_once('=') {
        Some((name, charset)) if name.trim().eq_ignore_ascii_case("charset") => {
            charset.trim().trim_matches('"').eq_ignore_ascii_case("utf-8")
        }
        _ => true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(value: &str) -> Accept {
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT, HeaderValue::from_str(value).unwrap());
        Accept::from_headers(&headers)
    }

    #[test]
    fn negotiates_the_response_type() {
        use ResponseMedia::*;
        assert_eq!(Accept::from_headers(&HeaderMap::new()).media, Json);
        assert_eq!(accept("application/json").media, Json);
        assert_eq!(accept("*/*").media, Json);
        assert_eq!(accept("application/graphql-response+json").media, GraphqlResponseJson);
        assert_eq!(accept("application/graphql-response+json, application/json;q=0.9").media, GraphqlResponseJson);
        assert_eq!(accept("application/graphql-response+json;q=0.5, application/json").media, Json);
        assert_eq!(accept("application/json, application/graphql-response+json").media, GraphqlResponseJson);
        assert_eq!(accept("application/graphql-response+json;q=0, */*").media, Json);
        assert_eq!(accept("text/plain").media, Json);
    }

    #[test]
    fn tells_browsers_from_libraries() {
        let browser = accept("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8");
        assert!(browser.html && browser.anything);
        let library = accept("application/json");
        assert!(!library.html && !library.anything);
        assert!(Accept::from_headers(&HeaderMap::new()).anything);
        assert!(!accept("text/html;q=0").html);
    }

    #[test]
    fn reads_only_utf8_json_bodies() {
        let with = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_str(value).unwrap());
            is_json_body(&headers)
        };
        assert!(with("application/json"));
        assert!(with("Application/JSON; charset=UTF-8"));
        assert!(with("application/json;charset=\"utf-8\""));
        assert!(!with("application/json; charset=latin1"));
        assert!(!with("text/plain;charset=UTF-8"));
        assert!(!with("application/x-www-form-urlencoded"));
        assert!(!is_json_body(&HeaderMap::new()));
    }
}

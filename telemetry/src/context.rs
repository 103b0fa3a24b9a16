//! Function-wide facts (from the Lambda and Powertools environment) and per-invocation context.
//!
//! Per-invocation values (request id, trace header, correlation id, cold start) travel on one
//! `tracing` span, [`INVOCATION_SPAN`], created by the invocation layer. Logs, metrics and traces
//! read them from that span rather than from process environment variables, so they stay right
//! when Lambda Managed Instances run several invocations in one process.

use std::sync::atomic::{AtomicBool, Ordering};

/// Name of the span the invocation layer opens around each invocation.
pub const INVOCATION_SPAN: &str = "lambda.invocation";

/// Target of internal control events (buffer flushes); never printed.
pub const CONTROL_TARGET: &str = "telemetry::control";

/// How the execution environment was initialised (`AWS_LAMBDA_INITIALIZATION_TYPE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InitializationType {
    /// `on-demand` (or unset): the first invocation is a real cold start.
    OnDemand,
    /// `provisioned-concurrency`: initialised ahead of traffic, no invocation waits for it.
    ProvisionedConcurrency,
    /// `snap-start`: restored from a snapshot; the restore is paid by the first invocation.
    SnapStart,
    /// `lambda-managed-instances` or any other value.
    Other,
}

impl InitializationType {
    /// Parses the env var's value.
    #[must_use]
    pub fn parse(value: Option<&str>) -> Self {
        match value {
            None | Some("" | "on-demand") => Self::OnDemand,
            Some("provisioned-concurrency") => Self::ProvisionedConcurrency,
            Some("snap-start") => Self::SnapStart,
            Some(_) => Self::Other,
        }
    }

    /// Whether the first invocation of such an environment is a cold start a user waited for.
    #[must_use]
    pub const fn first_invocation_is_cold(self) -> bool {
        matches!(self, Self::OnDemand | Self::SnapStart | Self::Other)
    }
}

/// The service name when `POWERTOOLS_SERVICE_NAME` gives none (Powertools' default).
pub const UNDEFINED_SERVICE: &str = "service_undefined";

/// Function-wide facts read once at init.
#[derive(Debug, Clone, PartialEq)]
pub struct FunctionInfo {
    /// `POWERTOOLS_SERVICE_NAME` (default `service_undefined`).
    pub service: String,
    /// `AWS_LAMBDA_FUNCTION_NAME` (overridden for metrics by `POWERTOOLS_METRICS_FUNCTION_NAME`).
    pub function_name: Option<String>,
    /// `AWS_LAMBDA_FUNCTION_MEMORY_SIZE` in MB.
    pub memory_size: Option<u32>,
    /// `AWS_LAMBDA_FUNCTION_VERSION`.
    pub function_version: Option<String>,
    /// `AWS_LAMBDA_INITIALIZATION_TYPE`.
    pub initialization_type: InitializationType,
}

impl Default for FunctionInfo {
    fn default() -> Self {
        Self {
            service: UNDEFINED_SERVICE.to_owned(),
            function_name: None,
            memory_size: None,
            function_version: None,
            initialization_type: InitializationType::OnDemand,
        }
    }
}

impl FunctionInfo {
    /// Reads the process environment.
    #[must_use]
    pub fn from_env() -> Self {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Reads through `lookup` (tests pass a map).
    ///
    /// ```
    /// use telemetry::context::{FunctionInfo, InitializationType};
    /// let info = FunctionInfo::from_lookup(|k| match k {
    ///     "POWERTOOLS_SERVICE_NAME" => Some("valuation".into()),
    ///     "AWS_LAMBDA_FUNCTION_MEMORY_SIZE" => Some("512".into()),
    ///     "AWS_LAMBDA_INITIALIZATION_TYPE" => Some("provisioned-concurrency".into()),
    ///     _ => None,
    /// });
    /// assert_eq!(info.service, "valuation");
    /// assert_eq!(info.memory_size, Some(512));
    /// assert_eq!(info.initialization_type, InitializationType::ProvisionedConcurrency);
    /// ```
    #[must_use]
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let non_empty = |k: &str| lookup(k).filter(|v| !v.trim().is_empty());
        Self {
            service: non_empty("POWERTOOLS_SERVICE_NAME").unwrap_or_else(|| UNDEFINED_SERVICE.to_owned()),
            function_name: non_empty("AWS_LAMBDA_FUNCTION_NAME"),
            memory_size: non_empty("AWS_LAMBDA_FUNCTION_MEMORY_SIZE").and_then(|v| v.trim().parse().ok()),
            function_version: non_empty("AWS_LAMBDA_FUNCTION_VERSION"),
            initialization_type: InitializationType::parse(
                lookup("AWS_LAMBDA_INITIALIZATION_TYPE").as_deref(),
            ),
        }
    }
}

/// `cloud.resource_id` for a Lambda invocation: the invoked ARN with any qualifier (alias or version)
/// replaced by the version that runs, `AWS_LAMBDA_FUNCTION_VERSION`. The semantic conventions
/// (<https://opentelemetry.io/docs/specs/semconv/registry/attributes/cloud/>): "Take care not to use the
/// 'invoked ARN' directly but replace any alias suffix with the resolved function version". `$LATEST`
/// (and an unknown version) gives the unqualified function ARN, the form of the conventions' example.
///
/// ```
/// use telemetry::context::resolved_function_arn;
/// let alias = "arn:aws:lambda:eu-west-1:123456789012:function:valuate:live";
/// assert_eq!(resolved_function_arn(alias, Some("7")), "arn:aws:lambda:eu-west-1:123456789012:function:valuate:7");
/// assert_eq!(resolved_function_arn(alias, Some("$LATEST")), "arn:aws:lambda:eu-west-1:123456789012:function:valuate");
/// ```
#[must_use]
pub fn resolved_function_arn(invoked_arn: &str, version: Option<&str>) -> String {
    // arn:aws:lambda:{region}:{account}:function:{name}[:{qualifier}]
    let seventh_colon = invoked_arn
        .bytes()
        .enumerate()
        .filter(|&(_, b)| b == b':')
        .nth(6)
        .map(|(at, _)| at);
    let unqualified = seventh_colon.map_or(invoked_arn, |at| &invoked_arn[..at]);
    match version
        .map(str::trim)
        .filter(|v| !v.is_empty() && *v != "$LATEST")
    {
        Some(v) if !unqualified.is_empty() => format!("{unqualified}:{v}"),
        _ => unqualified.to_owned(),
    }
}

/// The account of an ARN (`arn:aws:lambda:{region}:{account}:…`, its fifth part), when it names one.
#[cfg(feature = "xray")]
pub(crate) fn arn_account(arn: &str) -> Option<&str> {
    split_ascii(arn, b':').nth(4).filter(|a| !a.is_empty())
}

/// `s.split(char::from(sep))` for an ASCII separator, found byte by byte: the char searcher's set-up
/// costs more than the short headers and ARNs split on every invocation.
#[cfg(feature = "xray")]
pub(crate) fn split_ascii(s: &str, sep: u8) -> impl Iterator<Item = &str> {
    debug_assert!(sep.is_ascii());
    let mut rest = Some(s);
    std::iter::from_fn(move || {
        let r = rest?;
        match r.bytes().position(|b| b == sep) {
            // `sep` is ASCII: `i` and `i + 1` are char boundaries.
            Some(i) => {
                rest = Some(&r[i + 1..]);
                Some(&r[..i])
            }
            None => {
                rest = None;
                Some(r)
            }
        }
    })
}

/// Powertools' true values for a boolean environment variable: Python's `strtobool` (what
/// `resolve_truthy_env_var_choice` reads `POWERTOOLS_*` flags with) and TypeScript's extended
/// `getBooleanFromEnv`. Case-insensitive; surrounding whitespace is ignored.
const TRUE_VALUES: [&str; 6] = ["1", "y", "yes", "t", "true", "on"];

/// `strtobool`'s false values, same rules.
const FALSE_VALUES: [&str; 6] = ["0", "n", "no", "f", "false", "off"];

/// Whether an environment value means "on" as Powertools reads it: `1`, `y`, `yes`, `t`, `true`, `on`
/// (case-insensitive). Anything else is off, for the `…_DISABLED` and `POWERTOOLS_DEV` flags whose
/// default is off.
///
/// ```
/// use telemetry::context::is_truthy;
/// assert!(is_truthy("Y") && is_truthy(" true ") && is_truthy("on"));
/// assert!(!is_truthy("false") && !is_truthy("") && !is_truthy("enabled"));
/// ```
#[must_use]
pub fn is_truthy(v: &str) -> bool {
    let v = v.trim();
    TRUE_VALUES.iter().any(|t| v.eq_ignore_ascii_case(t))
}

/// Whether an environment value explicitly means "off" as Powertools reads it: `0`, `n`, `no`, `f`,
/// `false`, `off` (case-insensitive). For flags on by default (`POWERTOOLS_TRACE_ENABLED`), which only
/// such a value turns off.
///
/// ```
/// use telemetry::context::is_falsy;
/// assert!(is_falsy("FALSE") && is_falsy("0") && is_falsy(" n "));
/// assert!(!is_falsy("") && !is_falsy("enabled") && !is_falsy("true"));
/// ```
#[must_use]
pub fn is_falsy(v: &str) -> bool {
    let v = v.trim();
    FALSE_VALUES.iter().any(|f| v.eq_ignore_ascii_case(f))
}

static COLD_START_PENDING: AtomicBool = AtomicBool::new(true);

/// Decides whether this invocation is the process's cold start: true exactly once per process, and
/// never when the environment was provisioned ahead of traffic.
#[must_use]
pub fn take_cold_start(init: InitializationType) -> bool {
    let first = COLD_START_PENDING.swap(false, Ordering::AcqRel);
    first && init.first_invocation_is_cold()
}

/// Tracks cold start for one runtime instance (tests use their own; production uses the global one).
#[derive(Debug)]
pub struct ColdStartTracker(AtomicBool);

impl Default for ColdStartTracker {
    fn default() -> Self {
        Self(AtomicBool::new(true))
    }
}

impl ColdStartTracker {
    /// True exactly once, unless `init` says the environment was provisioned.
    ///
    /// ```
    /// use telemetry::context::{ColdStartTracker, InitializationType};
    /// let t = ColdStartTracker::default();
    /// assert!(t.take(InitializationType::OnDemand));
    /// assert!(!t.take(InitializationType::OnDemand));
    /// let pc = ColdStartTracker::default();
    /// assert!(!pc.take(InitializationType::ProvisionedConcurrency));
    /// ```
    #[must_use]
    pub fn take(&self, init: InitializationType) -> bool {
        self.0.swap(false, Ordering::AcqRel) && init.first_invocation_is_cold()
    }
}

/// Extracts a correlation id from a JSON event: API Gateway (REST and HTTP v2) `requestContext.requestId`,
/// EventBridge `id`, SQS `Records[0].messageId`, ALB `headers.x-amzn-trace-id`.
///
/// ```
/// let ev = serde_json::json!({"version": "2.0", "requestContext": {"requestId": "abc"}});
/// assert_eq!(telemetry::context::correlation_id(&ev).as_deref(), Some("abc"));
/// let sqs = serde_json::json!({"Records": [{"eventSource": "aws:sqs", "messageId": "m-1"}]});
/// assert_eq!(telemetry::context::correlation_id(&sqs).as_deref(), Some("m-1"));
/// ```
#[must_use]
pub fn correlation_id(event: &serde_json::Value) -> Option<String> {
    let pointer = |tokens: &[&str]| json_path(event, tokens);
    let s = |v: &serde_json::Value| v.as_str().filter(|s| !s.is_empty()).map(str::to_owned);
    if let Some(id) = pointer(&["requestContext", "requestId"]).and_then(s) {
        return Some(id);
    }
    if event.get("detail-type").is_some()
        && let Some(id) = event.get("id").and_then(s)
    {
        return Some(id);
    }
    if let Some(first) = pointer(&["Records", "0"])
        && first.get("eventSource").and_then(|v| v.as_str()) == Some("aws:sqs")
    {
        return first.get("messageId").and_then(s);
    }
    if pointer(&["requestContext", "elb"]).is_some() {
        return pointer(&["headers", "x-amzn-trace-id"]).and_then(s);
    }
    None
}

/// `Value::pointer` over tokens given apart (`&["Records", "0"]` for `/Records/0`), the same lookup
/// without the two strings `pointer` allocates per token: these run on every invocation.
pub(crate) fn json_path<'a>(value: &'a serde_json::Value, tokens: &[&str]) -> Option<&'a serde_json::Value> {
    tokens.iter().try_fold(value, |target, token| match target {
        serde_json::Value::Object(map) => map.get(*token),
        serde_json::Value::Array(list) => {
            // RFC 6901 array indexes, as `pointer` reads them: no sign, no leading zero.
            let index = (!token.starts_with('+') && (!token.starts_with('0') || token.len() == 1))
                .then(|| token.parse::<usize>().ok())
                .flatten()?;
            list.get(index)
        }
        _ => None,
    })
}

/// Extracts a correlation id from a request header of an API Gateway or ALB event (case-insensitive name).
///
/// ```
/// let ev = serde_json::json!({"headers": {"X-Correlation-Id": "c-7"}});
/// assert_eq!(telemetry::context::correlation_id_from_header(&ev, "x-correlation-id").as_deref(), Some("c-7"));
/// ```
#[must_use]
pub fn correlation_id_from_header(event: &serde_json::Value, header: &str) -> Option<String> {
    event
        .get("headers")?
        .as_object()?
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(header))
        .and_then(|(_, v)| v.as_str())
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(feature = "xray")]
    proptest::proptest! {
        /// The byte splitter is `str::split` for an ASCII separator, on any text.
        #[test]
        fn split_ascii_is_str_split(s in "[a-z;:=é ]{0,24}|.{0,24}", sep in proptest::sample::select(vec![b';', b':', b'='])) {
            let ours: Vec<&str> = split_ascii(&s, sep).collect();
            let std: Vec<&str> = s.split(char::from(sep)).collect();
            proptest::prop_assert_eq!(ours, std);
        }
    }

    #[test]
    fn resolved_arn_drops_only_the_qualifier() {
        let f = "arn:aws:lambda:eu-west-1:123456789012:function:valuate";
        assert_eq!(resolved_function_arn(f, None), f);
        assert_eq!(
            resolved_function_arn(&format!("{f}:live"), Some("7")),
            format!("{f}:7")
        );
        assert_eq!(resolved_function_arn(&format!("{f}:live:x"), None), f);
        assert_eq!(resolved_function_arn(&format!("{f}:"), Some("$LATEST")), f);
    }
    use serde_json::json;

    #[test]
    fn json_path_is_pointer_without_allocating() {
        let ev = json!({"Records": [{"a": 1}, {"b": {"0": "x"}}], "o": {"01": 2}});
        for (tokens, pointer) in [
            (&["Records", "0", "a"][..], "/Records/0/a"),
            (&["Records", "1", "b", "0"][..], "/Records/1/b/0"),
            (&["Records", "01"][..], "/Records/01"),
            (&["Records", "+1"][..], "/Records/+1"),
            (&["Records", "2"][..], "/Records/2"),
            (&["o", "01"][..], "/o/01"),
            (&["o", "01", "x"][..], "/o/01/x"),
        ] {
            assert_eq!(json_path(&ev, tokens), ev.pointer(pointer), "{pointer}");
        }
    }

    #[test]
    fn correlation_sources() {
        let eb = json!({"id": "eb-1", "detail-type": "CardValued", "source": "collectiq"});
        assert_eq!(correlation_id(&eb).as_deref(), Some("eb-1"));
        let rest = json!({"resource": "/", "requestContext": {"requestId": "r-1"}});
        assert_eq!(correlation_id(&rest).as_deref(), Some("r-1"));
        let sns = json!({"Records": [{"EventSource": "aws:sns"}]});
        assert_eq!(correlation_id(&sns), None);
        let alb = json!({"requestContext": {"elb": {}}, "headers": {"x-amzn-trace-id": "Root=1-2"}});
        assert_eq!(correlation_id(&alb).as_deref(), Some("Root=1-2"));
        assert_eq!(correlation_id(&json!({"id": "not-eventbridge"})), None);
        assert_eq!(correlation_id(&json!(null)), None);
    }

    #[test]
    fn init_type_cold_semantics() {
        assert!(InitializationType::parse(None).first_invocation_is_cold());
        assert!(!InitializationType::parse(Some("provisioned-concurrency")).first_invocation_is_cold());
        assert!(InitializationType::parse(Some("snap-start")).first_invocation_is_cold());
    }
}

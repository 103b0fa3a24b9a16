//! The OpenTelemetry resource of a Lambda function: `service.*`, `cloud.*`, `faas.*` and
//! `aws.log.*` attributes, as the semantic conventions define them.
//!
//! Specs: <https://opentelemetry.io/docs/specs/semconv/resource/faas/>,
//! <https://opentelemetry.io/docs/specs/semconv/resource/cloud/>,
//! <https://opentelemetry.io/docs/specs/semconv/resource/cloud-provider/aws/logs/> and the FaaS span
//! conventions for AWS Lambda <https://opentelemetry.io/docs/specs/semconv/faas/aws-lambda/>.
//! `OTEL_RESOURCE_ATTRIBUTES` (percent-decoded) and then `OTEL_SERVICE_NAME` win over what Lambda's
//! environment says.

use crate::context::FunctionInfo;
use opentelemetry::{KeyValue, Value};
use opentelemetry_sdk::Resource;

/// The resource attributes Lambda's environment gives, read through `lookup` (tests pass a map).
///
/// ```
/// use telemetry::context::FunctionInfo;
/// let info = FunctionInfo { service: "valuation".into(), function_name: Some("valuate".into()),
///     memory_size: Some(512), ..Default::default() };
/// let attrs = telemetry::otel::resource::lambda_attributes(&info, |k| (k == "AWS_REGION").then(|| "eu-west-1".into()));
/// let get = |k: &str| attrs.iter().find(|kv| kv.key.as_str() == k).map(|kv| kv.value.to_string());
/// assert_eq!(get("cloud.platform").as_deref(), Some("aws_lambda"));
/// assert_eq!(get("faas.max_memory").as_deref(), Some("536870912"));
/// ```
#[must_use]
pub fn lambda_attributes(info: &FunctionInfo, lookup: impl Fn(&str) -> Option<String>) -> Vec<KeyValue> {
    let mut attrs = vec![
        KeyValue::new("cloud.provider", "aws"),
        KeyValue::new("cloud.platform", "aws_lambda"),
    ];
    // Empty means unset (SDK environment variable spec); the SDK's detector ignores it too.
    if lookup("OTEL_SERVICE_NAME").is_none_or(|v| v.trim().is_empty()) {
        // Without a service name of its own, a function's traces carry its name, as AWS's Lambda
        // OpenTelemetry layers set it (`OTEL_SERVICE_NAME` defaults to `AWS_LAMBDA_FUNCTION_NAME`):
        // Powertools' `service_undefined` would put every such function under one service.
        let service = match &info.function_name {
            Some(name) if info.service == crate::context::UNDEFINED_SERVICE => name.clone(),
            _ => info.service.clone(),
        };
        attrs.push(KeyValue::new("service.name", service));
    }
    if let Some(region) = lookup("AWS_REGION").filter(|r| !r.is_empty()) {
        attrs.push(KeyValue::new("cloud.region", region));
    }
    if let Some(name) = &info.function_name {
        attrs.push(KeyValue::new("faas.name", name.clone()));
    }
    if let Some(version) = &info.function_version {
        attrs.push(KeyValue::new("faas.version", version.clone()));
    }
    if let Some(mb) = info.memory_size {
        // Bytes since semantic conventions 1.21.
        attrs.push(KeyValue::new("faas.max_memory", i64::from(mb) * 1024 * 1024));
    }
    if let Some(stream) = lookup("AWS_LAMBDA_LOG_STREAM_NAME").filter(|s| !s.is_empty()) {
        attrs.push(KeyValue::new("faas.instance", stream));
    }
    if let Some(group) = lookup("AWS_LAMBDA_LOG_GROUP_NAME").filter(|s| !s.is_empty()) {
        attrs.push(KeyValue::new(
            "aws.log.group.names",
            Value::Array(vec![opentelemetry::StringValue::from(group)].into()),
        ));
    }
    attrs
}

/// The function's resource: the SDK's `telemetry.sdk.*` and default `service.name`, then
/// [`lambda_attributes`] from the process environment, then `OTEL_RESOURCE_ATTRIBUTES` (W3C Baggage
/// format, values percent-decoded), then `OTEL_SERVICE_NAME`: each later one wins, as the SDK
/// environment variable spec orders them.
#[must_use]
pub fn lambda_resource(info: &FunctionInfo) -> Resource {
    lambda_resource_checked(info).0
}

/// [`lambda_resource`] and, when `OTEL_RESOURCE_ATTRIBUTES` was discarded, why: for `init` to warn.
pub(crate) fn lambda_resource_checked(info: &FunctionInfo) -> (Resource, Option<String>) {
    resource_from(info, |k| std::env::var(k).ok())
}

/// [`lambda_resource_checked`] with the environment read through `lookup`.
fn resource_from(info: &FunctionInfo, lookup: impl Fn(&str) -> Option<String>) -> (Resource, Option<String>) {
    use opentelemetry_sdk::resource::{
        ResourceDetector, SdkProvidedResourceDetector, TelemetryResourceDetector,
    };
    let (explicit, warning) =
        match resource_attributes(&lookup("OTEL_RESOURCE_ATTRIBUTES").unwrap_or_default()) {
            Ok(explicit) => (explicit, None),
            Err(why) => (
                Vec::new(),
                Some(format!(
                    "OTEL_RESOURCE_ATTRIBUTES: {why}; the whole value is ignored"
                )),
            ),
        };
    let mut attrs = lambda_attributes(info, &lookup);
    attrs.retain(|kv| !explicit.iter().any(|e| e.key == kv.key));
    let detectors: [Box<dyn ResourceDetector>; 2] = [
        Box::new(SdkProvidedResourceDetector),
        Box::new(TelemetryResourceDetector),
    ];
    let mut builder = Resource::builder_empty()
        .with_detectors(&detectors)
        .with_attributes(attrs)
        .with_attributes(explicit);
    if let Some(name) = lookup("OTEL_SERVICE_NAME").filter(|v| !v.trim().is_empty()) {
        builder = builder.with_service_name(name.trim().to_owned());
    }
    (builder.build(), warning)
}

/// `OTEL_RESOURCE_ATTRIBUTES`: `key=value` list-members separated by `,` (W3C Baggage format),
/// spaces around them trimmed, keys and values percent-decoded, `;` properties left out, blank
/// members skipped. A member without `=`, with an empty key, or with a bad `%` escape or bytes that
/// are not UTF-8 is an error that names it: the resource SDK spec discards the entire value "in
/// case of any error, e.g. failure during the decoding process", never part of it.
fn resource_attributes(value: &str) -> Result<Vec<KeyValue>, String> {
    let mut out = Vec::new();
    for (i, member) in value.split(',').enumerate() {
        let member = member.split(';').next().unwrap_or_default();
        if member.trim().is_empty() {
            continue;
        }
        let at = |what: &str| format!("member {} ({:?}) {what}", i + 1, member.trim());
        let (k, v) = member.split_once('=').ok_or_else(|| at("has no `=`"))?;
        let decode = |s: &str| crate::otel::config::percent_decode_exact(s.trim());
        let key = decode(k).ok_or_else(|| at("has a key that does not percent-decode to UTF-8"))?;
        if key.is_empty() {
            return Err(at("has an empty key"));
        }
        let value = decode(v).ok_or_else(|| at("has a value that does not percent-decode to UTF-8"))?;
        out.push(KeyValue::new(key, value));
    }
    Ok(out)
}

/// The span attributes of one invocation (the FaaS server span), typed as the semantic conventions
/// type them: `faas.invocation_id`, `faas.coldstart` (a boolean), `faas.trigger`, `cloud.resource_id`
/// (the function ARN with the running version,
/// [`resolved_function_arn`](crate::context::resolved_function_arn)), `cloud.account.id` and
/// `aws.lambda.invoked_arn` (the ARN as invoked, alias and all).
///
/// ```
/// use opentelemetry::KeyValue;
/// let arn = "arn:aws:lambda:eu-west-1:123456789012:function:f:live";
/// let attrs = telemetry::otel::resource::invocation_attributes("req-1", arn, Some("7"), true,
///     &serde_json::json!({"Records": [{"eventSource": "aws:sqs"}]}));
/// assert!(attrs.contains(&KeyValue::new("faas.coldstart", true)));
/// assert!(attrs.contains(&KeyValue::new("faas.trigger", "pubsub")));
/// assert!(attrs.contains(&KeyValue::new("cloud.account.id", "123456789012")));
/// assert!(attrs.contains(&KeyValue::new("cloud.resource_id", "arn:aws:lambda:eu-west-1:123456789012:function:f:7")));
/// assert!(attrs.contains(&KeyValue::new("aws.lambda.invoked_arn", arn)));
/// ```
#[must_use]
pub fn invocation_attributes(
    request_id: &str,
    arn: &str,
    function_version: Option<&str>,
    cold_start: bool,
    event: &serde_json::Value,
) -> Vec<KeyValue> {
    let mut out = vec![
        KeyValue::new("faas.invocation_id", request_id.to_owned()),
        KeyValue::new("faas.coldstart", cold_start),
        KeyValue::new("faas.trigger", faas_trigger(event)),
    ];
    if !arn.is_empty() {
        out.push(KeyValue::new(
            "cloud.resource_id",
            crate::context::resolved_function_arn(arn, function_version),
        ));
        if let Some(account) = crate::context::arn_account(arn) {
            out.push(KeyValue::new("cloud.account.id", account.to_owned()));
        }
        out.push(KeyValue::new("aws.lambda.invoked_arn", arn.to_owned()));
    }
    out
}

/// `faas.trigger` for an event: `http` (API Gateway, ALB, function URLs), `pubsub` (SQS, SNS,
/// EventBridge), `datasource` (DynamoDB and Kinesis streams, S3), `timer` (scheduled events), else
/// `other`.
#[must_use]
pub fn faas_trigger(event: &serde_json::Value) -> &'static str {
    if event.get("requestContext").is_some() || event.get("httpMethod").is_some() {
        return "http";
    }
    if event.get("detail-type").and_then(serde_json::Value::as_str) == Some("Scheduled Event") {
        return "timer";
    }
    if event.get("detail-type").is_some() {
        return "pubsub";
    }
    let first = crate::context::json_path(event, &["Records", "0"]);
    let source = first
        .and_then(|r| r.get("eventSource"))
        .or_else(|| first.and_then(|r| r.get("EventSource")))
        .and_then(serde_json::Value::as_str);
    match source {
        Some("aws:sqs" | "aws:sns") => "pubsub",
        Some("aws:dynamodb" | "aws:kinesis" | "aws:s3") => "datasource",
        _ => "other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// SDK environment variable spec: `OTEL_SERVICE_NAME` wins over a `service.name` in
    /// `OTEL_RESOURCE_ATTRIBUTES`, which wins over what Lambda's environment implies; the attributes'
    /// values are percent-decoded (W3C Baggage format).
    #[test]
    fn service_name_and_resource_attributes_follow_the_spec_order() {
        let info = FunctionInfo {
            service: "valuation".into(),
            function_name: Some("valuate".into()),
            ..Default::default()
        };
        let attr = |r: &Resource, k: &str| {
            r.get(&opentelemetry::Key::from(k.to_owned()))
                .map(|v| v.to_string())
        };
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| (*v).to_owned())
        };
        let both = resource_from(
            &info,
            env(&[
                ("OTEL_SERVICE_NAME", "pricing"),
                (
                    "OTEL_RESOURCE_ATTRIBUTES",
                    "service.name=legacy, deployment.environment=eu%20west;p=1,faas.name=renamed,team%3Dkey=a%2Cb,",
                ),
            ]),
        )
        .0;
        assert_eq!(attr(&both, "service.name").as_deref(), Some("pricing"));
        assert_eq!(attr(&both, "deployment.environment").as_deref(), Some("eu west"));
        assert_eq!(attr(&both, "faas.name").as_deref(), Some("renamed"));
        assert_eq!(attr(&both, "cloud.provider").as_deref(), Some("aws"));
        assert_eq!(attr(&both, "team=key").as_deref(), Some("a,b"));
        assert!(attr(&both, "telemetry.sdk.name").is_some());
        let attrs_only = resource_from(&info, env(&[("OTEL_RESOURCE_ATTRIBUTES", "service.name=legacy")])).0;
        assert_eq!(attr(&attrs_only, "service.name").as_deref(), Some("legacy"));
        let neither = resource_from(&info, env(&[("OTEL_SERVICE_NAME", " ")])).0;
        assert_eq!(attr(&neither, "service.name").as_deref(), Some("valuation"));
    }

    /// Without `OTEL_SERVICE_NAME` or `POWERTOOLS_SERVICE_NAME`, the service is the function (AWS's
    /// Lambda OpenTelemetry layers default `OTEL_SERVICE_NAME` to `AWS_LAMBDA_FUNCTION_NAME`), not
    /// Powertools' `service_undefined`, which would merge every such function into one service; a
    /// service named in the environment still wins.
    #[test]
    fn an_unnamed_service_is_named_after_the_function() {
        let lambda = |k: &str| {
            [("AWS_LAMBDA_FUNCTION_NAME", "collectiq-prod-pricing-agent")]
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| (*v).to_owned())
        };
        let unnamed = FunctionInfo::from_lookup(lambda);
        assert_eq!(unnamed.service, crate::context::UNDEFINED_SERVICE);
        let service = |info: &FunctionInfo| {
            lambda_attributes(info, |_| None)
                .into_iter()
                .find(|kv| kv.key.as_str() == "service.name")
                .map(|kv| kv.value.to_string())
        };
        assert_eq!(service(&unnamed).as_deref(), Some("collectiq-prod-pricing-agent"));
        let named = FunctionInfo::from_lookup(|k| match k {
            "POWERTOOLS_SERVICE_NAME" => Some("pricing".into()),
            other => lambda(other),
        });
        assert_eq!(service(&named).as_deref(), Some("pricing"));
        // Outside Lambda (no function name) the default stays.
        assert_eq!(
            service(&FunctionInfo::from_lookup(|_| None)).as_deref(),
            Some("service_undefined")
        );
    }

    /// Resource SDK spec: "In case of any error, e.g. failure during the decoding process, the entire
    /// environment variable value SHOULD be discarded and an error SHOULD be reported" — a bad member
    /// anywhere keeps none of the others, and the warning names the member.
    #[test]
    fn a_bad_resource_attributes_member_discards_the_whole_value() {
        let info = FunctionInfo {
            service: "valuation".into(),
            ..Default::default()
        };
        for (value, named) in [
            (
                "deployment.environment=prod,broken",
                "member 2 (\"broken\") has no `=`",
            ),
            (
                "deployment.environment=prod, =x",
                "member 2 (\"=x\") has an empty key",
            ),
            (
                "deployment.environment=prod,team=a%zz",
                "member 2 (\"team=a%zz\") has a value",
            ),
            ("deployment.environment=prod,team=a%", "member 2"),
            ("deployment.environment=prod,team=%ff%fe", "member 2"),
            (
                "deployment.environment=prod,te%4=a",
                "member 2 (\"te%4=a\") has a key",
            ),
        ] {
            let lookup = |k: &str| (k == "OTEL_RESOURCE_ATTRIBUTES").then(|| value.to_owned());
            let (resource, warning) = resource_from(&info, lookup);
            let warning = warning.unwrap_or_else(|| panic!("{value}: no warning"));
            assert!(warning.contains(named), "{value}: {warning}");
            assert!(warning.starts_with("OTEL_RESOURCE_ATTRIBUTES: "), "{warning}");
            let get = |k: &str| resource.get(&opentelemetry::Key::from(k.to_owned()));
            assert_eq!(get("deployment.environment"), None, "{value}: kept in part");
            assert_eq!(
                get("service.name").map(|v| v.to_string()).as_deref(),
                Some("valuation")
            );
        }
        let lookup = |k: &str| (k == "OTEL_RESOURCE_ATTRIBUTES").then(|| " , ".to_owned());
        assert_eq!(resource_from(&info, lookup).1, None, "blank members are no error");
    }

    /// FaaS span conventions: `faas.coldstart` is a boolean, `faas.invocation_id` and `faas.trigger`
    /// strings.
    #[test]
    fn invocation_attributes_have_the_conventions_types() {
        for cold in [true, false] {
            let attrs = invocation_attributes("req-1", "", None, cold, &json!({}));
            let get = |k: &str| {
                attrs
                    .iter()
                    .find(|kv| kv.key.as_str() == k)
                    .map(|kv| kv.value.clone())
            };
            assert_eq!(get("faas.coldstart"), Some(Value::Bool(cold)));
            assert_eq!(get("faas.invocation_id"), Some(Value::from("req-1")));
            assert_eq!(get("faas.trigger"), Some(Value::from("other")));
        }
    }

    #[test]
    fn triggers_per_event_source() {
        assert_eq!(
            faas_trigger(&json!({"version": "2.0", "requestContext": {"http": {}}})),
            "http"
        );
        assert_eq!(
            faas_trigger(&json!({"Records": [{"EventSource": "aws:sns"}]})),
            "pubsub"
        );
        assert_eq!(
            faas_trigger(&json!({"Records": [{"eventSource": "aws:dynamodb"}]})),
            "datasource"
        );
        assert_eq!(
            faas_trigger(&json!({"detail-type": "Scheduled Event", "source": "aws.events"})),
            "timer"
        );
        assert_eq!(faas_trigger(&json!({"detail-type": "CardValued"})), "pubsub");
        assert_eq!(faas_trigger(&json!({"anything": 1})), "other");
    }

    /// SDK environment variables: "The SDK MUST interpret an empty value of an environment variable the
    /// same way as when the variable is unset." An empty `OTEL_SERVICE_NAME` leaves the Powertools name.
    #[test]
    fn an_empty_otel_service_name_is_unset() {
        let info = FunctionInfo {
            service: "valuation".into(),
            ..Default::default()
        };
        for empty in ["", "  "] {
            let attrs = lambda_attributes(&info, |k| (k == "OTEL_SERVICE_NAME").then(|| empty.to_owned()));
            let name = attrs.iter().find(|kv| kv.key.as_str() == "service.name");
            assert_eq!(
                name.map(|kv| kv.value.clone()),
                Some("valuation".into()),
                "{empty:?}"
            );
        }
        let named = lambda_attributes(&info, |k| {
            (k == "OTEL_SERVICE_NAME").then(|| "pricing".to_owned())
        });
        assert!(
            !named.iter().any(|kv| kv.key.as_str() == "service.name"),
            "a set OTEL_SERVICE_NAME is the SDK detector's to apply"
        );
    }

    #[test]
    fn resource_attributes_follow_the_conventions() {
        let info = FunctionInfo {
            service: "valuation".into(),
            function_name: Some("valuate".into()),
            memory_size: Some(128),
            function_version: Some("$LATEST".into()),
            ..Default::default()
        };
        let env = |k: &str| match k {
            "AWS_REGION" => Some("eu-west-1".to_owned()),
            "AWS_LAMBDA_LOG_STREAM_NAME" => Some("2026/12/02/[$LATEST]abc".to_owned()),
            "AWS_LAMBDA_LOG_GROUP_NAME" => Some("/aws/lambda/valuate".to_owned()),
            _ => None,
        };
        let attrs = lambda_attributes(&info, env);
        let get = |k: &str| {
            attrs
                .iter()
                .find(|kv| kv.key.as_str() == k)
                .map(|kv| kv.value.clone())
        };
        assert_eq!(get("service.name"), Some("valuation".into()));
        assert_eq!(get("cloud.provider"), Some("aws".into()));
        assert_eq!(get("cloud.region"), Some("eu-west-1".into()));
        assert_eq!(get("faas.name"), Some("valuate".into()));
        assert_eq!(get("faas.version"), Some("$LATEST".into()));
        assert_eq!(get("faas.max_memory"), Some(Value::I64(134_217_728)));
        assert_eq!(get("faas.instance"), Some("2026/12/02/[$LATEST]abc".into()));
        assert_eq!(
            get("aws.log.group.names").map(|v| v.to_string()).as_deref(),
            Some("[\"/aws/lambda/valuate\"]")
        );
        let named = lambda_attributes(&info, |k| (k == "OTEL_SERVICE_NAME").then(|| "x".to_owned()));
        assert!(
            named.iter().all(|kv| kv.key.as_str() != "service.name"),
            "OTEL_SERVICE_NAME wins"
        );
    }
}

//! [`init`] and [`TelemetryBuilder`]: build the process-wide `tracing` subscriber (JSON logs, X-Ray),
//! the EMF recorder and the panic hook from the environment, install them once, and configure the
//! [`layer`](super::layer) every invocation goes through.

use super::layer::{Shared, install_shared, process_cold_start};
use crate::context::{FunctionInfo, is_falsy, is_truthy};
use crate::emf::EmfBuilder;
use crate::logs::{JsonLogLayer, LevelSource, LogConfig, PanicHook};
use crate::xray::XrayLayer;
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::layer::SubscriberExt;

/// Why [`init`] failed.
#[derive(Debug, thiserror::Error)]
pub enum InitError {
    /// The metrics recorder could not be built or installed.
    #[error(transparent)]
    Metrics(#[from] crate::emf::BuildError),
    /// A global `tracing` subscriber is already set.
    #[error("a global tracing subscriber is already set")]
    SubscriberAlreadySet,
    /// The trace exporters named in the environment (`OTEL_TRACES_EXPORTER` …) are invalid
    /// ([`TelemetryBuilder::install`] logs it and exports no span instead of returning it).
    #[error(transparent)]
    TraceConfig(#[from] crate::otel::ConfigError),
    /// A configured trace exporter could not be set up (likewise logged by
    /// [`TelemetryBuilder::install`]).
    #[error(transparent)]
    TraceExporter(#[from] crate::otel::ExporterBuildError),
}

/// The span layer and the global OpenTelemetry provider over the exporters the environment names
/// (`OTEL_TRACES_EXPORTER`, default X-Ray daemon); `None` when it names none. Also what was ignored
/// (unknown values, a daemon address that does not resolve), for [`TelemetryBuilder::install`] to log
/// once the subscriber is up: the SDK environment variable spec says warn, never fail.
fn span_layer(function: &FunctionInfo) -> Result<(Option<XrayLayer>, Vec<String>), InitError> {
    // Propagation does not depend on export: disabling the SDK "has no effect on propagators".
    install_propagator();
    let config = crate::otel::TraceExportConfig::from_env()?;
    let mut warnings: Vec<String> = config.warnings.iter().map(ToString::to_string).collect();
    let (resource, resource_warning) = crate::otel::resource::lambda_resource_checked(function);
    warnings.extend(resource_warning);
    let built = config.build(&resource)?;
    warnings.extend(
        built
            .unavailable
            .iter()
            .map(|e| format!("{e}; its spans are not exported")),
    );
    warnings.extend(crate::otel::provider::sampler_warnings(
        std::env::var("OTEL_TRACES_SAMPLER").ok().as_deref(),
        std::env::var("OTEL_TRACES_SAMPLER_ARG").ok().as_deref(),
    ));
    // Sampler names are case-insensitive (SDK spec). `always_off`: no span of any kind is sampled,
    // `tracing`'s included.
    let sampler = std::env::var("OTEL_TRACES_SAMPLER")
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    // No exporter (`OTEL_SDK_DISABLED`, `OTEL_TRACES_EXPORTER=none`) or `always_off`: nothing leaves,
    // but the layer still keeps each invocation's context for outgoing calls — the SDK spec: disabling
    // "has no effect on propagators configured through the OTEL_PROPAGATORS variable".
    if built.sinks.is_empty() || sampler == "always_off" {
        let layer = XrayLayer::with_span_sink(built.sinks)
            .with_pass_through(true)
            .with_sampling_off(sampler == "always_off");
        return Ok((Some(layer), warnings));
    }
    // An invocation without any trace context starts its own trace only when the sampler says so.
    let roots = matches!(sampler.as_str(), "always_on" | "parentbased_always_on");
    let layer = XrayLayer::with_span_sink(built.sinks).with_root_sampling(roots);
    // The global provider holds its own handle; spans made with the OpenTelemetry API share the sinks.
    let _provider = crate::otel::install_provider(layer.sink(), resource);
    Ok((Some(layer), warnings))
}

/// Makes `OTEL_PROPAGATORS` the OpenTelemetry API's global propagator ([`EnvPropagator`]), so a
/// library built on that API carries the invocation's context in its outgoing calls (the API's
/// default propagator is a no-op). With `none` (or `baggage` alone) the no-op stays.
///
/// [`EnvPropagator`]: crate::propagation::EnvPropagator
fn install_propagator() {
    let propagator = crate::propagation::EnvPropagator::new(crate::propagation::Propagators::from_env());
    if !propagator.is_noop() {
        opentelemetry::global::set_text_map_propagator(propagator);
    }
}

/// `emf` with the function name its `ColdStart` metric needs (`POWERTOOLS_METRICS_FUNCTION_NAME`, else
/// the function's own) when the builder given has none: an `EmfBuilder::new()` passed to
/// [`TelemetryBuilder::metrics`] reads no environment, and Powertools' `ColdStart` always carries
/// `function_name` beside `service`.
fn with_cold_start_function(
    emf: EmfBuilder,
    function: &FunctionInfo,
    lookup: impl Fn(&str) -> Option<String>,
) -> EmfBuilder {
    let name = lookup("POWERTOOLS_METRICS_FUNCTION_NAME")
        .filter(|v| !v.trim().is_empty())
        .or_else(|| function.function_name.clone());
    emf.or_function_name(name)
}

/// Whether traces are exported, read through `lookup` (see [`TelemetryBuilder::from_env`]). Powertools'
/// tracer is on by default: `POWERTOOLS_TRACE_ENABLED` turns it off only with a false value
/// (`false`, `0`, `no`, `n`, `f`, `off`), never because a value is unknown.
fn tracing_enabled(lookup: impl Fn(&str) -> Option<String>) -> bool {
    let set = |k: &str, meaning: fn(&str) -> bool| lookup(k).is_some_and(|v| meaning(&v));
    !(set("POWERTOOLS_TRACE_ENABLED", is_falsy)
        || set("POWERTOOLS_TRACE_DISABLED", is_truthy)
        || set("POWERTOOLS_DEV", is_truthy))
}

/// A level the function asked for that `AWS_LAMBDA_LOG_LEVEL` (which always wins) hides.
#[derive(Debug, PartialEq)]
enum Hidden {
    /// The log buffer's level: buffered lines of it are dropped when flushed.
    Buffer(LevelFilter),
    /// The level set in code, or — when none is — by `POWERTOOLS_LOG_LEVEL`, `LOG_LEVEL` or `RUST_LOG`.
    Asked(LevelFilter, LevelSource),
}

/// What `AWS_LAMBDA_LOG_LEVEL` hides of what `logs` asks for, as `(hidden, lambda's level)`:
/// Powertools warns for each level more verbose than Lambda's, wherever it was set.
fn hidden_by_lambda_level(logs: &LogConfig) -> Vec<(Hidden, LevelFilter)> {
    let Some(alc) = logs.alc_level else {
        return Vec::new();
    };
    let buffer = logs
        .buffer
        .map(|b| Hidden::Buffer(LevelFilter::from_level(b.level)));
    let asked = logs
        .code_level
        .map(|l| (l, LevelSource::Code))
        .or(logs.env_level)
        .map(|(l, source)| Hidden::Asked(l, source));
    [buffer, asked]
        .into_iter()
        .flatten()
        .filter(|h| match h {
            Hidden::Buffer(l) | Hidden::Asked(l, _) => *l > alc,
        })
        .map(|h| (h, alc))
        .collect()
}

/// Configures logs, metrics and traces; [`init`] is `TelemetryBuilder::from_env().install()`.
///
/// ```no_run
/// use telemetry::logs::{BufferConfig, LogConfig};
/// telemetry::lambda::TelemetryBuilder::from_env()
///     .logs(LogConfig::from_env().with_buffer(BufferConfig::default()))
///     .install()?;
/// # Ok::<(), telemetry::lambda::InitError>(())
/// ```
#[derive(Debug)]
pub struct TelemetryBuilder {
    function: FunctionInfo,
    logs: LogConfig,
    emf: EmfBuilder,
    xray: bool,
    correlation_header: Option<String>,
}

impl TelemetryBuilder {
    /// Everything from the environment: `POWERTOOLS_*`, `AWS_LAMBDA_*`, `AWS_XRAY_DAEMON_ADDRESS`, and
    /// the trace exporters from `OTEL_TRACES_EXPORTER` and `OTEL_EXPORTER_OTLP_*` ([`crate::otel`]).
    /// Tracing is on unless `POWERTOOLS_TRACE_ENABLED` is a false value (`false`, `0`, `no`, `n`, `f`,
    /// `off`, case-insensitive), or `POWERTOOLS_TRACE_DISABLED` or `POWERTOOLS_DEV` a true one (`true`,
    /// `1`, `yes`, `y`, `t`, `on`): Powertools' reading ([`crate::context::is_truthy`]).
    #[must_use]
    pub fn from_env() -> Self {
        Self {
            function: FunctionInfo::from_env(),
            logs: LogConfig::from_env(),
            emf: EmfBuilder::from_env(),
            xray: tracing_enabled(|k| std::env::var(k).ok()),
            correlation_header: None,
        }
    }

    /// Replaces the log configuration.
    #[must_use]
    pub fn logs(mut self, logs: LogConfig) -> Self {
        self.logs = logs;
        self
    }

    /// Replaces the metrics configuration.
    #[must_use]
    pub fn metrics(mut self, emf: EmfBuilder) -> Self {
        self.emf = emf;
        self
    }

    /// Turns X-Ray export on or off.
    #[must_use]
    pub fn xray(mut self, enabled: bool) -> Self {
        self.xray = enabled;
        self
    }

    /// Takes correlation ids from this request header first.
    #[must_use]
    pub fn correlation_header(mut self, header: impl Into<String>) -> Self {
        self.correlation_header = Some(header.into());
        self
    }

    /// Installs the global subscriber and metrics recorder, and configures [`layer`](super::layer).
    ///
    /// A metrics or trace-export configuration it refuses (`POWERTOOLS_METRICS_NAMESPACE` with a space,
    /// `OTEL_EXPORTER_OTLP_CERTIFICATE` naming no file …) does not stop the function: that part is off
    /// and one ERROR line says why (ARCHITECTURE: telemetry loses telemetry, never requests).
    ///
    /// # Errors
    /// A global subscriber or metrics recorder is already installed.
    pub fn install(self) -> Result<(), InitError> {
        let logs = self.logs.with_function(self.function.clone());
        let sample_rate = logs.sample_rate();
        let log_event = logs.log_event();
        let hidden = hidden_by_lambda_level(&logs);
        // A trace configuration telemetry refuses (a malformed endpoint, an unreadable TLS file) loses
        // spans, not requests: the function starts with nothing exported — the layer still carries each
        // invocation's context to outgoing calls — and says why at ERROR once the subscriber is up.
        let (xray, trace_warnings, trace_refused) = if self.xray {
            match span_layer(&self.function) {
                Ok((layer, warnings)) => (layer, warnings, None),
                Err(e) => (
                    Some(XrayLayer::with_span_sink(crate::xray::SpanSinks::new()).with_pass_through(true)),
                    Vec::new(),
                    Some(e),
                ),
            }
        } else {
            (None, Vec::new(), None)
        };
        let spans = xray.as_ref().map(XrayLayer::sink);
        let panic_hook = PanicHook::new(logs.clone());
        let subscriber = tracing_subscriber::registry()
            .with(JsonLogLayer::new(logs))
            .with(xray);
        tracing::subscriber::set_global_default(subscriber).map_err(|_| InitError::SubscriberAlreadySet)?;
        // Panics become one JSON line with the invocation's context, not the default hook's text.
        panic_hook.install();
        for warning in &trace_warnings {
            tracing::warn!(warning = %warning, "trace export setting ignored");
        }
        if let Some(e) = trace_refused {
            tracing::error!(
                error = %e,
                "trace export configuration refused: no span is exported; invocations are served as usual"
            );
        }
        for (hidden, alc) in hidden {
            match hidden {
                Hidden::Buffer(level) => tracing::warn!(
                    buffer_level = %level,
                    lambda_log_level = %alc,
                    "AWS_LAMBDA_LOG_LEVEL hides buffered log lines when they are flushed"
                ),
                Hidden::Asked(level, LevelSource::Code) => tracing::warn!(
                    code_level = %level,
                    lambda_log_level = %alc,
                    "the level set in code is more verbose than AWS_LAMBDA_LOG_LEVEL, which wins"
                ),
                Hidden::Asked(level, source) => tracing::warn!(
                    env_level = %level,
                    level_source = ?source,
                    lambda_log_level = %alc,
                    "the level set in the environment is more verbose than AWS_LAMBDA_LOG_LEVEL, which wins"
                ),
            }
        }
        // Likewise a metrics configuration telemetry refuses (a namespace or service name CloudWatch
        // would refuse): no metric is written, and the function still starts. Another recorder
        // installed already is a program's mistake, not a setting, and is returned.
        let emf =
            match with_cold_start_function(self.emf, &self.function, |k| std::env::var(k).ok()).install() {
                Ok(emf) => Some(emf),
                Err(e @ crate::emf::BuildError::AlreadyInstalled) => return Err(e.into()),
                Err(e) => {
                    tracing::error!(
                        error = %e,
                        "metrics configuration refused: no metric is written; invocations are served as usual"
                    );
                    None
                }
            };
        install_shared(Shared {
            function: self.function,
            sample_rate,
            log_event,
            emf,
            cold: process_cold_start(),
            correlation: None,
            correlation_header: self.correlation_header,
            propagators: None,
            spans,
        });
        Ok(())
    }
}

/// Reads the environment and installs logs, metrics and traces. Call once at the top of `main`.
///
/// # Errors
/// See [`TelemetryBuilder::install`].
pub fn init() -> Result<(), InitError> {
    TelemetryBuilder::from_env().install()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::logs::BufferConfig;
    use std::collections::HashMap;

    fn logs(env: &[(&str, &str)]) -> LogConfig {
        let env: HashMap<String, String> = env.iter().map(|(k, v)| ((*k).into(), (*v).into())).collect();
        LogConfig::from_lookup(|k| env.get(k).cloned())
    }

    /// Powertools warns whenever a level the function asks for is more verbose than Lambda's
    /// advanced logging controls' level: from the environment as much as from code or the buffer.
    #[test]
    fn levels_more_verbose_than_lambdas_are_named_wherever_set() {
        let warn = LevelFilter::WARN;
        assert_eq!(
            hidden_by_lambda_level(&logs(&[
                ("AWS_LAMBDA_LOG_LEVEL", "WARN"),
                ("POWERTOOLS_LOG_LEVEL", "DEBUG")
            ])),
            vec![(Hidden::Asked(LevelFilter::DEBUG, LevelSource::Powertools), warn)]
        );
        assert_eq!(
            hidden_by_lambda_level(&logs(&[("AWS_LAMBDA_LOG_LEVEL", "WARN"), ("RUST_LOG", "trace")])),
            vec![(Hidden::Asked(LevelFilter::TRACE, LevelSource::RustLog), warn)]
        );
        assert_eq!(
            hidden_by_lambda_level(&logs(&[("AWS_LAMBDA_LOG_LEVEL", "WARN"), ("LOG_LEVEL", "debug")])),
            vec![(Hidden::Asked(LevelFilter::DEBUG, LevelSource::LogLevel), warn)]
        );
        // Code wins over the environment, and the buffer is named on its own.
        let cfg = logs(&[
            ("AWS_LAMBDA_LOG_LEVEL", "WARN"),
            ("POWERTOOLS_LOG_LEVEL", "DEBUG"),
        ])
        .with_level(LevelFilter::INFO)
        .with_buffer(BufferConfig::default());
        assert_eq!(
            hidden_by_lambda_level(&cfg),
            vec![
                (Hidden::Buffer(LevelFilter::DEBUG), warn),
                (Hidden::Asked(LevelFilter::INFO, LevelSource::Code), warn)
            ]
        );
        // As verbose or quieter than Lambda's level, or no Lambda level: nothing to say.
        for env in [
            &[
                ("AWS_LAMBDA_LOG_LEVEL", "DEBUG"),
                ("POWERTOOLS_LOG_LEVEL", "DEBUG"),
            ][..],
            &[
                ("AWS_LAMBDA_LOG_LEVEL", "INFO"),
                ("POWERTOOLS_LOG_LEVEL", "ERROR"),
            ],
            &[("POWERTOOLS_LOG_LEVEL", "TRACE")],
        ] {
            assert_eq!(hidden_by_lambda_level(&logs(env)), Vec::new(), "{env:?}");
        }
    }

    /// Powertools' tracer is on by default and only an explicit false value turns it off
    /// (`POWERTOOLS_TRACE_ENABLED`, read with Python's `strtobool`: `0`, `n`, `no`, `f`, `false`, `off`,
    /// case-insensitive); anything else, even a value that is not a boolean, leaves it on.
    #[test]
    fn only_a_false_value_turns_tracing_off() {
        let enabled = |pairs: &[(&str, &str)]| {
            let env: HashMap<String, String> =
                pairs.iter().map(|(k, v)| ((*k).into(), (*v).into())).collect();
            tracing_enabled(|k| env.get(k).cloned())
        };
        assert!(enabled(&[]));
        for on in ["enabled", "", "t", "y", "T", "true", "1", "yes", "on", "maybe"] {
            assert!(enabled(&[("POWERTOOLS_TRACE_ENABLED", on)]), "{on:?}");
        }
        for off in ["false", "FALSE", " False ", "0", "n", "No", "f", "off", "OFF"] {
            assert!(!enabled(&[("POWERTOOLS_TRACE_ENABLED", off)]), "{off:?}");
        }
        // The inverse name and POWERTOOLS_DEV take Powertools' true values, `y` and `t` included.
        for var in ["POWERTOOLS_TRACE_DISABLED", "POWERTOOLS_DEV"] {
            for on in ["true", "1", "y", "t", "Yes", "ON"] {
                assert!(!enabled(&[(var, on)]), "{var}={on:?}");
            }
            for off in ["false", "0", "", "disabled"] {
                assert!(enabled(&[(var, off)]), "{var}={off:?}");
            }
        }
    }

    /// The OpenTelemetry API's global propagator is a no-op until `init` installs the environment's
    /// (unset `OTEL_PROPAGATORS`: X-Ray and W3C): a library on that API then injects both.
    #[test]
    fn init_installs_the_environments_propagator_for_the_opentelemetry_api() {
        let fields = || opentelemetry::global::get_text_map_propagator(|p| p.fields().count());
        install_propagator();
        let expected = crate::propagation::EnvPropagator::new(crate::propagation::Propagators::from_env());
        if !expected.is_noop() {
            assert_eq!(
                fields(),
                opentelemetry::propagation::TextMapPropagator::fields(&expected).count()
            );
        }
        assert!(
            std::env::var("OTEL_PROPAGATORS").is_ok() || fields() == 3,
            "traceparent, tracestate and x-amzn-trace-id"
        );
    }

    /// A metrics builder given without a function name gets the function's, or
    /// `POWERTOOLS_METRICS_FUNCTION_NAME`; one that names it keeps its own.
    #[test]
    fn the_cold_start_metric_always_has_a_function_name() {
        let function = FunctionInfo {
            function_name: Some("valuate-card".into()),
            ..Default::default()
        };
        let name = |b: EmfBuilder| {
            let buf = crate::emf::SharedBuffer::default();
            let rec = b.namespace("CollectIQ").with_writer(buf.clone()).build().unwrap();
            let m = rec.invocation();
            m.record_cold_start();
            rec.flush_invocation(&m, &[]);
            let doc: serde_json::Value =
                serde_json::from_str(buf.contents().lines().next().unwrap()).unwrap();
            doc["function_name"].as_str().map(str::to_owned)
        };
        let none = |_: &str| None;
        assert_eq!(
            name(with_cold_start_function(EmfBuilder::new(), &function, none)).as_deref(),
            Some("valuate-card")
        );
        let env = |k: &str| (k == "POWERTOOLS_METRICS_FUNCTION_NAME").then(|| "card-valuer".to_owned());
        assert_eq!(
            name(with_cold_start_function(EmfBuilder::new(), &function, env)).as_deref(),
            Some("card-valuer")
        );
        let own = EmfBuilder::new().function_name("mine");
        assert_eq!(
            name(with_cold_start_function(own, &function, env)).as_deref(),
            Some("mine")
        );
    }
}

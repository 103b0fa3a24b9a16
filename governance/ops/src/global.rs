//! The options every `collectiq-ops` subcommand takes, and what they build: the loaded platform spec and
//! the SDK clients (profile, region, `--endpoint-url`). Clap accepts each of them before or after any subcommand;
//! one a subcommand has no use for is refused when given on the command line ([`GlobalOption`]).

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Result;
use clap::Args;
use clap::builder::TypedValueParser as _;
use governance::aws::{AwsClients, AwsTarget, sdk_config};
use platform_spec::PlatformSpec;

/// The spec `--platform` names when neither it nor `COLLECTIQ_PLATFORM` is given.
pub const DEFAULT_PLATFORM: &str = "infra/platforms/collectiq-prod.toml";

/// Options every subcommand accepts; one it has no use for is refused when given on the command line.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Platform spec (TOML) describing the platform environment.
    // Taken as given, even blank: a blank `COLLECTIQ_PLATFORM` counts as unset and a blank
    // `--platform` is refused, by `cli::parse` (clap's path parser would refuse both alike).
    #[arg(
        long,
        global = true,
        default_value = DEFAULT_PLATFORM,
        env = "COLLECTIQ_PLATFORM",
        value_parser = clap::builder::OsStringValueParser::new().map(PathBuf::from)
    )]
    pub platform: PathBuf,
    /// Whether the user named the platform (`--platform`, `COLLECTIQ_PLATFORM`), even as the default
    /// path: set by `cli::parse`.
    #[arg(skip)]
    pub platform_named: bool,
    /// Send every AWS call to this endpoint (e.g. a local emulator) with test credentials.
    #[arg(long, global = true, env = "COLLECTIQ_ENDPOINT_URL", value_parser = endpoint_url)]
    pub endpoint_url: Option<String>,
    /// AWS profile.
    #[arg(long, global = true)]
    pub profile: Option<String>,
    /// AWS region (default: the spec's `[platform].region`, where its resources are).
    #[arg(long, global = true, value_parser = region)]
    pub region: Option<String>,
    /// Machine-readable JSON on stdout instead of text.
    #[arg(long, global = true)]
    pub json: bool,
    /// Where files are written.
    #[arg(long, global = true, default_value = "out")]
    pub out: PathBuf,
}

/// One of the [`GlobalArgs`], to say which a subcommand has no use for (each command module's
/// `why_unused`). Given on the command line to a subcommand that would ignore it, it is refused by
/// `cli::parse`; set through the environment or left at its default, it is not: those are set once for
/// every command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GlobalOption {
    /// `--platform`.
    Platform,
    /// `--endpoint-url`.
    EndpointUrl,
    /// `--profile`.
    Profile,
    /// `--region`.
    Region,
    /// `--json`.
    Json,
    /// `--out`.
    Out,
}

impl GlobalOption {
    /// Every global option, in `--help`'s order.
    pub const ALL: [Self; 6] = [
        Self::Platform,
        Self::EndpointUrl,
        Self::Profile,
        Self::Region,
        Self::Json,
        Self::Out,
    ];

    /// Clap's id of the option (the [`GlobalArgs`] field), for `ArgMatches::value_source`.
    #[must_use]
    pub const fn id(self) -> &'static str {
        match self {
            Self::Platform => "platform",
            Self::EndpointUrl => "endpoint_url",
            Self::Profile => "profile",
            Self::Region => "region",
            Self::Json => "json",
            Self::Out => "out",
        }
    }

    /// The option as the user types it.
    ///
    /// ```
    /// use collectiq_ops::global::GlobalOption;
    /// assert_eq!(GlobalOption::EndpointUrl.flag(), "--endpoint-url");
    /// ```
    #[must_use]
    pub const fn flag(self) -> &'static str {
        match self {
            Self::Platform => "--platform",
            Self::EndpointUrl => "--endpoint-url",
            Self::Profile => "--profile",
            Self::Region => "--region",
            Self::Json => "--json",
            Self::Out => "--out",
        }
    }
}

/// `--endpoint-url` / `COLLECTIQ_ENDPOINT_URL`: an absolute `http` or `https` URL with a host and a
/// valid port; a blank value (an exported but empty variable) means none — the SDK panicked on it.
fn endpoint_url(value: &str) -> Result<String, String> {
    if value.trim().is_empty() {
        // Unset (an exported but empty variable): `cli::parse` drops it.
        return Ok(String::new());
    }
    let url = reqwest::Url::parse(value.trim()).map_err(|e| {
        format!("expected an http(s) URL such as http://127.0.0.1:5000, found {value:?} ({e})")
    })?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none_or(str::is_empty) {
        return Err(format!(
            "expected an http(s) URL with a host, such as http://127.0.0.1:5000, found {value:?}"
        ));
    }
    Ok(value.trim().to_owned())
}

/// Whether an option's value is blank (empty or spaces): from the environment, an exported but empty
/// variable, which counts as unset.
#[must_use]
pub fn is_blank(value: &std::ffi::OsStr) -> bool {
    value.to_str().is_some_and(|v| v.trim().is_empty())
}

/// `--region`: an AWS region name (`us-east-1`, `eu-west-2`, `us-gov-west-1`, `cn-north-1`).
fn region(value: &str) -> Result<String, String> {
    if platform_spec::is_region(value) {
        Ok(value.to_owned())
    } else {
        Err(format!(
            "expected an AWS region such as us-east-1, found {value:?}"
        ))
    }
}

/// Loads the spec; the error already names file, line and key.
///
/// # Errors
/// When the file does not load or validate.
pub fn load_spec(path: &Path) -> Result<PlatformSpec> {
    let mut spec = platform_spec::load(path).map_err(|e| anyhow::anyhow!("{e}"))?;
    // The deployed API ids, as the Lambdas take them from Terraform (`HTTP_API_IDS`,
    // `terraform output`): the spec's own can only be a placeholder.
    if let Some(ids) = std::env::var("HTTP_API_IDS")
        .ok()
        .filter(|v| !v.trim().is_empty())
    {
        governance::publish::lambda::apply_api_ids(&mut spec, &ids)
            .map_err(|e| anyhow::anyhow!("HTTP_API_IDS: {e}"))?;
    }
    Ok(spec)
}

/// SDK clients for the account and region the options name (the spec's region by default).
pub async fn clients_for(global: &GlobalArgs, spec: &PlatformSpec) -> AwsClients {
    if let Some(region) = global.region.as_deref().filter(|r| *r != spec.platform.region) {
        // Allowed (a copy of the platform in another region), but never silently.
        // (Printed here, not through `output::progress`: `output` depends on this module.)
        // Not `eprintln!`, which panics on a closed stderr.
        let _ = writeln!(
            std::io::stderr().lock(),
            "› --region {region}: the spec's resources are in {} ({})",
            spec.platform.region,
            global.platform.display()
        );
    }
    let target = AwsTarget {
        profile: global.profile.clone(),
        region: global
            .region
            .clone()
            .or_else(|| Some(spec.platform.region.clone())),
        endpoint_url: global.endpoint_url.clone(),
    };
    AwsClients::new(&sdk_config(&target).await)
}

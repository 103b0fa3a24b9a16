//! Loading and validating a platform spec, with errors that name file, line and key.

use std::fmt;
use std::path::Path;

use thiserror::Error;

use crate::model::{MAX_MODEL_ALIASES, MAX_SPEC_MODEL_IDS, PlatformSpec, WorkflowType, name_part};
use crate::text::{
    bounded_message, bounded_path, email_problem, escape_deceptive, quoted, route_path_problem,
    runbook_base_url_problem, text_problems, ticked,
};

/// One thing wrong with a spec: where (line, key path) and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// 1-based line, when the location is known.
    pub line: Option<usize>,
    /// Key path (`functions[3].memory_mb`); empty for the document itself.
    pub path: String,
    /// What was wrong and what was expected.
    pub message: String,
}

/// Why a spec could not be loaded.
#[derive(Debug, Error)]
pub enum SpecError {
    /// The file could not be read.
    #[error("{file}: cannot read platform spec: {source}")]
    Read {
        /// The file.
        file: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file was read but is not a valid spec; every problem found is listed.
    #[error("{}", render_problems(file, problems))]
    Invalid {
        /// The file.
        file: String,
        /// Everything wrong with it, in document order.
        problems: Vec<Problem>,
    },
}

fn render_problems(file: &str, problems: &[Problem]) -> String {
    problems
        .iter()
        .map(|p| ProblemAt { file, problem: p }.to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

struct ProblemAt<'a> {
    file: &'a str,
    problem: &'a Problem,
}

impl fmt::Display for ProblemAt<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(line) = self.problem.line {
            write!(f, ":{line}")?;
        }
        if self.problem.path.is_empty() {
            write!(f, ": {}", self.problem.message)
        } else {
            write!(f, ": {}: {}", self.problem.path, self.problem.message)
        }
    }
}

/// Reads and validates the spec at `path`.
///
/// # Errors
/// [`SpecError::Read`] when the file cannot be read, [`SpecError::Invalid`] listing every problem
/// (syntax, unknown or missing keys, out-of-range values, dangling references) with its line.
pub fn load(path: &Path) -> Result<PlatformSpec, SpecError> {
    load_in_account(path, None)
}

/// [`load`] of a spec an organisation lists under `account`: a spec that names no
/// `[platform].account_id` takes `account` before it is checked, so its ARNs are held against the
/// account it will run in (see [`parse_in_account`]).
pub(crate) fn load_in_account(path: &Path, account: Option<&str>) -> Result<PlatformSpec, SpecError> {
    let file = path.display().to_string();
    let source = read_bounded(path).map_err(|source| SpecError::Read {
        file: file.clone(),
        source,
    })?;
    parse_in_account(&source, &file, account)
}

/// A spec file's text: a regular file of at most [`MAX_SPEC_BYTES`] (checked before opening — opening a
/// FIFO waits for a writer; `/dev/zero` or a runaway file would be read until memory runs out).
pub(crate) fn read_bounded(path: &Path) -> std::io::Result<String> {
    use std::io::Read as _;
    if !std::fs::metadata(path)?.is_file() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "not a regular file",
        ));
    }
    let mut source = String::new();
    std::fs::File::open(path)?
        .take(MAX_SPEC_BYTES + 1)
        .read_to_string(&mut source)?;
    if source.len() as u64 > MAX_SPEC_BYTES {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("larger than {MAX_SPEC_BYTES} bytes (a platform spec is a few kilobytes)"),
        ));
    }
    Ok(source)
}

/// The keys of `[cost.design_model].components_usd`: the cost report's components in snake case
/// (`cost::unit::Component`'s labels; governance's tests hold the two together).
pub const COST_COMPONENTS: [&str; 9] = [
    "bedrock",
    "rekognition",
    "lambda",
    "dynamodb",
    "api_gateway",
    "step_functions",
    "s3",
    "cloudwatch",
    "other",
];

/// The longest CloudWatch dimension value (`Dimension.Value`: "Length Constraints: Minimum length of 1.
/// Maximum length of 1024").
pub const MAX_DIMENSION_VALUE: usize = 1024;

/// Why `value` is not the final part of an Application Load Balancer's (`kind` `app`) or target
/// group's (`targetgroup`) ARN — `app/{name}/{16 hex digits}`, the `LoadBalancer` and `TargetGroup`
/// dimension values of AWS/ApplicationELB — where the name is 1–32 letters, digits and hyphens, not
/// starting or ending with a hyphen (Elastic Load Balancing's rule for both).
///
/// ```
/// use platform_spec::elb_suffix_problem;
/// assert_eq!(elb_suffix_problem("app/budgetbuddy-alb/50dc6c495c0c9188", "app"), None);
/// assert_eq!(elb_suffix_problem("targetgroup/bb-tg/73e2d6bc24d8a067", "targetgroup"), None);
/// assert!(elb_suffix_problem("", "app").is_some());
/// assert!(elb_suffix_problem("net/nlb/50dc6c495c0c9188", "app").is_some());
/// assert!(elb_suffix_problem("arn:aws:elasticloadbalancing:us-east-1:1:loadbalancer/app/a/50dc6c495c0c9188", "app").is_some());
/// ```
#[must_use]
pub fn elb_suffix_problem(value: &str, kind: &str) -> Option<String> {
    let well_formed = value
        .strip_prefix(kind)
        .and_then(|rest| rest.strip_prefix('/'))
        .and_then(|rest| rest.split_once('/'))
        .is_some_and(|(name, id)| {
            (1..=32).contains(&name.len())
                && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !name.starts_with('-')
                && !name.ends_with('-')
                && id.len() == 16
                && id.bytes().all(|b| b.is_ascii_hexdigit())
        });
    (!well_formed).then(|| {
        format!(
            "expected {kind}/NAME/ID as the ARN ends (NAME 1–32 letters, digits and hyphens; ID 16 hex \
             digits), found {}",
            quoted(value)
        )
    })
}

/// The largest platform spec read (1 MiB; the shipped ones are under 20 KB).
pub const MAX_SPEC_BYTES: u64 = 1024 * 1024;

/// serde's message with Rust's integer type names in words (`expected u32` → `expected a whole number
/// from 0 to 4294967295`): a spec's author writes TOML, not Rust.
///
/// ```
/// # // private: exercised through `parse`
/// let e = platform_spec::parse("[platform]\nname = \"x\"\nenvironment = \"dev\"\nregion = \"us-east-1\"\nlog_retention_days = -1\n", "x.toml")
///     .unwrap_err()
///     .to_string();
/// assert!(e.contains("expected a whole number from 0 to"), "{e}");
/// ```
fn plain_types(message: &str) -> String {
    let mut out = message.to_owned();
    for (rust, words) in [
        ("expected u8", "expected a whole number from 0 to 255"),
        ("expected u16", "expected a whole number from 0 to 65535"),
        ("expected u32", "expected a whole number from 0 to 4294967295"),
        (
            "expected u64",
            "expected a whole number from 0 to 18446744073709551615",
        ),
        ("expected i64", "expected a whole number"),
    ] {
        out = out.replace(rust, words);
    }
    out
}

/// The platform spec files of a directory (`infra/platforms`): its `*.toml` files, sorted by path.
/// Subdirectories (the organisation specs under `org/`) are not platform specs and are not listed.
///
/// # Errors
/// When the directory cannot be listed.
pub fn spec_files(dir: &Path) -> std::io::Result<Vec<std::path::PathBuf>> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_file() && path.extension().is_some_and(|e| e == "toml") {
            found.push(path);
        }
    }
    found.sort();
    Ok(found)
}

/// Parses and validates spec text; `file` is only used in messages.
///
/// ```
/// let err = platform_spec::parse("[platform]\nname = 'x'\n", "x.toml").unwrap_err();
/// assert!(err.to_string().starts_with("x.toml:"));
/// ```
///
/// # Errors
/// [`SpecError::Invalid`] listing every problem with its line and key path.
pub fn parse(source: &str, file: &str) -> Result<PlatformSpec, SpecError> {
    parse_in_account(source, file, None)
}

/// [`parse`], a spec naming no `[platform].account_id` taking `account` (when given) before the checks
/// that read it (topic and state machine ARNs in that account): listed under an account by an
/// organisation spec, a spec written without one is checked as the account it runs in.
fn parse_in_account(source: &str, file: &str, account: Option<&str>) -> Result<PlatformSpec, SpecError> {
    let invalid = |problems| SpecError::Invalid {
        file: file.to_owned(),
        problems,
    };
    let deserializer = toml::de::Deserializer::parse(source).map_err(|e| {
        invalid(vec![Problem {
            line: e.span().map(|s| line_of(source, s.start)),
            path: String::new(),
            message: bounded_message(&syntax_message(source, &e)),
        }])
    })?;
    let mut spec: PlatformSpec = serde_path_to_error::deserialize(deserializer).map_err(|e| {
        // An organisation spec read as a platform spec: say which it is, not "unknown field accounts".
        if is_org_spec(source) {
            return invalid(vec![Problem {
                line: locate(source, "organization"),
                path: String::new(),
                message: "this is an organisation spec (an [organization] table), not a platform spec: \
                          read it with `collectiq-ops org plan --org FILE`"
                    .to_owned(),
            }]);
        }
        let path = e.path().to_string();
        let path = if path == "." { String::new() } else { path };
        let inner = e.into_inner();
        let line = inner
            .span()
            .map(|s| line_of(source, s.start))
            .or_else(|| locate(source, &path));
        // The path and message may hold an unknown key or a value as written: escaped and cut.
        invalid(vec![Problem {
            line,
            path: bounded_path(&path),
            message: bounded_message(&plain_types(inner.message())),
        }])
    })?;
    if let Some(account) = account {
        spec.platform.account_id.get_or_insert_with(|| account.to_owned());
    }
    // A control or bidi character anywhere is named at its key; the same key's other checks would only
    // restate it less precisely.
    let text = text_problems(source, &["notifications.slack_webhook_secret"]);
    let held: std::collections::HashSet<String> = text.iter().map(|(path, _)| path.clone()).collect();
    let semantic = validate(&spec)
        .into_iter()
        .filter(|(path, _)| !held.contains(path));
    let locator = Locator::new(source);
    let problems: Vec<Problem> = text
        .into_iter()
        .chain(semantic)
        .map(|(path, message)| Problem {
            line: locator.line(&path),
            path: bounded_path(&path),
            message: escape_deceptive(&message),
        })
        .collect();
    if problems.is_empty() {
        Ok(spec)
    } else {
        Err(invalid(problems))
    }
}

/// The TOML parser's message, with the key named when it is a duplicate (its message is only
/// "duplicate key"; the span covers the key as written).
pub(crate) fn syntax_message(source: &str, e: &toml::de::Error) -> String {
    let message = e.message().trim_end();
    match e.span().and_then(|s| source.get(s)) {
        Some(key)
            if message == "duplicate key" && !key.is_empty() && key.len() <= 200 && !key.contains('\n') =>
        {
            format!(
                "duplicate key `{}` (a key may be given once in a table)",
                key.trim()
            )
        }
        _ => message.to_owned(),
    }
}

pub(crate) fn line_of(source: &str, offset: usize) -> usize {
    source.get(..offset).map_or(0, |s| s.matches('\n').count()) + 1
}

/// Whether `source` is an organisation spec: an `[organization]` table and no `[platform]`.
fn is_org_spec(source: &str) -> bool {
    toml::from_str::<toml::Table>(source)
        .is_ok_and(|t| t.contains_key("organization") && !t.contains_key("platform"))
}

/// The line of the deepest item of `path` present in the document (the table header when the key is
/// missing), found by walking a span-keeping parse of the source. For many paths of one document, a
/// [`Locator`] parses it once.
pub(crate) fn locate(source: &str, path: &str) -> Option<usize> {
    Locator::new(source).line(path)
}

/// The lines of paths in one document: the source parsed once, its line starts indexed once, so naming
/// the line of each of a spec's problems costs a walk of the path and a binary search — not a parse and
/// a scan of the whole file per problem (a hostile 1 MiB spec with tens of thousands of problems).
pub(crate) struct Locator<'a> {
    doc: Option<toml_edit::Document<&'a str>>,
    line_starts: Vec<usize>,
}

impl<'a> Locator<'a> {
    pub(crate) fn new(source: &'a str) -> Self {
        let line_starts = std::iter::once(0)
            .chain(source.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Self {
            doc: toml_edit::Document::parse(source).ok(),
            line_starts,
        }
    }

    /// As [`locate`].
    pub(crate) fn line(&self, path: &str) -> Option<usize> {
        let mut item: &toml_edit::Item = self.doc.as_ref()?.as_item();
        let mut best = None;
        for segment in split_path(path) {
            let next = match segment {
                Segment::Key(k) => item.get(k),
                Segment::Index(i) => item.get(i),
            };
            let Some(next) = next else { break };
            item = next;
            let span = match item {
                toml_edit::Item::Table(t) => t.span(),
                toml_edit::Item::ArrayOfTables(a) => a.get(0).and_then(toml_edit::Table::span),
                _ => item.span(),
            };
            if let Some(span) = span {
                // As `line_of`: the 1-based line holding the byte at `span.start`.
                best = Some(self.line_starts.partition_point(|&start| start <= span.start));
            }
        }
        best
    }
}

enum Segment<'a> {
    Key(&'a str),
    Index(usize),
}

fn split_path(path: &str) -> Vec<Segment<'_>> {
    let mut out = Vec::new();
    for part in path.split('.').filter(|p| !p.is_empty()) {
        let (key, rest) = part.split_once('[').map_or((part, ""), |(k, r)| (k, r));
        if !key.is_empty() {
            out.push(Segment::Key(key));
        }
        for index in rest.split('[').filter(|s| !s.is_empty()) {
            if let Ok(i) = index.trim_end_matches(']').parse() {
                out.push(Segment::Index(i));
            }
        }
    }
    out
}

/// CloudWatch Logs' allowed retention values (PutRetentionPolicy).
const RETENTION_DAYS: [u32; 22] = [
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
];

/// The Lambda runtime identifiers a function's `runtime` may name (`CreateFunction` `Runtime`): those of
/// the Lambda developer guide's supported-runtimes table ("Lambda runtimes"), and the recently deprecated
/// `nodejs18.x`, `python3.9` and `ruby3.2` that deployed functions still run on. OS-only first (what
/// Rust builds for), then by language. Free text such as `rust`, `python` or `Provided.al2023` is
/// refused: the catalogue reads `provided*` as "links telemetry" (cold-start alarms and widgets), so a
/// typo would silently drop them.
pub const LAMBDA_RUNTIMES: [&str; 22] = [
    "provided.al2023",
    "provided.al2",
    "nodejs24.x",
    "nodejs22.x",
    "nodejs20.x",
    "nodejs18.x",
    "python3.14",
    "python3.13",
    "python3.12",
    "python3.11",
    "python3.10",
    "python3.9",
    "java25",
    "java21",
    "java17",
    "java11",
    "java8.al2",
    "dotnet10",
    "dotnet8",
    "ruby3.4",
    "ruby3.3",
    "ruby3.2",
];

/// The longest an Express state machine's execution runs (Step Functions quotas: 5 minutes).
pub const EXPRESS_MAX_DURATION_S: u32 = 300;
/// The longest a Standard state machine's execution runs (Step Functions quotas: one year).
pub const STANDARD_MAX_DURATION_S: u32 = 365 * 86_400;

const METHODS: [&str; 8] = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "ANY"];

pub(crate) fn is_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
}

/// An AWS account id: exactly 12 digits.
pub(crate) fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// Why `s` cannot be the Secrets Manager secret holding a Slack webhook: blank, a URL (the webhook
/// itself, in any case or spacing), an ARN that is not a Secrets Manager secret's, or a name outside
/// Secrets Manager's rule (1–512 of ASCII letters, digits and `/_+=.@-`). The value is never quoted:
/// a misplaced webhook URL would end up in the error, and from there in the output.
pub fn webhook_secret_problem(s: &str) -> Option<String> {
    const NAME_CHARS: &[u8] = b"/_+=.@-";
    let name_ok = |n: &str| {
        (1..=512).contains(&n.len())
            && n.bytes()
                .all(|b| b.is_ascii_alphanumeric() || NAME_CHARS.contains(&b))
    };
    let trimmed = s.trim();
    let lower = trimmed.to_ascii_lowercase();
    if trimmed.is_empty() {
        return Some(
            "expected the name or ARN of the Secrets Manager secret holding the Slack webhook, found nothing"
                .into(),
        );
    }
    if lower.starts_with("http") || lower.contains("://") || lower.contains("hooks.slack.com") {
        return Some(
            "expected the NAME of a Secrets Manager secret holding the webhook, found a URL: keep the webhook out \
             of the spec"
                .into(),
        );
    }
    if lower.starts_with("arn:") {
        let parts: Vec<&str> = s.splitn(7, ':').collect();
        let ok = parts.len() == 7
            && parts[1].starts_with("aws")
            && parts[2] == "secretsmanager"
            && is_region(parts[3])
            && is_account_id(parts[4])
            && parts[5] == "secret"
            && name_ok(parts[6]);
        return (!ok).then(|| {
            "expected a Secrets Manager secret ARN (arn:aws:secretsmanager:<region>:<account>:secret:<name>)".into()
        });
    }
    (!name_ok(s)).then(|| {
        let at = s
            .char_indices()
            .find(|(_, c)| !(c.is_ascii_alphanumeric() || (c.is_ascii() && NAME_CHARS.contains(&(*c as u8)))))
            .map_or_else(
                || format!("{} characters long", s.chars().count()),
                |(i, _)| format!("a character Secrets Manager refuses at byte {i}"),
            );
        format!("expected a Secrets Manager secret name (1-512 of A-Z a-z 0-9 / _ + = . @ -), found a value with {at}")
    })
}

/// An AWS region code: three or more `-`-separated parts of lowercase letters and digits, the last all
/// digits (`us-east-1`, `us-gov-west-1`).
/// Whether `s` is an AWS region name (`us-east-1`, `us-gov-west-1`, `cn-north-1`).
#[must_use]
pub fn is_region(s: &str) -> bool {
    let parts: Vec<_> = s.split('-').collect();
    parts.len() >= 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()))
        && parts
            .last()
            .is_some_and(|p| p.bytes().all(|b| b.is_ascii_digit()))
}

/// The naming rule of the AWS resource a spec name stands for, when `name` breaks it: a spec name
/// no resource can carry makes alarms and dashboards on something that cannot exist, which never fire.
fn aws_name_problem(kind: AwsName, name: &str) -> Option<String> {
    // Only ASCII letters, digits and `extra`.
    let chars_ok = |s: &str, extra: &[u8]| s.bytes().all(|b| b.is_ascii_alphanumeric() || extra.contains(&b));
    let (ok, rule) = match kind {
        // Lambda `CreateFunction`: FunctionName (the name alone) 1..=64 of a-z A-Z 0-9 - _.
        AwsName::Function => (
            (1..=64).contains(&name.len()) && chars_ok(name, b"-_"),
            "a Lambda function name (1..=64 of a-z A-Z 0-9 - _)",
        ),
        // DynamoDB `CreateTable`: TableName and IndexName 3..=255 of a-z A-Z 0-9 _ - .
        AwsName::Table => (
            (3..=255).contains(&name.len()) && chars_ok(name, b"_-."),
            "a DynamoDB table or index name (3..=255 of a-z A-Z 0-9 _ - .)",
        ),
        // SQS `CreateQueue`: 1..=80 of a-z A-Z 0-9 - _, a FIFO queue's ending in `.fifo`.
        AwsName::Queue => {
            let base = name.strip_suffix(".fifo").unwrap_or(name);
            (
                (1..=80).contains(&name.len()) && !base.is_empty() && chars_ok(base, b"-_"),
                "an SQS queue name (1..=80 of a-z A-Z 0-9 - _, optionally ending in .fifo)",
            )
        }
        // S3 general purpose buckets: 3..=63 of a-z 0-9 . -, starting and ending with a letter or
        // digit, no `..`, not an IP address.
        AwsName::Bucket => {
            let edge = |b: Option<u8>| b.is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
            (
                (3..=63).contains(&name.len())
                    && name
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
                    && edge(name.bytes().next())
                    && edge(name.bytes().last())
                    && !name.contains("..")
                    && name.parse::<std::net::Ipv4Addr>().is_err(),
                "an S3 bucket name (3..=63 of a-z 0-9 . -, starting and ending with a letter or digit)",
            )
        }
        // Step Functions `CreateStateMachine`: 1..=80, no whitespace, brackets, wildcards,
        // punctuation `" # % \ ^ | ~ ` $ & , ; : /` or control characters.
        AwsName::StateMachine => (
            (1..=80).contains(&name.chars().count())
                && !name
                    .chars()
                    .any(|c| c.is_whitespace() || c.is_control() || "<>{}[]?*\"#%\\^|~`$&,;:/".contains(c)),
            "a Step Functions state machine name (1..=80, no whitespace, brackets, wildcards or \"#%\\^|~`$&,;:/)",
        ),
        // CloudWatch Logs `CreateLogGroup`: `[\.\-_/#A-Za-z0-9]+`, 1..=512.
        AwsName::LogGroup => (
            (1..=512).contains(&name.len()) && chars_ok(name, b"._-/#"),
            "a CloudWatch Logs group name (1..=512 of a-z A-Z 0-9 _ - / . #)",
        ),
        // Budgets: BudgetName 1..=100, no `:` or `\`.
        // Budgets: "The ":" and "\" characters, and the "/action/" substring, aren't allowed."
        AwsName::Budget => (
            (1..=100).contains(&name.chars().count())
                && !name.contains([':', '\\'])
                && !name.contains("/action/"),
            "an AWS Budgets name (1..=100 characters, no ':' or '\\', no \"/action/\")",
        ),
        // ECS `CreateCluster` clusterName and `CreateService` serviceName: 1..=255 of a-z A-Z 0-9 - _.
        AwsName::Ecs => (
            (1..=255).contains(&name.len()) && chars_ok(name, b"-_"),
            "an ECS cluster or service name (1..=255 of a-z A-Z 0-9 - _)",
        ),
        // API Gateway assigns every API a 10-character id of lowercase letters and digits (the `ApiId`
        // dimension and the `<id>.execute-api.<region>.amazonaws.com` host).
        AwsName::HttpApiId => (
            name.len() == 10 && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()),
            "an API Gateway API id (10 of a-z 0-9, as `aws apigatewayv2 get-apis` shows it)",
        ),
    };
    (!ok).then(|| format!("expected {rule}, found {}", quoted(name)))
}

/// What is wrong with `id` as an HTTP API id (also for one given outside the spec: the deployed API's,
/// from Terraform), if anything.
#[must_use]
pub fn http_api_id_problem(id: &str) -> Option<String> {
    aws_name_problem(AwsName::HttpApiId, id)
}

/// Why the deployed HTTP API ids given outside the spec (Terraform's `HTTP_API_IDS`) cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum HttpApiIdsError {
    /// Not a JSON object of API names to API ids.
    #[error("expected {{\"<api name>\": \"<api id>\"}}: {0}")]
    Shape(String),
    /// One API named twice: a JSON parser keeps one of the ids without a word, so which API the alarms
    /// watch would depend on the order Terraform wrote them in.
    #[error("API {0:?} is named twice; give each API one id")]
    RepeatedName(String),
}

/// The deployed HTTP API ids given outside the spec (`{"<api name>": "<api id>"}`, Terraform's
/// `HTTP_API_IDS`), in the order given. Names and ids are checked against a spec by the caller (with
/// [`http_api_id_problem`]); this only reads them, refusing a name given twice.
///
/// ```
/// use platform_spec::{HttpApiIdsError, parse_http_api_ids};
/// assert_eq!(
///     parse_http_api_ids(r#"{"api":"a1b2c3d4e5"}"#).unwrap(),
///     [("api".to_owned(), "a1b2c3d4e5".to_owned())]
/// );
/// assert_eq!(
///     parse_http_api_ids(r#"{"api":"a1b2c3d4e5","api":"f6g7h8i9j0"}"#),
///     Err(HttpApiIdsError::RepeatedName("api".into()))
/// );
/// ```
///
/// # Errors
/// [`HttpApiIdsError::Shape`] when `json` is not an object of strings, [`HttpApiIdsError::RepeatedName`]
/// when it names an API twice.
pub fn parse_http_api_ids(json: &str) -> Result<Vec<(String, String)>, HttpApiIdsError> {
    let Entries(entries) = serde_json::from_str(json).map_err(|e| HttpApiIdsError::Shape(e.to_string()))?;
    let mut seen = std::collections::HashSet::new();
    if let Some((name, _)) = entries.iter().find(|(name, _)| !seen.insert(name.as_str())) {
        return Err(HttpApiIdsError::RepeatedName(name.clone()));
    }
    Ok(entries)
}

/// A JSON object's entries in order, repeated keys included (a map would keep the last silently).
#[derive(Debug)]
struct Entries(Vec<(String, String)>);

impl<'de> serde::Deserialize<'de> for Entries {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Debug)]
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Entries;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object of API names to API ids")
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Entries, A::Error> {
                let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(0));
                while let Some(entry) = map.next_entry::<String, String>()? {
                    entries.push(entry);
                }
                Ok(Entries(entries))
            }
        }
        d.deserialize_map(Visitor)
    }
}

/// What is wrong with `arn` as one of `spec`'s SNS topics (also for one given outside the spec: a
/// Lambda's `SNS_TOPIC_CRITICAL_ARN`), if anything: an SNS topic ARN ([`sns_topic_arn_problem`]) in the
/// spec's region and, when it names one, account — alarm actions and pages to any other topic reach no
/// one.
#[must_use]
pub fn topic_arn_problem(spec: &PlatformSpec, arn: &str) -> Option<String> {
    sns_topic_arn_problem(arn).or_else(|| foreign_account(spec, arn))
}

/// What is wrong with `value` as the Slack webhook's secret for `spec` (also for one given outside the
/// spec: a Lambda's `SLACK_WEBHOOK_SECRET_ARN`), if anything: a secret name or ARN, never the URL itself
/// (it would go to Secrets Manager as a secret id, into CloudTrail, and into the error naming the secret);
/// an ARN in the spec's region and, when it names one, account. The message never repeats the value.
#[must_use]
pub fn secret_problem(spec: &PlatformSpec, value: &str) -> Option<String> {
    webhook_secret_problem(value).or_else(|| {
        value
            .to_ascii_lowercase()
            .starts_with("arn:")
            .then(|| foreign_account(spec, value))
            .flatten()
    })
}

/// The kinds of AWS names [`aws_name_problem`] knows.
#[derive(Debug, Clone, Copy)]
enum AwsName {
    Function,
    Table,
    Queue,
    Bucket,
    StateMachine,
    LogGroup,
    Budget,
    Ecs,
    HttpApiId,
}

/// What is wrong with `arn` as an SNS topic ARN, if anything:
/// `arn:<partition>:sns:<region>:<12-digit account>:<topic>`, the topic 1..=256 of a-z A-Z 0-9 - _ (a FIFO
/// topic's ending in `.fifo`, counted in the 256) as SNS `CreateTopic` allows. Alarms whose action names a
/// topic that cannot exist notify no one. Also for a topic ARN given outside the spec (a Lambda's
/// `SNS_TOPIC_CRITICAL_ARN`).
#[must_use]
pub fn sns_topic_arn_problem(arn: &str) -> Option<String> {
    let rule = "arn:<aws|aws-cn|aws-us-gov…>:sns:<region>:<12-digit account>:<topic name: 1..=256 of a-z A-Z \
                0-9 - _, optionally ending in .fifo>";
    let ok = match arn.splitn(6, ':').collect::<Vec<_>>().as_slice() {
        ["arn", partition, "sns", region, account, topic] => {
            let base = topic.strip_suffix(".fifo").unwrap_or(topic);
            (*partition == "aws"
                || partition.strip_prefix("aws-").is_some_and(|rest| {
                    !rest.is_empty()
                        && rest
                            .bytes()
                            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                }))
                && is_region(region)
                && is_account_id(account)
                && (1..=256).contains(&topic.len())
                && !base.is_empty()
                && base
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        }
        _ => false,
    };
    (!ok).then(|| format!("expected an SNS topic ARN {rule}, found {}", quoted(arn)))
}

/// The ARN partition a region belongs to (`cn-north-1` → `aws-cn`, `us-gov-west-1` → `aws-us-gov`, the
/// isolated regions theirs, every other region `aws`).
fn partition_of(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else if region.starts_with("us-isob-") {
        "aws-iso-b"
    } else if region.starts_with("us-isof-") {
        "aws-iso-f"
    } else if region.starts_with("eu-isoe-") {
        "aws-iso-e"
    } else if region.starts_with("us-iso-") {
        "aws-iso"
    } else {
        "aws"
    }
}

/// Whether `arn` (`arn:<partition>:<service>:<region>:<account>:…`) names another account than the spec's
/// `[platform].account_id`, when the spec names one.
fn foreign_account(spec: &PlatformSpec, arn: &str) -> Option<String> {
    let mut parts = arn.split(':');
    let partition = parts.nth(1)?;
    let region = parts.nth(1)?;
    let account = parts.next()?;
    // A region is in one partition: `arn:aws-us-gov:…:us-east-1:…` names nothing that can exist.
    let own_partition = partition_of(&spec.platform.region);
    if partition != own_partition {
        return Some(format!(
            "expected an ARN in partition {own_partition} (the partition of [platform].region {}), found {} in {}",
            spec.platform.region,
            quoted(partition),
            quoted(arn)
        ));
    }
    // Alarm actions and metrics are regional: a topic or state machine of another region is never
    // notified or measured by the platform's alarms.
    if region != spec.platform.region {
        return Some(format!(
            "expected an ARN in region {} ([platform].region), found region {} in {}",
            spec.platform.region,
            if is_region(region) {
                region.to_owned()
            } else {
                quoted(region)
            },
            quoted(arn)
        ));
    }
    let own = spec.platform.account_id.as_deref()?;
    (account != own).then(|| {
        format!(
            "expected an ARN in account {own} ([platform].account_id), found account {} in {}",
            if is_account_id(account) {
                account.to_owned()
            } else {
                quoted(account)
            },
            quoted(arn)
        )
    })
}

/// Semantic checks after deserialization; returns `(key path, message)` pairs in document order.
fn validate(spec: &PlatformSpec) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut bad = |path: String, message: String| out.push((path, message));
    let p = &spec.platform;
    // The Owner, Project and CostCenter tags' values (AWS: at most 256 characters).
    for (key, value) in [
        ("platform.owner", &p.owner),
        ("platform.project", &p.project),
        ("platform.cost_center", &p.cost_center),
    ] {
        if let Some(v) = value
            && (v.trim().is_empty() || v.chars().count() > 256 || v.chars().any(char::is_control))
        {
            bad(
                key.into(),
                format!(
                    "expected a tag value of 1 to 256 characters without control characters, found {}",
                    quoted(v)
                ),
            );
        }
    }
    // The `service` dimension of every custom metric and its alarms (CloudWatch: 1–1024 characters,
    // at least one not blank, no control characters).
    if let Some(service) = &p.service_name
        && (service.trim().is_empty()
            || service.len() > 1024
            || !service.bytes().all(|c| (0x20..0x7f).contains(&c)))
    {
        bad(
            "platform.service_name".into(),
            format!(
                "expected 1 to 1024 printable ASCII characters (a metric dimension value), found {}",
                quoted(service)
            ),
        );
    }
    if !is_name(&p.name) {
        bad(
            "platform.name".into(),
            format!(
                "expected lowercase letters, digits and '-', found {}",
                quoted(&p.name)
            ),
        );
    }
    if !is_name(&p.environment) {
        bad(
            "platform.environment".into(),
            format!(
                "expected lowercase letters, digits and '-', found {}",
                quoted(&p.environment)
            ),
        );
    }
    if !is_region(&p.region) {
        bad(
            "platform.region".into(),
            format!(
                "expected an AWS region like us-east-1, found {}",
                quoted(&p.region)
            ),
        );
    }
    if let Some(account) = &p.account_id
        && !is_account_id(account)
    {
        bad(
            "platform.account_id".into(),
            format!("expected 12 digits, found {}", quoted(account)),
        );
    }
    if !RETENTION_DAYS.contains(&p.log_retention_days) {
        bad(
            "platform.log_retention_days".into(),
            format!(
                "expected one of CloudWatch's retention values {RETENTION_DAYS:?}, found {}",
                p.log_retention_days
            ),
        );
    }
    if let Some(rate) = p.xray_sampling_percent
        && rate > 100
    {
        bad(
            "platform.xray_sampling_percent".into(),
            format!("expected 0..=100, found {rate}"),
        );
    }

    let mut frameworks = std::collections::HashSet::new();
    for (i, f) in p.compliance_frameworks.iter().enumerate() {
        if f.trim().is_empty() || f.len() > 32 {
            bad(
                format!("platform.compliance_frameworks[{i}]"),
                format!(
                    "expected a framework name of 1..=32 characters (\"PCI-DSS\"), found {}",
                    quoted(f)
                ),
            );
        } else if !frameworks.insert(f.as_str()) {
            bad(
                format!("platform.compliance_frameworks[{i}]"),
                format!("duplicate framework {}", quoted(f)),
            );
        }
    }
    let mut seen_ids = std::collections::HashSet::new();
    let mut seen_names = std::collections::HashSet::new();
    for (i, f) in spec.functions.iter().enumerate() {
        let at = |k: &str| format!("functions[{i}].{k}");
        // The id is the binary's and the zip's name and a Terraform map key (`cards_get`).
        if f.id.is_empty()
            || f.id.len() > 64
            || !f
                .id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        {
            bad(
                at("id"),
                format!(
                    "expected 1 to 64 of a-z, 0-9 and '_' (the binary's name), found {}",
                    quoted(&f.id)
                ),
            );
        }
        if !seen_ids.insert(f.id.as_str()) {
            bad(at("id"), format!("duplicate function id {}", quoted(&f.id)));
        } else if let Some(other) = spec.functions[..i]
            .iter()
            .find(|o| name_part(&o.id) == name_part(&f.id))
        {
            bad(
                at("id"),
                format!(
                    "function id {} names its alarms and widgets {} like function id {}: ids must differ in \
                     more than case and punctuation",
                    quoted(&f.id),
                    quoted(&name_part(&f.id)),
                    quoted(&other.id)
                ),
            );
        }
        if !seen_names.insert(f.name.as_str()) {
            bad(at("name"), format!("duplicate function name {}", quoted(&f.name)));
        }
        if let Some(problem) = aws_name_problem(AwsName::Function, &f.name) {
            bad(at("name"), problem);
        }
        if !(128..=10240).contains(&f.memory_mb) {
            bad(
                at("memory_mb"),
                format!("expected 128..10240, found {}", f.memory_mb),
            );
        }
        if !(1..=900).contains(&f.timeout_s) {
            bad(
                at("timeout_s"),
                format!("expected 1..900 seconds, found {}", f.timeout_s),
            );
        }
        if !LAMBDA_RUNTIMES.contains(&f.runtime.as_str()) {
            bad(
                at("runtime"),
                format!(
                    "expected a Lambda runtime identifier ({}), found {}",
                    LAMBDA_RUNTIMES.join(", "),
                    quoted(&f.runtime)
                ),
            );
        }
    }
    for (a, api) in spec.http_apis.iter().enumerate() {
        let mut keys = std::collections::HashSet::new();
        // The `Stage` dimension of every API alarm, matched exactly: API Gateway's stage names are
        // `$default` or 1–128 of letters, digits, `-` and `_` ("Stage names can only contain
        // alphanumeric characters, hyphens, and underscores. Maximum length is 128 characters"), so
        // anything else (`$Default`, a trailing space) watches a series that never exists.
        let stage_ok = api.stage == "$default"
            || ((1..=128).contains(&api.stage.len())
                && api
                    .stage
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        if !stage_ok {
            bad(
                format!("http_apis[{a}].stage"),
                format!(
                    "expected the stage's name, `$default` or 1-128 of A-Z a-z 0-9 - _ (API Gateway's rule), found {}",
                    quoted(&api.stage)
                ),
            );
        }
        if let Some(problem) = aws_name_problem(AwsName::HttpApiId, &api.id) {
            bad(format!("http_apis[{a}].id"), problem);
        }
        for (r, route) in api.routes.iter().enumerate() {
            let at = |k: &str| format!("http_apis[{a}].routes[{r}].{k}");
            if !METHODS.contains(&route.method.as_str()) {
                bad(
                    at("method"),
                    format!("expected one of {METHODS:?}, found {}", quoted(&route.method)),
                );
            }
            if let Some(problem) = route_path_problem(&route.path) {
                bad(at("path"), problem);
            } else if route.route_key().len() > MAX_DIMENSION_VALUE {
                // The route key is the `Route` dimension value of the API's widgets and alarms.
                bad(
                    at("path"),
                    format!(
                        "{} characters, at most {MAX_DIMENSION_VALUE} with the method: the route key is a Route \
                         dimension value",
                        route.route_key().len()
                    ),
                );
            }
            if spec.function(&route.function).is_none() {
                bad(
                    at("function"),
                    format!("no function with id {} in [[functions]]", quoted(&route.function)),
                );
            }
            if !keys.insert(route.route_key()) {
                bad(
                    at("path"),
                    format!("duplicate route {}", quoted(&route.route_key())),
                );
            }
        }
    }
    for (s, sm) in spec.state_machines.iter().enumerate() {
        if let Some(problem) = aws_name_problem(AwsName::StateMachine, &sm.name) {
            bad(format!("state_machines[{s}].name"), problem);
        }
        // Any partition (aws, aws-us-gov, aws-cn), as the topic ARNs.
        let mut arn = sm.arn.split(':');
        if arn.next() != Some("arn")
            || !arn.next().is_some_and(|p| p == "aws" || p.starts_with("aws-"))
            || arn.next() != Some("states")
        {
            bad(
                format!("state_machines[{s}].arn"),
                format!("expected arn:<partition>:states:…, found {}", quoted(&sm.arn)),
            );
        } else if let Some(problem) = foreign_account(spec, &sm.arn) {
            bad(format!("state_machines[{s}].arn"), problem);
        } else if sm.arn.split(':').skip(5).collect::<Vec<_>>() != ["stateMachine", sm.name.as_str()] {
            // arn:aws:states:<region>:<account>:stateMachine:<name>: the dimension and the name the
            // dashboards show must be one machine.
            bad(
                format!("state_machines[{s}].arn"),
                format!(
                    "expected the ARN of state machine {} (…:stateMachine:<its name>), found {}",
                    quoted(&sm.name),
                    quoted(&sm.arn)
                ),
            );
        }
        // The duration warning fires when p90 `ExecutionTime` passes `expected_duration_s`: at 0 it fires
        // on every execution, and at the longest an execution may run or more it can never fire.
        let (kind, max) = match sm.workflow_type {
            WorkflowType::Express => ("an EXPRESS", EXPRESS_MAX_DURATION_S),
            WorkflowType::Standard => ("a STANDARD", STANDARD_MAX_DURATION_S),
        };
        if !(1..max).contains(&sm.expected_duration_s) {
            bad(
                format!("state_machines[{s}].expected_duration_s"),
                format!(
                    "expected 1..={} seconds for {kind} state machine (its executions run at most {max} s, so a \
                     duration warning at {max} or more never fires, and at 0 it fires on every execution), \
                     found {}",
                    max - 1,
                    sm.expected_duration_s
                ),
            );
        }
        for (t, task) in sm.tasks.iter().enumerate() {
            if spec.function(task).is_none() {
                bad(
                    format!("state_machines[{s}].tasks[{t}]"),
                    format!("no function with id {}", quoted(task)),
                );
            }
        }
    }
    let mut tables = std::collections::HashSet::new();
    for (t, table) in spec.tables.iter().enumerate() {
        if !tables.insert(table.name.as_str()) {
            bad(
                format!("tables[{t}].name"),
                format!("duplicate table {}", quoted(&table.name)),
            );
        }
        if let Some(problem) = aws_name_problem(AwsName::Table, &table.name) {
            bad(format!("tables[{t}].name"), problem);
        }
        let mut gsis = std::collections::HashSet::new();
        for (g, gsi) in table.gsis.iter().enumerate() {
            if let Some(problem) = aws_name_problem(AwsName::Table, &gsi.name) {
                bad(format!("tables[{t}].gsis[{g}].name"), problem);
            }
            if !gsis.insert(gsi.name.as_str()) {
                bad(
                    format!("tables[{t}].gsis[{g}].name"),
                    format!("duplicate index {}", quoted(&gsi.name)),
                );
            }
        }
    }
    let model_ids: std::collections::HashSet<&str> =
        spec.bedrock_models.iter().map(|m| m.id.trim()).collect();
    let named: usize = spec.bedrock_models.iter().map(|m| 1 + m.aliases.len()).sum();
    if named > MAX_SPEC_MODEL_IDS {
        bad(
            "bedrock_models".into(),
            format!(
                "{named} model ids (ids and aliases), at most {MAX_SPEC_MODEL_IDS}: the dashboards draw every \
                 id in one widget (tokens per day, latency) and CloudWatch takes at most 500 metrics in one"
            ),
        );
    }
    let mut aliases = std::collections::HashMap::new();
    for (m, model) in spec.bedrock_models.iter().enumerate() {
        if model.id.trim().is_empty() {
            bad(format!("bedrock_models[{m}].id"), "expected a model id".into());
        } else if model.id.len() > MAX_DIMENSION_VALUE {
            bad(
                format!("bedrock_models[{m}].id"),
                format!(
                    "{} characters, at most {MAX_DIMENSION_VALUE}: the id is the ModelId dimension value of \
                     the model's alarms and widgets",
                    model.id.len()
                ),
            );
        }
        // A model's agents are the ones that call it: an agent no function runs would put an empty
        // line in "Bedrock by agent" and a dashboard row nothing ever fills.
        for (a, agent) in model.agents.iter().enumerate() {
            if !spec.functions.iter().any(|f| f.agent == Some(*agent)) {
                bad(
                    format!("bedrock_models[{m}].agents[{a}]"),
                    format!(
                        "no function has agent = \"{}\" (the agents listed are the functions' that call this model)",
                        agent.as_str()
                    ),
                );
            }
        }
        if model.aliases.len() > MAX_MODEL_ALIASES {
            bad(
                format!("bedrock_models[{m}].aliases"),
                format!(
                    "{} aliases, at most {}: the model's throttle and token alarms sum the id's and every \
                     alias's metrics in one metric-math alarm, and CloudWatch takes at most 10 metrics in one",
                    model.aliases.len(),
                    MAX_MODEL_ALIASES
                ),
            );
        }
        for (a, alias) in model.aliases.iter().enumerate() {
            let at = format!("bedrock_models[{m}].aliases[{a}]");
            let alias = alias.trim();
            if alias.is_empty() || alias.chars().any(char::is_whitespace) {
                bad(
                    at,
                    format!(
                        "expected a ModelId value (an application-inference-profile ARN or a model id), found {}",
                        quoted(alias)
                    ),
                );
            } else if alias.len() > MAX_DIMENSION_VALUE {
                // The alias is a `ModelId` dimension value of the model's alarms: `PutMetricAlarm` refuses
                // a value over 1,024 characters, which stopped `alarms apply` part way.
                bad(
                    at,
                    format!(
                        "{} characters, at most {MAX_DIMENSION_VALUE}: the alias is a ModelId dimension value of \
                         the model's alarms",
                        alias.len()
                    ),
                );
            } else if model_ids.contains(alias) {
                bad(
                    at,
                    format!(
                        "{} is the id of a model in [[bedrock_models]]; an alias names another ModelId value",
                        quoted(alias)
                    ),
                );
            } else if let Some(first) = aliases.insert(alias, m) {
                bad(
                    at,
                    format!(
                        "duplicate alias {} (already an alias of bedrock_models[{first}]): one ModelId value \
                         prices as one model",
                        quoted(alias)
                    ),
                );
            }
        }
    }
    for (e, svc) in spec.ecs_services.iter().enumerate() {
        for (key, name) in [("cluster", &svc.cluster), ("service", &svc.service)] {
            if let Some(problem) = aws_name_problem(AwsName::Ecs, name) {
                bad(format!("ecs_services[{e}].{key}"), problem);
            }
        }
        // The load balancer's alarms (5xx rate, latency, down) read AWS/ApplicationELB by these
        // dimension values: an empty one is refused by PutMetricAlarm on every run, a mistyped one
        // makes alarms that never fire.
        if let Some(lb) = &svc.load_balancer {
            for (key, value, kind) in [
                ("arn_suffix", &lb.arn_suffix, "app"),
                (
                    "target_group_arn_suffix",
                    &lb.target_group_arn_suffix,
                    "targetgroup",
                ),
            ] {
                if let Some(problem) = elb_suffix_problem(value, kind) {
                    bad(format!("ecs_services[{e}].load_balancer.{key}"), problem);
                }
            }
        }
        // A service's alarms and widgets are named after the service alone (two clusters may each run
        // a service of one name, but one platform's alarms could not tell them apart).
        if let Some(other) = spec.ecs_services[..e]
            .iter()
            .find(|o| name_part(&o.service) == name_part(&svc.service))
        {
            bad(
                format!("ecs_services[{e}].service"),
                format!(
                    "service {} (cluster {}) names its alarms like service {} (cluster {}): a platform's ECS \
                     services need names that differ in more than case and punctuation",
                    quoted(&svc.service),
                    quoted(&svc.cluster),
                    quoted(&other.service),
                    quoted(&other.cluster)
                ),
            );
        }
    }
    for (q, queue) in spec.queues.iter().enumerate() {
        if let Some(problem) = aws_name_problem(AwsName::Queue, &queue.name) {
            bad(format!("queues[{q}].name"), problem);
        }
    }
    for (i, bucket) in spec.buckets.iter().enumerate() {
        if let Some(problem) = aws_name_problem(AwsName::Bucket, &bucket.name) {
            bad(format!("buckets[{i}].name"), problem);
        }
    }
    for (b, budget) in spec.budgets.iter().enumerate() {
        if let Some(problem) = aws_name_problem(AwsName::Budget, &budget.name) {
            bad(format!("budgets[{b}].name"), problem);
        }
        // `limit_usd`: > 0, at most `MAX_BUDGET_USD`, whole cents, as it is read (`model::BUDGET_LIMIT`).
        for (key, list) in [
            ("actual_thresholds_percent", &budget.actual_thresholds_percent),
            ("forecast_thresholds_percent", &budget.forecast_thresholds_percent),
        ] {
            if let Some(t) = list.iter().find(|t| !(1..=1000).contains(*t)) {
                bad(
                    format!("budgets[{b}].{key}"),
                    format!("expected percentages 1..=1000, found {t}"),
                );
            }
            // Each threshold is one Budgets notification; AWS refuses a second notification of the
            // same type and threshold (DuplicateRecordException), so the deploy would fail half-way.
            // One pass with a set: a hostile list of 200,000 distinct values took over a minute
            // compared pairwise.
            let mut seen = std::collections::HashSet::new();
            if let Some((i, t)) = list.iter().enumerate().find(|(_, t)| !seen.insert(**t)) {
                bad(
                    format!("budgets[{b}].{key}[{i}]"),
                    format!("{t} is listed twice: each threshold is one AWS Budgets notification"),
                );
            }
        }
    }
    let n = &spec.notifications;
    // A secret named by ARN is read wherever the ARN points: another account's (shared with this one)
    // would send the reports to whoever owns it, as a topic ARN of another account would misroute a page.
    if let Some(problem) = secret_problem(spec, &n.slack_webhook_secret) {
        bad("notifications.slack_webhook_secret".into(), problem);
    }
    for (key, arn) in [
        ("sns_critical_topic_arn", &n.sns_critical_topic_arn),
        ("sns_warning_topic_arn", &n.sns_warning_topic_arn),
    ] {
        if let Some(problem) = topic_arn_problem(spec, arn) {
            bad(format!("notifications.{key}"), problem);
        }
    }
    if let Some(problem) = n.runbook_base_url.as_deref().and_then(runbook_base_url_problem) {
        bad("notifications.runbook_base_url".into(), problem);
    }
    // Each address is an SNS e-mail subscription: one SNS refuses fails `terraform apply`, not the check.
    for (i, address) in n.email.iter().enumerate() {
        if let Some(problem) = email_problem(address) {
            bad(format!("notifications.email[{i}]"), problem);
        }
    }
    let groups =
        spec.http_apis
            .iter()
            .enumerate()
            .filter_map(|(a, api)| {
                Some((
                    format!("http_apis[{a}].access_log_group"),
                    api.access_log_group.as_ref()?,
                ))
            })
            .chain(spec.ecs_services.iter().enumerate().filter_map(|(e, svc)| {
                Some((format!("ecs_services[{e}].log_group"), svc.log_group.as_ref()?))
            }));
    for (at, group) in groups {
        if let Some(problem) = aws_name_problem(AwsName::LogGroup, group) {
            bad(at, problem);
        }
    }
    if let Some(model) = &spec.cost.design_model
        && model.valuations_per_month == 0
    {
        bad(
            "cost.design_model.valuations_per_month".into(),
            "expected the valuations a month the design model assumes (> 0): its dollars per valuation are \
             divided by it"
                .into(),
        );
    }
    if let Some(model) = &spec.cost.design_model {
        let mut seen: Vec<String> = Vec::new();
        for key in model.components_usd.keys() {
            let at = format!("cost.design_model.components_usd.{key}");
            // The whole model is summed (report, dashboards): each amount is at most a budget's cap as it
            // is read (`model::AMOUNT`), which keeps the sum inside `Decimal`, where two near its maximum
            // overflowed and panicked.
            // Matched without case, as the report reads them (`DynamoDB = 15` is `dynamodb`): two keys
            // equal but for case would be added into one component.
            let folded = key.to_ascii_lowercase();
            if let Some(first) = seen.iter().find(|k| k.eq_ignore_ascii_case(key)) {
                bad(
                    at.clone(),
                    format!(
                        "component {} is also given as {} (keys are read without case, so both would be \
                         counted into {}); keep one",
                        ticked(key),
                        ticked(first),
                        ticked(&folded)
                    ),
                );
            }
            seen.push(key.clone());
            if !COST_COMPONENTS.contains(&folded.as_str()) {
                bad(
                    at,
                    format!(
                        "unknown cost component {}; expected one of {} (an unknown one was \
                         counted as `other`, and a typo moved its dollars there)",
                        ticked(key),
                        COST_COMPONENTS.join(", ")
                    ),
                );
            }
        }
    }
    if let Some(tokens) = spec
        .cost
        .design_model
        .as_ref()
        .and_then(|d| d.tokens_per_valuation)
    {
        // At most `TokensPerValuation::MAX` each, as they are read.
        if tokens.input == 0 {
            bad(
                "cost.design_model.tokens_per_valuation.input".into(),
                "expected the input tokens one valuation sends (> 0); leave tokens_per_valuation out if the \
                 design does not say"
                    .into(),
            );
        }
    }
    if let Some(problem) = aws_name_problem(AwsName::Table, &spec.ledger.table) {
        bad("ledger.table".into(), problem);
    }
    let mut listed = std::collections::BTreeSet::new();
    for (i, f) in spec.governance.functions.iter().enumerate() {
        if !crate::GOVERNANCE_FUNCTIONS.contains(&f.as_str()) {
            bad(
                format!("governance.functions[{i}]"),
                format!(
                    "expected one of {}, found {}",
                    crate::GOVERNANCE_FUNCTIONS.join(", "),
                    crate::text::quoted(f)
                ),
            );
        } else if !listed.insert(f.as_str()) {
            bad(
                format!("governance.functions[{i}]"),
                format!("expected each function once, found {f} twice"),
            );
        }
    }
    // Two resources of a kind giving one alarm name: `PlatformSpec::resource_part`, as the alarms
    // catalogue names them (listed twice, or names that differ only in case, punctuation or prefix).
    let part = |kind: &'static str| move |n: &str| spec.resource_part(n, kind);
    // (key, field, the names, the alarm-name part of a name)
    type Kind<'a> = (&'a str, &'a str, Vec<&'a str>, &'a dyn Fn(&str) -> String);
    let kinds: [Kind<'_>; 6] = [
        (
            "http_apis",
            "name",
            spec.http_apis.iter().map(|a| a.name.as_str()).collect(),
            &part("api"),
        ),
        (
            "state_machines",
            "name",
            spec.state_machines.iter().map(|m| m.name.as_str()).collect(),
            &part("state-machine"),
        ),
        (
            "queues",
            "name",
            spec.queues.iter().map(|q| q.name.as_str()).collect(),
            &part("dlq"),
        ),
        (
            "tables",
            "name",
            spec.tables.iter().map(|t| t.name.as_str()).collect(),
            &part("data"),
        ),
        (
            "budgets",
            "name",
            spec.budgets.iter().map(|b| b.name.as_str()).collect(),
            &part("monthly"),
        ),
        // `bedrock-{id}`: the whole id, no platform prefix to take off.
        (
            "bedrock_models",
            "id",
            spec.bedrock_models.iter().map(|m| m.id.as_str()).collect(),
            &name_part,
        ),
    ];
    for (key, field, names, part_of) in kinds {
        let parts: Vec<String> = names.iter().map(|n| part_of(n)).collect();
        for (i, part) in parts.iter().enumerate() {
            let Some(j) = parts[..i].iter().position(|p| p == part) else {
                continue;
            };
            if key == "tables" && names[j] == names[i] {
                continue; // "duplicate table", above
            }
            bad(
                format!("{key}[{i}].{field}"),
                format!(
                    "{} names its alarms {}, like {key}[{j}] {}: listed twice, or names that differ only in case, \
                     punctuation or the platform prefix",
                    quoted(names[i]),
                    quoted(part),
                    quoted(names[j])
                ),
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
[platform]
name = "demo"
environment = "dev"
region = "us-east-1"
log_retention_days = 30

[[functions]]
id = "a"
name = "demo-dev-a"
memory_mb = 512
timeout_s = 10
tier = "critical"

[[functions]]
id = "b"
name = "demo-dev-b"
memory_mb = 64
timeout_s = 10
tier = "standard"

[notifications]
slack_webhook_secret = "demo/dev/slack"
sns_critical_topic_arn = "arn:aws:sns:us-east-1:123456789012:crit"
sns_warning_topic_arn = "arn:aws:sns:us-east-1:123456789012:warn"

[ledger]
table = "demo-dev-ledger"
"#;

    /// A valid ALB and target group dimension value.
    const ALB: &str = "app/budgetbuddy-alb/50dc6c495c0c9188";
    const TG: &str = "targetgroup/budgetbuddy-tg/73e2d6bc24d8a067";

    /// An ECS service behind a load balancer with these dimension values.
    fn ecs_lb(arn_suffix: &str, target_group: &str) -> String {
        format!(
            "[[ecs_services]]\ncluster = \"bb\"\nservice = \"bb\"\ndesired_count = 1\n\
             load_balancer = {{ arn_suffix = \"{arn_suffix}\", target_group_arn_suffix = \"{target_group}\" }}"
        )
    }

    fn problems(src: &str) -> Vec<Problem> {
        match parse(src, "x.toml") {
            Err(SpecError::Invalid { problems, .. }) => problems,
            other => panic!("expected Invalid, got {other:?}"),
        }
    }

    /// The organisation spec handed to `spec check`: named for what it is, with the command that reads
    /// it, instead of "unknown field `accounts`".
    #[test]
    fn an_organisation_spec_is_named_as_one() {
        let org = include_str!("../../../infra/platforms/org/collectiq-group.toml");
        let p = problems(org);
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(p[0].message.contains("organisation spec"), "{}", p[0].message);
        assert!(p[0].message.contains("org plan --org"), "{}", p[0].message);
        assert!(p[0].line.is_some());
        // A platform spec with an unknown `organization` key is still a platform spec's problem.
        let p = problems(&format!("{MINIMAL}\n[organization]\nname = \"x\"\n"));
        assert!(
            !p.iter().any(|p| p.message.contains("organisation spec")),
            "{p:?}"
        );
    }

    #[test]
    fn range_error_names_file_line_and_key() {
        let p = problems(MINIMAL);
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].path, "functions[1].memory_mb");
        assert_eq!(p[0].line, Some(18));
        let err = parse(MINIMAL, "infra/platforms/x.toml").unwrap_err().to_string();
        assert_eq!(
            err,
            "infra/platforms/x.toml:18: functions[1].memory_mb: expected 128..10240, found 64"
        );
    }

    /// Every name a resource must carry follows that service's naming rule (from each service's API
    /// reference), both ways: the names AWS refuses are refused at the key that holds them, and the
    /// edge cases AWS accepts load.
    #[test]
    fn names_follow_each_services_rules() {
        let base = MINIMAL.replace("memory_mb = 64", "memory_mb = 128");
        let with = |extra: &str| format!("{base}\n{extra}");
        let refused = [
            (
                base.replace("\"demo-dev-a\"", "\"demo dev a\""),
                "functions[0].name",
            ),
            (
                base.replace("\"demo-dev-a\"", "\"demo.dev.a\""),
                "functions[0].name",
            ),
            (
                base.replace("\"demo-dev-a\"", &format!("\"{}\"", "f".repeat(65))),
                "functions[0].name",
            ),
            (
                with("[[tables]]\nname = \"ab\"\npartition_key = \"PK\""),
                "tables[0].name",
            ),
            (
                with("[[tables]]\nname = \"demo table\"\npartition_key = \"PK\""),
                "tables[0].name",
            ),
            (
                with(
                    "[[tables]]\nname = \"demo-t\"\npartition_key = \"PK\"\n[[tables.gsis]]\nname = \"G1\"\npartition_key = \"x\"",
                ),
                "tables[0].gsis[0].name",
            ),
            (
                with("[[queues]]\nname = \"demo/q\"\nkind = \"dlq\""),
                "queues[0].name",
            ),
            (
                with(&format!(
                    "[[queues]]\nname = \"{}\"\nkind = \"dlq\"",
                    "q".repeat(81)
                )),
                "queues[0].name",
            ),
            (with("[[buckets]]\nname = \"Demo-Uploads\""), "buckets[0].name"),
            (with("[[buckets]]\nname = \"demo..uploads\""), "buckets[0].name"),
            (with("[[buckets]]\nname = \"-demo\""), "buckets[0].name"),
            (with("[[buckets]]\nname = \"192.168.5.4\""), "buckets[0].name"),
            (
                with(
                    "[[state_machines]]\nname = \"demo valuation\"\narn = \"arn:aws:states:us-east-1:123456789012:stateMachine:demo valuation\"",
                ),
                "state_machines[0].name",
            ),
            (
                with(
                    "[[state_machines]]\nname = \"demo-valuation\"\narn = \"arn:aws:states:us-east-1:123456789012:stateMachine:demo-other\"",
                ),
                "state_machines[0].arn",
            ),
            (
                with(
                    "[[budgets]]\nname = \"demo:monthly\"\nlimit_usd = 5\nactual_thresholds_percent = [100]",
                ),
                "budgets[0].name",
            ),
            (
                with(
                    "[[budgets]]\nname = \"ops/action/monthly\"\nlimit_usd = 5\nactual_thresholds_percent = [100]",
                ),
                "budgets[0].name",
            ),
            (
                with(
                    "[[ecs_services]]\ncluster = \"budgetbuddy cluster\"\nservice = \"bb\"\ndesired_count = 1",
                ),
                "ecs_services[0].cluster",
            ),
            (
                with(
                    "[[ecs_services]]\ncluster = \"bb\"\nservice = \"budgetbuddy/backend\"\ndesired_count = 1",
                ),
                "ecs_services[0].service",
            ),
            (
                with(&format!(
                    "[[ecs_services]]\ncluster = \"bb\"\nservice = \"{}\"\ndesired_count = 1",
                    "s".repeat(256)
                )),
                "ecs_services[0].service",
            ),
            // The load balancer's dimension values: empty (PutMetricAlarm refuses it), a Network Load
            // Balancer's, a whole ARN, a short id, a name ending in a hyphen.
            (with(&ecs_lb("", TG)), "ecs_services[0].load_balancer.arn_suffix"),
            (
                with(&ecs_lb("net/bb-nlb/50dc6c495c0c9188", TG)),
                "ecs_services[0].load_balancer.arn_suffix",
            ),
            (
                with(&ecs_lb(
                    "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/bb/50dc6c495c0c9188",
                    TG,
                )),
                "ecs_services[0].load_balancer.arn_suffix",
            ),
            (
                with(&ecs_lb(ALB, "targetgroup/bb-tg/73e2d6bc")),
                "ecs_services[0].load_balancer.target_group_arn_suffix",
            ),
            (
                with(&ecs_lb(ALB, "targetgroup/bb-tg-/73e2d6bc24d8a067")),
                "ecs_services[0].load_balancer.target_group_arn_suffix",
            ),
            (
                with(&ecs_lb(ALB, "")),
                "ecs_services[0].load_balancer.target_group_arn_suffix",
            ),
            (base.replace("\"demo-dev-ledger\"", "\"ab\""), "ledger.table"),
            (
                base.replace("\"demo-dev-ledger\"", "\"demo dev ledger\""),
                "ledger.table",
            ),
            (
                with("[[http_apis]]\nname = \"api\"\nid = \"abc\""),
                "http_apis[0].id",
            ),
            (
                with("[[http_apis]]\nname = \"api\"\nid = \"P7Q2X9K4M1\""),
                "http_apis[0].id",
            ),
            (
                with("[[http_apis]]\nname = \"api\"\nid = \"p7q2x9k4m1x\""),
                "http_apis[0].id",
            ),
            // Only the governance module's four functions, each once: an alarm on another name would
            // watch a function that does not exist.
            (
                with("[governance]\nfunctions = [\"governance-costs\"]"),
                "governance.functions[0]",
            ),
            (
                with("[governance]\nfunctions = [\"governance-cost\", \"governance-cost\"]"),
                "governance.functions[1]",
            ),
        ];
        // SNS topic ARNs: partition, service, region, 12-digit account and topic name are each checked.
        let crit = "arn:aws:sns:us-east-1:123456789012:crit";
        let mut refused = refused.to_vec();
        for arn in [
            "arn:aws:sns:us-east-1:12345678901:crit".to_owned(),
            "arn:aws:sns:us-east-1:123456789012:".to_owned(),
            "arn:aws:sns:us-east-1:123456789012:has space".to_owned(),
            "arn:aws:sns:us-east-1:123456789012:a:b".to_owned(),
            "arn:aws:sns:useast1:123456789012:crit".to_owned(),
            "arn:aws:sqs:us-east-1:123456789012:crit".to_owned(),
            "arn:azure:sns:us-east-1:123456789012:crit".to_owned(),
            "arn:aws:sns:us-east-1:123456789012:.fifo".to_owned(),
            format!("arn:aws:sns:us-east-1:123456789012:{}", "t".repeat(257)),
        ] {
            refused.push((base.replace(crit, &arn), "notifications.sns_critical_topic_arn"));
        }
        for (src, key) in &refused {
            let p = problems(src);
            assert!(
                p.iter()
                    .any(|p| p.path == *key && p.message.starts_with("expected")),
                "{key} not refused: {p:?}"
            );
        }
        let accepted = with(&format!(
            "[[tables]]\nname = \"demo_dev.data-1\"\npartition_key = \"PK\"\n[[tables.gsis]]\nname = \"GSI\"\npartition_key = \"x\"\n\
             [[queues]]\nname = \"demo-dev_events.fifo\"\nkind = \"queue\"\n\
             [[buckets]]\nname = \"demo.dev-uploads-123456789012\"\n\
             [[state_machines]]\nname = \"demo-dev_Valuation\"\narn = \"arn:aws:states:us-east-1:123456789012:stateMachine:demo-dev_Valuation\"\n\
             [[budgets]]\nname = \"Demo (dev) monthly — all services\"\nlimit_usd = 5\nactual_thresholds_percent = [100]\n\
             [[ecs_services]]\ncluster = \"Demo_dev-cluster\"\nservice = \"{}\"\ndesired_count = 1\n\
             [[http_apis]]\nname = \"api\"\nid = \"p7q2x9k4m1\"\n\
             [[functions]]\nid = \"c\"\nname = \"{}\"\nmemory_mb = 128\ntimeout_s = 1\ntier = \"standard\"",
            "s".repeat(255),
            "F_-9".repeat(16)
        ))
        .replace("[ledger]\ntable = \"demo-dev-ledger\"", "[ledger]\ntable = \"Demo_dev.ledger-1\"")
        .replace(
            "arn:aws:sns:us-east-1:123456789012:warn",
            // The longest name SNS takes (another partition, or region, is refused).
            &format!("arn:aws:sns:us-east-1:123456789012:{}abc.fifo", "W_-9".repeat(62)),
        );
        let spec = parse(&accepted, "x.toml").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(spec.functions[2].name.len(), 64);
        assert_eq!(spec.ecs_services[0].service.len(), 255);
        assert_eq!(spec.http_apis[0].id, "p7q2x9k4m1");
        assert_eq!(spec.ledger.table, "Demo_dev.ledger-1");
        let topic = spec
            .notifications
            .sns_warning_topic_arn
            .rsplit(':')
            .next()
            .unwrap();
        assert_eq!(
            topic.len(),
            256,
            "the longest topic name SNS allows, .fifo included"
        );
        // A load balancer's dimension values as the ARN ends them, names at their 32-character limit.
        let lb = with(&ecs_lb(
            &format!("app/{}/50DC6C495C0C9188", "a".repeat(32)),
            &format!("targetgroup/{}-x/73e2d6bc24d8a067", "t".repeat(30)),
        ));
        let spec = parse(&lb, "x.toml").unwrap_or_else(|e| panic!("{e}"));
        assert!(spec.ecs_services[0].load_balancer.is_some());
    }

    /// A model id is the ModelId dimension value of its alarms: over 1,024 characters PutMetricAlarm
    /// refuses it (the alarm name, made from a shortened id, would not show it).
    #[test]
    fn a_model_id_longer_than_a_dimension_value_is_refused() {
        let id = format!("a{}b", ".".repeat(1_100));
        let src = with(&format!("[[bedrock_models]]\nid = \"{id}\"\nlabel = \"Long\"\n"));
        let p = problems(&src);
        assert!(
            p.iter()
                .any(|p| p.path == "bedrock_models[0].id" && p.message.contains("at most 1024")),
            "{p:?}"
        );
    }

    /// The issue's own example: an ECS cluster name with a space is refused at its file, line and key, as
    /// every other name rule is.
    #[test]
    fn an_ecs_cluster_name_with_a_space_names_file_line_and_key() {
        let src = MINIMAL.replace("memory_mb = 64", "memory_mb = 128").replace(
            "[notifications]",
            "[[ecs_services]]\ncluster = \"budgetbuddy cluster\"\nservice = \"budgetbuddy-backend\"\ndesired_count = 2\n\n[notifications]",
        );
        let line = src.lines().position(|l| l.starts_with("cluster")).unwrap() + 1;
        let err = parse(&src, "infra/platforms/x.toml").unwrap_err().to_string();
        assert_eq!(
            err,
            format!(
                "infra/platforms/x.toml:{line}: ecs_services[0].cluster: expected an ECS cluster or service name \
                 (1..=255 of a-z A-Z 0-9 - _), found \"budgetbuddy cluster\""
            )
        );
    }

    #[test]
    fn valid_spec_loads() {
        let spec = parse(&MINIMAL.replace("memory_mb = 64", "memory_mb = 128"), "x.toml").unwrap();
        assert_eq!(spec.functions.len(), 2);
        assert_eq!(spec.managed_prefix(), "demo-dev");
        assert_eq!(spec.functions[0].runtime, "provided.al2023");
        assert_eq!(spec.cost.ce_daily_request_cap, 5);
    }

    #[test]
    fn unknown_key_is_located() {
        let src = MINIMAL.replace("memory_mb = 64", "memory_mb = 128\nmemroy = 1");
        let p = problems(&src);
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(p[0].message.contains("unknown field `memroy`"), "{p:?}");
        assert_eq!(p[0].line, Some(19));
        assert!(p[0].path.starts_with("functions[1]"), "{p:?}");
    }

    #[test]
    fn wrong_type_is_located() {
        let src = MINIMAL.replace(
            "timeout_s = 10\ntier = \"standard\"",
            "timeout_s = \"ten\"\ntier = \"standard\"",
        );
        let p = problems(&src);
        assert_eq!(p[0].path, "functions[1].timeout_s");
        assert_eq!(p[0].line, Some(19));
    }

    #[test]
    fn syntax_error_has_line() {
        let p = problems("[platform\nname = 1");
        assert_eq!(p[0].line, Some(1));
        assert!(p[0].path.is_empty());
    }

    #[test]
    fn missing_section_is_reported() {
        let src = MINIMAL.replace("[ledger]\ntable = \"demo-dev-ledger\"\n", "");
        let p = problems(&src);
        assert!(p[0].message.contains("missing field `ledger`"), "{p:?}");
    }

    #[test]
    fn all_semantic_problems_are_listed_together() {
        let src = MINIMAL
            .replace("memory_mb = 64", "memory_mb = 128")
            .replace("log_retention_days = 30", "log_retention_days = 31")
            .replace("demo/dev/slack", "https://hooks.slack.com/services/T/B/X")
            .replace("name = \"demo-dev-b\"", "name = \"demo-dev-a\"");
        let p = problems(&src);
        let paths: Vec<_> = p.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "platform.log_retention_days",
                "functions[1].name",
                "notifications.slack_webhook_secret"
            ]
        );
        assert_eq!(p[0].line, Some(6));
        assert!(p[2].message.contains("keep the webhook out"));
    }

    #[test]
    fn dangling_route_function_is_an_error() {
        let src = MINIMAL.replace("memory_mb = 64", "memory_mb = 128").replace(
            "[notifications]",
            "[[http_apis]]\nname = \"api\"\nid = \"a1b2c3d4e5\"\n[[http_apis.routes]]\nmethod = \"GET\"\npath = \"/x\"\nfunction = \"zzz\"\n\n[notifications]",
        );
        let p = problems(&src);
        assert_eq!(p[0].path, "http_apis[0].routes[0].function");
        assert!(p[0].message.contains("\"zzz\""));
        assert_eq!(p[0].line, Some(28));
    }

    /// Specs that would give two alarms one name, a budget that overflows a sum, or ARNs in another
    /// account than the spec's load with an error naming the key (they passed `spec check` and failed
    /// later, in the alarms pass, naming neither file nor key — or sent pages to another account).
    #[test]
    fn name_collisions_huge_budgets_and_foreign_accounts_are_errors() {
        let cases = [
            (
                with("").replace("id = \"b\"", "id = \"a_\""),
                "functions[1].id",
                "like function id \"a\"",
            ),
            (
                // Both are the platform's own table, spelled platform first and environment first.
                with(
                    "[[tables]]\nname = \"demo-dev-data\"\npartition_key = \"PK\"\n\
                     [[tables]]\nname = \"dev-demo-data\"\npartition_key = \"PK\"\n",
                ),
                "tables[1].name",
                "names its alarms \"data\", like tables[0]",
            ),
            (
                with(
                    "[[queues]]\nname = \"demo-dev-x_dlq\"\nkind = \"dlq\"\n[[queues]]\nname = \"demo-dev-x-dlq\"\n\
                     kind = \"dlq\"\n",
                ),
                "queues[1].name",
                "names its alarms \"x-dlq\", like queues[0]",
            ),
            (
                with(
                    "[[ecs_services]]\ncluster = \"one\"\nservice = \"web\"\ndesired_count = 1\n\
                     [[ecs_services]]\ncluster = \"two\"\nservice = \"web\"\ndesired_count = 1\n",
                ),
                "ecs_services[1].service",
                "names its alarms like service",
            ),
            (
                with(
                    "[[budgets]]\nname = \"demo-monthly\"\nlimit_usd = 7.9228162514264337593543950335e28\n\
                     actual_thresholds_percent = [80]\n",
                ),
                "budgets[0].limit_usd",
                "at most 1000000000000",
            ),
            (
                with(
                    "[[budgets]]\nname = \"m\"\nlimit_usd = 5\nactual_thresholds_percent = [80]\n\
                     [[budgets]]\nname = \"m\"\nlimit_usd = 6\nactual_thresholds_percent = [80]\n",
                ),
                "budgets[1].name",
                "like budgets[0] \"m\"",
            ),
            (
                with("").replace(
                    "region = \"us-east-1\"",
                    "region = \"us-east-1\"\naccount_id = \"210987654321\"",
                ),
                "notifications.sns_critical_topic_arn",
                "found account 123456789012",
            ),
            (
                with("").replace(
                    "arn:aws:sns:us-east-1:123456789012:crit",
                    "arn:aws:sns:eu-west-1:123456789012:crit",
                ),
                "notifications.sns_critical_topic_arn",
                "found region eu-west-1",
            ),
            (
                // us-east-1 is in the `aws` partition: no such topic can exist.
                with("").replace(
                    "arn:aws:sns:us-east-1:123456789012:crit",
                    "arn:aws-us-gov:sns:us-east-1:123456789012:crit",
                ),
                "notifications.sns_critical_topic_arn",
                "expected an ARN in partition aws (the partition of [platform].region us-east-1), found \"aws-us-gov\"",
            ),
            (
                // Another account's secret, shared with this one, would take the reports to its owner.
                with("")
                    .replace(
                        "region = \"us-east-1\"",
                        "region = \"us-east-1\"\naccount_id = \"123456789012\"",
                    )
                    .replace(
                        "slack_webhook_secret = \"demo/dev/slack\"",
                        "slack_webhook_secret = \"arn:aws:secretsmanager:us-east-1:999999999999:secret:x\"",
                    ),
                "notifications.slack_webhook_secret",
                "expected an ARN in account 123456789012 ([platform].account_id), found account 999999999999",
            ),
            (
                with("").replace(
                    "slack_webhook_secret = \"demo/dev/slack\"",
                    "slack_webhook_secret = \"arn:aws:secretsmanager:eu-west-1:123456789012:secret:x\"",
                ),
                "notifications.slack_webhook_secret",
                "found region eu-west-1",
            ),
            (
                with("").replace("id = \"b\"", "id = \"b c\""),
                "functions[1].id",
                "expected 1 to 64 of a-z, 0-9 and '_'",
            ),
            (
                with("").replace("region = \"us-east-1\"", "region = \"us-east-1\"\nowner = \"\""),
                "platform.owner",
                "a tag value of 1 to 256 characters",
            ),
            (
                with("").replace(
                    "region = \"us-east-1\"",
                    "region = \"us-east-1\"\nproject = \" \"",
                ),
                "platform.project",
                "a tag value of 1 to 256 characters",
            ),
            (
                with("").replace(
                    "region = \"us-east-1\"",
                    &format!("region = \"us-east-1\"\ncost_center = \"{}\"", "e".repeat(257)),
                ),
                "platform.cost_center",
                "a tag value of 1 to 256 characters",
            ),
        ];
        for (src, path, message) in cases {
            let p = problems(&src);
            let hit = p.iter().find(|p| p.path == path);
            assert!(
                hit.is_some_and(|p| p.message.contains(message) && p.line.is_some()),
                "{path}: {p:?}"
            );
        }
    }

    /// A name is quoted escaped and cut: a newline in it started a forged `✗` line in `spec check`'s
    /// output, U+202E reversed the line it was on, and a 900 KB name (an unknown 900 KB key twice) was
    /// echoed whole.
    #[test]
    fn names_in_messages_cannot_forge_lines_or_flood_the_output() {
        let forged = "x\\n✗ other.toml:1: FORGED LINE";
        let long = "n".repeat(900_000);
        for (src, path) in [
            (
                with("").replace("\"demo-dev-a\"", &format!("\"{forged}\"")),
                "functions[0].name",
            ),
            (
                with("").replace("\"demo-dev-a\"", "\"demo\u{202e}a-ved\""),
                "functions[0].name",
            ),
            (
                with("").replace("\"demo-dev-a\"", &format!("\"{long}\"")),
                "functions[0].name",
            ),
            (
                with("").replace("name = \"demo\"", &format!("name = \"{forged}\"")),
                "platform.name",
            ),
            (
                with("").replace("name = \"demo\"", "name = \"de\u{202e}mo\""),
                "platform.name",
            ),
            (
                with("").replace("name = \"demo\"", &format!("name = \"{long}\"")),
                "platform.name",
            ),
            (
                with(
                    "[[http_apis]]\nname = \"api\"\nid = \"a1b2c3d4e5\"\naccess_log_group = \"/aws/x\u{202e}y\"\n",
                ),
                "http_apis[0].access_log_group",
            ),
            (
                with(&format!(
                    "[[http_apis]]\nname = \"api\"\nid = \"a1b2c3d4e5\"\naccess_log_group = \"/{long}\"\n"
                )),
                "http_apis[0].access_log_group",
            ),
            (
                with(&format!(
                    "[[http_apis]]\nname = \"api\"\nid = \"a1b2c3d4e5\"\n[[http_apis.routes]]\nmethod = \"GET\"\npath = \"/x\"\nfunction = \"{forged}\"\n"
                )),
                "http_apis[0].routes[0].function",
            ),
        ] {
            let p = problems(&src);
            let hit = p
                .iter()
                .find(|p| p.path == path)
                .unwrap_or_else(|| panic!("{path}: {p:?}"));
            assert!(hit.line.is_some(), "{hit:?}");
            let rendered = parse(&src, "x.toml").unwrap_err().to_string();
            assert_eq!(rendered.lines().count(), p.len(), "{rendered}");
            assert!(
                !rendered.contains('\u{202e}') && rendered.len() < 2_000,
                "{path}: {} bytes",
                rendered.len()
            );
            assert!(
                hit.message.contains("\\n✗ other.toml") || !src.contains(forged),
                "{hit:?}"
            );
        }
        // An unknown key is a serde message and a key path: both escaped and cut.
        for key in [
            format!("\"{forged}\""),
            "\"k\u{202e}ey\"".to_owned(),
            long.clone(),
        ] {
            let src = with("").replace("memory_mb = 128\n", &format!("memory_mb = 128\n{key} = 77\n"));
            let p = problems(&src);
            assert_eq!(p.len(), 1, "{p:?}");
            assert!(p[0].message.starts_with("unknown field `"), "{p:?}");
            assert_eq!(p[0].line, Some(line_with(&src, " = 77")));
            let rendered = parse(&src, "x.toml").unwrap_err().to_string();
            assert_eq!(rendered.lines().count(), 1, "{rendered}");
            assert!(
                !rendered.chars().any(vocabulary::text::is_deceptive) && rendered.len() < 2_000,
                "{} bytes: {}",
                rendered.len(),
                rendered.chars().take(300).collect::<String>()
            );
        }
        // The audit's forged line, rendered: one line, the newline shown as `\n`.
        let src = with("").replace("\"demo-dev-a\"", &format!("\"{forged}\""));
        let line = line_with(&src, "FORGED");
        assert_eq!(
            parse(&src, "x.toml").unwrap_err().to_string(),
            format!(
                "x.toml:{line}: functions[0].name: expected text without control characters or bidirectional format \
                 characters, found U+000A at character 2 of \"x\\n✗ other.toml:1: FORGED LINE\""
            )
        );
    }

    /// Free text took control and bidi characters: a budget name with ESC and a newline went into tfvars
    /// as `collectiq-\u001b[31mprod\nmonthly`, an e-mail with ESC and U+202E failed only at SNS
    /// subscription in `terraform apply`, and a route path with them became a `Route` dimension value
    /// CloudWatch refuses. Each is refused at its key and line.
    #[test]
    fn control_and_bidi_characters_are_refused_in_every_free_text_field() {
        let budget = |name: &str| {
            with(&format!(
                "[[budgets]]\nname = \"{name}\"\nlimit_usd = 5\nactual_thresholds_percent = [100]\n"
            ))
        };
        let model = |label: &str, billing: &str| {
            with(&format!(
                "[[bedrock_models]]\nid = \"m\"\nlabel = \"{label}\"\nbilling_service = \"{billing}\"\n"
            ))
        };
        let route = |path: &str| {
            with(&format!(
                "[[http_apis]]\nname = \"api\"\nid = \"a1b2c3d4e5\"\n[[http_apis.routes]]\nmethod = \"GET\"\npath = \"{path}\"\nfunction = \"a\"\n"
            ))
        };
        let email = |address: &str| {
            with("").replace(
                "sns_warning_topic_arn = \"arn:aws:sns:us-east-1:123456789012:warn\"",
                &format!(
                    "sns_warning_topic_arn = \"arn:aws:sns:us-east-1:123456789012:warn\"\nemail = [\"ops@example.com\", \"{address}\"]"
                ),
            )
        };
        for (src, path, marker) in [
            (
                budget("collectiq-\\u001b[31mprod\\nmonthly"),
                "budgets[0].name",
                "name = \"collectiq-",
            ),
            (
                budget("collectiq-\u{202e}prod"),
                "budgets[0].name",
                "name = \"collectiq-",
            ),
            (
                model("Sonnet\\u001b[2K", "Claude"),
                "bedrock_models[0].label",
                "label =",
            ),
            (
                model("Sonnet", "Claude\\r\\n(Amazon Bedrock)"),
                "bedrock_models[0].billing_service",
                "billing_service",
            ),
            (
                route("/cards\\u001b[31m"),
                "http_apis[0].routes[0].path",
                "path =",
            ),
            (
                route("/cards/\u{202e}di"),
                "http_apis[0].routes[0].path",
                "path =",
            ),
            (
                email("ops\\u001b[31m@example.com"),
                "notifications.email[1]",
                "email =",
            ),
            (
                email("ops@example.com\u{202e}"),
                "notifications.email[1]",
                "email =",
            ),
            (
                with("").replace(
                    "region = \"us-east-1\"",
                    "region = \"us-east-1\"\nowner = \"ops\\tteam\"",
                ),
                "platform.owner",
                "owner =",
            ),
            (
                with("[[tables]]\nname = \"demo-dev-t\"\npartition_key = \"P\\u0000K\"\n"),
                "tables[0].partition_key",
                "partition_key",
            ),
        ] {
            let p = problems(&src);
            assert_eq!(p.len(), 1, "{path}: {p:?}");
            assert_eq!(p[0].path, path, "{p:?}");
            assert_eq!(p[0].line, Some(line_with(&src, marker)), "{p:?}");
            assert!(
                p[0].message.starts_with(
                    "expected text without control characters or bidirectional format characters, found U+"
                ),
                "{p:?}"
            );
            assert!(!p[0].message.chars().any(vocabulary::text::is_deceptive), "{p:?}");
        }
        // Text that is merely not English still loads.
        let fine = budget("Démo (dev) — mensuel ✓");
        assert!(parse(&fine, "x.toml").is_ok());
    }

    /// Route paths are API Gateway route paths (printable ASCII, `{param}`, `{proxy+}` last) and e-mail
    /// addresses plausible addr-specs (one `@`, no spaces), refused at their key and line.
    #[test]
    fn route_paths_and_emails_follow_their_rules() {
        for (path, ok) in [
            ("/cards/{id}", true),
            ("/{proxy+}", true),
            ("/cards/é", false),
            ("/cards list", false),
            ("/{proxy+}/x", false),
            ("/cards//x", false),
            ("/cards/{id", false),
            ("cards", false),
        ] {
            let src = with(&format!(
                "[[http_apis]]\nname = \"api\"\nid = \"a1b2c3d4e5\"\n[[http_apis.routes]]\nmethod = \"GET\"\npath = \"{path}\"\nfunction = \"a\"\n"
            ));
            if ok {
                assert!(parse(&src, "x.toml").is_ok(), "{path}");
                continue;
            }
            let p = problems(&src);
            assert_eq!(p.len(), 1, "{path}: {p:?}");
            assert_eq!(p[0].path, "http_apis[0].routes[0].path");
            assert_eq!(p[0].line, Some(line_with(&src, "path =")));
            assert!(p[0].message.starts_with("expected"), "{p:?}");
        }
        for (address, ok) in [
            ("ops@example.com", true),
            ("a@b@example.com", false),
            ("ops @example.com", false),
            ("ops@bücher.de", false),
        ] {
            let src = with("").replace(
                "sns_warning_topic_arn = \"arn:aws:sns:us-east-1:123456789012:warn\"",
                &format!("sns_warning_topic_arn = \"arn:aws:sns:us-east-1:123456789012:warn\"\nemail = [\"{address}\"]"),
            );
            if ok {
                assert!(parse(&src, "x.toml").is_ok(), "{address}");
                continue;
            }
            let p = problems(&src);
            assert_eq!(p.len(), 1, "{address}: {p:?}");
            assert_eq!(p[0].path, "notifications.email[0]");
            assert_eq!(p[0].line, Some(line_with(&src, "email =")));
            assert!(
                p[0].message
                    .starts_with("expected an e-mail address like ops@example.com"),
                "{p:?}"
            );
        }
    }

    /// `notifications.runbook_base_url` reaches pagers and Slack inside every alarm description: an
    /// https URL of plain characters, refused at its key and line otherwise.
    #[test]
    fn runbook_base_urls_are_plain_https_urls() {
        let long = format!("https://docs.example/{}", "a".repeat(400));
        for (url, ok) in [
            ("https://git.example/ops/blob/main/alarms/runbooks", true),
            ("https://git.example/ops/blob/main/alarms/runbooks/", true),
            ("http://git.example/runbooks", false),
            ("https:///runbooks", false),
            ("https://git.example/run books", false),
            ("https://git.example/<!channel>", false),
            ("https://git.example/a|click here", false),
            ("https://git.example/runbooks?x=1", false),
            ("javascript:alert(1)", false),
            (long.as_str(), false),
        ] {
            let src = with("").replace(
                "sns_warning_topic_arn = \"arn:aws:sns:us-east-1:123456789012:warn\"",
                &format!(
                    "sns_warning_topic_arn = \"arn:aws:sns:us-east-1:123456789012:warn\"\nrunbook_base_url = \"{url}\""
                ),
            );
            if ok {
                let spec = parse(&src, "x.toml").unwrap();
                assert_eq!(spec.notifications.runbook_base_url.as_deref(), Some(url));
                continue;
            }
            let p = problems(&src);
            assert_eq!(p.len(), 1, "{url}: {p:?}");
            assert_eq!(p[0].path, "notifications.runbook_base_url");
            assert_eq!(p[0].line, Some(line_with(&src, "runbook_base_url =")));
            assert!(p[0].message.starts_with("expected an https:// URL"), "{p:?}");
        }
    }

    /// Not a regular file (a directory, a FIFO, `/dev/zero`) or over a megabyte: refused before reading,
    /// naming the file — `/dev/zero` was read until memory ran out, a FIFO waited forever.
    #[test]
    fn only_regular_files_of_a_spec_size_are_read() {
        let dir = std::env::temp_dir().join(format!("platform-spec-load-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let big = dir.join("big.toml");
        std::fs::write(&big, "#".repeat(usize::try_from(MAX_SPEC_BYTES).unwrap() + 1)).unwrap();
        for (path, message) in [
            (dir.as_path(), "not a regular file"),
            (Path::new("/dev/zero"), "not a regular file"),
            (big.as_path(), "larger than 1048576 bytes"),
        ] {
            let e = load(path).unwrap_err().to_string();
            assert!(
                e.starts_with(&path.display().to_string()) && e.contains(message),
                "{e}"
            );
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// `MINIMAL` made valid, with `extra` inserted before `[notifications]`.
    fn with(extra: &str) -> String {
        MINIMAL
            .replace("memory_mb = 64", "memory_mb = 128")
            .replace("[notifications]", &format!("{extra}\n[notifications]"))
    }

    /// The 1-based line of the first line containing `needle`.
    fn line_with(src: &str, needle: &str) -> usize {
        src.lines().position(|l| l.contains(needle)).unwrap() + 1
    }

    const SONNET: &str = "anthropic.claude-3-5-sonnet-20240620-v1:0";
    const PROFILE: &str = "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/a1b2c3";

    fn models(aliases_a: &str, aliases_b: &str) -> String {
        with(&format!(
            "[[bedrock_models]]\nid = \"{SONNET}\"\nlabel = \"Sonnet\"\naliases = {aliases_a}\n\n\
             [[bedrock_models]]\nid = \"anthropic.claude-3-5-haiku-20241022-v1:0\"\nlabel = \"Haiku\"\naliases = {aliases_b}\n"
        ))
    }

    #[test]
    fn tokens_per_valuation_and_model_aliases_load() {
        let src = format!(
            "{}\n[cost.design_model]\nvaluations_per_month = 50000\ncomponents_usd = {{ bedrock = 75 }}\n\
             tokens_per_valuation = {{ input = 1000, output = 200 }}\n",
            models(&format!("[\"{PROFILE}\"]"), "[]")
        );
        let spec = parse(&src, "x.toml").unwrap();
        let design = spec.cost.design_model.as_ref().unwrap();
        assert_eq!(
            design.tokens_per_valuation,
            Some(crate::TokensPerValuation {
                input: 1000,
                output: 200
            })
        );
        assert_eq!(
            spec.model_aliases(),
            std::collections::BTreeMap::from([(PROFILE.to_owned(), SONNET.to_owned())])
        );
        assert!(spec.bedrock_models[1].aliases.is_empty());
    }

    #[test]
    fn a_models_agents_are_functions_agents() {
        let src = with(
            "[[bedrock_models]]\nid = \"m\"\nlabel = \"M\"\nagents = [\"authenticity\", \"ocr_reasoning\"]\n",
        )
        .replace("id = \"b\"\n", "id = \"b\"\nagent = \"authenticity\"\n");
        let p = problems(&src);
        assert_eq!(p.len(), 1, "{p:?}");
        assert_eq!(p[0].path, "bedrock_models[0].agents[1]");
        assert!(
            p[0].message.contains("no function has agent = \"ocr_reasoning\""),
            "{p:?}"
        );
        assert_eq!(p[0].line, Some(line_with(&src, "agents = [")));
        assert!(parse(&src.replace(", \"ocr_reasoning\"", ""), "x.toml").is_ok());
    }

    #[test]
    fn both_keys_default_to_absent() {
        let src = format!(
            "{}\n[cost.design_model]\nvaluations_per_month = 10\ncomponents_usd = {{ bedrock = 1 }}\n",
            with("[[bedrock_models]]\nid = \"m\"\nlabel = \"M\"\n")
        );
        let spec = parse(&src, "x.toml").unwrap();
        assert_eq!(
            spec.cost.design_model.as_ref().unwrap().tokens_per_valuation,
            None
        );
        assert!(spec.model_aliases().is_empty());
    }

    fn design(tokens: &str) -> String {
        format!(
            "{}\n[cost.design_model]\nvaluations_per_month = 50000\ncomponents_usd = {{ bedrock = 75 }}\n\
             tokens_per_valuation = {tokens}\n",
            with("")
        )
    }

    /// Values that load but make alarms AWS refuses (an empty dimension value) or alarms that never fire
    /// (an ARN that is not the state machine's) are refused at their key.
    #[test]
    fn values_that_make_silent_or_refused_alarms_are_refused_at_their_key() {
        let prod = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../infra/platforms/collectiq-prod.toml"
        ))
        .unwrap();
        let arn = "arn:aws:states:us-east-1:123456789012:stateMachine:collectiq-prod-valuation";
        assert!(prod.contains(arn));
        for (from, to, path) in [
            (
                arn.to_owned(),
                arn.replace(":stateMachine:", ":activity:"),
                "state_machines[0].arn",
            ),
            (
                arn.to_owned(),
                arn.replace(":stateMachine:", ":"),
                "state_machines[0].arn",
            ),
            (
                "stage = \"$default\"".to_owned(),
                "stage = \"\"".to_owned(),
                "http_apis[0].stage",
            ),
            (
                "stage = \"$default\"".to_owned(),
                "stage = \"$default \"".to_owned(),
                "http_apis[0].stage",
            ),
            (
                "stage = \"$default\"".to_owned(),
                "stage = \"$Default\"".to_owned(),
                "http_apis[0].stage",
            ),
            (
                "stage = \"$default\"".to_owned(),
                "stage = \"prod v1\"".to_owned(),
                "http_apis[0].stage",
            ),
            (
                "stage = \"$default\"".to_owned(),
                "stage = \"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"".to_owned(),
                "http_apis[0].stage",
            ),
            (
                "agents = [\"authenticity\"]\n".to_owned(),
                format!("agents = [\"authenticity\"]\naliases = [\"{}\"]\n", "a".repeat(1025)),
                "bedrock_models[0].aliases[0]",
            ),
            (
                "slack_webhook_secret = \"collectiq/prod/slack-webhook\"".to_owned(),
                "slack_webhook_secret = \" \"".to_owned(),
                "notifications.slack_webhook_secret",
            ),
            (
                "[platform]\n".to_owned(),
                "[platform]\nservice_name = \" \"\n".to_owned(),
                "platform.service_name",
            ),
        ] {
            assert!(prod.contains(&from), "{from}");
            let p = problems(&prod.replacen(&from, &to, 1));
            assert!(p.iter().any(|p| p.path == path), "{path}: {p:?}");
        }
        for stage in ["$default", "prod", "v2_beta-1", &"s".repeat(128)] {
            let src = prod.replacen("stage = \"$default\"", &format!("stage = \"{stage}\""), 1);
            assert!(parse(&src, "x.toml").is_ok(), "{stage}");
        }
        let zero = format!(
            "{}\n[cost.design_model]\nvaluations_per_month = 0\ncomponents_usd = {{ bedrock = 75 }}\n",
            with("")
        );
        let p = problems(&zero);
        assert_eq!(p.len(), 1, "{p:?}");
        assert_eq!(p[0].path, "cost.design_model.valuations_per_month");
    }

    /// The webhook URL is a secret (seed 001: secrets in Secrets Manager): a spec holding it, in any
    /// case or spacing, is refused without quoting it, since a failed secret read would otherwise
    /// carry it into errors, output and tfvars. Names and Secrets Manager ARNs load.
    #[test]
    fn a_webhook_url_in_any_form_is_refused_and_never_quoted() {
        let url = "hooks.slack.com/services/T0/B0/xyzSECRET";
        for value in [
            format!(" https://{url}"),
            format!("HTTPS://{url}"),
            url.to_owned(),
            format!("Https://{url}\t"),
        ] {
            let src = MINIMAL.replace("demo/dev/slack", &value.replace('\t', "\\t"));
            let p = problems(&src);
            let hit = p
                .iter()
                .find(|p| p.path == "notifications.slack_webhook_secret")
                .unwrap_or_else(|| panic!("{value:?} loads: {p:?}"));
            assert!(!hit.message.contains("xyzSECRET"), "{hit:?}");
        }
        for bad in [
            "demo dev",
            "demo/dev?x",
            &"n".repeat(513),
            "arn:aws:sns:us-east-1:123456789012:t",
        ] {
            let src = MINIMAL.replace("demo/dev/slack", bad);
            let p = problems(&src);
            assert!(
                p.iter().any(|p| p.path == "notifications.slack_webhook_secret"),
                "{bad}: {p:?}"
            );
        }
        for good in [
            "demo/dev/slack",
            "a_b+c=d.e@f-g",
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:demo/dev/slack-AbCdEf",
        ] {
            let src = MINIMAL.replace("demo/dev/slack", good);
            assert!(
                problems(&src)
                    .iter()
                    .all(|p| p.path != "notifications.slack_webhook_secret"),
                "{good}"
            );
        }
    }

    /// The design model is summed (report, dashboards): an amount above the budget cap could overflow
    /// `Decimal` in the sum and panic every cost run, and two keys equal but for case were both added
    /// into one component.
    #[test]
    fn design_model_amounts_are_capped_and_keys_unique_without_case() {
        for huge in ["5e28", "1000000000001", "1e308"] {
            let src = format!(
                "{}\n[cost.design_model]\nvaluations_per_month = 50000\n\
                 components_usd = {{ bedrock = 1, lambda = {huge} }}\n",
                with("")
            );
            let p = problems(&src);
            assert_eq!(p.len(), 1, "{p:?}");
            assert_eq!(p[0].path, "cost.design_model.components_usd.lambda");
            assert_eq!(p[0].line, Some(line_with(&src, "components_usd")));
            assert!(
                p[0].message
                    .starts_with("expected an amount in USD >= 0 and at most 1000000000000 (10^12"),
                "{p:?}"
            );
        }
        let src = format!(
            "{}\n[cost.design_model]\nvaluations_per_month = 50000\ncomponents_usd = {{ DynamoDB = 15, dynamodb = 15 }}\n",
            with("")
        );
        let p = problems(&src);
        assert_eq!(p.len(), 1, "{p:?}");
        assert_eq!(p[0].path, "cost.design_model.components_usd.dynamodb");
        assert!(p[0].message.contains("also given as `DynamoDB`"), "{p:?}");
        let src = format!(
            "{}\n[cost.design_model]\nvaluations_per_month = 50000\ncomponents_usd = {{ bedrock = 1000000000000 }}\n",
            with("")
        );
        parse(&src, "x.toml").unwrap();
    }

    #[test]
    fn an_unknown_cost_component_is_refused_at_its_key() {
        let src = format!(
            "{}\n[cost.design_model]\nvaluations_per_month = 50000\n\
             components_usd = {{ bedrok = 75, lambda = 1 }}\n",
            with("")
        );
        let p = problems(&src);
        assert_eq!(p.len(), 1, "{p:?}");
        assert_eq!(p[0].path, "cost.design_model.components_usd.bedrok");
        assert_eq!(p[0].line, Some(line_with(&src, "components_usd")));
        assert!(p[0].message.contains("unknown cost component `bedrok`"), "{p:?}");
        assert!(p[0].message.contains("bedrock, rekognition"), "{p:?}");
        // Every listed component loads.
        let all = COST_COMPONENTS
            .iter()
            .map(|c| format!("{c} = 1"))
            .collect::<Vec<_>>()
            .join(", ");
        let src = format!(
            "{}\n[cost.design_model]\nvaluations_per_month = 50000\ncomponents_usd = {{ {all} }}\n",
            with("")
        );
        let spec = parse(&src, "x.toml").unwrap();
        assert_eq!(spec.cost.design_model.unwrap().components_usd.len(), 9);
        // The report's own labels, in their case, are its components too.
        let src = format!(
            "{}\n[cost.design_model]\nvaluations_per_month = 50000\ncomponents_usd = {{ DynamoDB = 15, CloudWatch = 1 }}\n",
            with("")
        );
        parse(&src, "x.toml").unwrap();
    }

    #[test]
    fn a_duplicate_key_is_named() {
        let src = with("").replacen(
            "[platform]\n",
            "[platform]\nlog_retention_days = 30\nlog_retention_days = 90\n",
            1,
        );
        let p = problems(&src);
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(
            p[0].message.contains("duplicate key `log_retention_days`"),
            "{p:?}"
        );
        assert_eq!(p[0].line, Some(line_with(&src, "log_retention_days = 90")));
    }

    #[test]
    fn bad_tokens_per_valuation_name_key_and_line() {
        let cases = [
            // (value, key path, message part)
            (
                "{ input = 0, output = 200 }",
                "cost.design_model.tokens_per_valuation.input",
                "expected the input tokens one valuation sends (> 0)",
            ),
            (
                "{ input = 1000, output = 20000000 }",
                "cost.design_model.tokens_per_valuation.output",
                "expected at most 10000000 tokens per valuation, found 20000000",
            ),
            (
                "{ input = -5, output = 200 }",
                "cost.design_model.tokens_per_valuation.input",
                "",
            ),
            (
                "{ input = \"lots\", output = 200 }",
                "cost.design_model.tokens_per_valuation.input",
                "",
            ),
            (
                "{ input = 1000, ouptut = 200 }",
                "cost.design_model.tokens_per_valuation.ouptut",
                "unknown field `ouptut`",
            ),
            (
                "{ input = 1000 }",
                "cost.design_model.tokens_per_valuation",
                "missing field `output`",
            ),
        ];
        for (value, key, message) in cases {
            let src = design(value);
            let p = problems(&src);
            assert_eq!(p.len(), 1, "{value}: {p:?}");
            assert_eq!(p[0].path, key, "{value}: {p:?}");
            assert_eq!(
                p[0].line,
                Some(line_with(&src, "tokens_per_valuation")),
                "{value}"
            );
            assert!(p[0].message.contains(message), "{value}: {p:?}");
            let rendered = parse(&src, "infra/platforms/x.toml").unwrap_err().to_string();
            assert!(
                rendered.starts_with(&format!(
                    "infra/platforms/x.toml:{}: {key}: ",
                    line_with(&src, "tokens_per_valuation")
                )),
                "{rendered}"
            );
        }
    }

    #[test]
    fn bad_model_aliases_name_key_and_line() {
        let cases = [
            (
                models("[\"\"]", "[]"),
                "bedrock_models[0].aliases[0]",
                "expected a ModelId value",
                "aliases = [\"\"]",
            ),
            (
                models("[\"has space\"]", "[]"),
                "bedrock_models[0].aliases[0]",
                "found \"has space\"",
                "has space",
            ),
            (
                models(&format!("[\"{PROFILE}\"]"), &format!("[\"x\", \"{SONNET}\"]")),
                "bedrock_models[1].aliases[1]",
                "is the id of a model in [[bedrock_models]]",
                "aliases = [\"x\"",
            ),
            (
                models(&format!("[\"{PROFILE}\"]"), &format!("[\"{PROFILE}\"]")),
                "bedrock_models[1].aliases[0]",
                "duplicate alias",
                "aliases = [\"arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/a1b2c3\"]\n\n",
            ),
            (
                models("\"one\"", "[]"),
                "bedrock_models[0].aliases",
                "",
                "aliases = \"one\"",
            ),
        ];
        for (src, key, message, line_marker) in cases {
            let p = problems(&src);
            assert_eq!(p.len(), 1, "{key}: {p:?}");
            assert_eq!(p[0].path, key, "{p:?}");
            assert!(p[0].message.contains(message), "{p:?}");
            // The duplicate sits on the second model's aliases line: the last line with the marker text.
            let want = if message == "duplicate alias" {
                src.lines()
                    .collect::<Vec<_>>()
                    .iter()
                    .rposition(|l| l.starts_with("aliases"))
                    .unwrap()
                    + 1
            } else {
                line_with(&src, line_marker.lines().next().unwrap())
            };
            assert_eq!(p[0].line, Some(want), "{key}: {p:?}");
        }
    }

    /// 110 Bedrock model ids (11 models of an id and 9 aliases) would put more than 500 metrics in one
    /// dashboard widget and fail every dashboard of the spec: refused at `bedrock_models`, naming the
    /// count; 100 load.
    #[test]
    fn too_many_model_ids_in_all_are_refused() {
        let spec_of = |n: usize| {
            with(
                &(0..n)
                    .map(|m| {
                        let aliases: Vec<String> =
                            (0..9).map(|a| format!("\"vendor.model-{m}-alias-{a}\"")).collect();
                        format!(
                            "[[bedrock_models]]\nid = \"vendor.model-{m}\"\nlabel = \"Model {m}\"\naliases = [{}]\n\n",
                            aliases.join(", ")
                        )
                    })
                    .collect::<String>(),
            )
        };
        assert!(parse(&spec_of(10), "x.toml").is_ok());
        let p = problems(&spec_of(11));
        assert_eq!(p.len(), 1, "{p:?}");
        assert_eq!(p[0].path, "bedrock_models");
        assert!(p[0].message.starts_with("110 model ids"), "{p:?}");
    }

    /// `HTTP_API_IDS` naming one API twice is refused naming it: JSON parsers keep the last id
    /// silently, so which API the alarms watched depended on the order Terraform wrote them in.
    #[test]
    fn http_api_ids_name_each_api_once() {
        let api = |name: &str, id: &str| (name.to_owned(), id.to_owned());
        assert_eq!(
            parse_http_api_ids(r#"{"b-api":"f6g7h8i9j0","a-api":"a1b2c3d4e5"}"#).unwrap(),
            [api("b-api", "f6g7h8i9j0"), api("a-api", "a1b2c3d4e5")]
        );
        assert_eq!(parse_http_api_ids("{}").unwrap(), []);
        let e = parse_http_api_ids(r#"{"a-api":"a1b2c3d4e5","b-api":"f6g7h8i9j0","a-api":"k1l2m3n4o5"}"#)
            .unwrap_err();
        assert_eq!(e, HttpApiIdsError::RepeatedName("a-api".into()));
        assert_eq!(
            e.to_string(),
            "API \"a-api\" is named twice; give each API one id"
        );
        for bad in [
            "a1b2c3d4e5",
            r#"["a-api"]"#,
            r#"{"a-api":7}"#,
            r#"{"a-api":"a1b2c3d4e5""#,
        ] {
            let e = parse_http_api_ids(bad).unwrap_err();
            assert!(
                matches!(e, HttpApiIdsError::Shape(_))
                    && e.to_string()
                        .starts_with("expected {\"<api name>\": \"<api id>\"}: "),
                "{bad}: {e}"
            );
        }
    }

    /// The alarms read a model's id and aliases in one metric-math alarm (≤ 10 metrics): a tenth alias is
    /// refused at the key, not by CloudWatch at publish time.
    #[test]
    fn more_aliases_than_one_alarm_can_read_are_refused() {
        let aliases = |n: usize| {
            let list: Vec<String> = (0..n).map(|i| format!("\"{PROFILE}{i}\"")).collect();
            format!("[{}]", list.join(", "))
        };
        let spec = parse(&models(&aliases(MAX_MODEL_ALIASES), "[]"), "x.toml").unwrap();
        assert_eq!(spec.bedrock_models[0].model_ids().count(), 10);
        let src = models(&aliases(MAX_MODEL_ALIASES + 1), "[]");
        let p = problems(&src);
        assert_eq!(p.len(), 1, "{p:?}");
        assert_eq!(p[0].path, "bedrock_models[0].aliases");
        assert!(
            p[0].message.starts_with("10 aliases, at most 9: ") && p[0].message.contains("10 metrics"),
            "{p:?}"
        );
        assert_eq!(p[0].line, Some(line_with(&src, "aliases = [")));
    }

    #[test]
    fn bad_email_and_log_group_name_key_and_line() {
        let src = with(
            "[[http_apis]]\nname = \"api\"\nid = \"a1b2c3d4e5\"\naccess_log_group = \"/aws/apigateway/has space\"\n",
        )
        .replace(
            "sns_warning_topic_arn = \"arn:aws:sns:us-east-1:123456789012:warn\"",
            "sns_warning_topic_arn = \"arn:aws:sns:us-east-1:123456789012:warn\"\nemail = [\"ops@example.com\", \"ops-at-example\"]",
        );
        let p = problems(&src);
        let paths: Vec<_> = p.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(
            paths,
            ["notifications.email[1]", "http_apis[0].access_log_group"],
            "{p:?}"
        );
        assert!(p[0].message.contains("found \"ops-at-example\""), "{p:?}");
        assert_eq!(p[0].line, Some(line_with(&src, "email = ")));
        assert_eq!(p[1].line, Some(line_with(&src, "access_log_group")));
        assert!(p[1].message.contains("CloudWatch Logs group name"), "{p:?}");
    }

    #[test]
    fn settings_parse_as_aws_spells_them() {
        let src = with(
            "[[state_machines]]\nname = \"sm\"\narn = \"arn:aws:states:us-east-1:123456789012:stateMachine:sm\"\nworkflow_type = \"EXPRESS\"\n",
        )
        .replace("log_retention_days = 30", "log_retention_days = 30\nlog_level = \"DEBUG\"\nxray_sampling_percent = 5")
        .replace("tier = \"critical\"", "tier = \"critical\"\narchitecture = \"arm64\"");
        let spec = parse(&src, "x.toml").unwrap();
        assert_eq!(spec.state_machines[0].workflow_type, crate::WorkflowType::Express);
        assert_eq!(spec.platform.log_level, Some(crate::LogLevel::Debug));
        assert_eq!(spec.functions[0].architecture, crate::Architecture::Arm64);
        assert_eq!(spec.functions[1].architecture, crate::Architecture::X86_64);
        assert_eq!(
            spec.platform.xray_sampling().map(crate::XraySampling::percent),
            Some(5)
        );
        let dup = src.replace(
            "log_level = \"DEBUG\"",
            "log_level = \"DEBUG\"\ncompliance_frameworks = [\"SOC2\", \"SOC2\"]",
        );
        let p = problems(&dup);
        assert_eq!(p[0].path, "platform.compliance_frameworks[1]", "{p:?}");
        assert_eq!(p[0].line, Some(line_with(&dup, "compliance_frameworks")));
        let p = problems(&src.replace("\"EXPRESS\"", "\"express\""));
        assert_eq!(p[0].path, "state_machines[0].workflow_type", "{p:?}");
        assert!(p[0].message.contains("STANDARD"), "{p:?}");
    }

    #[test]
    fn budget_amounts_accept_integers_and_floats() {
        for (lit, want) in [
            ("500", "500"),
            ("500.5", "500.5"),
            ("123.45", "123.45"),
            ("0.01", "0.01"),
        ] {
            let spec = parse(&budget_limit(lit), "x.toml").unwrap();
            assert_eq!(spec.budgets[0].limit_usd.to_string(), want);
        }
    }

    fn budget_limit(lit: &str) -> String {
        with(&format!(
            "[[budgets]]\nname = \"b\"\nlimit_usd = {lit}\nactual_thresholds_percent = [80, 100]\n"
        ))
    }

    /// Money fields say what they expect in the spec's words: `true` named an internal type
    /// (`untagged enum UsdRepr`), `1e29` an overflow and `1e308` all 309 of its digits, `-500` asked for
    /// `>= 0` when 0 is refused too, `1e-28` loaded and was exported to Terraform as
    /// `1.0000000000000001e-28`, and a string loaded where every other number field refuses one.
    #[test]
    fn budget_limits_are_refused_in_the_specs_words() {
        let range = "expected an amount in USD > 0 and at most 1000000000000 (10^12; no account's bill is larger), found";
        for (lit, message) in [
            ("true", "invalid type: boolean `true`, expected an amount in USD (a number)".to_owned()),
            ("1e29", format!("{range} 1e29")),
            ("1e308", format!("{range} 1e308")),
            ("9223372036854775808", format!("{range} 9223372036854775808")),
            ("1000000000000.01", format!("{range} 1000000000000.01")),
            ("-500", format!("{range} -500")),
            ("0", format!("{range} 0")),
            ("0.0", format!("{range} 0")),
            ("nan", format!("{range} NaN")),
            ("inf", format!("{range} inf")),
            ("1e-28", "expected an amount in USD with at most 2 decimal places (whole cents), found 1e-28".to_owned()),
            ("1e-40", "expected an amount in USD with at most 2 decimal places (whole cents), found 1e-40".to_owned()),
            ("0.005", "expected an amount in USD with at most 2 decimal places (whole cents), found 0.005".to_owned()),
            (
                "\"500\"",
                "expected an amount in USD (a number), found the string \"500\": write the number without quotes"
                    .to_owned(),
            ),
        ] {
            let src = budget_limit(lit);
            let p = problems(&src);
            assert_eq!(p.len(), 1, "{lit}: {p:?}");
            assert_eq!(p[0].path, "budgets[0].limit_usd", "{lit}");
            assert_eq!(p[0].line, Some(line_with(&src, "limit_usd")), "{lit}");
            assert_eq!(p[0].message, message, "{lit}");
        }
        // The other amounts take 0 and sub-cent values, to a millionth.
        let floor = |lit: &str| format!("{}\n[cost]\nanomaly_min_daily_usd = {lit}\n", with(""));
        for ok in ["0", "0.5", "0.000001"] {
            assert!(parse(&floor(ok), "x.toml").is_ok(), "{ok}");
        }
        for (lit, message) in [
            ("-1", "expected an amount in USD >= 0 and at most"),
            (
                "0.0000001",
                "expected an amount in USD with at most 6 decimal places, found 1e-7",
            ),
            ("\"5\"", "found the string \"5\""),
        ] {
            let p = problems(&floor(lit));
            assert_eq!(p[0].path, "cost.anomaly_min_daily_usd", "{lit}");
            assert!(
                p[0].message.starts_with(message) || p[0].message.contains(message),
                "{lit}: {p:?}"
            );
        }
    }

    /// Whole numbers above `i64::MAX` (TOML's largest integer) lost their line, and
    /// `valuations_per_month = 18446744073709551615` loaded: each count is bounded as it is read.
    #[test]
    fn counts_above_their_bound_are_refused_with_key_and_line() {
        let model = |valuations: &str, tokens: &str| {
            format!(
                "{}\n[cost.design_model]\nvaluations_per_month = {valuations}\ncomponents_usd = {{ bedrock = 75 }}\n\
                 tokens_per_valuation = {tokens}\n",
                with("")
            )
        };
        for (src, path, marker, message) in [
            (
                model("18446744073709551615", "{ input = 1000, output = 200 }"),
                "cost.design_model.valuations_per_month",
                "valuations_per_month",
                "expected at most 10000000000 valuations a month, found 18446744073709551615",
            ),
            (
                model("10000000001", "{ input = 1000, output = 200 }"),
                "cost.design_model.valuations_per_month",
                "valuations_per_month",
                "expected at most 10000000000 valuations a month, found 10000000001",
            ),
            (
                model("50000", "{ input = 9223372036854775808, output = 200 }"),
                "cost.design_model.tokens_per_valuation.input",
                "tokens_per_valuation",
                "expected at most 10000000 tokens per valuation, found 9223372036854775808",
            ),
        ] {
            let p = problems(&src);
            assert_eq!(p.len(), 1, "{p:?}");
            assert_eq!(p[0].path, path);
            assert_eq!(p[0].line, Some(line_with(&src, marker)), "{p:?}");
            assert_eq!(p[0].message, message);
        }
        assert!(
            parse(
                &model("10000000000", "{ input = 10000000, output = 10000000 }"),
                "x.toml"
            )
            .is_ok()
        );
    }

    #[test]
    fn a_budget_threshold_listed_twice_is_refused_with_its_place() {
        let src = MINIMAL.replace("memory_mb = 64", "memory_mb = 128").replace(
            "[notifications]",
            "[[budgets]]\nname = \"b\"\nlimit_usd = 5\nactual_thresholds_percent = [80, 100]\n\
             forecast_thresholds_percent = [100, 120, 100]\n\n[notifications]",
        );
        let p = problems(&src);
        assert_eq!(p.len(), 1, "{p:?}");
        assert_eq!(p[0].path, "budgets[0].forecast_thresholds_percent[2]");
        assert!(p[0].message.contains("100 is listed twice"), "{p:?}");
        assert_eq!(p[0].line, Some(line_with(&src, "forecast_thresholds_percent")));
        // The same percentage as an actual and a forecast threshold is two notifications: fine.
        assert!(parse(&src.replace("[100, 120, 100]", "[80, 100]"), "x.toml").is_ok());
    }

    /// Step Functions runs an Express execution at most 5 minutes (300 s) and a Standard one at most a
    /// year (Step Functions quotas): `expected_duration_s` is where the duration warning starts, so 0
    /// (every execution) and the longest an execution may run or more (never) are refused at the key.
    #[test]
    fn expected_duration_must_fit_the_workflow_type() {
        let machine = |kind: &str, duration: &str| {
            with(&format!(
                "[[state_machines]]\nname = \"sm\"\narn = \"arn:aws:states:us-east-1:123456789012:stateMachine:sm\"\n\
                 workflow_type = \"{kind}\"\nexpected_duration_s = {duration}\n"
            ))
        };
        for ok in ["1", "30", "299"] {
            assert!(parse(&machine("EXPRESS", ok), "x.toml").is_ok(), "EXPRESS {ok}");
        }
        for refused in ["0", "300", "3600"] {
            let src = machine("EXPRESS", refused);
            let p = problems(&src);
            assert_eq!(p.len(), 1, "{p:?}");
            assert_eq!(p[0].path, "state_machines[0].expected_duration_s");
            assert_eq!(p[0].line, Some(line_with(&src, "expected_duration_s")));
            assert!(
                p[0].message
                    .starts_with("expected 1..=299 seconds for an EXPRESS state machine")
                    && p[0].message.ends_with(&format!("found {refused}")),
                "{p:?}"
            );
        }
        // STANDARD: executions may run a year.
        for ok in ["1", "300", "3600", "31535999"] {
            assert!(parse(&machine("STANDARD", ok), "x.toml").is_ok(), "STANDARD {ok}");
        }
        for refused in ["0", "31536000"] {
            let p = problems(&machine("STANDARD", refused));
            assert_eq!(p[0].path, "state_machines[0].expected_duration_s", "{p:?}");
            assert!(p[0].message.contains("a STANDARD state machine"), "{p:?}");
        }
        // The default (30 s) fits both types.
        let default = with(
            "[[state_machines]]\nname = \"sm\"\narn = \"arn:aws:states:us-east-1:123456789012:stateMachine:sm\"\n\
             workflow_type = \"EXPRESS\"\n",
        );
        assert_eq!(
            parse(&default, "x.toml").unwrap().state_machines[0].expected_duration_s,
            30
        );
    }

    /// `runtime` is one of Lambda's runtime identifiers (`CreateFunction` `Runtime`, Lambda developer
    /// guide "Lambda runtimes"); free text is refused at the key with the identifiers listed.
    #[test]
    fn a_function_runtime_is_a_lambda_runtime_identifier() {
        let runtime = |r: &str| {
            MINIMAL.replace("memory_mb = 64", "memory_mb = 128").replace(
                "tier = \"standard\"",
                &format!("tier = \"standard\"\nruntime = \"{r}\""),
            )
        };
        for ok in [
            "provided.al2023",
            "provided.al2",
            "nodejs18.x",
            "nodejs20.x",
            "nodejs22.x",
            "python3.9",
            "python3.10",
            "python3.11",
            "python3.12",
            "python3.13",
            "java11",
            "java17",
            "java21",
            "dotnet8",
            "ruby3.2",
            "ruby3.3",
            "ruby3.4",
        ] {
            assert_eq!(parse(&runtime(ok), "x.toml").unwrap().functions[1].runtime, ok);
        }
        for refused in [
            "rust",
            "python",
            "Provided.al2023",
            "python3.11 ",
            "nodejs20",
            // Retired: Lambda no longer creates or updates functions on it.
            "go1.x",
            "",
        ] {
            let src = runtime(refused);
            let p = problems(&src);
            assert_eq!(p.len(), 1, "{refused:?}: {p:?}");
            assert_eq!(p[0].path, "functions[1].runtime");
            assert_eq!(p[0].line, Some(line_with(&src, "runtime = ")));
            assert!(
                p[0].message
                    .starts_with("expected a Lambda runtime identifier (provided.al2023, ")
                    && p[0].message.ends_with(&format!("found {refused:?}")),
                "{p:?}"
            );
        }
    }
}

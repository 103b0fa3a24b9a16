//! The organisation spec: which AWS accounts governance reaches, how (the IAM role it assumes in each),
//! and which platform specs live in which account — one TOML file beside the platform specs
//! (`infra/platforms/org/*.toml`), loaded with every platform spec it names.
//!
//! ```toml
//! [organization]
//! name = "collectiq-group"
//! management_account_id = "111122223333"   # the payer: Cost Explorer is read here, and only here
//! region = "us-east-1"
//! ledger_table = "collectiq-org-governance-ledger"
//! slack_webhook_secret = "collectiq-group/slack-webhook"
//!
//! [[accounts]]
//! id = "123456789012"
//! name = "collectiq-prod"
//! role_arn = "arn:aws:iam::123456789012:role/collectiq-governance-member"
//! platforms = ["../collectiq-prod.toml"]
//! ```
//!
//! Or, instead of (or besides) `[[accounts]]`, the members AWS Organizations lists, each naming its
//! platform specs in a tag ([`discovery`]: `[discovery]` with `platforms_tag` and `role_name`).
//!
//! Platform paths are relative to the organisation file. Errors name the file, line and key like the
//! platform spec's (`org.toml:14: accounts[1].role_arn: the role is in account 2109…, not 1234…`); every
//! problem is listed, and a platform spec that does not load is reported at the line that names it.
//!
//! AWS Organizations' own model: the management account pays for every member ("consolidated
//! billing"), so Cost Explorer there sees every member's spend by `LINKED_ACCOUNT`; members are reached
//! through a role they trust the management (or a delegated governance) account to assume
//! (<https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_accounts_access.html>).

pub mod discovery;

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::PlatformSpec;
use crate::load::{Problem, is_account_id, is_name, is_region, line_of, locate, webhook_secret_problem};
use discovery::{DiscoverySpec, Membership, validate_discovery};

/// Most Cost Explorer requests a day the organisation pass may make: CE's data refreshes up to three
/// times a day, so a fourth request buys nothing (and each costs $0.01).
pub const MAX_CE_REQUESTS_PER_DAY: u32 = 3;

/// The organisation file as written.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct OrgSpec {
    /// `[organization]`.
    pub organization: OrgInfo,
    /// `[[accounts]]`: the member accounts and their platform specs. After discovery, the discovered
    /// accounts follow the file's.
    #[serde(default)]
    pub accounts: Vec<AccountSpec>,
    /// `[discovery]`: members from `organizations:ListAccounts` and a tag on each account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discovery: Option<DiscoverySpec>,
}

/// `[organization]`: the management account and organisation-wide settings.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct OrgInfo {
    /// Lowercase name (`collectiq-group`): the roll-up report's title and its ledger keys' prefix.
    pub name: String,
    /// The management (payer) account: Cost Explorer is queried here only, once for every member.
    pub management_account_id: String,
    /// Region of the management account's ledger, secret and Cost Explorer calls.
    pub region: String,
    /// The organisation's ledger (DynamoDB, in the management account): every key carries the account id.
    pub ledger_table: String,
    /// Secrets Manager secret (in the management account) holding the roll-up channel's Slack webhook.
    pub slack_webhook_secret: String,
    /// Cost Explorer requests a day for the whole organisation (`1..=3`).
    #[serde(default = "default_ce_cap")]
    pub ce_daily_request_cap: u32,
    /// Accounts governed at once (`1..=40`, a Step Functions inline Map's most).
    #[serde(default = "default_concurrency")]
    pub max_concurrency: u32,
    /// Longest one item may take before it is recorded as timed out, in seconds (`10..=900`, Lambda's
    /// own ceiling).
    #[serde(default = "default_item_timeout")]
    pub item_timeout_s: u32,
}

const fn default_ce_cap() -> u32 {
    MAX_CE_REQUESTS_PER_DAY
}
const fn default_concurrency() -> u32 {
    8
}
const fn default_item_timeout() -> u32 {
    600
}

/// `[[accounts]]`: one member account.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AccountSpec {
    /// The 12-digit account id.
    pub id: String,
    /// A readable name (`collectiq-prod`) for reports.
    pub name: String,
    /// The role governance assumes in this account (`arn:aws:iam::<id>:role/<name>`).
    pub role_arn: String,
    /// `sts:ExternalId` the role's trust policy requires, when it requires one.
    #[serde(default)]
    pub external_id: Option<String>,
    /// Platform spec files in this account, relative to the organisation file.
    pub platforms: Vec<PathBuf>,
}

/// One account × platform environment: what the organisation pass governs as one isolated item.
#[derive(Debug, Clone, PartialEq)]
pub struct OrgItem {
    /// The member account id.
    pub account_id: String,
    /// The account's readable name.
    pub account_name: String,
    /// The role to assume.
    pub role_arn: String,
    /// The external id, if the trust policy wants one.
    pub external_id: Option<String>,
    /// Where the platform spec was read from.
    pub spec_path: PathBuf,
    /// The platform spec.
    pub spec: PlatformSpec,
}

impl OrgItem {
    /// `<account>/<platform>-<env>`: unique in an organisation even when two accounts run platforms of
    /// the same name.
    #[must_use]
    pub fn id(&self) -> String {
        format!("{}/{}", self.account_id, self.spec.managed_prefix())
    }
}

/// A loaded, validated organisation: the file and every account × platform item, in file order.
#[derive(Debug, Clone, PartialEq)]
pub struct Organization {
    /// The file as written, with the discovered accounts after its own once discovery ran.
    pub spec: OrgSpec,
    /// Every item, in the order the file lists them (discovered accounts' last).
    pub items: Vec<OrgItem>,
    /// The organisation file's directory: platform paths and tag values resolve against it.
    pub dir: PathBuf,
    /// What discovery found and left out, once it ran ([`Organization::with_discovered`]).
    pub membership: Option<Membership>,
}

impl Organization {
    /// The items of each account, by account id.
    #[must_use]
    pub fn by_account(&self) -> BTreeMap<&str, Vec<&OrgItem>> {
        let mut out: BTreeMap<&str, Vec<&OrgItem>> = BTreeMap::new();
        for item in &self.items {
            out.entry(item.account_id.as_str()).or_default().push(item);
        }
        out
    }
}

/// Why an organisation spec could not be loaded.
#[derive(Debug, Error)]
pub enum OrgSpecError {
    /// The file could not be read.
    #[error("{file}: cannot read organisation spec: {source}")]
    Read {
        /// The file.
        file: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not a valid organisation spec; every problem found is listed.
    #[error("{}", render(file, problems))]
    Invalid {
        /// The file.
        file: String,
        /// Everything wrong with it, in document order.
        problems: Vec<Problem>,
    },
}

fn render(file: &str, problems: &[Problem]) -> String {
    problems
        .iter()
        .map(|p| {
            let mut s = file.to_owned();
            if let Some(line) = p.line {
                s.push_str(&format!(":{line}"));
            }
            if !p.path.is_empty() {
                s.push_str(&format!(": {}", p.path));
            }
            s.push_str(&format!(": {}", p.message));
            s
        })
        .collect::<Vec<_>>()
        .join("\n")
}

impl fmt::Display for OrgItem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.id(), self.account_name)
    }
}

/// Reads the organisation spec at `path` and every platform spec it names.
///
/// ```
/// let org = platform_spec::load_org(std::path::Path::new(concat!(
///     env!("CARGO_MANIFEST_DIR"), "/../../infra/platforms/org/collectiq-group.toml"
/// ))).unwrap();
/// assert_eq!(org.items.len(), 4);
/// assert_eq!(org.items[0].id(), "123456789012/collectiq-prod");
/// ```
///
/// # Errors
/// [`OrgSpecError::Read`] when the file cannot be read, [`OrgSpecError::Invalid`] listing every problem
/// with its line and key.
pub fn load_org(path: &Path) -> Result<Organization, OrgSpecError> {
    let file = path.display().to_string();
    let source = crate::load::read_bounded(path).map_err(|source| OrgSpecError::Read {
        file: file.clone(),
        source,
    })?;
    let base = path.parent().unwrap_or_else(|| Path::new("."));
    parse_org(&source, &file, base)
}

/// Parses organisation spec text; platform paths are resolved against `base`, `file` is for messages.
///
/// # Errors
/// [`OrgSpecError::Invalid`] listing every problem with its line and key path.
pub fn parse_org(source: &str, file: &str, base: &Path) -> Result<Organization, OrgSpecError> {
    let invalid = |problems| OrgSpecError::Invalid {
        file: file.to_owned(),
        problems,
    };
    let deserializer = toml::de::Deserializer::parse(source).map_err(|e| {
        invalid(vec![Problem {
            line: e.span().map(|s| line_of(source, s.start)),
            path: String::new(),
            message: crate::text::bounded_message(&crate::load::syntax_message(source, &e)),
        }])
    })?;
    let spec: OrgSpec = serde_path_to_error::deserialize(deserializer).map_err(|e| {
        let path = e.path().to_string();
        let path = if path == "." { String::new() } else { path };
        let inner = e.into_inner();
        let line = inner
            .span()
            .map(|s| line_of(source, s.start))
            .or_else(|| locate(source, &path));
        invalid(vec![Problem {
            line,
            path: crate::text::bounded_path(&path),
            message: crate::text::bounded_message(inner.message()),
        }])
    })?;
    let (items, problems) = validate(&spec, base);
    if problems.is_empty() {
        Ok(Organization {
            spec,
            items,
            dir: base.to_path_buf(),
            membership: None,
        })
    } else {
        let locator = crate::load::Locator::new(source);
        Err(invalid(
            problems
                .into_iter()
                .map(|(path, message)| Problem {
                    line: locator.line(&path),
                    path: crate::text::bounded_path(&path),
                    message: crate::text::escape_deceptive(&message),
                })
                .collect(),
        ))
    }
}

/// DynamoDB's table name rule: 3..=255 of `[a-zA-Z0-9_.-]`.
fn is_table_name(s: &str) -> bool {
    (3..=255).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

/// The account of an IAM role ARN (`arn:<partition>:iam::<account>:role/<path/name>`), or why it is not one.
pub(crate) fn role_account(arn: &str) -> Result<&str, String> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let [arn_word, partition, service, region, account, resource] = parts.as_slice() else {
        return Err(format!(
            "expected arn:aws:iam::<account>:role/<name>, found {}",
            crate::text::quoted(arn)
        ));
    };
    if *arn_word != "arn" || !partition.starts_with("aws") || *service != "iam" || !region.is_empty() {
        return Err(format!(
            "expected an IAM role ARN arn:aws:iam::<account>:role/<name>, found {}",
            crate::text::quoted(arn)
        ));
    }
    let Some(name) = resource.strip_prefix("role/") else {
        return Err(format!(
            "expected a role (…:role/<name>), found {}",
            crate::text::quoted(resource)
        ));
    };
    // IAM role names: 1..=64 of [\w+=,.@-], optionally under a path.
    let last = name.rsplit('/').next().unwrap_or_default();
    if last.is_empty()
        || last.len() > 64
        || !last
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b))
    {
        return Err(format!("role name \"{last}\" is not a valid IAM role name"));
    }
    if !is_account_id(account) {
        return Err(format!("the ARN's account \"{account}\" is not 12 digits"));
    }
    Ok(account)
}

/// Where an organisation's platform specs may be: relative `.toml` paths inside the organisation
/// file's directory or the one above it (`infra/platforms/org/` names `../collectiq-prod.toml`), so a
/// spec cannot make the pass read, and quote in its errors, any other file on the machine. Symbolic
/// links are followed for files that exist; `..` is resolved by name for files that do not.
fn within_spec_root(rel: &Path, base: &Path) -> Result<(), String> {
    if rel.is_absolute() || rel.extension().is_none_or(|e| e != "toml") {
        return Err(format!(
            "expected a relative path to a .toml platform spec, found {}",
            crate::text::quoted(&rel.display().to_string()),
        ));
    }
    let base = base.canonicalize().unwrap_or_else(|_| base.to_path_buf());
    let root = base.parent().unwrap_or(&base);
    let target = base.join(rel).canonicalize().unwrap_or_else(|_| {
        let mut t = PathBuf::new();
        for c in base.join(rel).components() {
            match c {
                std::path::Component::ParentDir => {
                    t.pop();
                }
                std::path::Component::CurDir => {}
                other => t.push(other),
            }
        }
        t
    });
    if !target.starts_with(root) {
        return Err(format!(
            "\"{}\" is outside {}: platform specs live beside the organisation spec or one directory up",
            rel.display(),
            root.display()
        ));
    }
    Ok(())
}

/// Semantic checks; loads every platform spec. Returns the items and `(key path, message)` problems.
fn validate(spec: &OrgSpec, base: &Path) -> (Vec<OrgItem>, Vec<(String, String)>) {
    let mut out = Vec::new();
    let mut bad = |path: String, message: String| out.push((path, message));
    let o = &spec.organization;
    if !is_name(&o.name) {
        bad(
            "organization.name".into(),
            format!(
                "expected lowercase letters, digits and '-', found {}",
                crate::text::quoted(&o.name)
            ),
        );
    }
    if !is_account_id(&o.management_account_id) {
        bad(
            "organization.management_account_id".into(),
            format!(
                "expected 12 digits, found {}",
                crate::text::quoted(&o.management_account_id)
            ),
        );
    }
    if !is_region(&o.region) {
        bad(
            "organization.region".into(),
            format!(
                "expected an AWS region like us-east-1, found {}",
                crate::text::quoted(&o.region)
            ),
        );
    }
    if !is_table_name(&o.ledger_table) {
        bad(
            "organization.ledger_table".into(),
            format!(
                "expected a DynamoDB table name (3..=255 of a-z A-Z 0-9 _ - .), found {}",
                crate::text::quoted(&o.ledger_table),
            ),
        );
    }
    if let Some(problem) = webhook_secret_problem(&o.slack_webhook_secret) {
        bad("organization.slack_webhook_secret".into(), problem);
    }
    if !(1..=MAX_CE_REQUESTS_PER_DAY).contains(&o.ce_daily_request_cap) {
        bad(
            "organization.ce_daily_request_cap".into(),
            format!(
                "expected 1..={MAX_CE_REQUESTS_PER_DAY} (Cost Explorer refreshes at most three times a day), found {}",
                o.ce_daily_request_cap
            ),
        );
    }
    // The state machine's inline Map runs at most 40 iterations at once (Step Functions' limit, and
    // infra/modules/org's `max_concurrency` validation): a spec above it would run locally as it could
    // never run deployed.
    if !(1..=40).contains(&o.max_concurrency) {
        bad(
            "organization.max_concurrency".into(),
            format!(
                "expected 1..=40 (a Step Functions inline Map runs at most 40 at once), found {}",
                o.max_concurrency
            ),
        );
    }
    if !(10..=900).contains(&o.item_timeout_s) {
        bad(
            "organization.item_timeout_s".into(),
            format!("expected 10..=900 seconds, found {}", o.item_timeout_s),
        );
    }
    if let Some(d) = &spec.discovery {
        validate_discovery(d, &mut bad);
    } else if spec.accounts.is_empty() {
        bad(
            "accounts".into(),
            "expected at least one [[accounts]] entry, or a [discovery] table".into(),
        );
    }

    let mut items = Vec::new();
    let mut seen = Seen::default();
    for (a, account) in spec.accounts.iter().enumerate() {
        items.extend(validate_account(account, Some(a), base, &mut seen, &mut bad));
    }
    (items, out)
}

/// What the accounts checked so far hold: ids, names and platform spec files are each in one account.
#[derive(Debug, Default)]
pub(crate) struct Seen {
    pub(crate) ids: HashSet<String>,
    pub(crate) names: HashSet<String>,
    pub(crate) files: HashSet<PathBuf>,
}

/// Checks one account — `[[accounts]][index]` of the file, or (no index) one found by discovery —
/// loads its platform specs and returns its items; problems go to `bad` as `(key, message)`, keyed
/// `accounts[i].platforms[p]` for the file and `platforms entry <p+1>` for a discovered account.
pub(crate) fn validate_account(
    account: &AccountSpec,
    index: Option<usize>,
    base: &Path,
    seen: &mut Seen,
    bad: &mut impl FnMut(String, String),
) -> Vec<OrgItem> {
    let at = |k: &str| index.map_or_else(|| k.to_owned(), |a| format!("accounts[{a}].{k}"));
    let entry = |p: usize| {
        index.map_or_else(
            || format!("platforms entry {}", p + 1),
            |a| format!("accounts[{a}].platforms[{p}]"),
        )
    };
    let id_ok = is_account_id(&account.id);
    if !id_ok {
        bad(at("id"), format!("expected 12 digits, found {:?}", account.id));
    } else if !seen.ids.insert(account.id.clone()) {
        bad(at("id"), format!("duplicate account \"{}\"", account.id));
    }
    if !is_name(&account.name) {
        bad(
            at("name"),
            format!(
                "expected lowercase letters, digits and '-', found {}",
                crate::text::quoted(&account.name),
            ),
        );
    } else if !seen.names.insert(account.name.clone()) {
        bad(at("name"), format!("duplicate account name \"{}\"", account.name));
    }
    match role_account(&account.role_arn) {
        Err(why) => bad(at("role_arn"), why),
        Ok(in_account) if id_ok && in_account != account.id => bad(
            at("role_arn"),
            format!(
                "the role is in account {in_account}, not {}: governance assumes a role in the account it governs",
                account.id
            ),
        ),
        Ok(_) => {}
    }
    if let Some(problem) = account.external_id.as_deref().and_then(external_id_problem) {
        bad(at("external_id"), problem);
    }
    if account.platforms.is_empty() {
        bad(at("platforms"), "expected at least one platform spec file".into());
    }
    let mut items = Vec::new();
    let mut prefixes = HashSet::new();
    // Entries whose spec does not say it shares its account: a problem once the account runs several.
    let mut unshared: Vec<(usize, String)> = Vec::new();
    for (p, rel) in account.platforms.iter().enumerate() {
        let key = entry(p);
        if let Err(why) = within_spec_root(rel, base) {
            bad(key, why);
            continue;
        }
        let path = base.join(rel);
        let canonical = path.canonicalize().unwrap_or_else(|_| path.clone());
        if !path.is_file() {
            bad(key, format!("platform spec {} does not exist", path.display()));
            continue;
        }
        if !seen.files.insert(canonical) {
            bad(
                key,
                format!(
                    "{} is listed twice (a platform environment lives in one account)",
                    rel.display()
                ),
            );
            continue;
        }
        // A spec written for one account need not name it: the account it is listed under is where its
        // budgets are read (Budgets takes the account id in every call) and its ARNs are checked, as it
        // loads (its topics in another account would take this account's alarms' notifications there,
        // or nowhere).
        let platform = match crate::load::load_in_account(&path, id_ok.then_some(account.id.as_str())) {
            Ok(s) => s,
            Err(e) => {
                bad(
                    key,
                    format!(
                        "platform spec does not load:\n  {}",
                        e.to_string().replace('\n', "\n  ")
                    ),
                );
                continue;
            }
        };
        if let Some(declared) = &platform.platform.account_id
            && id_ok
            && *declared != account.id
        {
            bad(
                key,
                format!(
                    "{} declares platform.account_id = \"{declared}\", but is listed under account {}",
                    rel.display(),
                    account.id
                ),
            );
            continue;
        }
        if !prefixes.insert(platform.managed_prefix()) {
            bad(
                key,
                format!(
                    "a second {} in account {}: names would collide",
                    platform.managed_prefix(),
                    account.id
                ),
            );
            continue;
        }
        if !platform.platform.shared_account {
            unshared.push((p, rel.display().to_string()));
        }
        items.push(OrgItem {
            account_id: account.id.clone(),
            account_name: account.name.clone(),
            role_arn: account.role_arn.clone(),
            external_id: account.external_id.clone(),
            spec_path: path,
            spec: platform,
        });
    }
    if items.len() > 1 {
        for (p, rel) in unshared {
            bad(
                entry(p),
                format!(
                    "{rel} shares account {} with {} other platform(s) but does not set \
                     [platform].shared_account = true: its own publisher would draw the account's whole \
                     EstimatedCharges as its spend, and rewrite the dashboards this organisation pass draws",
                    account.id,
                    items.len() - 1
                ),
            );
        }
    }
    items
}

/// What is wrong with an `sts:AssumeRole` `ExternalId`: 2..=1224 characters of letters, digits and
/// `_ + = , . @ : / -` (STS's pattern `[\w+=,.@:\/-]*`); STS refuses anything else at every run.
pub(crate) fn external_id_problem(ext: &str) -> Option<String> {
    if !(2..=1224).contains(&ext.len()) {
        return Some(format!(
            "expected 2..=1224 characters (sts:ExternalId), found {}",
            ext.len()
        ));
    }
    let allowed = |c: char| c.is_ascii_alphanumeric() || "_+=,.@:/-".contains(c);
    ext.chars().find(|c| !allowed(*c)).map(|c| {
        format!(
            "{c:?} is not allowed in sts:ExternalId (letters, digits and _ + = , . @ : / - only; no spaces)"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn platforms() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../infra/platforms")
    }

    const HEAD: &str = r#"[organization]
name = "acme"
management_account_id = "111122223333"
region = "us-east-1"
ledger_table = "acme-org-ledger"
slack_webhook_secret = "acme/slack"
"#;

    fn parse(body: &str) -> Result<Organization, OrgSpecError> {
        parse_org(&format!("{HEAD}{body}"), "org.toml", &platforms())
    }

    fn problems(body: &str) -> String {
        parse(body).unwrap_err().to_string()
    }

    /// The roll-up's webhook is read from Secrets Manager by this name: a URL here would be quoted by
    /// the failed read into the run's output, its JSON and the Lambda's result.
    #[test]
    fn the_roll_up_webhook_must_be_a_secret_name_not_its_url() {
        let accounts = r#"
[[accounts]]
id = "210987654321"
name = "dev"
role_arn = "arn:aws:iam::210987654321:role/governance/member"
platforms = ["collectiq-dev.toml"]
"#;
        for url in [
            "https://hooks.slack.com/services/T0/B0/xyzSECRET",
            " HTTPS://hooks.slack.com/services/T0/B0/xyzSECRET",
        ] {
            let head = HEAD.replace("\"acme/slack\"", &format!("{url:?}"));
            let err = parse_org(&format!("{head}{accounts}"), "org.toml", &platforms())
                .unwrap_err()
                .to_string();
            assert!(err.contains("organization.slack_webhook_secret"), "{err}");
            assert!(!err.contains("xyzSECRET"), "{err}");
        }
        parse(accounts).unwrap();
    }

    /// Two platforms in one account must both say so: otherwise the platform's own publisher draws
    /// the account's spend as its own, and it and the organisation pass rewrite each other's dashboards.
    #[test]
    fn platforms_sharing_an_account_must_say_so() {
        let dir = std::env::temp_dir().join(format!("org-shared-account-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let dev = std::fs::read_to_string(platforms().join("collectiq-dev.toml")).unwrap();
        assert!(dev.contains("shared_account = true\n"));
        std::fs::write(dir.join("alone.toml"), dev.replace("shared_account = true\n", "")).unwrap();
        std::fs::copy(
            platforms().join("backoffice-dev.toml"),
            dir.join("backoffice-dev.toml"),
        )
        .unwrap();
        let body = r#"
[[accounts]]
id = "210987654321"
name = "dev"
role_arn = "arn:aws:iam::210987654321:role/governance/member"
platforms = ["alone.toml", "backoffice-dev.toml"]
"#;
        let err = parse_org(&format!("{HEAD}{body}"), "org.toml", &dir)
            .unwrap_err()
            .to_string();
        assert!(err.contains("accounts[0].platforms[0]"), "{err}");
        assert!(err.contains("[platform].shared_account = true"), "{err}");
        assert!(
            !err.contains("accounts[0].platforms[1]"),
            "backoffice-dev says so: {err}"
        );
        // Alone in its account, a spec need not say it.
        let body = body.replace(", \"backoffice-dev.toml\"", "");
        parse_org(&format!("{HEAD}{body}"), "org.toml", &dir).unwrap();
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_valid_org_lists_items_in_file_order_with_their_accounts() {
        let org = parse(
            r#"
[[accounts]]
id = "210987654321"
name = "dev"
role_arn = "arn:aws:iam::210987654321:role/governance/member"
platforms = ["collectiq-dev.toml", "backoffice-dev.toml"]
"#,
        )
        .unwrap();
        let ids: Vec<String> = org.items.iter().map(OrgItem::id).collect();
        assert_eq!(ids, ["210987654321/collectiq-dev", "210987654321/backoffice-dev"]);
        assert_eq!(org.spec.organization.ce_daily_request_cap, 3);
        assert_eq!(org.spec.organization.max_concurrency, 8);
        assert_eq!(org.by_account()["210987654321"].len(), 2);
    }

    #[test]
    fn a_platform_spec_that_names_no_account_takes_the_account_it_is_listed_under() {
        // Budgets are read with the spec's account id: a spec written without one must not fail there.
        let dir = std::env::temp_dir().join(format!("org-account-fill-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let shipped = std::fs::read_to_string(platforms().join("backoffice-dev.toml")).unwrap();
        let anonymous: String = shipped
            .lines()
            .filter(|l| !l.starts_with("account_id"))
            .map(|l| format!("{l}\n"))
            .collect();
        assert_ne!(anonymous, shipped);
        std::fs::write(dir.join("anonymous.toml"), anonymous).unwrap();
        let listed_under = |id: &str| {
            parse_org(
                &format!(
                    r#"{HEAD}
[[accounts]]
id = "{id}"
name = "shared"
role_arn = "arn:aws:iam::{id}:role/governance/member"
platforms = ["anonymous.toml"]
"#
                ),
                "org.toml",
                &dir,
            )
        };
        let org = listed_under("210987654321");
        // Its topics are in 210987654321: listed under another account, the spec's ARNs are checked
        // against that one and refused (its alarms would notify another account's topics).
        let elsewhere = listed_under("444455556666");
        std::fs::remove_dir_all(&dir).unwrap();
        let org = org.unwrap();
        assert_eq!(
            org.items[0].spec.platform.account_id.as_deref(),
            Some("210987654321")
        );
        let e = elsewhere.unwrap_err().to_string();
        assert!(
            e.contains("notifications.sns_critical_topic_arn")
                && e.contains("expected an ARN in account 444455556666"),
            "{e}"
        );
        // Named at its file and line, as any spec error.
        let at = e
            .find("anonymous.toml:")
            .map(|i| &e[i + "anonymous.toml:".len()..]);
        assert!(
            at.is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit())),
            "{e}"
        );
    }

    /// An account's name is quoted escaped and cut, and an unknown key too: a newline in one forged a
    /// `✗` line in the output, U+202E reordered it, a 900 KB one was echoed whole.
    #[test]
    fn names_and_keys_in_messages_are_escaped_and_bounded() {
        let long = "n".repeat(900_000);
        for (name, extra) in [
            ("dev\\n✗ other.toml:1: FORGED".to_owned(), String::new()),
            ("d\\u202eev".to_owned(), String::new()),
            (long.clone(), String::new()),
            ("dev".to_owned(), format!("\"k\\n✗ \\u202e{long}\" = 1\n")),
        ] {
            let text = problems(&format!(
                "[[accounts]]\nid = \"210987654321\"\nname = \"{name}\"\n{extra}role_arn = \"arn:aws:iam::210987654321:role/member\"\nplatforms = [\"collectiq-dev.toml\"]\n"
            ));
            assert_eq!(
                text.lines().count(),
                1,
                "{}",
                text.chars().take(400).collect::<String>()
            );
            assert!(
                !text.chars().any(vocabulary::text::is_deceptive) && text.len() < 2_000,
                "{} bytes: {}",
                text.len(),
                text.chars().take(400).collect::<String>()
            );
        }
    }

    #[test]
    fn account_ids_are_twelve_digits_and_the_role_is_in_that_account() {
        let text = problems(
            r#"
[[accounts]]
id = "21098765432"
name = "dev"
role_arn = "arn:aws:iam::210987654321:role/member"
platforms = ["collectiq-dev.toml"]

[[accounts]]
id = "345678901234"
name = "bb"
role_arn = "arn:aws:iam::123456789012:role/member"
platforms = ["budgetbuddy-prod.toml"]
"#,
        );
        assert!(
            text.contains("org.toml:9: accounts[0].id: expected 12 digits, found \"21098765432\""),
            "{text}"
        );
        assert!(
            text.contains(
                "org.toml:17: accounts[1].role_arn: the role is in account 123456789012, not 345678901234"
            ),
            "{text}"
        );
    }

    #[test]
    fn role_arns_must_be_iam_roles() {
        for (arn, want) in [
            ("arn:aws:iam::345678901234:user/bob", "expected a role"),
            ("arn:aws:sts::345678901234:role/x", "IAM role ARN"),
            ("345678901234", "expected arn:aws:iam"),
            ("arn:aws:iam::345678901234:role/", "not a valid IAM role name"),
        ] {
            let text = problems(&format!(
                "[[accounts]]\nid = \"345678901234\"\nname = \"bb\"\nrole_arn = \"{arn}\"\nplatforms = [\"budgetbuddy-prod.toml\"]\n"
            ));
            assert!(
                text.contains("accounts[0].role_arn: ") && text.contains(want),
                "{arn}: {text}"
            );
        }
    }

    /// Paths that would read files the organisation does not own are refused before anything is
    /// opened; the real layout (`../collectiq-prod.toml` from `infra/platforms/org/`) still loads.
    #[test]
    fn platform_paths_cannot_leave_the_spec_directories() {
        let text = problems(
            r#"
[[accounts]]
id = "210987654321"
name = "dev"
role_arn = "arn:aws:iam::210987654321:role/member"
platforms = ["/etc/passwd", "../../../../../../etc/hostname", "../../Cargo.toml", "collectiq-dev", "../../../../../../../../tmp/x.toml"]
"#,
        );
        assert!(
            text.contains("accounts[0].platforms[0]: expected a relative path to a .toml platform spec, found \"/etc/passwd\""),
            "{text}"
        );
        assert!(
            text.contains("accounts[0].platforms[1]: expected a relative path to a .toml"),
            "{text}"
        );
        assert!(
            text.contains("accounts[0].platforms[2]: \"../../Cargo.toml\" is outside "),
            "{text}"
        );
        assert!(
            text.contains("accounts[0].platforms[3]: expected a relative path to a .toml"),
            "{text}"
        );
        assert!(
            text.contains("accounts[0].platforms[4]: \"../../../../../../../../tmp/x.toml\" is outside "),
            "{text}"
        );
        let org = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../infra/platforms/org");
        assert_eq!(
            within_spec_root(Path::new("../collectiq-prod.toml"), &org),
            Ok(())
        );
    }

    #[test]
    fn missing_duplicate_and_misplaced_platforms_are_named() {
        let text = problems(
            r#"
[[accounts]]
id = "210987654321"
name = "dev"
role_arn = "arn:aws:iam::210987654321:role/member"
platforms = ["collectiq-dev.toml", "nope.toml", "collectiq-prod.toml"]

[[accounts]]
id = "210987654321"
name = "dev"
role_arn = "arn:aws:iam::210987654321:role/member"
platforms = ["collectiq-dev.toml"]
"#,
        );
        assert!(
            text.contains("accounts[0].platforms[1]: platform spec ")
                && text.contains("nope.toml does not exist"),
            "{text}"
        );
        assert!(
            text.contains("accounts[0].platforms[2]: collectiq-prod.toml declares platform.account_id = \"123456789012\", but is listed under account 210987654321"),
            "{text}"
        );
        assert!(
            text.contains("accounts[1].id: duplicate account \"210987654321\""),
            "{text}"
        );
        assert!(
            text.contains("accounts[1].name: duplicate account name \"dev\""),
            "{text}"
        );
        assert!(
            text.contains("accounts[1].platforms[0]: collectiq-dev.toml is listed twice"),
            "{text}"
        );
    }

    #[test]
    fn organisation_settings_are_bounded() {
        let source = HEAD
            .replace("111122223333", "1111")
            .replace("us-east-1", "east")
            .replace("acme-org-ledger", "x")
            + "ce_daily_request_cap = 4\nmax_concurrency = 0\n[[accounts]]\nid = \"345678901234\"\nname = \"bb\"\nrole_arn = \"arn:aws:iam::345678901234:role/m\"\nplatforms = [\"budgetbuddy-prod.toml\"]\n";
        let text = parse_org(&source, "org.toml", &platforms())
            .unwrap_err()
            .to_string();
        for want in [
            "org.toml:3: organization.management_account_id: expected 12 digits",
            "org.toml:4: organization.region: expected an AWS region",
            "org.toml:5: organization.ledger_table: expected a DynamoDB table name",
            "org.toml:7: organization.ce_daily_request_cap: expected 1..=3",
            "org.toml:8: organization.max_concurrency: expected 1..=40",
        ] {
            assert!(text.contains(want), "{want} in\n{text}");
        }
    }

    /// STS refuses an ExternalId outside its pattern at every AssumeRole: refused at the spec instead.
    #[test]
    fn an_external_id_sts_would_refuse_is_refused_at_its_line() {
        let account = |ext: &str| {
            format!(
                "{HEAD}[[accounts]]\nid = \"345678901234\"\nname = \"bb\"\nrole_arn = \"arn:aws:iam::345678901234:role/m\"\n\
                 external_id = \"{ext}\"\nplatforms = [\"budgetbuddy-prod.toml\"]\n"
            )
        };
        for (ext, want) in [
            ("team a id", "' ' is not allowed in sts:ExternalId"),
            ("x", "expected 2..=1224 characters (sts:ExternalId), found 1"),
            ("ünïcode", "'ü' is not allowed"),
        ] {
            let text = parse_org(&account(ext), "org.toml", &platforms())
                .unwrap_err()
                .to_string();
            assert!(text.contains("org.toml:11: accounts[0].external_id: "), "{text}");
            assert!(text.contains(want), "{ext}: {text}");
        }
        parse_org(&account("acme:gov/2026_a+b=c,d.e@f-g"), "org.toml", &platforms()).unwrap();
    }

    #[test]
    fn unknown_keys_and_syntax_errors_name_their_line() {
        let text = problems("[[accounts]]\nid = \"345678901234\"\nnmae = \"x\"\n");
        assert!(text.starts_with("org.toml:"), "{text}");
        assert!(text.contains("nmae"), "{text}");
        let text = parse_org("[organization\n", "o.toml", &platforms())
            .unwrap_err()
            .to_string();
        assert!(text.starts_with("o.toml:1"), "{text}");
    }

    #[test]
    fn a_broken_platform_spec_is_reported_where_the_org_names_it() {
        let dir = std::env::temp_dir().join(format!("org-spec-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("bad.toml"), "[platform]\nname = 'x'\n").unwrap();
        let source = format!(
            "{HEAD}[[accounts]]\nid = \"345678901234\"\nname = \"bb\"\nrole_arn = \"arn:aws:iam::345678901234:role/m\"\nplatforms = [\"bad.toml\"]\n"
        );
        let text = parse_org(&source, "org.toml", &dir).unwrap_err().to_string();
        std::fs::remove_dir_all(&dir).ok();
        assert!(
            text.contains("org.toml:11: accounts[0].platforms[0]: platform spec does not load:"),
            "{text}"
        );
        assert!(text.contains("bad.toml"), "{text}");
    }
}

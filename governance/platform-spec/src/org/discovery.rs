//! Member discovery (`[discovery]` of the organisation spec): the members of an organisation are the
//! accounts AWS Organizations lists (`organizations:ListAccounts` in the management account) whose
//! platforms tag names their platform specs, instead of (or besides) `[[accounts]]` entries.
//!
//! ```toml
//! [discovery]
//! platforms_tag = "collectiq:platforms"       # on each account: "../collectiq-prod.toml,../backoffice-prod.toml"
//! role_name = "collectiq-governance-member"   # assumed as arn:<partition>:iam::<id>:role/<role_name>
//! ```
//!
//! This module is the pure half: what an account's tags mean ([`Organization::with_discovered`] turns
//! the listed accounts into [`AccountSpec`]s that then go through the very checks a file's
//! `[[accounts]]` entry does). Reading the accounts and their tags is the governance crate's
//! (`governance::org::discover`).
//!
//! A tag value is untrusted input — whoever may tag accounts in the management account decides which
//! files governance reads — so it is held to the path rules of `[[accounts]].platforms` and more: at most
//! [`MAX_TAG_VALUE_CHARS`] characters, no control characters, no empty entries, relative `.toml` paths
//! inside the spec directories, and a platform spec that declares `platform.account_id` only for that
//! account. An account whose tag breaks a rule is *rejected* (named with its tag and why; the pass
//! fails loudly but governs every other account); an account without the tag is *skipped* (reported,
//! not an error), as is every account that is not `ACTIVE`.
//!
//! API: <https://docs.aws.amazon.com/organizations/latest/APIReference/API_ListAccounts.html>,
//! <https://docs.aws.amazon.com/organizations/latest/APIReference/API_ListTagsForResource.html>; tag
//! limits: <https://docs.aws.amazon.com/tag-editor/latest/userguide/tagging.html>.

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::{AccountSpec, Organization, Seen, role_account, validate_account};

/// Most accounts one discovery takes. AWS Organizations' default quota is 10 accounts and large
/// organisations run a few thousand; every account costs one `ListTagsForResource` call in the plan
/// step and one iteration of the state machine's inline Map. A Standard execution's history holds at
/// most 25,000 events and an inline Map iteration of one Task writes 7 (iteration started, state
/// entered, task scheduled, started, succeeded, state exited, iteration succeeded), so about 3,500
/// iterations fill it; the Map's results (≈ 60 bytes an account) must also fit the 256 KiB state.
/// 3,000 leaves room for both. Past this, discovery stops with an error rather than run a pass that
/// cannot finish: split the organisation into several organisation specs (one per OU, say) instead.
pub const MAX_DISCOVERED_ACCOUNTS: usize = 3_000;

/// Longest tag value accepted: AWS's own limit for a tag value, so a longer one did not come from AWS.
pub const MAX_TAG_VALUE_CHARS: usize = 256;

/// Most skipped or rejected accounts a [`Membership`] keeps by name once [`Membership::bounded`]; the
/// rest are counted in [`Membership::omitted`] (a DynamoDB item holds at most 400 KB).
pub const MEMBERSHIP_NAMES_KEPT: usize = 200;

/// `[discovery]`: members from `organizations:ListAccounts` and a tag on each account.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DiscoverySpec {
    /// The account tag whose value lists the account's platform specs: comma-separated file names,
    /// relative to the organisation file like `[[accounts]].platforms` (`collectiq:platforms`).
    pub platforms_tag: String,
    /// The role governance assumes in every discovered account, by name (no path: the member module
    /// creates it at IAM's root path); the ARN is `arn:<partition>:iam::<id>:role/<name>`.
    pub role_name: String,
    /// `sts:ExternalId` every discovered account's role trust policy requires, when it requires one.
    #[serde(default)]
    pub external_id: Option<String>,
}

/// An account as `ListAccounts` and `ListTagsForResource` describe it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedAccount {
    /// The 12-digit id.
    pub id: String,
    /// The account's name in AWS Organizations (free text: `CollectIQ Prod`).
    pub name: String,
    /// Its ARN (`arn:aws:organizations::<management>:account/o-…/<id>`): the partition is read from it.
    pub arn: String,
    /// `State` (`ACTIVE`, `SUSPENDED`, `PENDING_CLOSURE`, …), or the older `Status` when `State` is absent.
    pub state: String,
    /// The account's tags.
    pub tags: BTreeMap<String, String>,
}

/// Why a listed account is not governed, when that is not an error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "reason", content = "detail")]
pub enum SkipReason {
    /// The account is not `ACTIVE` (the state is the detail).
    NotActive(String),
    /// The account has no platforms tag.
    Untagged,
    /// The tag is there, but empty.
    EmptyTag,
    /// `[[accounts]]` lists the account: the file's entry wins.
    ListedInFile,
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotActive(state) => write!(f, "{state}, not ACTIVE"),
            Self::Untagged => f.write_str("no platforms tag"),
            Self::EmptyTag => f.write_str("the platforms tag is empty"),
            Self::ListedInFile => f.write_str("listed in [[accounts]]: the file's entry is used"),
        }
    }
}

/// A listed account that is not governed, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkippedAccount {
    /// The account id.
    pub account_id: String,
    /// Its name in AWS Organizations.
    pub account_name: String,
    /// Why.
    #[serde(flatten)]
    pub reason: SkipReason,
}

/// An account whose platforms tag breaks a rule: not governed, and the pass reports it as failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RejectedAccount {
    /// The account id.
    pub account_id: String,
    /// Its name in AWS Organizations.
    pub account_name: String,
    /// The tag that was wrong.
    pub tag: String,
    /// What was wrong with it (values quoted with escapes, never raw).
    pub message: String,
}

impl fmt::Display for RejectedAccount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "account {} ({:?}): tag {}: {}",
            self.account_id, self.account_name, self.tag, self.message
        )
    }
}

/// What discovery found: the accounts governed through their tag, and those that are not.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Membership {
    /// The tag read.
    pub tag: String,
    /// Accounts `ListAccounts` returned.
    pub listed: usize,
    /// The ids governed through their tag, in id order.
    pub discovered: Vec<String>,
    /// Accounts not governed, and why (not errors).
    pub skipped: Vec<SkippedAccount>,
    /// Accounts whose tag is wrong.
    pub rejected: Vec<RejectedAccount>,
    /// Skipped or rejected accounts left out of the lists above by [`Membership::bounded`].
    #[serde(default)]
    pub omitted: usize,
    /// `ListAccounts` pages read.
    #[serde(default)]
    pub list_requests: u32,
    /// `ListTagsForResource` pages read.
    #[serde(default)]
    pub tag_requests: u32,
}

impl Membership {
    /// At most [`MEMBERSHIP_NAMES_KEPT`] skipped and rejected accounts each, the rest counted in
    /// [`Membership::omitted`] (rejected are never all dropped: the count of them is what fails the pass).
    #[must_use]
    pub fn bounded(mut self) -> Self {
        self.omitted += cut(&mut self.skipped) + cut(&mut self.rejected);
        self
    }

    /// One line per skipped and rejected account, after a headline.
    #[must_use]
    pub fn render(&self) -> String {
        let mut out = format!(
            "Discovery (tag {}): {} account(s) listed, {} governed by tag, {} skipped, {} rejected\n",
            self.tag,
            self.listed,
            self.discovered.len(),
            self.skipped.len(),
            self.rejected.len()
        );
        for s in &self.skipped {
            out.push_str(&format!(
                "  · skipped account {} ({:?}): {}\n",
                s.account_id, s.account_name, s.reason
            ));
        }
        for r in &self.rejected {
            out.push_str(&format!("  ✗ {r}\n"));
        }
        if self.omitted > 0 {
            out.push_str(&format!("  … and {} more not listed here\n", self.omitted));
        }
        out
    }
}

/// Keeps the first [`MEMBERSHIP_NAMES_KEPT`] of `v`; returns how many it dropped.
fn cut<T>(v: &mut Vec<T>) -> usize {
    let extra = v.len().saturating_sub(MEMBERSHIP_NAMES_KEPT);
    v.truncate(MEMBERSHIP_NAMES_KEPT);
    extra
}

/// The platform spec paths of a platforms tag value, or why the value is refused. Only the shape is
/// checked here; the paths then go through `[[accounts]].platforms`' own rules.
///
/// ```
/// use platform_spec::org::discovery::platforms_of;
/// assert_eq!(platforms_of(" ../a.toml, b.toml ").unwrap().len(), 2);
/// assert!(platforms_of("a.toml,,b.toml").unwrap_err().contains("empty entry 2"));
/// ```
///
/// # Errors
/// A sentence naming what is wrong, with the value quoted with escapes.
pub fn platforms_of(value: &str) -> Result<Vec<PathBuf>, String> {
    let chars = value.chars().count();
    if chars > MAX_TAG_VALUE_CHARS {
        return Err(format!(
            "the value is {chars} characters long; at most {MAX_TAG_VALUE_CHARS} (AWS's own limit for a tag value)"
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(format!("the value {value:?} contains control characters"));
    }
    value
        .split(',')
        .enumerate()
        .map(|(i, entry)| {
            let entry = entry.trim();
            if entry.is_empty() {
                Err(format!(
                    "empty entry {} in {value:?}: expected comma-separated platform spec files",
                    i + 1
                ))
            } else {
                Ok(PathBuf::from(entry))
            }
        })
        .collect()
}

/// The partition of an ARN (`aws`, `aws-cn`, `aws-us-gov`), `aws` when the ARN does not say.
fn partition_of(arn: &str) -> &str {
    match arn.split(':').nth(1) {
        Some(p) if p.starts_with("aws") && p.bytes().all(|b| b.is_ascii_lowercase() || b == b'-') => p,
        _ => "aws",
    }
}

/// A name `[[accounts]].name` accepts (lowercase letters, digits and '-'), from an Organizations name.
fn slug(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    // Room for "-<id>" when the name is taken: 64 - 13.
    out.truncate(51);
    out.trim_end_matches('-').to_owned()
}

/// Checks `[discovery]`; `(key path, message)` problems.
pub(super) fn validate_discovery(d: &DiscoverySpec, bad: &mut impl FnMut(String, String)) {
    let t = &d.platforms_tag;
    // Tag keys: 1..=128 of letters, digits, spaces and _ . : / = + - @; `aws:` is AWS's own.
    if t.is_empty()
        || t.chars().count() > 128
        || !t
            .chars()
            .all(|c| c.is_alphanumeric() || c == ' ' || "_.:/=+-@".contains(c))
        || t.to_ascii_lowercase().starts_with("aws:")
    {
        bad(
            "discovery.platforms_tag".into(),
            format!(
                "expected a tag key (1..=128 of letters, digits, spaces and _ . : / = + - @, not aws:…), found {t:?}"
            ),
        );
    }
    let r = &d.role_name;
    let arn = format!("arn:aws:iam::000000000000:role/{r}");
    // The role the member module (infra/modules/org/member) creates, at IAM's root path: a role under a
    // path would load here and then be assumed where no role exists (the module refuses a `/`).
    if r.contains('/') || r.len() > 64 {
        bad(
            "discovery.role_name".into(),
            format!(
                "expected a role name without a path, as infra/modules/org/member creates it \
                 (collectiq-governance-member), found {r:?}"
            ),
        );
    } else if let Err(why) = role_account(&arn) {
        bad("discovery.role_name".into(), why);
    } else if !r
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-/".contains(&b))
    {
        bad(
            "discovery.role_name".into(),
            format!("the role path in {r:?} may hold only letters, digits and + = , . @ _ - /"),
        );
    }
    if let Some(problem) = d.external_id.as_deref().and_then(super::external_id_problem) {
        bad("discovery.external_id".into(), problem);
    }
}

impl Organization {
    /// The organisation with the members `listed` accounts' tags name, each held to the checks a
    /// `[[accounts]]` entry gets; the accounts not governed are in [`Organization::membership`]. An
    /// organisation without `[discovery]` comes back unchanged. Discovered accounts follow the file's,
    /// in id order.
    #[must_use]
    pub fn with_discovered(&self, listed: &[ListedAccount]) -> Self {
        let Some(d) = &self.spec.discovery else {
            return self.clone();
        };
        let mut membership = Membership {
            tag: d.platforms_tag.clone(),
            listed: listed.len(),
            ..Membership::default()
        };
        let in_file: HashSet<&str> = self.spec.accounts.iter().map(|a| a.id.as_str()).collect();
        let mut taken: HashSet<String> = self.spec.accounts.iter().map(|a| a.name.clone()).collect();
        let mut sorted: Vec<&ListedAccount> = listed.iter().collect();
        sorted.sort_by(|a, b| a.id.cmp(&b.id));
        sorted.dedup_by(|a, b| a.id == b.id);
        let mut members = Vec::new();
        for account in sorted {
            let skip = |reason| SkippedAccount {
                account_id: account.id.clone(),
                account_name: account.name.clone(),
                reason,
            };
            let reject = |message: String| RejectedAccount {
                account_id: account.id.clone(),
                account_name: account.name.clone(),
                tag: d.platforms_tag.clone(),
                message,
            };
            if in_file.contains(account.id.as_str()) {
                membership.skipped.push(skip(SkipReason::ListedInFile));
                continue;
            }
            if account.state != "ACTIVE" {
                membership
                    .skipped
                    .push(skip(SkipReason::NotActive(account.state.clone())));
                continue;
            }
            let Some(value) = account.tags.get(&d.platforms_tag) else {
                membership.skipped.push(skip(SkipReason::Untagged));
                continue;
            };
            if value.trim().is_empty() {
                membership.skipped.push(skip(SkipReason::EmptyTag));
                continue;
            }
            let platforms = match platforms_of(value) {
                Ok(p) => p,
                Err(why) => {
                    membership.rejected.push(reject(why));
                    continue;
                }
            };
            let mut name = slug(&account.name);
            if name.is_empty() {
                name = format!("account-{}", account.id);
            } else if taken.contains(&name) {
                name = format!("{name}-{}", account.id);
            }
            taken.insert(name.clone());
            members.push(AccountSpec {
                id: account.id.clone(),
                name,
                role_arn: format!(
                    "arn:{}:iam::{}:role/{}",
                    partition_of(&account.arn),
                    account.id,
                    d.role_name
                ),
                external_id: d.external_id.clone(),
                platforms,
            });
        }
        let names: BTreeMap<&str, &str> = listed.iter().map(|a| (a.id.as_str(), a.name.as_str())).collect();
        let mut org = self.with_members(members, membership);
        // A member rejected by the account checks carries the name AWS Organizations gives it.
        if let Some(m) = &mut org.membership {
            for r in &mut m.rejected {
                if let Some(name) = names.get(r.account_id.as_str()) {
                    (*name).clone_into(&mut r.account_name);
                }
            }
        }
        org
    }

    /// The organisation with `members` (discovered accounts, as the state machine's plan step recorded
    /// them) added after the file's accounts, each checked as a `[[accounts]]` entry is; a member that
    /// fails a check is moved to `membership.rejected`, with the entry of its tag that was wrong.
    #[must_use]
    pub fn with_members(&self, members: Vec<AccountSpec>, mut membership: Membership) -> Self {
        let mut org = self.clone();
        let mut seen = Seen::default();
        for account in &self.spec.accounts {
            seen.ids.insert(account.id.clone());
            seen.names.insert(account.name.clone());
        }
        for item in &self.items {
            seen.files.insert(
                item.spec_path
                    .canonicalize()
                    .unwrap_or_else(|_| item.spec_path.clone()),
            );
        }
        membership.discovered.clear();
        for account in members {
            let mut problems = Vec::new();
            let items = validate_account(&account, None, &self.dir, &mut seen, &mut |key, message| {
                problems.push((key, message));
            });
            if problems.is_empty() {
                membership.discovered.push(account.id.clone());
                org.items.extend(items);
                org.spec.accounts.push(account);
            } else {
                membership.rejected.push(RejectedAccount {
                    account_id: account.id.clone(),
                    account_name: account.name.clone(),
                    tag: membership.tag.clone(),
                    message: problems
                        .into_iter()
                        .map(|(key, message)| format!("{key}: {message}"))
                        .collect::<Vec<_>>()
                        .join("; "),
                });
            }
        }
        org.membership = Some(membership);
        org
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::{OrgSpecError, parse_org};

    fn platforms() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../infra/platforms")
    }

    /// Line 7 is `[discovery]`, line 8 `platforms_tag`, line 9 `role_name`.
    const HEAD: &str = r#"[organization]
name = "acme"
management_account_id = "111122223333"
region = "us-east-1"
ledger_table = "acme-org-ledger"
slack_webhook_secret = "acme/slack"
[discovery]
platforms_tag = "collectiq:platforms"
role_name = "collectiq-governance-member"
"#;

    fn parse(body: &str) -> Result<Organization, OrgSpecError> {
        parse_org(&format!("{HEAD}{body}"), "org.toml", &platforms())
    }

    fn listed(id: &str, name: &str, state: &str, tag: Option<&str>) -> ListedAccount {
        ListedAccount {
            id: id.into(),
            name: name.into(),
            arn: format!("arn:aws:organizations::111122223333:account/o-abc/{id}"),
            state: state.into(),
            tags: tag
                .map(|v| BTreeMap::from([("collectiq:platforms".to_owned(), v.to_owned())]))
                .unwrap_or_default(),
        }
    }

    fn rejected_for<'a>(m: &'a Membership, id: &str) -> &'a RejectedAccount {
        m.rejected
            .iter()
            .find(|r| r.account_id == id)
            .unwrap_or_else(|| panic!("{id} not rejected: {}", m.render()))
    }

    #[test]
    fn discovery_alone_is_an_organisation_and_neither_is_an_error() {
        let org = parse("").unwrap();
        assert!(org.items.is_empty());
        assert_eq!(
            org.spec.discovery.as_ref().unwrap().platforms_tag,
            "collectiq:platforms"
        );
        let without = HEAD.split("[discovery]").next().unwrap();
        let text = parse_org(without, "org.toml", &platforms())
            .unwrap_err()
            .to_string();
        assert!(
            text.contains(
                "org.toml: accounts: expected at least one [[accounts]] entry, or a [discovery] table"
            ),
            "{text}"
        );
    }

    #[test]
    fn discovery_settings_are_checked_with_file_line_and_key() {
        let source = HEAD
            .replace("\"collectiq:platforms\"", "\"aws:platforms\"")
            .replace("\"collectiq-governance-member\"", "\"member role!\"")
            + "external_id = \"x\"\n";
        let text = parse_org(&source, "org.toml", &platforms())
            .unwrap_err()
            .to_string();
        for want in [
            "org.toml:8: discovery.platforms_tag: expected a tag key",
            "org.toml:9: discovery.role_name: role name \"member role!\" is not a valid IAM role name",
            "org.toml:10: discovery.external_id: expected 2..=1224 characters",
        ] {
            assert!(text.contains(want), "{want} in\n{text}");
        }
        let text = parse_org(&format!("{HEAD}plaforms_tag = \"x\"\n"), "org.toml", &platforms())
            .unwrap_err()
            .to_string();
        assert!(
            text.starts_with("org.toml:10") && text.contains("plaforms_tag"),
            "{text}"
        );
        let text = parse_org(
            &HEAD.replace("\"collectiq-governance-member\"", "\"/lead/slash\""),
            "org.toml",
            &platforms(),
        )
        .unwrap_err()
        .to_string();
        assert!(
            text.contains("org.toml:9: discovery.role_name: expected a role name"),
            "{text}"
        );
        // A role under a path is refused: the member module creates the role at the root path, so an
        // ARN with a path would name a role no member has.
        let text = parse_org(
            &HEAD.replace("\"collectiq-governance-member\"", "\"governance/member\""),
            "org.toml",
            &platforms(),
        )
        .unwrap_err()
        .to_string();
        assert!(
            text.contains("org.toml:9: discovery.role_name: expected a role name without a path"),
            "{text}"
        );
    }

    /// Tagged, untagged, suspended, closing and the management account: only ACTIVE tagged accounts are
    /// governed, through the same checks as `[[accounts]]`, with names and role ARNs derived.
    #[test]
    fn tagged_active_accounts_become_members_and_the_rest_are_skipped_with_a_reason() {
        let org = parse("").unwrap();
        let mut china = listed(
            "345678901234",
            "BudgetBuddy / Prod",
            "ACTIVE",
            Some(" budgetbuddy-prod.toml "),
        );
        china.arn = "arn:aws-cn:organizations::111122223333:account/o-abc/345678901234".into();
        let found = org.with_discovered(&[
            listed(
                "210987654321",
                "Shared Dev",
                "ACTIVE",
                Some("collectiq-dev.toml,backoffice-dev.toml"),
            ),
            china,
            listed("111122223333", "Management", "ACTIVE", None),
            listed("444444444444", "Sandbox", "ACTIVE", None),
            listed("555555555555", "Old", "SUSPENDED", Some("collectiq-prod.toml")),
            listed(
                "666666666666",
                "Closing",
                "PENDING_CLOSURE",
                Some("collectiq-prod.toml"),
            ),
            listed("777777777777", "Blank", "ACTIVE", Some("  ")),
        ]);
        let ids: Vec<String> = found.items.iter().map(crate::OrgItem::id).collect();
        assert_eq!(
            ids,
            [
                "210987654321/collectiq-dev",
                "210987654321/backoffice-dev",
                "345678901234/budgetbuddy-prod"
            ]
        );
        let m = found.membership.as_ref().unwrap();
        assert_eq!(m.listed, 7);
        assert_eq!(m.discovered, ["210987654321", "345678901234"]);
        assert!(m.rejected.is_empty(), "{}", m.render());
        let reasons: Vec<(&str, &SkipReason)> = m
            .skipped
            .iter()
            .map(|s| (s.account_id.as_str(), &s.reason))
            .collect();
        assert_eq!(
            reasons,
            [
                ("111122223333", &SkipReason::Untagged),
                ("444444444444", &SkipReason::Untagged),
                ("555555555555", &SkipReason::NotActive("SUSPENDED".into())),
                ("666666666666", &SkipReason::NotActive("PENDING_CLOSURE".into())),
                ("777777777777", &SkipReason::EmptyTag),
            ]
        );
        let bb = &found.spec.accounts[1];
        assert_eq!(bb.name, "budgetbuddy-prod");
        assert_eq!(
            bb.role_arn,
            "arn:aws-cn:iam::345678901234:role/collectiq-governance-member"
        );
        assert_eq!(found.spec.accounts[0].name, "shared-dev");
        assert_eq!(found.by_account().len(), 2);
        let text = m.render();
        assert!(
            text.contains("Discovery (tag collectiq:platforms): 7 account(s) listed, 2 governed by tag, 5 skipped, 0 rejected"),
            "{text}"
        );
        assert!(
            text.contains("· skipped account 555555555555 (\"Old\"): SUSPENDED, not ACTIVE"),
            "{text}"
        );

        // The management account is governed only when it is tagged.
        let found = org.with_discovered(&[listed(
            "111122223333",
            "Management",
            "ACTIVE",
            Some("backoffice-dev.toml"),
        )]);
        let m = found.membership.as_ref().unwrap();
        assert!(m.skipped.is_empty() && found.items.is_empty(), "{}", m.render());
        assert!(
            rejected_for(m, "111122223333")
                .message
                .contains("declares platform.account_id = \"210987654321\""),
            "{}",
            m.render()
        );
    }

    /// Every rule of `[[accounts]].platforms` holds for a tag value, and more; each rejection names the
    /// account, the tag and the entry.
    #[test]
    fn bad_tag_values_reject_their_account_by_id_tag_and_reason() {
        let org = parse("").unwrap();
        let long = format!("{}.toml", "a".repeat(300));
        let found = org.with_discovered(&[
            listed("100000000001", "Abs", "ACTIVE", Some("/etc/passwd")),
            listed("100000000002", "Escape", "ACTIVE", Some("../../Cargo.toml")),
            listed(
                "100000000003",
                "Deep",
                "ACTIVE",
                Some("../../../../../../../../tmp/x.toml"),
            ),
            listed("100000000004", "Txt", "ACTIVE", Some("collectiq-dev")),
            listed("100000000005", "Bell", "ACTIVE", Some("a\u{7}.toml")),
            listed("100000000006", "Long", "ACTIVE", Some(&long)),
            listed(
                "100000000007",
                "Holes",
                "ACTIVE",
                Some("backoffice-dev.toml,,x.toml"),
            ),
            listed("100000000008", "Missing", "ACTIVE", Some("nope.toml")),
            listed("100000000009", "Thief", "ACTIVE", Some("collectiq-prod.toml")),
            listed(
                "100000000010",
                "Dotted",
                "ACTIVE",
                Some("./budgetbuddy-prod.toml"),
            ),
        ]);
        assert!(found.items.is_empty());
        let m = found.membership.as_ref().unwrap();
        assert_eq!(m.rejected.len(), 10, "{}", m.render());
        for (id, want) in [
            (
                "100000000001",
                "platforms entry 1: expected a relative path to a .toml platform spec, found \"/etc/passwd\"",
            ),
            (
                "100000000002",
                "platforms entry 1: \"../../Cargo.toml\" is outside ",
            ),
            (
                "100000000003",
                "platforms entry 1: \"../../../../../../../../tmp/x.toml\" is outside ",
            ),
            (
                "100000000004",
                "platforms entry 1: expected a relative path to a .toml",
            ),
            (
                "100000000005",
                "the value \"a\\u{7}.toml\" contains control characters",
            ),
            ("100000000006", "the value is 305 characters long; at most 256"),
            ("100000000007", "empty entry 2 in \"backoffice-dev.toml,,x.toml\""),
            ("100000000008", "platforms entry 1: platform spec "),
            (
                "100000000009",
                "collectiq-prod.toml declares platform.account_id = \"123456789012\", but is listed under account 100000000009",
            ),
            ("100000000010", "declares platform.account_id = \"345678901234\""),
        ] {
            let r = rejected_for(m, id);
            assert_eq!(r.tag, "collectiq:platforms");
            assert!(r.message.contains(want), "{id}: {want} in {}", r.message);
            let line = r.to_string();
            assert!(
                line.starts_with(&format!("account {id} (\""))
                    && line.contains(": tag collectiq:platforms: "),
                "{line}"
            );
        }
        // No raw control character reaches a message (a terminal or log viewer would act on it).
        assert!(!m.render().contains('\u{7}'));
    }

    /// `[[accounts]]` wins over a tag on the same account; a tag naming a spec the file already gives
    /// another account is refused (a platform environment lives in one account).
    #[test]
    fn explicit_accounts_win_over_discovered_ones() {
        let org = parse(
            r#"
[[accounts]]
id = "210987654321"
name = "shared-dev"
role_arn = "arn:aws:iam::210987654321:role/special"
platforms = ["collectiq-dev.toml"]
"#,
        )
        .unwrap();
        let found = org.with_discovered(&[
            listed(
                "210987654321",
                "Shared Dev",
                "ACTIVE",
                Some("collectiq-dev.toml,backoffice-dev.toml"),
            ),
            listed(
                "345678901234",
                "Shared Dev",
                "ACTIVE",
                Some("budgetbuddy-prod.toml"),
            ),
        ]);
        let ids: Vec<String> = found.items.iter().map(crate::OrgItem::id).collect();
        assert_eq!(
            ids,
            ["210987654321/collectiq-dev", "345678901234/budgetbuddy-prod"]
        );
        assert_eq!(found.items[0].role_arn, "arn:aws:iam::210987654321:role/special");
        let m = found.membership.as_ref().unwrap();
        assert_eq!(m.skipped[0].reason, SkipReason::ListedInFile);
        assert_eq!(m.discovered, ["345678901234"]);
        // The file has "shared-dev": the discovered namesake gets its id appended.
        assert_eq!(found.spec.accounts[1].name, "shared-dev-345678901234");

        let stolen = org.with_discovered(&[listed(
            "210987654322",
            "Other",
            "ACTIVE",
            Some("collectiq-dev.toml"),
        )]);
        let m = stolen.membership.as_ref().unwrap();
        assert!(
            rejected_for(m, "210987654322")
                .message
                .contains("collectiq-dev.toml is listed twice")
        );
    }

    /// The state machine's later steps rebuild the organisation from the members the plan step
    /// recorded: the same items, through the same checks.
    #[test]
    fn recorded_members_rebuild_the_same_organisation() {
        let org = parse("").unwrap();
        let found = org.with_discovered(&[listed(
            "345678901234",
            "BB",
            "ACTIVE",
            Some("budgetbuddy-prod.toml"),
        )]);
        let members = found.spec.accounts.clone();
        let again = org.with_members(members, found.membership.clone().unwrap());
        assert_eq!(again.items, found.items);
        assert_eq!(again.membership, found.membership);
        assert_eq!(org.with_discovered(&[]).items.len(), 0);
        // Without [discovery], listed accounts change nothing.
        let plain = parse_org(
            &format!(
                "{}[[accounts]]\nid = \"345678901234\"\nname = \"bb\"\nrole_arn = \"arn:aws:iam::345678901234:role/m\"\nplatforms = [\"budgetbuddy-prod.toml\"]\n",
                HEAD.split("[discovery]").next().unwrap()
            ),
            "org.toml",
            Path::new(&platforms()),
        )
        .unwrap();
        assert_eq!(
            plain.with_discovered(&[listed("1", "x", "ACTIVE", Some("a.toml"))]),
            plain
        );
    }

    #[test]
    fn a_bounded_membership_keeps_the_first_names_and_counts_the_rest() {
        let m = Membership {
            tag: "t".into(),
            skipped: (0..MEMBERSHIP_NAMES_KEPT + 5)
                .map(|i| SkippedAccount {
                    account_id: i.to_string(),
                    account_name: String::new(),
                    reason: SkipReason::Untagged,
                })
                .collect(),
            ..Membership::default()
        }
        .bounded();
        assert_eq!((m.skipped.len(), m.omitted), (MEMBERSHIP_NAMES_KEPT, 5));
        assert!(m.render().contains("… and 5 more"));
        let json = serde_json::to_value(&m.skipped[0]).unwrap();
        assert_eq!(json["reason"], "untagged");
    }
}

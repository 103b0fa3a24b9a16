//! Member discovery in the management account: `organizations:ListAccounts` (every page) and each
//! account's tags (`organizations:ListTagsForResource`, every page), turned into the organisation's
//! members by the pure rules of [`platform_spec::org::discovery`] — so a discovered account is governed
//! by exactly the code a `[[accounts]]` entry is.
//!
//! Both calls go through [`AccountDirectory`], implemented for the SDK client with its paginators and
//! for test doubles. Failures are [`AwsCallError`]s with the project's one classification: the SDK
//! retries throttling (`TooManyRequestsException`) with the configured `RetryConfig`; what is left is
//! reported with its class and, for access denied, the IAM action the caller lacks
//! (`organizations:ListAccounts`, `organizations:ListTagsForResource`).
//!
//! API: <https://docs.aws.amazon.com/organizations/latest/APIReference/API_ListAccounts.html>,
//! <https://docs.aws.amazon.com/organizations/latest/APIReference/API_ListTagsForResource.html>.

use std::collections::BTreeMap;
use std::future::Future;

use aws_error::{AwsCallError, ErrorClass};
use platform_spec::Organization;
use platform_spec::org::discovery::{ListedAccount, MAX_DISCOVERED_ACCOUNTS};

/// One account of `ListAccounts`, before its tags are read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountHead {
    /// The account id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its ARN.
    pub arn: String,
    /// `State`, else `Status`.
    pub state: String,
}

/// The AWS Organizations operations discovery uses — and nothing else.
pub trait AccountDirectory: Send + Sync {
    /// Every account of the organisation, page after page, stopping once more than `limit` were read
    /// (the caller refuses that many). Also returns the number of pages read.
    fn accounts(
        &self,
        limit: usize,
    ) -> impl Future<Output = Result<(Vec<AccountHead>, u32), AwsCallError>> + Send;

    /// Every tag of one account, with the number of pages read.
    fn account_tags(
        &self,
        account_id: &str,
    ) -> impl Future<Output = Result<(BTreeMap<String, String>, u32), AwsCallError>> + Send;
}

impl AccountDirectory for aws_sdk_organizations::Client {
    async fn accounts(&self, limit: usize) -> Result<(Vec<AccountHead>, u32), AwsCallError> {
        let mut pages = self.list_accounts().into_paginator().send();
        let mut out = Vec::new();
        let mut count = 0;
        while let Some(page) = pages.next().await {
            let page = page.map_err(AwsCallError::of("Organizations", "ListAccounts"))?;
            count += 1;
            for a in page.accounts() {
                // `State` replaces the deprecated `Status`; an older endpoint sends only `Status`.
                #[allow(deprecated)]
                let state = a
                    .state()
                    .map(|s| s.as_str().to_owned())
                    .or_else(|| a.status().map(|s| s.as_str().to_owned()))
                    .unwrap_or_default();
                out.push(AccountHead {
                    id: a.id().unwrap_or_default().to_owned(),
                    name: a.name().unwrap_or_default().to_owned(),
                    arn: a.arn().unwrap_or_default().to_owned(),
                    state,
                });
            }
            // Enough to refuse, or more pages than that many accounts fill: an endpoint cycling
            // through tokens (the paginator catches only the same token twice in a row) ends here.
            if out.len() > limit || count as usize > MAX_LIST_PAGES {
                break;
            }
        }
        Ok((out, count))
    }

    async fn account_tags(&self, account_id: &str) -> Result<(BTreeMap<String, String>, u32), AwsCallError> {
        let mut pages = self
            .list_tags_for_resource()
            .resource_id(account_id)
            .into_paginator()
            .send();
        let mut tags = BTreeMap::new();
        let mut count = 0;
        while let Some(page) = pages.next().await {
            let page = page.map_err(AwsCallError::of("Organizations", "ListTagsForResource"))?;
            count += 1;
            for t in page.tags() {
                tags.insert(t.key().to_owned(), t.value().to_owned());
            }
            if count as usize > MAX_TAG_PAGES {
                break;
            }
        }
        Ok((tags, count))
    }
}

/// Why the organisation's members could not be discovered.
#[derive(Debug, thiserror::Error)]
pub enum DiscoveryError {
    /// `ListAccounts` failed (classified; access denied names the missing action).
    #[error("member discovery: {0} — {advice}", advice = .0.advice())]
    List(AwsCallError),
    /// One account's tags could not be read: the membership would be incomplete, so nothing is governed
    /// on a guess.
    #[error("member discovery: the tags of account {account_id}: {source} — {advice}", advice = .source.advice())]
    Tags {
        /// The account.
        account_id: String,
        /// The call's error.
        source: AwsCallError,
    },
    /// More accounts than one pass governs.
    #[error(
        "member discovery: the organisation has more than {MAX_DISCOVERED_ACCOUNTS} accounts, more than one pass \
         governs (one ListTagsForResource each, one Map iteration each); split it into organisation specs of \
         fewer accounts (list them in [[accounts]], or one organisation per OU)"
    )]
    TooMany,
    /// A listing handed out more pages than it can hold (a cycle of page tokens): the membership would
    /// be a guess.
    #[error(
        "member discovery: {operation} answered more than {max} pages (a cycle of page tokens?); nothing is \
         governed on an incomplete membership — run again, and if it repeats, list the accounts in [[accounts]]"
    )]
    TooManyPages {
        /// `ListAccounts` or `ListTagsForResource`.
        operation: &'static str,
        /// The page cap.
        max: usize,
    },
}

/// `ListAccounts` pages one pass reads at most: 20 accounts a page fill [`MAX_DISCOVERED_ACCOUNTS`] in
/// 150; empty pages with a token are allowed, up to this.
pub const MAX_LIST_PAGES: usize = 1_000;

/// `ListTagsForResource` pages of one account read at most (an account holds at most 50 tags).
pub const MAX_TAG_PAGES: usize = 20;

impl DiscoveryError {
    /// The failure class, when AWS answered with one.
    #[must_use]
    pub fn class(&self) -> Option<ErrorClass> {
        match self {
            Self::List(e) | Self::Tags { source: e, .. } => Some(e.class()),
            Self::TooMany | Self::TooManyPages { .. } => None,
        }
    }
}

/// `org` with its discovered members (see [`Organization::with_discovered`]); `org` itself when it has no
/// `[discovery]` (and then nothing is called).
///
/// # Errors
/// [`DiscoveryError`] when an account list or an account's tags cannot be read, or the organisation has
/// more than [`MAX_DISCOVERED_ACCOUNTS`] accounts.
pub async fn discover(
    org: &Organization,
    directory: &impl AccountDirectory,
) -> Result<Organization, DiscoveryError> {
    if org.spec.discovery.is_none() {
        return Ok(org.clone());
    }
    let (heads, list_requests) = directory
        .accounts(MAX_DISCOVERED_ACCOUNTS)
        .await
        .map_err(DiscoveryError::List)?;
    if heads.len() > MAX_DISCOVERED_ACCOUNTS {
        return Err(DiscoveryError::TooMany);
    }
    if list_requests as usize > MAX_LIST_PAGES {
        return Err(DiscoveryError::TooManyPages {
            operation: "ListAccounts",
            max: MAX_LIST_PAGES,
        });
    }
    let in_file: std::collections::HashSet<&str> = org.spec.accounts.iter().map(|a| a.id.as_str()).collect();
    let mut listed = Vec::with_capacity(heads.len());
    let mut tag_requests = 0;
    for head in heads {
        // Tags only matter for an ACTIVE account the file does not list: no call for the others.
        let tags = if head.state == "ACTIVE" && !in_file.contains(head.id.as_str()) {
            let (tags, pages) =
                directory
                    .account_tags(&head.id)
                    .await
                    .map_err(|source| DiscoveryError::Tags {
                        account_id: head.id.clone(),
                        source,
                    })?;
            if pages as usize > MAX_TAG_PAGES {
                return Err(DiscoveryError::TooManyPages {
                    operation: "ListTagsForResource",
                    max: MAX_TAG_PAGES,
                });
            }
            tag_requests += pages;
            tags
        } else {
            BTreeMap::new()
        };
        listed.push(ListedAccount {
            id: head.id,
            name: head.name,
            arn: head.arn,
            state: head.state,
            tags,
        });
    }
    let mut found = org.with_discovered(&listed);
    if let Some(m) = &mut found.membership {
        m.list_requests = list_requests;
        m.tag_requests = tag_requests;
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::sync::Mutex;

    use super::*;

    /// A directory of accounts in memory; `tags_fail` answers that account's tags with an error.
    struct Directory {
        accounts: Vec<(AccountHead, BTreeMap<String, String>)>,
        tags_fail: Option<(String, AwsCallError)>,
        asked: Mutex<Vec<String>>,
        /// Pages each listing says it read (1 unless a test makes an endpoint cycle).
        pages: u32,
    }

    impl AccountDirectory for Directory {
        async fn accounts(&self, limit: usize) -> Result<(Vec<AccountHead>, u32), AwsCallError> {
            let out: Vec<AccountHead> = self
                .accounts
                .iter()
                .take(limit + 1)
                .map(|(h, _)| h.clone())
                .collect();
            Ok((out, self.pages))
        }

        async fn account_tags(
            &self,
            account_id: &str,
        ) -> Result<(BTreeMap<String, String>, u32), AwsCallError> {
            self.asked.lock().unwrap().push(account_id.to_owned());
            if let Some((id, e)) = &self.tags_fail
                && id == account_id
            {
                return Err(e.clone());
            }
            Ok((
                self.accounts
                    .iter()
                    .find(|(h, _)| h.id == account_id)
                    .map(|(_, t)| t.clone())
                    .unwrap_or_default(),
                self.pages,
            ))
        }
    }

    fn head(id: &str, state: &str) -> AccountHead {
        AccountHead {
            id: id.into(),
            name: format!("n{id}"),
            arn: format!("arn:aws:organizations::111122223333:account/o-a/{id}"),
            state: state.into(),
        }
    }

    fn org() -> Organization {
        platform_spec::parse_org(
            "[organization]\nname = \"acme\"\nmanagement_account_id = \"111122223333\"\nregion = \"us-east-1\"\n\
             ledger_table = \"acme-org-ledger\"\nslack_webhook_secret = \"acme/slack\"\n\
             [discovery]\nplatforms_tag = \"collectiq:platforms\"\nrole_name = \"member\"\n",
            "org.toml",
            &PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../infra/platforms"),
        )
        .unwrap()
    }

    fn tag(v: &str) -> BTreeMap<String, String> {
        BTreeMap::from([("collectiq:platforms".to_owned(), v.to_owned())])
    }

    #[tokio::test]
    async fn tags_are_read_only_for_active_accounts_and_the_calls_are_counted() {
        let dir = Directory {
            accounts: vec![
                (head("345678901234", "ACTIVE"), tag("budgetbuddy-prod.toml")),
                (head("555555555555", "SUSPENDED"), tag("collectiq-prod.toml")),
            ],
            tags_fail: None,
            asked: Mutex::new(Vec::new()),
            pages: 1,
        };
        let found = discover(&org(), &dir).await.unwrap();
        assert_eq!(found.items.len(), 1);
        assert_eq!(*dir.asked.lock().unwrap(), ["345678901234"]);
        let m = found.membership.unwrap();
        assert_eq!((m.list_requests, m.tag_requests), (1, 1));
    }

    #[tokio::test]
    async fn a_denied_tag_read_names_the_account_and_the_missing_permission() {
        use aws_sdk_organizations::operation::list_tags_for_resource::ListTagsForResourceError;
        use aws_sdk_organizations::types::error::AccessDeniedException;
        use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
        use aws_smithy_runtime_api::client::result::SdkError;
        use aws_smithy_types::body::SdkBody;
        use aws_smithy_types::error::ErrorMetadata;
        let meta = ErrorMetadata::builder()
            .code("AccessDeniedException")
            .message("You don't have permissions to access this resource.")
            .build();
        let err = ListTagsForResourceError::AccessDeniedException(
            AccessDeniedException::builder().meta(meta).build(),
        );
        let raw = HttpResponse::new(403.try_into().unwrap(), SdkBody::empty());
        let denied = AwsCallError::from_sdk(
            "Organizations",
            "ListTagsForResource",
            SdkError::service_error(err, raw),
        );
        let dir = Directory {
            accounts: vec![(head("345678901234", "ACTIVE"), tag("budgetbuddy-prod.toml"))],
            tags_fail: Some(("345678901234".into(), denied)),
            asked: Mutex::new(Vec::new()),
            pages: 1,
        };
        let err = discover(&org(), &dir).await.unwrap_err();
        assert_eq!(err.class(), Some(ErrorClass::AccessDenied));
        let text = err.to_string();
        assert!(text.contains("the tags of account 345678901234"), "{text}");
        assert!(text.contains("organizations:ListTagsForResource"), "{text}");
    }

    #[tokio::test]
    async fn more_accounts_than_one_pass_governs_is_an_error() {
        let dir = Directory {
            accounts: (0..=MAX_DISCOVERED_ACCOUNTS)
                .map(|i| (head(&format!("{:012}", i + 1), "SUSPENDED"), BTreeMap::new()))
                .collect(),
            tags_fail: None,
            asked: Mutex::new(Vec::new()),
            pages: 1,
        };
        let err = discover(&org(), &dir).await.unwrap_err();
        assert!(matches!(err, DiscoveryError::TooMany), "{err}");
        assert!(err.to_string().contains("more than 3000 accounts"), "{err}");
    }

    /// Issue 13 item 4: a listing that pages on and on (a cycle of tokens the paginator does not catch)
    /// stops at its cap and governs nothing on the partial membership.
    #[tokio::test]
    async fn a_listing_past_its_page_cap_is_refused() {
        let cycling = |pages: usize| Directory {
            accounts: vec![(head("345678901234", "ACTIVE"), tag("budgetbuddy-prod.toml"))],
            tags_fail: None,
            asked: Mutex::new(Vec::new()),
            pages: u32::try_from(pages).unwrap() + 1,
        };
        let err = discover(&org(), &cycling(MAX_LIST_PAGES)).await.unwrap_err();
        assert!(
            matches!(
                err,
                DiscoveryError::TooManyPages {
                    operation: "ListAccounts",
                    ..
                }
            ),
            "{err}"
        );
        assert!(err.to_string().contains("more than 1000 pages"), "{err}");
        let mut tags_only = cycling(MAX_TAG_PAGES);
        tags_only.pages = u32::try_from(MAX_TAG_PAGES).unwrap() + 1;
        let err = discover(&org(), &tags_only).await.unwrap_err();
        assert!(
            matches!(
                err,
                DiscoveryError::TooManyPages {
                    operation: "ListTagsForResource",
                    ..
                }
            ),
            "{err}"
        );
    }
}

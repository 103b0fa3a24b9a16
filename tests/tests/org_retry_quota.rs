//! One member's throttles never use up the other members' retries.
//!
//! The SDK's standard retry mode draws every retry from a token bucket (500 tokens, 5 per retried
//! throttle, never refilled but by successes) that all clients of one *retry partition* in the process
//! share — by default the service and region, whatever the credentials. A member account whose
//! CloudWatch throttles every call would then spend the quota of every other member governed in the same
//! process (the `collectiq-ops org` pass, or one warm Lambda), and their own transient throttles would
//! fail at the first attempt. The organisation pass gives each member's clients a quota of their own
//! (`AwsClients::with_own_retry_quota`); this test shows both halves against the emulator, with the
//! test kit's fault proxy throttling the members' own calls (`FaultProxy::set_account_plan`).
//!
//! A test binary of its own: it empties the process-wide default quota on purpose.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test set-up: failing loudly is the point

use std::path::PathBuf;
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_error::{AwsCallError, ErrorClass};
use collectiq_tests::Emulator;
use collectiq_tests::faults::accounts::ASSUME_ROLE;
use collectiq_tests::faults::{FaultKind, FaultPlan, FaultProxy};
use governance::aws::{AwsClients, AwsTarget, sdk_config};
use governance::org::assume::assume_member;
use platform_spec::OrgItem;

/// Enough fully throttled calls (2 retries × 5 tokens each) to empty a 500-token quota.
const DRAINING_CALLS: usize = 60;

fn member(account: &str) -> OrgItem {
    OrgItem {
        account_id: account.to_owned(),
        account_name: format!("member-{account}"),
        role_arn: format!("arn:aws:iam::{account}:role/collectiq-governance-member"),
        external_id: None,
        spec_path: PathBuf::from("backoffice-dev.toml"),
        spec: collectiq_tests::platform("backoffice-dev.toml"),
    }
}

async fn list_metrics(clients: &AwsClients) -> Result<(), AwsCallError> {
    clients
        .cloudwatch
        .list_metrics()
        .send()
        .await
        .map(drop)
        .map_err(AwsCallError::of("CloudWatch", "ListMetrics"))
}

#[tokio::test]
async fn a_throttled_member_never_spends_the_other_members_retries() {
    let emulator = Emulator::start().await.unwrap();
    let proxy = FaultProxy::start(emulator.endpoint(), FaultPlan::none())
        .await
        .unwrap();
    let (noisy, quiet, other) = ("444444444444", "555555555555", "666666666666");
    let throttle = || FaultPlan::new(14, 1.0, &[(FaultKind::Throttle, 1)]).except([ASSUME_ROLE]);
    // Every call of the noisy member throttles; the two others' first attempts do, their retries pass.
    proxy.set_account_plan(noisy, throttle());
    for account in [quiet, other] {
        proxy.set_account_plan(account, throttle().with_max_consecutive(1));
    }
    // Standard retries, 3 attempts, as against AWS (the backoff kept short for the test).
    let base = sdk_config(&AwsTarget {
        endpoint_url: Some(proxy.endpoint().to_owned()),
        ..AwsTarget::default()
    })
    .await
    .to_builder()
    .retry_config(
        RetryConfig::standard()
            .with_max_attempts(3)
            .with_initial_backoff(Duration::from_millis(1))
            .with_max_backoff(Duration::from_millis(2)),
    )
    .build();
    let sts = aws_sdk_sts::Client::new(&base);
    let session = |account: &str| {
        let (sts, base) = (sts.clone(), base.clone());
        let item = member(account);
        async move { AwsClients::new(&assume_member(&sts, &base, &item).await.unwrap()) }
    };

    // The SDK's default: one quota per service and region. The noisy member spends it…
    let noisy_shared = session(noisy).await;
    for _ in 0..DRAINING_CALLS {
        let err = list_metrics(&noisy_shared).await.unwrap_err();
        assert_eq!(err.class(), ErrorClass::Throttled, "{err}");
    }
    // …and another member's one throttle, which a retry would get past, is final.
    let other_shared = session(other).await;
    let err = list_metrics(&other_shared).await.unwrap_err();
    assert_eq!(err.class(), ErrorClass::Throttled, "{err}");
    assert_eq!(
        proxy.account_counts(other).calls_of("ListMetrics"),
        1,
        "not retried: the shared quota is empty"
    );

    // The organisation pass's member clients: each member retries from its own quota.
    let noisy_own = session(noisy).await.with_own_retry_quota(noisy);
    for _ in 0..DRAINING_CALLS {
        assert!(list_metrics(&noisy_own).await.is_err());
    }
    let quiet_own = session(quiet).await.with_own_retry_quota(quiet);
    list_metrics(&quiet_own)
        .await
        .expect("the quiet member's throttle is retried from its own quota");
    let quiet_calls = proxy.account_counts(quiet);
    assert_eq!(
        (quiet_calls.calls_of("ListMetrics"), quiet_calls.faults()),
        (2, 1),
        "{}",
        quiet_calls.summary()
    );
    // The noisy member's own calls were retried until its own quota ran out.
    let noisy_calls = proxy.account_counts(noisy).calls_of("ListMetrics");
    assert!(
        noisy_calls < 2 * 3 * DRAINING_CALLS as u64,
        "each quota ran out before the calls did: {noisy_calls}"
    );
}

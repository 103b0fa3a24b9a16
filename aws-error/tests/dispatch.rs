//! Real dispatch failures through a real SDK client and the SDK's default HTTP client: a closed loopback
//! port, a host name that cannot resolve, plain HTTP where TLS is expected, a server that never answers,
//! a client with no credentials provider, and the SDK's default credential chain finding nothing (run in
//! a child process with an empty environment and home directory, as `doctor` runs on a machine without
//! credentials). Each must land in its class with advice that says what is wrong.
#![allow(clippy::unwrap_used)] // test set-up helpers outside #[test] fns: failing loudly is the point

use std::net::TcpListener;
use std::time::Duration;

use aws_error::{AwsCallError, ErrorClass, TransportProblem};
use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use aws_smithy_types::retry::RetryConfig;
use aws_smithy_types::timeout::TimeoutConfig;

fn config() -> aws_sdk_dynamodb::config::Builder {
    aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("eu-west-1"))
        .retry_config(RetryConfig::disabled())
}

fn with_credentials(b: aws_sdk_dynamodb::config::Builder) -> aws_sdk_dynamodb::config::Builder {
    b.credentials_provider(Credentials::new("AKIDTEST", "secret", None, None, "test"))
}

async fn list_tables(b: aws_sdk_dynamodb::config::Builder) -> AwsCallError {
    aws_sdk_dynamodb::Client::from_conf(b.build())
        .list_tables()
        .send()
        .await
        .map_err(AwsCallError::of("DynamoDB", "ListTables"))
        .unwrap_err()
}

/// A loopback port nothing listens on (bound, then released).
fn closed_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

#[tokio::test]
async fn closed_port_is_an_unreachable_endpoint() {
    let e =
        list_tables(with_credentials(config()).endpoint_url(format!("http://127.0.0.1:{}", closed_port())))
            .await;
    assert_eq!(e.class(), ErrorClass::Transport);
    assert_eq!(e.transport_problem(), Some(TransportProblem::ConnectionRefused));
    assert!(e.is_retryable() && e.is_fault());
    assert_eq!(e.status(), None);
    assert!(e.advice().starts_with("endpoint unreachable"), "{}", e.advice());
    assert!(e.to_string().contains("Connection refused"), "{e}");
}

#[tokio::test]
async fn unknown_host_is_a_dns_failure() {
    let e = list_tables(with_credentials(config()).endpoint_url("https://nonexistent.invalid")).await;
    assert_eq!(e.transport_problem(), Some(TransportProblem::Dns), "{e:?}");
    assert_eq!(e.class(), ErrorClass::Transport);
    assert!(e.advice().starts_with("DNS failure"), "{}", e.advice());
}

#[tokio::test]
async fn plain_http_where_tls_is_expected_is_a_tls_failure() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        use std::io::Write;
        for s in l.incoming().flatten().take(1) {
            let mut s = s;
            let _ = s.write_all(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n");
        }
    });
    let e = list_tables(with_credentials(config()).endpoint_url(format!("https://127.0.0.1:{port}"))).await;
    assert_eq!(e.transport_problem(), Some(TransportProblem::Tls), "{e:?}");
    assert!(e.advice().contains("TLS handshake"), "{}", e.advice());
}

#[tokio::test]
async fn a_server_that_never_answers_times_out() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    // Accept and hold the connection without answering.
    std::thread::spawn(move || {
        let held: Vec<_> = l.incoming().take(2).collect();
        std::thread::sleep(Duration::from_secs(5));
        drop(held);
    });
    let attempt = TimeoutConfig::builder()
        .operation_attempt_timeout(Duration::from_millis(300))
        .build();
    let e = list_tables(
        with_credentials(config())
            .endpoint_url(format!("http://127.0.0.1:{port}"))
            .timeout_config(attempt),
    )
    .await;
    assert_eq!(e.class(), ErrorClass::Timeout);
    assert_eq!(e.transport_problem(), Some(TransportProblem::TimedOut));
    assert!(e.is_retryable() && e.is_fault());

    let read = TimeoutConfig::builder()
        .read_timeout(Duration::from_millis(300))
        .build();
    let e = list_tables(
        with_credentials(config())
            .endpoint_url(format!("http://127.0.0.1:{port}"))
            .timeout_config(read),
    )
    .await;
    assert_eq!(e.class(), ErrorClass::Timeout, "{e:?}");
    assert!(e.advice().contains("did not answer in time"), "{}", e.advice());
}

#[tokio::test]
async fn a_client_without_credentials_says_so() {
    // An SDK config whose credentials were turned off: what `aws_config` gives with `.no_credentials()`.
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(Region::new("eu-west-1"))
        .no_credentials()
        .retry_config(RetryConfig::disabled())
        .load()
        .await;
    let b = aws_sdk_dynamodb::config::Builder::from(&sdk)
        .endpoint_url(format!("http://127.0.0.1:{}", closed_port()));
    let e = list_tables(b).await;
    assert_eq!(
        e.transport_problem(),
        Some(TransportProblem::NoCredentials),
        "{e:?}"
    );
    assert!(!e.is_retryable());
    assert!(
        e.advice().starts_with("no AWS credentials found"),
        "{}",
        e.advice()
    );
    assert_eq!(e.to_string(), "DynamoDB ListTables: no AWS credentials found");
}

const CHILD: &str = "AWS_ERROR_TEST_CHILD";

/// The SDK's default chain with nothing to find: no variables, an empty home, IMDS off. Runs in a child
/// process so the test's own environment (which may hold credentials) cannot leak in.
#[tokio::test]
async fn the_default_chain_finding_nothing_says_no_credentials() {
    if std::env::var_os(CHILD).is_none() {
        let home = std::env::temp_dir().join(format!("aws-error-empty-home-{}", std::process::id()));
        std::fs::create_dir_all(&home).unwrap();
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "the_default_chain_finding_nothing_says_no_credentials",
                "--exact",
                "--nocapture",
            ])
            .env_clear()
            .env(CHILD, "1")
            .env("HOME", &home)
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .output()
            .unwrap();
        let _ = std::fs::remove_dir_all(&home);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "child failed:\n{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(stdout.contains("1 passed"), "the child ran the test: {stdout}");
        return;
    }
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(Region::new("eu-west-1"))
        .retry_config(RetryConfig::disabled())
        .load()
        .await;
    let b = aws_sdk_dynamodb::config::Builder::from(&sdk)
        .endpoint_url(format!("http://127.0.0.1:{}", closed_port()));
    let e = list_tables(b).await;
    assert_eq!(
        e.transport_problem(),
        Some(TransportProblem::NoCredentials),
        "{e:?}"
    );
    assert_eq!(e.class(), ErrorClass::Transport);
    assert!(!e.is_retryable());
    assert!(
        e.advice().starts_with("no AWS credentials found"),
        "{}",
        e.advice()
    );
}

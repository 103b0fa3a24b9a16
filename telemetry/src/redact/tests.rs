//! The redaction corpus: secrets that must go and look-alikes that must stay.
//!
//! Secrets are the documented formats: RFC 7519 JWS / RFC 7516 JWE compact serialisation, AWS access
//! key ids and secret keys as in the AWS credentials docs (`AKIAIOSFODNN7EXAMPLE`,
//! `wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY`), SigV4 presigned-URL parameters, Slack incoming-webhook
//! URLs, and the card-network test numbers (Luhn-valid, published by the payment processors).

use super::*;
use proptest::prelude::*;

fn r(s: &str) -> String {
    Redactor::default().redact_str(s).into_owned()
}

const JWT: &str =
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U";
// RFC 7516 appendix A.1 (RSA-OAEP + A256GCM), five parts.
const JWE: &str = "eyJhbGciOiJSU0EtT0FFUCIsImVuYyI6IkEyNTZHQ00ifQ.OKOawDo13gRp2ojaHV7LFpZcgV7T6DVZKTyKOMTYUmKoTCVJRgckCL9kiMT03JGeipsEdY3mx_etLbbWSrFr05kLzcSr4qKAq7YN7e9jvQRb2C.48V1_ALb6US04U3b.5eym8TW_c8SuK0ltJ3rpYIzOeDQz7TALvtu6UG9oMo4vpzs9tX_EFShS8iB7j6jiSdiwkIr3ajwQzaBtQD_A.XFBoMYUZodetZdvTiFvSkQ";
// `dir` key management: the encrypted-key part is empty (`..`).
const JWE_DIR: &str = "eyJhbGciOiJkaXIiLCJlbmMiOiJBMTI4Q0JDLUhTMjU2In0..3ER3fFEkM5S-1Lm5Pr8eXw.KDlTtXchhZTGufMYmOYGS4HffxPSUrfmqCHXaI9wOGY.Bz2lQvAr7Uw9xA3LDrGPAQ";

/// `(input, secret)`: after redaction `secret` must not appear and `[REDACTED]` must.
const MUST_GO: &[(&str, &str)] = &[
    ("bearer JWT_HERE in the header", "dozjgNryP4J3jVmNHl0w5N"),
    (
        "jwe JWE_HERE end",
        "5eym8TW_c8SuK0ltJ3rpYIzOeDQz7TALvtu6UG9oMo4vpzs9tX_EFShS8iB7j6jiSdiwkIr3ajwQzaBtQD_A",
    ),
    ("jwe JWE_HERE end", "XFBoMYUZodetZdvTiFvSkQ"),
    ("cek JWE_DIR_HERE.", "Bz2lQvAr7Uw9xA3LDrGPAQ"),
    (
        "mail alice.b+x@mail.example.org now",
        "alice.b+x@mail.example.org",
    ),
    ("next=%2Fcb%3Fu%3Dbob%40example.com", "bob%40example.com"),
    ("key AKIAIOSFODNN7EXAMPLE used", "AKIAIOSFODNN7EXAMPLE"),
    ("session ASIAY34FZKBOKMUTVV7A expired", "ASIAY34FZKBOKMUTVV7A"),
    (
        "aws wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    ),
    ("Authorization: Bearer abc.def-123", "abc.def-123"),
    (
        "Proxy-Authorization: Basic dXNlcjpwYXNzd29yZA==",
        "dXNlcjpwYXNzd29yZA==",
    ),
    ("Cookie: sid=31d4d96e407aad42; lang=en", "31d4d96e407aad42"),
    (
        "Set-Cookie: id=a3fWa; Expires=Wed, 21 Oct 2026 07:28:00 GMT; Secure",
        "a3fWa",
    ),
    ("set-cookie:__Host-session=7fe1c2; Path=/", "7fe1c2"),
    ("X-Api-Key: 9f8e7d6c5b4a", "9f8e7d6c5b4a"),
    ("X-Amz-Security-Token: IQoJb3JpZ2luX2VjEJr", "IQoJb3JpZ2luX2VjEJr"),
    (
        "https://b.s3.amazonaws.com/k.jpg?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAEXAMPLE%2F20261202%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Signature=fe5f80f77d5fa3beca038a248ff027d0445342fe2855ddc963176630326f1024",
        "fe5f80f77d5fa3beca038a248ff027d0445342fe2855ddc963176630326f1024",
    ),
    (
        "https://b.s3.amazonaws.com/k.jpg?X-Amz-Credential=AKIAEXAMPLE%2F20261202%2Fus-east-1&x=1",
        "AKIAEXAMPLE%2F20261202",
    ),
    (
        "https://b.s3.amazonaws.com/k?X-Amz-Security-Token=FwoGZXIvYXdzEJr%2F&x=1",
        "FwoGZXIvYXdzEJr",
    ),
    ("GET /v1/cards?api_key=k-7731aa&page=2", "k-7731aa"),
    ("GET /v1/cards?page=2&token=tk_live_51Hx", "tk_live_51Hx"),
    ("redirect?access_token=ya29.a0AfH6SM", "ya29.a0AfH6SM"),
    ("callback?apiKey=AbC123xyz#frag", "AbC123xyz"),
    (
        "posting to https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX failed",
        "T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX",
    ),
    (
        "<https://hooks.slack.com/workflows/T01/A02/3456/abcdef>",
        "T01/A02/3456/abcdef",
    ),
    ("card 4111 1111 1111 1111 charged", "4111 1111 1111 1111"),
    ("qty 2 4111 1111 1111 1111", "4111 1111 1111 1111"),
    ("4111 1111 1111 1111 1 item", "4111 1111 1111 1111"),
    ("ref 12-4111-1111-1111-1111-99", "4111-1111-1111-1111"),
    (r#"{"ARN":"arn:x","SecretString":"hk-9f8e7d6c"}"#, "hk-9f8e7d6c"),
    ("password_hash=pbkdf2-sha256-abc", "pbkdf2-sha256-abc"),
    ("private_key_pem: MIIEvQIBADANBg", "MIIEvQIBADANBg"),
    ("card 4111-1111-1111-1111 charged", "4111-1111-1111-1111"),
    ("pan=5555555555554444", "5555555555554444"),
    ("amex 3782 822463 10005 ok", "3782 822463 10005"),
    ("discover 6011111111111117", "6011111111111117"),
    ("jcb 3530111333300000", "3530111333300000"),
    ("diners 30569309025904", "30569309025904"),
    ("unionpay 6200000000000005", "6200000000000005"),
    ("mc2 2223003122003222", "2223003122003222"),
    ("visa13 4222222222222", "4222222222222"),
    (
        r#"body {"user":"u1","password": "hunter2!","remember":true}"#,
        "hunter2!",
    ),
    (r#"body {\"user\":\"u1\",\"password\":\"hunter2!\"}"#, "hunter2!"),
    ("form user=u1&password=hunter2!&go=1", "hunter2!"),
    ("form%20user%3Du1%26password%3Dhunter2x%26go%3D1", "hunter2x"),
    ("q=%22password%22%3A%22hunter2x%22", "hunter2x"),
    ("token%3Dabc123def%26page%3D2", "abc123def"),
    (
        "client_secret=s3cr3tV4lu3 grant_type=client_credentials",
        "s3cr3tV4lu3",
    ),
    (r#"{"db_password": 98765432, "port": 5432}"#, "98765432"),
    ("config {'passwd': 'letmein'}", "letmein"),
    ("private_key=MIIEvQIBADANBgkqhkiG9w0", "MIIEvQIBADANBgkqhkiG9w0"),
    ("secret: rotate-me-now", "rotate-me-now"),
    (r#"{"id_token":"opaque-id-token-value"}"#, "opaque-id-token-value"),
    (
        r#"{"authorization":"Basic YWxhZGRpbjpvcGVuc2VzYW1l"}"#,
        "YWxhZGRpbjpvcGVuc2VzYW1l",
    ),
    ("cookie=cookie=cookie=cookie=sessionvalue", "sessionvalue"),
    ("passphrase = correct horse", "correct"),
    ("ssn: 078-05-1120", "078-05-1120"),
];

/// Look-alikes: redaction must leave each unchanged.
const MUST_STAY: &[&str] = &[
    "valuation done in 12 ms",
    "sha da39a3ee5e6b4b0d3255bfef95601890afd80709",
    "upper sha DA39A3EE5E6B4B0D3255BFEF95601890AFD80709",
    "short sha 7ca56bb",
    "card c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
    "uuid 3F2504E0-4F89-11D3-9A0C-0305E82C3301",
    "request_id=989ffbf8-9ace-4817-a57c-e4dd734019ee",
    "apigw requestId=Uh3Wd0pF3nYEMaw",
    "arn:aws:lambda:eu-west-1:123456789012:function:valuate-card",
    "arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/db-AbC123",
    "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    r#"{"secret_arn":"arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/slack"}"#,
    "trace 1-5759e988-bd862e3fe1be46a994272793",
    "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1;Lineage=16f3a795:0",
    "traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
    "input_tokens=1200 output_tokens=350",
    r#"{"cache_read_input_tokens": 2048, "max_tokens": 1024}"#,
    r#"{"token_count": 42}"#,
    "tokens: 512",
    "used 1200 tokens",
    "not a card 4111111111111112",
    "epoch 1732871234567",
    "order 1234567812345670 shipped",
    "isbn 978-0-306-40615-7",
    "phone +1 555 0100",
    "at 2026-12-02T08:00:00.000Z",
    "s3 key=cards/2026/12/c-123.jpg",
    "model anthropic.claude-3-5-sonnet-20240620-v1:0",
    "https://api.example.com/cards?page=2&limit=50",
    "user@localhost",
    "ratio=0.5",
    "AKIA too short",
    "listening on 10.0.0.1:443",
    r#"{"duration_ms": 12.5, "status": 200}"#,
    "GET /v1/cards/c-1/valuations",
    "token-bucket refilled",
    "secret rotation scheduled",
    "slack channel #alerts",
    "https://hooks.example.com/services",
    "version 1.2.3.4567890123456",
    "amount 1234567890123 cents",
    "dates 2026 12 02 2026 12 03",
    "ids 12 34 56 78 90 12 34 56",
    r#"{"SecretId":"prod/slack-webhook"}"#,
];

fn expand(s: &str) -> String {
    s.replace("JWT_HERE", JWT)
        .replace("JWE_DIR_HERE", JWE_DIR)
        .replace("JWE_HERE", JWE)
}

#[test]
fn corpus_secrets_go_and_look_alikes_stay() {
    assert!(
        MUST_GO.len() + MUST_STAY.len() >= 60,
        "the corpus is at least 60 strings"
    );
    let mut failures = Vec::new();
    for (input, secret) in MUST_GO {
        let input = expand(input);
        let out = r(&input);
        if out.contains(secret) || !out.contains(REDACTED) {
            failures.push(format!("leaked {secret:?}: {input:?} -> {out:?}"));
        }
    }
    for input in MUST_STAY {
        let out = r(input);
        if out != *input {
            failures.push(format!("over-redacted: {input:?} -> {out:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn exact_replacements_keep_the_surroundings() {
    assert_eq!(r(&format!("token {JWT} end")), "token [REDACTED] end");
    assert_eq!(r("to alice.b+x@mail.example.org."), "to [REDACTED].");
    assert_eq!(r("Authorization: Bearer abc.def"), "Authorization: [REDACTED]");
    assert_eq!(
        r(r#"{"Cookie":"sid=1; x=2","a":1}"#),
        r#"{"Cookie":"[REDACTED]","a":1}"#
    );
    assert_eq!(
        r("https://b.s3.amazonaws.com/k.jpg?X-Amz-Credential=AK%2F1&X-Amz-Signature=abc123&x=1"),
        "https://b.s3.amazonaws.com/k.jpg?X-Amz-Credential=[REDACTED]&X-Amz-Signature=[REDACTED]&x=1"
    );
    assert_eq!(
        r(r#"{"user":"u1","password": "a \"quoted\" pw","n":1}"#),
        r#"{"user":"u1","password": "[REDACTED]","n":1}"#
    );
    assert_eq!(r("card 4111 1111 1111 1111."), "card [REDACTED].");
    assert_eq!(
        r("https://hooks.slack.com/services/T0/B0/x"),
        "https://hooks.slack.com/[REDACTED]"
    );
    assert_eq!(
        r("q=%22password%22%3A%22hunter2x%22&a=1"),
        "q=%22password%22%3A%22[REDACTED]%22&a=1"
    );
}

#[test]
fn card_numbers_inside_longer_digit_runs() {
    // Two cards in one run of groups: both go, the quantity between stays.
    assert_eq!(
        r("4111 1111 1111 1111 3 5555 5555 5555 4444"),
        "[REDACTED] 3 [REDACTED]"
    );
    // A run of many one-digit groups is tried in linear time and holds no card.
    let run = "1 ".repeat(20_000);
    assert!(r(&run) == run, "a run of one-digit groups holds no card");
}

#[test]
fn adversarial_repetitions_collapse_to_one_value() {
    let field = "cookie=".repeat(5_000);
    let out = r(&field);
    assert_eq!(
        out, "cookie=[REDACTED]",
        "the first key's value is everything after it"
    );
    let field = "cookie: ".repeat(5_000);
    assert_eq!(r(&field), "cookie: [REDACTED]");
}

#[test]
fn the_work_per_record_is_bounded() {
    let red = Redactor::default();
    let big = format!("{}{}", "x ".repeat(100_000), "password=late");
    let out = red.redact_str(&big);
    assert!(out.len() < DEFAULT_MAX_SCAN_BYTES + 64, "{}", out.len());
    assert!(out.ends_with("bytes past the scan limit]"));
    assert!(
        !out.contains("late"),
        "text past the budget is withheld, not printed unscanned"
    );
    // A token straddling the limit is cut before it, not in two.
    let red = Redactor::default().with_max_scan_bytes(30);
    let out = red.redact_str("abc AKIAIOSFODNN7EXAMPLE wJalrXUtnFEMI/K7MDENG");
    assert_eq!(
        out,
        "abc AKIAIOSFODNN7EXAMPLE [REDACTED: 21 bytes past the scan limit]"
            .replace("AKIAIOSFODNN7EXAMPLE", REDACTED)
    );
    // The budget is per record: the second field gets what the first left.
    let red = Redactor::default().with_max_scan_bytes(10);
    let budget = red.budget();
    assert_eq!(red.redact_within("0123456", &budget), "0123456");
    assert_eq!(red.redact_field("password", "x", &budget), REDACTED);
    assert_eq!(
        red.redact_within("abcdef", &budget),
        "abc[REDACTED: 3 bytes past the scan limit]"
    );
}

#[test]
fn deny_list_is_suffix_based() {
    let red = Redactor::default().deny_fields(["card_number"]);
    assert!(red.is_denied_field("Password"));
    assert!(red.is_denied_field("id_token"));
    assert!(red.is_denied_field("client-secret"));
    assert!(red.is_denied_field("cardNumber"));
    assert!(red.is_denied_field("X-Amz-Signature"));
    assert!(!red.is_denied_field("output_tokens"));
    assert!(!red.is_denied_field("secret_arn"));
    assert_eq!(red.redact_str("card_number=12"), "card_number=[REDACTED]");
}

#[test]
fn span_attributes_use_the_same_rules() {
    assert_eq!(
        redact_attribute("http.request.header.authorization", "Bearer x"),
        REDACTED
    );
    assert_eq!(
        redact_attribute("url.full", "https://a/b?api_key=k1&c=2"),
        "https://a/b?api_key=[REDACTED]&c=2"
    );
    assert_eq!(
        redact_attribute("aws.request_id", "989ffbf8-9ace-4817-a57c-e4dd734019ee"),
        "989ffbf8-9ace-4817-a57c-e4dd734019ee"
    );
}

#[test]
fn luhn_and_prefixes() {
    let digits = |s: &str| s.bytes().map(|c| c - b'0').collect::<Vec<u8>>();
    assert!(luhn(&digits("79927398713")));
    assert!(!luhn(&digits("79927398710")));
    assert!(card_prefix(&digits("4111111111111111"), 16));
    assert!(!card_prefix(&digits("1111111111111111"), 16));
    assert!(!card_prefix(&digits("378282246310005"), 16), "Amex is 15 digits");
}

proptest! {
    #[test]
    fn never_panics_and_never_leaks_emails(prefix in "[ -~]{0,40}", user in "[a-z]{1,10}", suffix in "[ -~]{0,40}") {
        let s = format!("{prefix} {user}@corp.example.com {suffix}");
        let out = r(&s);
        let needle = format!("{user}@corp.example.com");
        prop_assert!(!out.contains(&needle));
    }

    #[test]
    fn arbitrary_input_is_safe(s in "\\PC{0,200}", cap in 0usize..64) {
        let _ = r(&s);
        let red = Redactor::default().with_max_scan_bytes(cap);
        let out = red.redact_str(&s);
        prop_assert!(s.len() <= cap || out.contains("past the scan limit"));
    }

    #[test]
    fn keyed_values_never_leak(key in "(password|api_key|token|client_secret|X-Amz-Signature)", sep in "(=|: |%3D|\":\")", value in "[A-Za-z0-9]{6,20}") {
        let s = format!("x {key}{sep}{value}&n=1");
        prop_assert!(!r(&s).contains(&value));
    }
}

proptest! {
    /// `is_denied_field` normalises the name once on the stack; it must answer what comparing each
    /// word to the name normalised per word (`ends_with_normalised`, `contains_normalised`) answers.
    #[test]
    fn denied_field_is_the_per_word_definition(
        name in prop_oneof![
            "[A-Za-z_.-]{0,24}",
            "(x_|X-|a.)?(Pass_Word|api-key|TOKEN|secret|private.key|passwd|ssn|cookie)(_hash|s|Arn)?",
            "[a-z_]{60,80}(password|token)?",
            any::<String>(),
        ],
        extra in "[A-Za-zé_-]{0,8}",
    ) {
        let red = Redactor::default().deny_fields([extra.as_str()]);
        let per_word = red.deny.iter().any(|d| ends_with_normalised(&name, d))
            || DENY_ANYWHERE.iter().any(|d| contains_normalised(&name, d));
        prop_assert_eq!(red.is_denied_field(&name), per_word);
    }
}

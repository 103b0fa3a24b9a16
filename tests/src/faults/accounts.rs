//! Which member account a request acts in, learned the way AWS itself ties the two: `sts:AssumeRole`
//! names the account in its `RoleArn`, its answer carries the session's `AccessKeyId`, and every later
//! request made with that session carries the key in its SigV4 `Authorization` header
//! (`Credential=<AccessKeyId>/<date>/<region>/<service>/aws4_request`). The proxy reads both ends of each
//! `AssumeRole` it forwards, so a test can fault one member account's own calls
//! ([`FaultProxy::set_account_plan`](super::FaultProxy::set_account_plan)) however many sessions the
//! code under test opens.
//!
//! Specs: <https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html> (request and answer)
//! and <https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html> (the
//! `Authorization` header).

use std::collections::HashMap;

use super::protocol::{Call, Protocol, form_field, header_value};

/// The operation that opens a session in another account.
pub const ASSUME_ROLE: &str = "AssumeRole";

/// Access key ids of assumed-role sessions, by the account each acts in.
#[derive(Debug, Default)]
pub(crate) struct Sessions {
    accounts: HashMap<String, String>,
}

impl Sessions {
    /// The account `call` acts in: for `AssumeRole`, the account of its `RoleArn` (the way into it);
    /// otherwise the account of the session it is signed with, when that session was seen opening.
    pub(crate) fn account_of(
        &self,
        call: &Call,
        headers: &[(String, String)],
        body: &[u8],
    ) -> Option<String> {
        if call.protocol == Protocol::AwsQuery && call.operation == ASSUME_ROLE {
            return form_field(body, "RoleArn").and_then(|arn| account_of_arn(&arn).map(str::to_owned));
        }
        let key = signing_key(headers)?;
        self.accounts.get(key).cloned()
    }

    /// Learns the session an `AssumeRole` into `account` answered with (`answer`: the raw HTTP response).
    pub(crate) fn learn(&mut self, call: &Call, account: Option<&str>, answer: &[u8]) {
        if call.operation != ASSUME_ROLE {
            return;
        }
        if let (Some(account), Some(key)) = (account, issued_key(answer)) {
            self.accounts.insert(key, account.to_owned());
        }
    }
}

/// `arn:aws:iam::<account>:role/<name>` → the account.
fn account_of_arn(arn: &str) -> Option<&str> {
    arn.split(':').nth(4).filter(|a| !a.is_empty())
}

/// The access key id in a SigV4 `Authorization` header.
fn signing_key(headers: &[(String, String)]) -> Option<&str> {
    let auth = header_value(headers, "authorization")?;
    let (_, credential) = auth.split_once("Credential=")?;
    credential.split('/').next().filter(|k| !k.is_empty())
}

/// The `<AccessKeyId>` of an `AssumeRole` answer (awsQuery XML), anywhere in the raw response.
fn issued_key(answer: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(answer);
    let (_, rest) = text.split_once("<AccessKeyId>")?;
    let (key, _) = rest.split_once("</AccessKeyId>")?;
    Some(key.trim().to_owned()).filter(|k| !k.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn a_session_is_tied_to_the_account_of_the_role_that_opened_it() {
        let mut sessions = Sessions::default();
        let assume = Call {
            protocol: Protocol::AwsQuery,
            operation: ASSUME_ROLE.into(),
        };
        let form = h(&[("content-type", "application/x-www-form-urlencoded")]);
        let body = b"Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A444444444444%3Arole%2Fgov&RoleSessionName=s";
        let account = sessions.account_of(&assume, &form, body);
        assert_eq!(account.as_deref(), Some("444444444444"));
        let answer = b"HTTP/1.1 200 OK\r\ncontent-length: 9\r\n\r\n<AssumeRoleResponse><AssumeRoleResult><Credentials>\
            <AccessKeyId>ASIAFAULTPROXY0001</AccessKeyId><SecretAccessKey>x</SecretAccessKey></Credentials>";
        sessions.learn(&assume, account.as_deref(), answer);

        let budgets = Call {
            protocol: Protocol::AwsJson { version: "1.1" },
            operation: "DescribeBudgets".into(),
        };
        let signed = |key: &str| {
            h(&[(
                "authorization",
                &format!(
                    "AWS4-HMAC-SHA256 Credential={key}/20261203/us-east-1/budgets/aws4_request, \
                     SignedHeaders=host;x-amz-date, Signature=abc"
                ),
            )])
        };
        assert_eq!(
            sessions
                .account_of(&budgets, &signed("ASIAFAULTPROXY0001"), b"{}")
                .as_deref(),
            Some("444444444444")
        );
        // The management account's own key, and an unsigned request: no member account.
        assert_eq!(sessions.account_of(&budgets, &signed("testing"), b"{}"), None);
        assert_eq!(sessions.account_of(&budgets, &[], b"{}"), None);
        // A refused AssumeRole teaches nothing.
        sessions.learn(
            &assume,
            Some("555555555555"),
            b"HTTP/1.1 403 Forbidden\r\n\r\n<Code>AccessDenied</Code>",
        );
        assert_eq!(sessions.accounts.len(), 1);
    }
}

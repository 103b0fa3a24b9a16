//! The deployed ids of a spec's HTTP APIs, read from API Gateway.
//!
//! API Gateway makes an API's id when it creates the API, so a spec's `[[http_apis]].id` can only be a
//! placeholder; an alarm or widget on a placeholder `ApiId` watches an API that does not exist and never
//! fires ("CloudWatch matches dimension sets exactly"). Where Terraform deploys the publisher it hands
//! the ids over (`HTTP_API_IDS`, [`super::lambda::apply_api_ids`]); the organisation pass publishes in
//! member accounts Terraform never told it about, so it reads them there: `GetApis`
//! (`apigateway:GET` on `/apis`), every page, and each spec API takes the id of the account's one HTTP
//! API of its name.

use aws_error::AwsCallError;
use platform_spec::PlatformSpec;

/// Most `GetApis` pages read (500 APIs each): an account holds at most 600 HTTP APIs by default.
const MAX_PAGES: usize = 20;

/// Puts the deployed id of each of `spec`'s HTTP APIs in place of the spec's, found by name among the
/// account's HTTP APIs. Returns what could not be resolved, one line per API (its alarms and widgets
/// keep the spec's id): not in the account, or named by several HTTP APIs (unless the spec's id is one
/// of them). No call is made for a spec without HTTP APIs.
///
/// # Errors
/// The APIs could not be read (no `apigateway:GET`, throttled past the retries, a timeout): nothing
/// must then be published from `spec`, whose API alarms and widgets would go back to the placeholder
/// ids — alarms on an `ApiId` that never has data, in place of the working ones.
pub async fn resolve_api_ids(
    client: &aws_sdk_apigatewayv2::Client,
    spec: &mut PlatformSpec,
) -> Result<Vec<String>, AwsCallError> {
    if spec.http_apis.is_empty() {
        return Ok(Vec::new());
    }
    let deployed = http_apis(client).await?;
    Ok(apply_deployed(spec, &deployed))
}

/// Every HTTP API in the account: `(name, id)`.
async fn http_apis(client: &aws_sdk_apigatewayv2::Client) -> Result<Vec<(String, String)>, AwsCallError> {
    let mut apis = Vec::new();
    let mut token: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let page = client
            .get_apis()
            .max_results("500")
            .set_next_token(token.take())
            .send()
            .await
            .map_err(AwsCallError::of("ApiGatewayV2", "GetApis"))?;
        apis.extend(page.items().iter().filter_map(|a| {
            let http = a.protocol_type() == Some(&aws_sdk_apigatewayv2::types::ProtocolType::Http);
            Some((a.name()?.to_owned(), a.api_id()?.to_owned())).filter(|_| http)
        }));
        token = page.next_token().filter(|t| !t.is_empty()).map(str::to_owned);
        if token.is_none() {
            break;
        }
    }
    Ok(apis)
}

/// The resolution itself, on the account's HTTP APIs `deployed` (`(name, id)`): see [`resolve_api_ids`].
fn apply_deployed(spec: &mut PlatformSpec, deployed: &[(String, String)]) -> Vec<String> {
    let mut unresolved = Vec::new();
    for api in &mut spec.http_apis {
        let ids: Vec<&str> = deployed
            .iter()
            .filter(|(name, _)| *name == api.name)
            .map(|(_, id)| id.as_str())
            .collect();
        match ids.as_slice() {
            [id] => api.id = (*id).to_owned(),
            [] => unresolved.push(format!(
                "HTTP API {:?} is not in the account: its alarms and widgets keep the spec's id {:?}",
                api.name, api.id
            )),
            several if several.contains(&api.id.as_str()) => {}
            several => unresolved.push(format!(
                "{} HTTP APIs are named {:?} ({}): its alarms and widgets keep the spec's id {:?}",
                several.len(),
                api.name,
                several.join(", "),
                api.id
            )),
        }
    }
    unresolved
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deployed(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(n, i)| ((*n).to_owned(), (*i).to_owned()))
            .collect()
    }

    #[test]
    fn each_api_takes_the_id_of_the_one_http_api_of_its_name() {
        let mut spec = crate::test_support::prod_spec();
        let name = spec.http_apis[0].name.clone();
        let placeholder = spec.http_apis[0].id.clone();
        let other = deployed(&[("someone-else", "zzzzzzzzzz")]);
        let missing = apply_deployed(&mut spec, &other);
        assert_eq!(spec.http_apis[0].id, placeholder);
        assert_eq!(missing.len(), 1);
        assert!(
            missing[0].contains(&name) && missing[0].contains("not in the account"),
            "{missing:?}"
        );

        let both = deployed(&[("someone-else", "zzzzzzzzzz"), (&name, "a1b2c3d4e5")]);
        assert!(apply_deployed(&mut spec, &both).is_empty());
        assert_eq!(spec.http_apis[0].id, "a1b2c3d4e5");
    }

    /// A client of API Gateway answering through `http`.
    fn replayed(http: aws_smithy_http_client::test_util::StaticReplayClient) -> aws_sdk_apigatewayv2::Client {
        use aws_sdk_apigatewayv2::config;
        aws_sdk_apigatewayv2::Client::from_conf(
            config::Config::builder()
                .behavior_version(config::BehaviorVersion::latest())
                .region(config::Region::new("us-east-1"))
                .credentials_provider(config::Credentials::new("AKIDTEST", "secret", None, None, "test"))
                .retry_config(config::retry::RetryConfig::disabled())
                .http_client(http)
                .build(),
        )
    }

    /// One `GetApis` answer: `status` and a JSON body.
    fn get_apis_answer(status: u16, body: &str) -> aws_smithy_http_client::test_util::ReplayEvent {
        use aws_smithy_types::body::SdkBody;
        let mut response = http::Response::builder()
            .status(status)
            .header("content-type", "application/json");
        if status == 403 {
            response = response.header("x-amzn-errortype", "AccessDeniedException");
        }
        aws_smithy_http_client::test_util::ReplayEvent::new(
            http::Request::builder()
                .uri("https://apigateway.us-east-1.amazonaws.com/v2/apis")
                .body(SdkBody::empty())
                .unwrap(),
            response.body(SdkBody::from(body.to_owned())).unwrap(),
        )
    }

    /// A role without `apigateway:GET`: an error naming the call (the caller publishes nothing), the
    /// spec's ids untouched.
    #[tokio::test]
    async fn apis_that_cannot_be_read_are_an_error_naming_the_call() {
        let client = replayed(aws_smithy_http_client::test_util::StaticReplayClient::new(vec![
            get_apis_answer(
                403,
                r#"{"message":"User is not authorized to perform: apigateway:GET"}"#,
            ),
        ]));
        let mut spec = crate::test_support::prod_spec();
        let placeholder = spec.http_apis[0].id.clone();
        let e = resolve_api_ids(&client, &mut spec).await.unwrap_err();
        assert_eq!(spec.http_apis[0].id, placeholder);
        assert!(e.to_string().contains("GetApis"), "{e}");
    }

    /// An endpoint that always answers with a next page is read at most [`MAX_PAGES`] times, and what
    /// those pages hold is used.
    #[tokio::test]
    async fn an_endless_listing_stops_at_the_page_bound() {
        let mut spec = crate::test_support::prod_spec();
        let name = spec.http_apis[0].name.clone();
        let page = |i: usize| {
            let item = if i == 0 {
                format!(r#"{{"name":"{name}","apiId":"a1b2c3d4e5","protocolType":"HTTP"}}"#)
            } else {
                format!(
                    r#"{{"name":"other-{i}","apiId":"zzzzzzzzz{}","protocolType":"HTTP"}}"#,
                    i % 10
                )
            };
            get_apis_answer(200, &format!(r#"{{"items":[{item}],"nextToken":"t{i}"}}"#))
        };
        let http = aws_smithy_http_client::test_util::StaticReplayClient::new(
            (0..MAX_PAGES + 5).map(page).collect(),
        );
        assert!(
            resolve_api_ids(&replayed(http.clone()), &mut spec)
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(spec.http_apis[0].id, "a1b2c3d4e5");
        assert_eq!(http.actual_requests().count(), MAX_PAGES);
    }

    #[test]
    fn a_name_several_apis_share_is_never_guessed() {
        let mut spec = crate::test_support::prod_spec();
        let name = spec.http_apis[0].name.clone();
        let placeholder = spec.http_apis[0].id.clone();
        let twice = deployed(&[(&name, "a1b2c3d4e5"), (&name, "f6g7h8i9j0")]);
        let why = apply_deployed(&mut spec, &twice);
        assert_eq!(spec.http_apis[0].id, placeholder);
        assert!(
            why[0].contains("2 HTTP APIs") && why[0].contains("a1b2c3d4e5, f6g7h8i9j0"),
            "{why:?}"
        );
        // Unless the spec already names one of them.
        spec.http_apis[0].id = "f6g7h8i9j0".into();
        assert!(apply_deployed(&mut spec, &twice).is_empty());
        assert_eq!(spec.http_apis[0].id, "f6g7h8i9j0");
    }
}

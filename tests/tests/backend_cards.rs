//! Card CRUD handlers against DynamoDB in the emulator: create/get/list/delete, pagination with the
//! opaque cursor, no cross-user access, 400/404 answers, nothing half-written.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod backend_support;

use aws_sdk_dynamodb::types::AttributeValue;
use backend::{cards_create, cards_delete, cards_get, cards_list};
use backend_support::*;
use collectiq_tests::TestEnv;

async fn create(env: &TestEnv, sub: &str, name: &str) -> String {
    put_upload(env, &upload_key(sub, name)).await;
    let deps = &create_deps(env);
    let r = cards_create::handler(
        lambda_event(api_event(
            "apigw_v2_cards_create.json",
            sub,
            Some(new_card(sub, name)),
            None,
        )),
        deps,
    )
    .await
    .unwrap();
    assert_eq!(r.status_code, 201, "{:?}", r.body);
    body_json(&r)["cardId"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn create_get_list_delete_round_trip() {
    let env = TestEnv::start().await;
    create_table(&env.clients.dynamodb).await;
    create_upload_bucket(&env).await;
    let deps = cards_deps(&env);

    let mut ids = Vec::new();
    for name in ["Charizard", "Blastoise", "Venusaur"] {
        ids.push(create(&env, ALICE, name).await);
        tokio::time::sleep(std::time::Duration::from_millis(5)).await; // distinct createdAt
    }
    create(&env, BOB, "Pikachu").await;

    // the stored item has the keys and index attributes of the single-table design
    let item = env
        .clients
        .dynamodb
        .get_item()
        .table_name(TABLE)
        .key("PK", AttributeValue::S(format!("USER#{ALICE}")))
        .key("SK", AttributeValue::S(format!("CARD#{}", ids[0])))
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    assert_eq!(item["userId"].as_s().unwrap(), ALICE);
    assert_eq!(item["status"].as_s().unwrap(), "CREATED");
    assert!(item["createdAt"].as_s().unwrap().ends_with('Z'));

    // get: mine → 200, unknown → 404, Bob asking for mine → 404, not a UUID → 400 naming `id`
    let get = |sub: &str, id: &str| {
        cards_get::handler(
            lambda_event(api_event("apigw_v2_cards_get.json", sub, None, Some(id))),
            &deps,
        )
    };
    let r = get(ALICE, &ids[0]).await.unwrap();
    assert_eq!(r.status_code, 200);
    let card = body_json(&r);
    assert_eq!(
        (
            card["name"].as_str(),
            card["status"].as_str(),
            card["year"].as_u64()
        ),
        (Some("Charizard"), Some("CREATED"), Some(1999))
    );
    assert!(card.get("userId").is_none(), "the sub is not echoed");
    assert_eq!(
        get(ALICE, "3f1c9a52-8d1e-4b7a-9c2d-5e6f7a8b9c0d")
            .await
            .unwrap()
            .status_code,
        404
    );
    assert_eq!(get(BOB, &ids[0]).await.unwrap().status_code, 404);
    let bad = get(ALICE, "not-a-uuid").await.unwrap();
    assert_eq!(bad.status_code, 400);
    assert_eq!(body_json(&bad)["field"], "id");

    // list: newest first, two per page, cursor to the next page, only Alice's cards
    // (the fixture's own query is `limit=2`; `query` replaces it)
    let list = |sub: &str, query: &[(&str, &str)]| {
        let mut e = api_event("apigw_v2_cards_list.json", sub, None, None);
        if !query.is_empty() {
            e = with_query(e, query);
        }
        cards_list::handler(lambda_event(e), &deps)
    };
    // (the body is an array of cards, seed 001's smoke test; the next page is a `Link` header)
    let names = |page: &backend::http::Response| -> Vec<String> {
        body_json(page)
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap().to_owned())
            .collect()
    };
    // The cursor the page's `Link` names for pages of `limit`; `None` without a `Link`.
    let next_cursor = |page: &backend::http::Response, limit: &str| -> Option<String> {
        let link = page.headers.get("link")?.to_str().unwrap();
        let cursor = link
            .strip_prefix(&format!("<?limit={limit}&cursor="))
            .and_then(|l| l.strip_suffix(">; rel=\"next\""))
            .unwrap_or_else(|| panic!("not a next-page link: {link}"));
        Some(cursor.to_owned())
    };
    let page1 = list(ALICE, &[]).await.unwrap();
    assert_eq!(names(&page1), ["Venusaur", "Blastoise"]);
    let cursor = next_cursor(&page1, "2").expect("a next page");
    let page2 = list(ALICE, &[("limit", "2"), ("cursor", &cursor)]).await.unwrap();
    assert_eq!(names(&page2), ["Charizard"]);
    assert!(
        !page2.headers.contains_key("link"),
        "the last page names no next page"
    );
    // A page that ends the list exactly is the last one too (no link to an empty page). Behaviour
    // only: moto answers a LastEvaluatedKey only when another item exists, so this holds with or
    // without the extra card the query reads; `store::list_tests` pins DynamoDB's own semantics.
    let exact = list(ALICE, &[("limit", "3")]).await.unwrap();
    assert_eq!(names(&exact), ["Venusaur", "Blastoise", "Charizard"]);
    assert!(!exact.headers.contains_key("link"), "{:?}", exact.headers);
    // One short of the list: a next page, with the last card.
    let short = list(ALICE, &[("limit", "1")]).await.unwrap();
    assert_eq!(names(&short), ["Venusaur"]);
    // Following the links one card at a time reads every card once, in order.
    let mut seen = names(&short);
    let mut next = next_cursor(&short, "1");
    while let Some(c) = next {
        let page = list(ALICE, &[("limit", "1"), ("cursor", &c)]).await.unwrap();
        seen.extend(names(&page));
        next = next_cursor(&page, "1");
        assert!(seen.len() <= 3, "more pages than cards: {seen:?}");
    }
    assert_eq!(seen, ["Venusaur", "Blastoise", "Charizard"]);
    // A new user's list is an empty array.
    let empty = list("0c9b8a7d-6e5f-4a3b-8c2d-1e0f9a8b7c6d", &[]).await.unwrap();
    assert_eq!(
        (empty.status_code, body_json(&empty)),
        (200, serde_json::json!([]))
    );
    // Alice's cursor in Bob's hands is a 400 naming `cursor`
    let stolen = list(BOB, &[("limit", "2"), ("cursor", &cursor)]).await.unwrap();
    assert_eq!(stolen.status_code, 400);
    assert_eq!(body_json(&stolen)["field"], "cursor");

    // delete: the card and its price history go together; a second delete is 404
    env.clients
        .dynamodb
        .put_item()
        .table_name(TABLE)
        .item("PK", AttributeValue::S(format!("USER#{ALICE}")))
        .item(
            "SK",
            AttributeValue::S(format!("PRICE#2026-11-21T10:00:00.000Z#{}", ids[0])),
        )
        .item("cardId", AttributeValue::S(ids[0].clone()))
        .send()
        .await
        .unwrap();
    let delete = delete_deps(&env);
    let del = |sub: &str, id: &str| {
        cards_delete::handler(
            lambda_event(api_event("apigw_v2_cards_delete.json", sub, None, Some(id))),
            &delete,
        )
    };
    assert_eq!(
        del(BOB, &ids[0]).await.unwrap().status_code,
        404,
        "Bob cannot delete Alice's card"
    );
    assert_eq!(del(ALICE, &ids[0]).await.unwrap().status_code, 204);
    assert_eq!(del(ALICE, &ids[0]).await.unwrap().status_code, 404);
    let left = env
        .clients
        .dynamodb
        .query()
        .table_name(TABLE)
        .key_condition_expression("PK = :pk")
        .expression_attribute_values(":pk", AttributeValue::S(format!("USER#{ALICE}")))
        .send()
        .await
        .unwrap();
    let sks: Vec<&str> = left
        .items()
        .iter()
        .map(|i| i["SK"].as_s().unwrap().as_str())
        .collect();
    let (claims, cards): (Vec<&str>, Vec<&str>) = sks.iter().partition(|sk| sk.starts_with("IMAGE#"));
    assert_eq!(cards.len(), 2, "{sks:?}");
    assert!(
        cards
            .iter()
            .all(|sk| sk.starts_with("CARD#") && !sk.contains(&ids[0])),
        "{sks:?}"
    );
    // The deleted card's image claim went with it; the other two cards keep theirs.
    assert_eq!(claims.len(), 2, "{sks:?}");
    let charizard = format!("IMAGE#{}", upload_key(ALICE, "Charizard"));
    assert!(!claims.contains(&charizard.as_str()), "{sks:?}");
}

/// One upload, one card: a second card on the same image is a 409 naming the field and the card that
/// holds it (deleting either would otherwise delete the other's image); the same request again — a
/// client retrying after a lost answer — gets the first card back (200), not a duplicate; front and
/// back must differ; once the card is deleted, a new upload under that key can make a new card.
#[tokio::test]
async fn an_image_belongs_to_one_card() {
    let env = TestEnv::start().await;
    create_table(&env.clients.dynamodb).await;
    create_upload_bucket(&env).await;
    let deps = create_deps(&env);
    let post = |body: serde_json::Value| {
        cards_create::handler(
            lambda_event(api_event("apigw_v2_cards_create.json", ALICE, Some(body), None)),
            &deps,
        )
    };
    let key = upload_key(ALICE, "Mew");
    put_upload(&env, &key).await;
    let first = post(new_card(ALICE, "Mew")).await.unwrap();
    assert_eq!(first.status_code, 201, "{:?}", first.body);
    let id = body_json(&first)["cardId"].as_str().unwrap().to_owned();

    let again = post(new_card(ALICE, "Mew")).await.unwrap();
    assert_eq!(
        again.status_code, 200,
        "a replay answers with the card: {:?}",
        again.body
    );
    assert_eq!(body_json(&again)["cardId"], id.as_str());

    let mut other = new_card(ALICE, "Mew");
    other["name"] = "Mewtwo".into();
    let taken = post(other).await.unwrap();
    assert_eq!(taken.status_code, 409, "{:?}", taken.body);
    let text = taken.body.as_ref().map(|b| format!("{b:?}")).unwrap_or_default();
    assert!(text.contains("frontS3Key") && text.contains(&id), "{text}");

    let mut same_both = new_card(ALICE, "Mew");
    same_both["backS3Key"] = key.clone().into();
    let both = post(same_both).await.unwrap();
    assert_eq!(both.status_code, 400);
    assert_eq!(body_json(&both)["field"], "backS3Key");

    // Exactly one card was made.
    let cards = env
        .clients
        .dynamodb
        .query()
        .table_name(TABLE)
        .key_condition_expression("PK = :pk AND begins_with(SK, :card)")
        .expression_attribute_values(":pk", AttributeValue::S(format!("USER#{ALICE}")))
        .expression_attribute_values(":card", AttributeValue::S("CARD#".into()))
        .send()
        .await
        .unwrap();
    assert_eq!(cards.items().len(), 1);
    // The claim is not a card: the list shows one.
    let listed = cards_list::handler(
        lambda_event(api_event("apigw_v2_cards_list.json", ALICE, None, None)),
        &cards_deps(&env),
    )
    .await
    .unwrap();
    assert_eq!(body_json(&listed).as_array().unwrap().len(), 1);

    let del = cards_delete::handler(
        lambda_event(api_event("apigw_v2_cards_delete.json", ALICE, None, Some(&id))),
        &delete_deps(&env),
    )
    .await
    .unwrap();
    assert_eq!(del.status_code, 204);
    put_upload(&env, &key).await;
    let fresh = post(new_card(ALICE, "Mew")).await.unwrap();
    assert_eq!(fresh.status_code, 201, "{:?}", fresh.body);
    assert_ne!(body_json(&fresh)["cardId"], id.as_str());
}

#[tokio::test]
async fn bad_bodies_are_400s_naming_the_field_and_write_nothing() {
    let env = TestEnv::start().await;
    create_table(&env.clients.dynamodb).await;
    let deps = create_deps(&env);
    let cases = [
        (
            serde_json::json!({"year": 1999, "frontS3Key": format!("uploads/{ALICE}/a.jpg")}),
            "name",
        ),
        (
            serde_json::json!({"name": "x", "year": "old", "frontS3Key": format!("uploads/{ALICE}/a.jpg")}),
            "year",
        ),
        (
            serde_json::json!({"name": "x", "frontS3Key": format!("uploads/{BOB}/a.jpg")}),
            "frontS3Key",
        ),
        (
            serde_json::json!({"name": "x", "frontS3Key": format!("uploads/{ALICE}/a.jpg"), "price": 1}),
            "body",
        ),
    ];
    for (body, field) in cases {
        let r = cards_create::handler(
            lambda_event(api_event(
                "apigw_v2_cards_create.json",
                ALICE,
                Some(body.clone()),
                None,
            )),
            &deps,
        )
        .await
        .unwrap();
        assert_eq!(r.status_code, 400, "{body}");
        let b = body_json(&r);
        assert_eq!(b["error"], "Validation");
        if field != "body" {
            assert_eq!(b["field"], field, "{body}");
        }
    }
    let mut no_auth = api_event("apigw_v2_cards_create.json", ALICE, None, None);
    no_auth.request_context.authorizer = None;
    assert_eq!(
        cards_create::handler(lambda_event(no_auth), &deps)
            .await
            .unwrap()
            .status_code,
        401
    );
    let scan = env
        .clients
        .dynamodb
        .scan()
        .table_name(TABLE)
        .send()
        .await
        .unwrap();
    assert_eq!(scan.count(), 0, "nothing written");
}

#[tokio::test]
async fn a_missing_table_is_a_server_error_not_a_4xx() {
    let env = TestEnv::start().await;
    let deps = cards_deps(&env); // table never created
    let e = cards_get::handler(
        lambda_event(api_event(
            "apigw_v2_cards_get.json",
            ALICE,
            None,
            Some("3f1c9a52-8d1e-4b7a-9c2d-5e6f7a8b9c0d"),
        )),
        &deps,
    )
    .await
    .unwrap_err();
    assert!(matches!(e, backend::HandlerError::Internal(_)), "{e:?}");
    let d: lambda_runtime::Diagnostic = e.into();
    assert_eq!(d.error_type, "Internal");
}

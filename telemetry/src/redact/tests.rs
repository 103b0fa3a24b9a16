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
    // The scheme word used as the key.
    ("Bearer: SECRETBEARERKEY", "SECRETBEARERKEY"),
    ("headers bearer=SECRETBEARER2 sent", "SECRETBEARER2"),
    (r#"{"bearer": "SECRETBEARER3"}"#, "SECRETBEARER3"),
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
    (
        "the key is wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY.",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    ),
    (
        "aws_secret_access_key=/JalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKE/",
        "/JalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKE/",
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
    ("maestro 6759649826438453 ok", "6759649826438453"),
    ("maestro 6799990100000000019", "6799990100000000019"),
    ("maestro 5018 0000 0000 0009", "5018 0000 0000 0009"),
    ("mir 2200 0000 0000 0004", "2200 0000 0000 0004"),
    ("rupay 6062826786276634", "6062826786276634"),
    ("card 4111.1111.1111.1111.", "4111.1111.1111.1111"),
    ("card 4111  1111  1111  1111 charged", "4111  1111  1111  1111"),
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
    ("passphrase = correct horse battery", "correct horse battery"),
    ("ssn: 078-05-1120", "078-05-1120"),
    // API Gateway REST `multiValueHeaders`: arrays under a denied key (audit R1).
    (MULTI_VALUE_HEADERS, "sk_live_abc"),
    (MULTI_VALUE_HEADERS, "S3SS10N"),
    (r#"{"password": ["a1b2c3","d4e5f6"]}"#, "a1b2c3 d4e5f6"),
    (r#"{"password":{"new":"n3w-pw","old":"0ld-pw"}}"#, "n3w-pw 0ld-pw"),
    (
        r#"{"api_key":[[["k-nested-1"]],{"k":"k-nested-2"}]}"#,
        "k-nested-1 k-nested-2",
    ),
    (r#"{\"Authorization\":[\"Bearer abc123xyz\"]}"#, "abc123xyz"),
    (r#"{"client_secret": [12345678, 87654321]}"#, "12345678 87654321"),
    // HTTP API payload 2.0 `cookies` (R2).
    (
        r#"{"version":"2.0","cookies":["sid=S3SS10N","theme=dark"]}"#,
        "S3SS10N",
    ),
    ("cookies: sid=S3SS10N; theme=dark", "S3SS10N"),
    ("setcookie=sid-S3SS10N", "sid-S3SS10N"),
    // Key forms (R4).
    ("user[password]=hunter2&x=1", "hunter2"),
    ("user%5Bpassword%5D=hunter2&x=1", "hunter2"),
    (r#"{"password" => "hunter2"}"#, "hunter2"),
    ("password => hunter2", "hunter2"),
    (
        r#""body":"{\"Message\":\"{\\\"password\\\":\\\"hunter2\\\"}\"}""#,
        "hunter2",
    ),
    // Multi-word values (R5).
    (
        "calling upstream authorization=Bearer opaque-7f3a9c",
        "opaque-7f3a9c",
    ),
    ("auth_token=Bearer opaque-7f3a9c retry=1", "opaque-7f3a9c"),
    (
        "password: correct horse battery user=bob",
        "correct horse battery",
    ),
    // Card fields by name (R6).
    ("card cvv=737 ok", "737"),
    (r#"{"cvc":"4242","cvv2":"1234"}"#, "4242"),
    (r#"{"cvc":"4242","cvv2":"1234"}"#, "1234"),
    ("card_pan=tok-4242-x", "tok-4242-x"),
    (r#"{"cardNumber":"tok-91e2aa"}"#, "tok-91e2aa"),
    // Token formats (R7).
    (
        PEM,
        "MIIEowIBAAKCAQEA0Z3VS5JJcds3xfn/ygWyF8PbnGy0AHB7MhgHcTz6sE2I2yPB",
    ),
    (
        PEM,
        "aFDrBz9vFqU4yMvwyGSRbnbt35VBCsdFdKbrtZ1OWTuO3uh+PqsSWpbzjyQlnzvR",
    ),
    (
        r#"{"key":"-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmU\n-----END OPENSSH PRIVATE KEY-----"}"#,
        "b3BlbnNzaC1rZXktdjEAAAAABG5vbmU",
    ),
    (
        "truncated -----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIIrYSSNQFaA2Hwf1du",
        "MHcCAQEEIIrYSSNQFaA2Hwf1du",
    ),
    (
        "git clone with ghp_16C7e42F292c6912E7710c838347Ae178B4a ok",
        "ghp_16C7e42F292c6912E7710c838347Ae178B4a",
    ),
    (
        "oauth gho_16C7e42F292c6912E7710c838347Ae178B4aZZ",
        "16C7e42F292c6912E7710c838347Ae178B4aZZ",
    ),
    (
        "slack xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx sent",
        "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
    ),
    (
        "stripe sk_live_4eC39HqLyjWDarjtT1zdp7dc",
        "4eC39HqLyjWDarjtT1zdp7dc",
    ),
    (
        "stripe sk_test_4eC39HqLyjWDarjtT1zdp7dc",
        "4eC39HqLyjWDarjtT1zdp7dc",
    ),
    (
        "restricted rk_live_51H8mXeAbCdEfGhIjKlMnOp",
        "51H8mXeAbCdEfGhIjKlMnOp",
    ),
    (
        "maps AIzaSyDdI0hCZtE6vySjMm-WEfRq3CPzqKqqsHI loaded",
        "AIzaSyDdI0hCZtE6vySjMm-WEfRq3CPzqKqqsHI",
    ),
    ("dsn postgres://app:s3cret@10.0.0.5:5432/db", "s3cret"),
    ("cache redis://:pw-9f8e@cache:6379/0", "pw-9f8e"),
    ("broker amqp://guest:gu3st-pw@rabbitmq/vhost", "gu3st-pw"),
    ("db mysql://root:p@ss:w0rd@db.internal:3306", "p@ss:w0rd"),
    // A quoted value that is itself a key (found by the fuzz target).
    (
        r#""bodypassphrase "=  "token":"Zq9PlantedSecretValue7"#,
        "Zq9PlantedSecretValue7",
    ),
    (r#"password = "token": "abc-secret-1""#, "abc-secret-1"),
    (
        "post token%3D api_key: Zq9PlantedSecretValue7",
        "Zq9PlantedSecretValue7",
    ),
    // Rust `Debug` of a config struct.
    (
        r#"Credentials { access_key_id: "AKIDEXAMPLE", session_token: Some("FQoGZXIvYXdzEXAMPLE"), expiry: None }"#,
        "FQoGZXIvYXdzEXAMPLE",
    ),
    // Tokens right after a percent-escape or a JSON escape.
    (
        "q=%22eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U%22",
        "dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
    ),
    (
        r#"{"msg":"line1\neyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"}"#,
        "dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
    ),
    (
        "msg=hello%20ghp_16C7e42F292c6912E7710c838347Ae178B4a",
        "16C7e42F292c6912E7710c838347Ae178B4a",
    ),
    ("creds%3DAKIAIOSFODNN7EXAMPLE", "AKIAIOSFODNN7EXAMPLE"),
    (
        r#"{"csv":"Access key ID,Secret\nAKIAIOSFODNN7EXAMPLE,x"}"#,
        "AKIAIOSFODNN7EXAMPLE",
    ),
    // JSON form-encoded, a blank written `+` (Python's `urlencode(json.dumps(…))`, Java's `URLEncoder`).
    ("q=%7B%22password%22%3A+%22hunter2%22%7D", "hunter2"),
    ("data=%7B%22api_key%22%3A+%22ak-77e1c2%22%7D", "ak-77e1c2"),
    // Rust `Debug` of newtypes around a secret, and of an `Option` of one.
    (
        r#"Config { api_key: ApiKey("k-123abc"), region: "eu-west-1" }"#,
        "k-123abc",
    ),
    (r#"db_password: Password("hunter2")"#, "hunter2"),
    (r#"token: Some(Token("tok-9f8e7d"))"#, "tok-9f8e7d"),
    (
        r#"Settings { client_secret: Some(secrecy::SecretString(Box("cs-8a7b6c"))) }"#,
        "cs-8a7b6c",
    ),
    // Header values holding quotes of their own (RFC 6265 cookie values, RFC 7616 Digest).
    (r#"Cookie: theme="dark"; session=abc123secret"#, "abc123secret"),
    (r#"Set-Cookie: sid="s3cr3t-value"; HttpOnly"#, "s3cr3t-value"),
    (
        r#"Authorization: Digest username="bob", response="6629fae49393a05397450978507c4ef1""#,
        "6629fae49393a05397450978507c4ef1",
    ),
    // Unquoted values starting with or holding punctuation.
    ("password=#hunter2", "hunter2"),
    ("password=<hunter2>", "hunter2"),
    ("password=;hunter2", "hunter2"),
    ("api_key=,abc123", "abc123"),
    (r"secret=\abc123", "abc123"),
    ("password=p;ss", "p;ss"),
    // A webhook URL without its scheme.
    (
        "posting to hooks.slack.com/services/T0AAA/B0BBB/abcdefghijklmnop now",
        "abcdefghijklmnop",
    ),
    // A field named like a header ending is not a header; its value still goes.
    (
        r#"Config { api_key: None, region: "eu-west-1", retries: 3 }"#,
        "None",
    ),
    ("api_key: None", "None"),
    // `&`/`;` before another `key=` end a value; the value before them still goes.
    (
        "client_secret=abc&grant_type=client_credentials&scope=read",
        "abc",
    ),
    ("rawQueryString=token=abc&page=2&sort=asc", "abc"),
    (
        "https://app.example.com/callback#access_token=eyJabc&state=xyz&expires_in=3600",
        "eyJabc",
    ),
    ("Password=hunter2;Encrypt=True;Connection Timeout=30", "hunter2"),
    ("X-Amz-Signature=abcdef&X-Amz-Date=20261205T000000Z", "abcdef"),
    ("password=;x", ";x"),
    ("password=p;ss user=bob", "p;ss"),
    // A header after an unmatched quote on its line runs to the end of the line.
    (r#"he wrote "hello Cookie: theme="dark"; session=abc"#, "abc"),
    (r#"size 5" tv; Cookie: theme="dark"; session=abc"#, "abc"),
    (
        r#"he said "Authorization: Digest username="bob", response="6629fae49393a05397450978507c4ef1""#,
        "6629fae49393a05397450978507c4ef1",
    ),
    (r#"{"msg":"Cookie: a=b","x":1}"#, "a=b"),
    // A header after an escaped line break (`\r\nCookie:` reads as the word `nCookie`).
    (
        r#"read buf=b"GET / HTTP/1.1\r\nHost: api\r\nCookie: theme=dark; sid=s3cr3tSess\r\n\r\n""#,
        "s3cr3tSess",
    ),
    (
        r#"{"raw":"GET / HTTP/1.1\r\nAuthorization: Digest username=\"bob\", response=\"secret1\"\r\n","n":1}"#,
        "secret1",
    ),
    (
        r#"{"raw":"HTTP/1.1 200 OK\r\nSet-Cookie: sid=secret1; Path=/; HttpOnly\r\n"}"#,
        "secret1",
    ),
    // Cookie values run over `;`/`&` and the pairs after them; renamed Authorization headers are
    // headers; a password's value ends only before a known parameter name.
    ("Cookies: a=b; session=xyz", "xyz"),
    ("session_cookie: a=b; sid=xyz", "xyz"),
    ("cookie=a=b;sid=xyz", "xyz"),
    (
        r#"x-amzn-remapped-authorization: Digest username="bob", response="6629fae4""#,
        "6629fae4",
    ),
    ("password=Xy7&Gh2=Kq9;Lm", "Xy7 Gh2 Kq9 Lm"),
    // A header in a quoted string, in formats with blanks around the punctuation.
    (r#"{ "msg" : "Cookie: sid=abc" }"#, "sid=abc"),
    (r#"Error { msg: "Cookie: sid=abc", code: 5 }"#, "sid=abc"),
    ("{ msg: 'Cookie: sid=abc', n: 1 }", "sid=abc"),
    // An authorization scheme's credential with no key in front.
    (
        "error: 401 (Bearer SECRETERRBEARER was rejected)",
        "SECRETERRBEARER",
    ),
    (r#"[("Authorization", "Bearer SECRETTUPLE2")]"#, "SECRETTUPLE2"),
    (
        r#"{"name":"Authorization","value":"Bearer SECRETHAR"}"#,
        "SECRETHAR",
    ),
    (r#"headers.set("Authorization", "Bearer SECRETJS3")"#, "SECRETJS3"),
    ("'authorization': b'Bearer SECRETBYTES'", "SECRETBYTES"),
    // `user:password`.
    (
        "retrying with basic dXNlcjpwYXNzd29yZA== now",
        "dXNlcjpwYXNzd29yZA",
    ),
    // ODBC, Azure Storage and SAS keys.
    ("Pwd=SECRETPWD;", "SECRETPWD"),
    ("Server=db;User Id=sa;Pwd=x7SECRET;", "x7SECRET"),
    (
        "DefaultEndpointsProtocol=https;AccountName=a;AccountKey=SECRETAZ+/k==;EndpointSuffix=core.windows.net",
        "SECRETAZ",
    ),
    (
        "https://a.blob.core.windows.net/c/b?sv=2022-11-02&sig=SECRETSIG%2B&se=2",
        "SECRETSIG",
    ),
    // A percent-encoded header runs over its encoded blanks.
    (
        "authorization%3A%20Bearer%20SECRETPCTH%0D%0AHost%3A%20x",
        "SECRETPCTH",
    ),
    // More token formats known by their prefix.
    (
        "git remote https://oauth2:glpat-SECRETGLxxxxxxxxxxxx@gitlab.com/x",
        "SECRETGL",
    ),
    ("runner glrt-SECRETRUNNERxx1234567 registered", "SECRETRUNNER"),
    (
        "//registry.npmjs.org/:_authToken npm_SECRETNPMaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        "SECRETNPM",
    ),
    ("hub hf_SECRETHFbbbbbbbbbbbbbbbbbbbbbbbbbb loaded", "SECRETHF"),
    (
        "claude sk-ant-api03-SECRETANTcccccccccccccccccccccccccc-dddd rejected",
        "SECRETANT",
    ),
    ("openai sk-proj-SECRETOAIeeeeeeeeeeeeeeeeeeeee_ffff", "SECRETOAI"),
    (
        "legacy sk-SECRETLEGACYgggggggggggggggggggggggggggggggggggg1",
        "SECRETLEGACY",
    ),
    (
        "mail SG.SECRETSG1234567890abcd.SECRETSGTAILhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhh ok",
        "SECRETSGTAIL",
    ),
    ("socket xapp-1-A0SECRETAPP-123456789-abcdef", "SECRETAPP"),
    (
        "twine pypi-AgEIcHlwaS5vcmcSECRETPYPIiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiii",
        "SECRETPYPI",
    ),
    (
        "notify https://discord.com/api/webhooks/123456789012345678/SECRETDISCORD-token_x ok",
        "SECRETDISCORD",
    ),
    ("discordapp.com/api/webhooks/1/SECRETDISCAPP", "SECRETDISCAPP"),
    // Secrets on a command line, in a shell's environment, OAuth codes and session ids.
    ("mysql --password hunter2SECRET --host db", "hunter2SECRET"),
    (r#"cli --api-key "SECRET QUOTED" --region eu"#, "SECRET QUOTED"),
    ("curl -u admin:SECRETCURL https://api", "SECRETCURL"),
    ("curl --user bob:SECRETUSER -X GET", "SECRETUSER"),
    ("export DB_PASS=SECRETDBPASS", "SECRETDBPASS"),
    ("GET /callback?code=SECRETOAUTHCODE&state=xyz", "SECRETOAUTHCODE"),
    ("JSESSIONID=SECRETJSESSION; Path=/", "SECRETJSESSION"),
    (r#"{"session_id":"SECRETSESSIONID"}"#, "SECRETSESSIONID"),
    ("Bearer AbCdEfGhIjKlMnOpQrStUv", "AbCdEfGhIjKlMnOpQrStUv"),
    // A secret passed as a name and a value: ECS task definitions, Kubernetes `env`, HAR headers.
    (
        r#"{"environment":[{"name":"DB_PASSWORD","value":"SECRETECSENV"}]}"#,
        "SECRETECSENV",
    ),
    (r#"[{"Name":"API_TOKEN","Value":"SECRETCFNENV"}]"#, "SECRETCFNENV"),
    // SSM GetParameter's answer: the parameter's path names it.
    (
        r#"{"Parameter":{"Name":"/prod/db/password","Type":"SecureString","Value":"SECRETSSMPARAM"}}"#,
        "SECRETSSMPARAM",
    ),
    (
        "env:\n- name: STRIPE_SECRET_KEY\n  value: SECRETK8SENV\n- name: REGION\n  value: eu-west-1",
        "SECRETK8SENV",
    ),
    (
        r#"{"headers":[{"name":"Authorization","value":"Bearer SECRETHARAUTH"},{"name":"Accept","value":"*/*"}]}"#,
        "SECRETHARAUTH",
    ),
    (
        r#"{"name": "Cookie", "value": "theme=dark; sid=SECRETHARCOOKIE"}"#,
        "SECRETHARCOOKIE",
    ),
    (
        r#"Header { name: "x-api-key", value: "SECRETDEBUGHDR" }"#,
        "SECRETDEBUGHDR",
    ),
    // A shell-quoted header, then the rest of the command.
    (
        "curl -H 'Authorization: Bearer SECRETCURLSQ' https://api.example.com/v1/cards -d x",
        "SECRETCURLSQ",
    ),
    (
        r#"curl -H "Authorization: Bearer SECRETCURLDQ" https://api.example.com/v1/cards"#,
        "SECRETCURLDQ",
    ),
    (
        r#"{"cmd":"curl -H \"Cookie: sid=SECRETCURLJSON\" https://a.example.com","n":1}"#,
        "SECRETCURLJSON",
    ),
    (
        "AWS4-HMAC-SHA256 Credential=AKIASECRETSIGV4/20261205/eu-west-1/s3/aws4_request,SignedHeaders=host;x-amz-date,Signature=abcdef0123",
        "AKIASECRETSIGV4",
    ),
    // Name/value pairs written value first (keys sorted).
    (
        r#"{"value":"SECRETVALUEFIRST","name":"DB_PASSWORD"}"#,
        "SECRETVALUEFIRST",
    ),
    (
        r#"[{"value":"eu-west-1","name":"REGION"},{"value":"SECRETVF2","name":"Authorization"}]"#,
        "SECRETVF2",
    ),
    // CloudFormation stack parameters (a NoEcho password in a CreateStack or DescribeStacks call a
    // deploy function logs): as JSON, the CLI's shorthand and the Rust SDK's `Debug`.
    (
        r#"{"Parameters":[{"ParameterKey":"DBPassword","ParameterValue":"SECRETCFN1"},{"ParameterKey":"Env","ParameterValue":"prod"}]}"#,
        "SECRETCFN1",
    ),
    (
        "--parameters ParameterKey=DBPassword,ParameterValue=SECRETCFN2 ParameterKey=Env,ParameterValue=prod",
        "SECRETCFN2",
    ),
    (
        r#"Parameter { parameter_key: Some("ApiToken"), parameter_value: Some("SECRETCFN3"), use_previous_value: None }"#,
        "SECRETCFN3",
    ),
    // `key` and `value`: a settings row, .NET's `appSettings`, an OpenTelemetry attribute in OTLP JSON.
    (r#"{"key":"smtp_password","value":"SECRETKV1"}"#, "SECRETKV1"),
    (r#"<add key="ApiKey" value="SECRETKV2" />"#, "SECRETKV2"),
    (r#"{"key":"db.pwd","value":"SECRETKV4"}"#, "SECRETKV4"),
    (
        r#"{"ParameterKey":"prod/DBPassword","ParameterValue":"SECRETKV5"}"#,
        "SECRETKV5",
    ),
    (
        r#"{"attributes":[{"key":"db.password","value":{"stringValue":"SECRETKV3"}},{"key":"http.method","value":{"stringValue":"GET"}}]}"#,
        "SECRETKV3",
    ),
    // Prose: the word after `<denied name> is|was` when it reads as a secret.
    ("the password is hunter2", "hunter2"),
    ("the password is hunter2, retrying", "hunter2"),
    ("password  is\thunter3 and token is: abc123def", "hunter3"),
    ("token is: abc123def", "abc123def"),
    ("the \"password\" was Summer2024!", "Summer2024!"),
    (
        "<ClientSecret>\n  <![CDATA[SECRETXML6]]>\n</ClientSecret>",
        "SECRETXML6",
    ),
    ("my API key was SK3yABCdef123.", "SK3yABCdef123"),
    ("DB password is \"correct horse\" now", "correct horse"),
    ("the secret was p@ssw0rd!", "p@ssw0rd"),
    // A plain word that is no state prose puts there.
    ("my password is correcthorse", "correcthorse"),
    ("the admin password was letmein, change it", "letmein"),
    ("the password is Dragon", "Dragon"),
    ("token was swordfish", "swordfish"),
    // XML elements the deny list names: SOAP's WS-Security password, CDATA, a nested key, any case.
    ("<password>SECRETXML1</password>", "SECRETXML1"),
    (
        r#"<wsse:Password Type="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordText">SECRETXML2</wsse:Password>"#,
        "SECRETXML2",
    ),
    (
        "<ClientSecret><![CDATA[SECRET<XML>3]]></ClientSecret>",
        "SECRET<XML>3",
    ),
    ("<config><apiKey>SECRETXML4</apiKey></config>", "SECRETXML4"),
    ("<AccessToken>\n  SECRETXML5\n</AccessToken>", "SECRETXML5"),
    (
        "<auth><password>SECRETXMLK</password><user>bob</user></auth>",
        "SECRETXMLK",
    ),
    // The same documents quoted: XML entities (a document inside XML or HTML), JSON's `\u003c`
    // escapes (Go's encoder lowercase, .NET's uppercase), and a document cut short.
    ("&lt;password&gt;SECRETXMLE1&lt;/password&gt;", "SECRETXMLE1"),
    (
        "&lt;wsse:Password Type=&quot;#PasswordText&quot;&gt;SECRETXMLE2&lt;/wsse:Password&gt;",
        "SECRETXMLE2",
    ),
    (
        r#"{"body":"\u003cauth\u003e\u003cpassword\u003eSECRETXMLJ1\u003c/password\u003e\u003c/auth\u003e"}"#,
        "SECRETXMLJ1",
    ),
    (
        r#"{"body":"\u003CClientSecret\u003E\u003C![CDATA[SECRET]]XMLJ2]]\u003E\u003C/ClientSecret\u003E"}"#,
        "SECRET]]XMLJ2",
    ),
    ("request body <password>SECRETXMLT1", "SECRETXMLT1"),
    ("body cut: <apiKey>\n  SECRETXMLT2\n", "SECRETXMLT2"),
    // Prose naming the secret a few words before the verb.
    ("the password for bob is hunter2", "hunter2"),
    ("the API key of the staging account was SK3yABCdef", "SK3yABCdef"),
    // Webhook URLs whose slashes are JSON escapes (PHP's `json_encode`) or percent-encoded (a URL
    // passed in a query).
    (
        r#"{"webhook":"https:\/\/hooks.slack.com\/services\/T0\/B0\/SECRETHOOKJ1"}"#,
        "SECRETHOOKJ1",
    ),
    (
        "?next=https%3A%2F%2Fhooks.slack.com%2Fservices%2FT0%2FB0%2FSECRETHOOKP1&x=1",
        "SECRETHOOKP1",
    ),
    (
        r#"{"u":"https:\/\/discord.com\/api\/webhooks\/123\/SECRETHOOKJ2"}"#,
        "SECRETHOOKJ2",
    ),
    // Card numbers in a form body or a URL: `+` or `%20` for the blanks, after an encoded `=`.
    ("number=4111+1111+1111+1111&x=1", "4111+1111+1111+1111"),
    (
        "number=5555%205555%205555%204444&x=1",
        "5555%205555%205555%204444",
    ),
    ("q=cc%3D4111111111111111%26x%3D1", "4111111111111111"),
    ("q=cc%3D4111%201111%201111%201111", "4111%201111%201111%201111"),
    // After an `=` or `?` encoded twice or more: a URL passed in another URL's query.
    ("q=cc%253D4111111111111111%2526x%253D1", "4111111111111111"),
    (
        "u=%2Fpay%253Fcard%253D4111%252D1111%252D1111%252D1111%2526x",
        "1111%252D1111",
    ),
    ("q=cc%25253D5555%2525205555%2525205555%2525204444", "4444"),
    // YAML values on the lines below the key: block scalars and indented plain scalars.
    (
        "db:\n  password: |\n    SECRETYAML1\n    SECRETYAML2\n  user: bob",
        "SECRETYAML",
    ),
    ("token: >-\r\n  SECRETYAML3\r\nnext: 1", "SECRETYAML3"),
    ("api_key:\n  SECRETYAML4\n", "SECRETYAML4"),
    // Groups a tab or a blank-set dash apart, as a pasted table or a printed form writes them.
    ("card\t4111\t1111\t1111\t1111\tok", "4111\t1111\t1111\t1111"),
    (
        "card: 5555 - 5555 - 5555 - 4444 (visa)",
        "5555 - 5555 - 5555 - 4444",
    ),
    // A secret's name in two words, as a label or a spreadsheet header writes it.
    ("API Key: SECRETPAIR1", "SECRETPAIR1"),
    (r#"{"Secret Access Key": "SECRETPAIR2"}"#, "SECRETPAIR2"),
    ("private key = SECRETPAIR3", "SECRETPAIR3"),
    // Headers as pairs: Python's and ASGI's header lists, Rust's `Debug` of a tuple.
    ("headers=[('Cookie', 'sid=SECRETTUPLE1')]", "SECRETTUPLE1"),
    ("[(b'cookie', b'sid=SECRETTUPLE2; theme=dark')]", "SECRETTUPLE2"),
    (r#"[("x-api-key", "SECRETTUPLE3")]"#, "SECRETTUPLE3"),
    // Slack refresh tokens.
    (
        "refreshed xoxe-1-My0xLTEyMzQ1Njc4OTAxMi0xMjM0NTY3ODkwMTIz",
        "My0xLTEyMzQ1Njc4OTAxMi0xMjM0NTY3ODkwMTIz",
    ),
    // Percent-encoded twice or three times: a URL passed in another URL's query (its `%` became
    // `%25`), at every level of delimiter.
    ("password%253DSECRETDBL1", "SECRETDBL1"),
    (
        "%2522password%2522%253A%2522SECRETDBL2%2522%252C%2522n%2522",
        "SECRETDBL2",
    ),
    (
        "?next=%252Fcb%253Ftoken%253DSECRETDBL3%2526page%253D2",
        "SECRETDBL3",
    ),
    ("q=api_key%25253DSECRETTRIPLE%252526x%25253D1", "SECRETTRIPLE"),
    // A value encoded twice ends at the URL around it too, encoded once; a value encoded once runs
    // over a delimiter encoded twice (part of its text).
    ("q=%3Fu%3D%253Fpassword%253DSECRETMIX%26page%3D2", "SECRETMIX"),
    ("token%3DSECRETAMP%2526SECRETTAIL%26x%3D1", "SECRETTAIL"),
    // `key` as a URL query parameter: Google's and many REST APIs' API key, in any case, and in a
    // URL encoded once or twice in another's query; `sig` and `code` the same way.
    (
        "GET https://maps.googleapis.com/maps/api/geocode/json?key=AIzaSyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY&address=x",
        "AIzaSyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY",
    ),
    ("GET /v1/search?q=card&key=SECRETQKEY1&page=2", "SECRETQKEY1"),
    ("https://api.example.com/v7?KEY=SECRETQKEY2", "SECRETQKEY2"),
    (
        "?redirect=https%3A%2F%2Fapi.example.com%2Fx%3Fkey%3DSECRETQKEY3%26q%3D1",
        "SECRETQKEY3",
    ),
    ("?u=%252Fx%253Fkey%253DSECRETQKEY4%2526q%253D1", "SECRETQKEY4"),
    (
        "?u=https%3A%2F%2Fa.blob.core.windows.net%2Fc%3Fsv%3D1%26sig%3DSECRETSIGENC",
        "SECRETSIGENC",
    ),
    (
        "?next=%2Fcallback%3Fcode%3DSECRETCODEENC%26state%3Dxyz",
        "SECRETCODEENC",
    ),
    // A JSON array value percent-encoded: its brackets and quotes are encoded as often as the key's.
    ("q=%22password%22%3A%5B%22hunter2%22%5D", "hunter2"),
    (
        "q=%22password%22%3A%5B%22SECRETARR1%22%2C%22SECRETARR2%22%5D&x=1",
        "SECRETARR2",
    ),
    (
        "q=%2522token%2522%253A%257B%2522a%2522%253A%2522SECRETOBJ2%2522%257D",
        "SECRETOBJ2",
    ),
    // JSON in a string with its quotes written `\u0022` (.NET's encoder) or as HTML entities.
    (r"{\u0022password\u0022:\u0022hunter2\u0022}", "hunter2"),
    (
        r#""body":"{\u0022user\u0022:\u0022bob\u0022,\u0022client_secret\u0022: \u0022SECRETU2 x\u0022}""#,
        "SECRETU2",
    ),
    (r"{\u0022token\u0022:[\u0022SECRETU3\u0022]}", "SECRETU3"),
    ("{&quot;password&quot;:&quot;hunter2&quot;}", "hunter2"),
    ("{&#34;api_key&#34;: &#34;SECRETENT2 x&#34;}", "SECRETENT2"),
    ("{&#x27;password&#x27;: &#x27;SECRETENT3&#x27;}", "SECRETENT3"),
    (
        "{&quot;token&quot;:{&quot;a&quot;:&quot;SECRETENT4&quot;}}",
        "SECRETENT4",
    ),
    // A Slack webhook URL encoded twice (a URL in a URL in another's query).
    (
        "u=https%253A%252F%252Fhooks.slack.com%252Fservices%252FT000%252FB000%252FXXXX",
        "XXXX",
    ),
    (
        "u=https%25253A%25252F%25252Fdiscord.com%25252Fapi%25252Fwebhooks%25252F1%25252FSECRETDISC",
        "SECRETDISC",
    ),
    // Python bytes and prefixed string values.
    ("{'password': b'hunter2'}", "hunter2"),
    (r#"{'password': b"hunter2"}"#, "hunter2"),
    ("{'api_key': u'SECRETPYU', 'n': 1}", "SECRETPYU"),
    // Card groups joined by a form's `+` encoded again, a blank encoded twice, a no-break space.
    ("4111%2B1111%2B1111%2B1111", "1111%2B1111"),
    ("4111%25201111%25201111%25201111", "1111%25201111"),
    ("card 4111\u{a0}1111\u{a0}1111\u{a0}1111", "1111\u{a0}1111"),
    ("cc=5555%252B5555%252B5555%252B4444", "4444"),
    // Narrow and figure spaces, an encoded tab, and no-break spaces escaped by JSON or HTML.
    (
        "card 4111\u{202f}1111\u{202f}1111\u{202f}1111",
        "1111\u{202f}1111",
    ),
    (
        "card 4111\u{2007}1111\u{2007}1111\u{2007}1111",
        "1111\u{2007}1111",
    ),
    ("cc=4111%091111%091111%091111", "1111%091111"),
    // Dashes and dots percent-encoded, as a client encoding a card number typed with them writes it,
    // also encoded again (a URL in another's query).
    ("4539%2D1488%2D0343%2D6467", "1488%2D0343"),
    ("?cc=4539%2d1488%2d0343%2d6467&x=1", "1488%2d0343"),
    ("number=4111%2E1111%2E1111%2E1111", "1111%2E1111"),
    ("q=cc%3D4539%252D1488%252D0343%252D6467", "1488%252D0343"),
    ("cc=3782%2D822463%2D10005", "822463"),
    (r#"{"card":"4111\u00a01111\u00a01111\u00a01111"}"#, "1111"),
    ("<td>4111&nbsp;1111&nbsp;1111&nbsp;1111</td>", "1111"),
    // A password in a percent-encoded URL's userinfo, encoded once or twice.
    ("postgres%3A%2F%2Fapp%3Ahunter2%40db.internal%3A5432", "hunter2"),
    (
        "dsn=postgres%3A%2F%2Fapp%3ASECRETDSN1%40db%3A5432%2Fcards",
        "SECRETDSN1",
    ),
    (
        "u=redis%253A%252F%252F%253ASECRETDSN2%2540cache%253A6379&n=1",
        "SECRETDSN2",
    ),
    // Found by the review of the rules above: an encoded `[` after an unquoted key is no array, an
    // encoded escape inside an encoded string is no end of it, a Python bytes value in a JSON string.
    ("password%3D%5B1%5DSECRETWORD1%26x%3D1", "SECRETWORD1"),
    (
        "%7B%22password%22%3A%5B%22ab%5C%22%5D%22%2C%22SECRETWORD2%22%5D%7D",
        "SECRETWORD2",
    ),
    ("%22password%22%3A%22ab%5C%22cdSECRETWORD3%22", "SECRETWORD3"),
    // `urllib.parse.quote(url)`: its default `safe='/'` leaves the slashes as they are.
    (
        "url postgres%3A//app%3ASECRETWORD5%40db%3A5432/app",
        "SECRETWORD5",
    ),
    (r#"{"msg": "{'password': b\"it's-SECRETWORD4\"}"}"#, "SECRETWORD4"),
    // Escaped JSON (`\"password\":\"…\"`, a document in a JSON string) percent-encoded, as a form
    // body or a query parameter holding the outer document writes it; also encoded twice.
    (
        "payload=%7B%22body%22%3A%22%7B%5C%22password%5C%22%3A%5C%22SECRETPEJ1%5C%22%7D%22%7D&x=1",
        "SECRETPEJ1",
    ),
    (
        "%5C%22token%5C%22%3A%20%5C%22SECRET%20PEJ2%5C%22%2C%5C%22n%5C%22%3A1",
        "PEJ2",
    ),
    (
        "%255C%2522api_key%255C%2522%253A%255C%2522SECRETPEJ3%255C%2522%2526x",
        "SECRETPEJ3",
    ),
    (
        "%5C%22password%5C%22%3A%5C%22ab%5C%5C%5C%22SECRETPEJ4%5C%22",
        "SECRETPEJ4",
    ),
    (
        "%5C%22password%5C%22%3A%5B%5C%22SECRETPEJ5%5C%22%5D%2C%5C%22n%5C%22%3A1",
        "SECRETPEJ5",
    ),
    // A name given through `for`/`of` before the `:` (`Password for admin: …`).
    ("Generated password for admin: SECRETPP1 (change it)", "SECRETPP1"),
    ("the API key of the staging account: \"SECRETPP2\"", "SECRETPP2"),
    // A message quoting the password it refused: no separator, one blank after the word.
    ("Error: invalid password \"SECRETQP1\" for user bob", "SECRETQP1"),
    ("failed to login with Password 'SECRETQP2'", "SECRETQP2"),
    (r#"{"msg":"wrong passwd \"SECRETQP3\" rejected"}"#, "SECRETQP3"),
    ("login refused: pwd 'letmein'", "letmein"),
    // Rust's `Debug`: a secret inside a struct under a denied field, pretty (`{:#?}`) over lines; Go's
    // `:=`.
    (
        "Creds { token: Some(Token { value: \"SECRETDBG1\" }) }",
        "SECRETDBG1",
    ),
    (
        "Creds {\n    token: Some(\n        Token {\n            value: \"SECRETDBG2\",\n        },\n    ),\n    user: \"bob\",\n}",
        "SECRETDBG2",
    ),
    (
        "Config {\n    password: Some(\n        \"SECRETDBG3\",\n    ),\n    region: \"eu-west-1\",\n}",
        "SECRETDBG3",
    ),
    (
        "Creds { api_key: ApiKey { inner: \"SECRETDBG4\" }, region: \"eu\" }",
        "SECRETDBG4",
    ),
    ("password := \"SECRETDBG5\"", "SECRETDBG5"),
    ("PASSWORD := 'SECRETDBG6'", "SECRETDBG6"),
    // SQL inserting a deny-listed column's value, as an ORM logs a statement with its values inlined:
    // every row, any quoting of the names, a literal or any expression around it.
    (
        "query failed: INSERT INTO users (email, password) VALUES ('bob', 'SECRETINS1')",
        "SECRETINS1",
    ),
    (
        r#"INSERT INTO "users" ("name", "password_hash") VALUES ('bob', '$2b$12$SECRETINS2'), ('al', 'SECRETINS3')"#,
        "SECRETINS2 SECRETINS3",
    ),
    (
        "insert into t (user, pwd) values ('a', 'SECRETINS4') on conflict do nothing",
        "SECRETINS4",
    ),
    (
        "INSERT INTO `users` (`name`, `api_key`) VALUE ('bob', 'SECRETINS5')",
        "SECRETINS5",
    ),
    (
        "REPLACE INTO users (name, client_secret) VALUES ('bob', crypt('SECRETINS6', gen_salt('bf')))",
        "SECRETINS6",
    ),
    (
        "INSERT INTO [dbo].[Users] ([Name], [Password]) VALUES (N'bob', N'SECRETINS7')",
        "SECRETINS7",
    ),
    (
        "INSERT INTO users(email,password)VALUES('a','SECRETINS8')",
        "SECRETINS8",
    ),
    (
        "INSERT INTO users (email,\n password)\nVALUES\n('a', 'SECRETINS9 two words')",
        "SECRETINS9 two words",
    ),
    (
        r#"{"sql":"INSERT INTO users (\"email\", \"password\") VALUES ('a', 'SECRETINS10')"}"#,
        "SECRETINS10",
    ),
    (
        "INSERT INTO users (password, note) VALUES ('SECRETINS11', 'x, y (z)')",
        "SECRETINS11",
    ),
    ("UPSERT INTO cards (holder, cvv) VALUES ('x', 987654)", "987654"),
    // SQL that sets a password: PostgreSQL's `PASSWORD '…'`, MySQL's `IDENTIFIED BY '…'` and
    // `SET PASSWORD [FOR user] = …`, any case, in a JSON string too.
    ("ALTER USER app WITH PASSWORD 'SECRETSQL1'", "SECRETSQL1"),
    (
        "create user u with encrypted password 'SECRETSQL2';",
        "SECRETSQL2",
    ),
    ("CREATE USER 'u'@'%' IDENTIFIED BY 'SECRETSQL3';", "SECRETSQL3"),
    ("ALTER USER u IDENTIFIED BY \"SECRETSQL4\"", "SECRETSQL4"),
    ("SET PASSWORD FOR u = 'SECRETSQL5'", "SECRETSQL5"),
    ("set password for 'u'@'localhost' = 'SECRETSQL6';", "SECRETSQL6"),
    ("SET PASSWORD = PASSWORD('SECRETSQL7')", "SECRETSQL7"),
    (
        "ALTER ROLE r PASSWORD 'it''s SECRETSQL8' VALID UNTIL 'infinity'",
        "SECRETSQL8",
    ),
    (
        r#"{"sql":"ALTER USER app WITH PASSWORD 'SECRETSQL9'","n":1}"#,
        "SECRETSQL9",
    ),
    (
        r#"{"sql":"CREATE USER u IDENTIFIED BY \"SECRETSQL10\""}"#,
        "SECRETSQL10",
    ),
    (
        "CREATE USER u IDENTIFIED WITH caching_sha2_password BY 'SECRETSQL11'",
        "SECRETSQL11",
    ),
    ("ALTER USER app WITH\n  PASSWORD 'SECRETSQL12'", "SECRETSQL12"),
    (
        "SET PASSWORD FOR `u`@`%` = PASSWORD(\"SECRETSQL13\")",
        "SECRETSQL13",
    ),
    // An escaped line break or tab (SQL in a JSON string) or a no-break space after the keyword.
    (
        r#"{"sql":"ALTER USER app WITH PASSWORD\n'SECRETSQL14'"}"#,
        "SECRETSQL14",
    ),
    (
        r#"{"sql":"CREATE USER app IDENTIFIED\nBY 'SECRETSQL15'"}"#,
        "SECRETSQL15",
    ),
    (
        r#"{"sql":"CREATE USER app IDENTIFIED BY\n'SECRETSQL16'"}"#,
        "SECRETSQL16",
    ),
    (
        r#"{"sql":"ALTER ROLE app WITH PASSWORD\t'SECRETSQL17'"}"#,
        "SECRETSQL17",
    ),
    (
        r#"{"sql":"SET PASSWORD FOR app =\n'SECRETSQL18'"}"#,
        "SECRETSQL18",
    ),
    ("ALTER USER app WITH PASSWORD\u{a0}'SECRETSQL19'", "SECRETSQL19"),
    ("ALTER USER app WITH\u{a0}PASSWORD 'SECRETSQL20'", "SECRETSQL20"),
    // SQL Server's national strings, MySQL's `REPLACE 'old'`, quoted plugins and stored hashes,
    // PostgreSQL's escape, Unicode and dollar-quoted strings.
    ("CREATE LOGIN app WITH PASSWORD = N'SECRETSQL21';", "SECRETSQL21"),
    ("ALTER LOGIN app WITH PASSWORD N'SECRETSQL22'", "SECRETSQL22"),
    (
        "ALTER USER app IDENTIFIED BY 'SECRETSQL23' REPLACE 'SECRETSQL24'",
        "SECRETSQL24",
    ),
    ("ALTER USER app WITH PASSWORD E'se\\'SECRETSQL25'", "SECRETSQL25"),
    ("ALTER USER app WITH PASSWORD U&'SECRETSQL26'", "SECRETSQL26"),
    ("ALTER USER app WITH PASSWORD $$SECRETSQL27$$", "SECRETSQL27"),
    (
        "ALTER USER app WITH PASSWORD $pw$SECRETSQL28$pw$ VALID",
        "SECRETSQL28",
    ),
    (
        "CREATE USER app IDENTIFIED WITH 'caching_sha2_password' BY 'SECRETSQL29'",
        "SECRETSQL29",
    ),
    (
        "CREATE USER app IDENTIFIED WITH mysql_native_password AS '*6BB4SECRETSQL30'",
        "SECRETSQL30",
    ),
    // Oracle's unquoted password after `IDENTIFIED BY` (and its double-quoted one), in every
    // statement that takes one; the old one after `REPLACE`; a stored hash after `BY VALUES` (Oracle)
    // or `BY PASSWORD` (MySQL 5).
    ("CREATE USER scott IDENTIFIED BY SECRETORA1;", "SECRETORA1"),
    (
        "ALTER USER scott IDENTIFIED BY SECRETORA2 REPLACE SECRETORA3;",
        "SECRETORA2",
    ),
    (
        "ALTER USER scott IDENTIFIED BY SECRETORA2 REPLACE SECRETORA3;",
        "SECRETORA3",
    ),
    (
        "CREATE DATABASE LINK l CONNECT TO u IDENTIFIED BY SECRETORA4 USING 'db'",
        "SECRETORA4",
    ),
    (
        "create shared public database link l connect to u identified by SECRETORA5 authenticated by a identified by SECRETORA6 using 'db'",
        "SECRETORA5",
    ),
    (
        "create shared public database link l connect to u identified by SECRETORA5 authenticated by a identified by SECRETORA6 using 'db'",
        "SECRETORA6",
    ),
    ("GRANT CONNECT TO u IDENTIFIED BY SECRETORA7", "SECRETORA7"),
    ("CREATE ROLE r IDENTIFIED BY SECRETORA8;", "SECRETORA8"),
    (
        "ALTER USER scott IDENTIFIED BY \"Tiger#SECRETORA9\"",
        "SECRETORA9",
    ),
    (
        r#"{"sql":"CREATE USER scott IDENTIFIED BY SECRETORA10"}"#,
        "SECRETORA10",
    ),
    (
        r#"{"sql":"CREATE USER scott\nIDENTIFIED BY\nSECRETORA11\nDEFAULT TABLESPACE users"}"#,
        "SECRETORA11",
    ),
    (
        "CREATE USER scott\n  IDENTIFIED\n  BY SECRETORA12\n  QUOTA 10M ON users;",
        "SECRETORA12",
    ),
    (
        "ALTER USER scott IDENTIFIED BY VALUES 'S:SECRETORA13;T:99'",
        "SECRETORA13",
    ),
    (
        "GRANT ALL ON *.* TO u@'%' IDENTIFIED BY PASSWORD '*SECRETORA14'",
        "SECRETORA14",
    ),
    (
        "ALTER USER u IDENTIFIED BY SECRETORA15,PASSWORD EXPIRE",
        "SECRETORA15",
    ),
    ("(ALTER USER u IDENTIFIED BY SECRETORA16)", "SECRETORA16"),
    (
        "ALTER USER u IDENTIFIED BY Tig$er#SECRETORA17 ACCOUNT UNLOCK",
        "SECRETORA17",
    ),
    (
        "ALTER USER u IDENTIFIED BY RANDOM PASSWORD REPLACE 'SECRETORA18'",
        "SECRETORA18",
    ),
    // Oracle's `GRANT` gives each grantee its password, in order.
    (
        "GRANT CONNECT TO u1, u2 IDENTIFIED BY SECRETORA19, SECRETORA20;",
        "SECRETORA19",
    ),
    (
        "GRANT CONNECT TO u1, u2 IDENTIFIED BY SECRETORA19, SECRETORA20;",
        "SECRETORA20",
    ),
    ("SET ROLE r IDENTIFIED BY SECRETORA21;", "SECRETORA21"),
    // A `(` of the password's own keeps its `)` in it.
    (
        "ALTER USER u IDENTIFIED BY p@ss(w)SECRETORA22 ACCOUNT UNLOCK",
        "SECRETORA22",
    ),
    // A `,` `;` or `)` inside a word is the password's own (a generated one, invalid unquoted).
    (
        "ALTER USER u IDENTIFIED BY Xy7,SECRETORA30 ACCOUNT UNLOCK",
        "SECRETORA30",
    ),
    ("ALTER USER u IDENTIFIED BY Xy7;SECRETORA31", "SECRETORA31"),
    ("ALTER USER u IDENTIFIED BY Xy7)SECRETORA32 x", "SECRETORA32"),
    // So is a quote inside a word; one ending the string the statement is written in is not.
    ("ALTER USER app IDENTIFIED BY ab'SECRETQ1", "SECRETQ1"),
    (
        "ALTER USER app IDENTIFIED BY ab\"SECRETQ2 ACCOUNT UNLOCK",
        "SECRETQ2",
    ),
    ("{'sql': 'CREATE USER u IDENTIFIED BY SECRETQ3'}", "SECRETQ3"),
    ("ran 'ALTER USER u IDENTIFIED BY SECRETQ4' ok", "SECRETQ4"),
    // With an account's name the words have a statement's shape, and a literal is a password
    // whatever stands before it.
    (
        "failed to create user bob identified by SECRETSHAPE1",
        "SECRETSHAPE1",
    ),
    ("create user identified by 'SECRETSHAPE2'", "SECRETSHAPE2"),
    // A comment between a statement's words is a blank.
    (
        "ALTER USER u IDENTIFIED BY /* rotated */ SECRETORA24;",
        "SECRETORA24",
    ),
    ("ALTER USER u IDENTIFIED /* c */ BY SECRETORA25;", "SECRETORA25"),
    (
        "ALTER USER u IDENTIFIED -- rotated\n  BY SECRETORA26;",
        "SECRETORA26",
    ),
    ("ALTER /* ops */ USER u IDENTIFIED BY SECRETORA27;", "SECRETORA27"),
    ("CREATE/**/USER u IDENTIFIED/**/BY/**/SECRETORA28;", "SECRETORA28"),
    (
        r#"{"sql":"ALTER USER u IDENTIFIED BY -- new\nSECRETORA29"}"#,
        "SECRETORA29",
    ),
    (
        "ALTER ROLE app WITH PASSWORD /* new */ 'SECRETSQLC1'",
        "SECRETSQLC1",
    ),
    // SQL in a JSON string in a JSON string: the password ends before the escaped quote.
    (
        r#"{"a":"{\"b\":\"{\\\"sql\\\":\\\"CREATE USER scott IDENTIFIED BY SECRETORA23\\\"}\"}"}"#,
        "SECRETORA23",
    ),
    // SQL percent-encoded in a URL's query or a form: `+` and `%20` are blanks, `%27` a quote.
    (
        "GET /admin?sql=ALTER+USER+app+IDENTIFIED+BY+SECRETENC1",
        "SECRETENC1",
    ),
    (
        "GET /admin?q=ALTER%20USER%20app%20IDENTIFIED%20BY%20SECRETENC2&page=2",
        "SECRETENC2",
    ),
    (
        "GET /admin?sql=ALTER+ROLE+app+PASSWORD+%27SECRETENC3%27",
        "SECRETENC3",
    ),
    (
        r#"{"url":"/admin?sql=CREATE+USER+scott+IDENTIFIED+BY+SECRETENC4","n":1}"#,
        "SECRETENC4",
    ),
    // Encoded twice (a URL in another URL's query: `%2520`, `%252B`, `%2B`), any case, and over
    // lines (`%0A`, `%0D%0A`, `%09` before the keyword).
    (
        "GET /x?next=%2Fa%3Fsql%3DALTER%2520USER%2520app%2520IDENTIFIED%2520BY%2520SECRETENC5",
        "SECRETENC5",
    ),
    (
        "GET /x?sql=ALTER%2BUSER%2Bapp%2BIDENTIFIED%2BBY%2BSECRETENC6",
        "SECRETENC6",
    ),
    (
        "GET /x?sql=alter%2buser%2bapp%2bidentified%2bby%2b%2527SECRETENC7%2527",
        "SECRETENC7",
    ),
    (
        "GET /x?sql=ALTER+USER+app%0AIDENTIFIED+BY+SECRETENC8",
        "SECRETENC8",
    ),
    (
        "GET /x?sql=ALTER+USER+app%0d%0aIDENTIFIED+BY+SECRETENC9",
        "SECRETENC9",
    ),
    (
        "GET /x?sql=ALTER+USER+app%09IDENTIFIED%09BY%09SECRETENC10",
        "SECRETENC10",
    ),
    (
        "GET /x?sql=ALTER+USER+app%C2%A0IDENTIFIED+BY+SECRETENC17",
        "SECRETENC17",
    ),
    // A quote or backslash left unencoded is read as in SQL, not as the stretch's end.
    (
        "GET /x?sql=ALTER+USER+a+IDENTIFIED+BY+\"SECRETENC11\"&page=2",
        "SECRETENC11",
    ),
    (
        r#"{\"u\":\"/x?sql=ALTER+USER+a+IDENTIFIED+BY+SECRETENC16\"}"#,
        "SECRETENC16",
    ),
    (r#"{"q":"ALTER+USER+a+PASSWORD+\"SECRETENC12\""}"#, "SECRETENC12"),
    (
        "GET /x?sql=ALTER+USER+a+IDENTIFIED+BY+PW\\SECRETENC13",
        "SECRETENC13",
    ),
    (
        r#"{"u":"/x?sql=ALTER+USER+a+PASSWORD+%22SECRETENC15%22"}"#,
        "SECRETENC15",
    ),
    // An encoded backslash is the password's, not an escape (`%5Cn` is no line break).
    (
        "GET /x?sql=ALTER+USER+a+IDENTIFIED+BY+PW%5CnSECRETENC18",
        "SECRETENC18",
    ),
    // SQL Server's `PASSWORD=N'…'` with no blanks.
    (
        "GET /x?sql=CREATE+LOGIN+a+WITH+PASSWORD%3DN%27SECRETENC14%27",
        "SECRETENC14",
    ),
    // An unquoted value inside a call's parentheses (Python's, a constructor's `Debug`) ends at the
    // `)` that closes one opened before its key, when a blank or punctuation follows it; a `)`
    // inside the value stays the value's (`ab)cd`, `f(x)`), as with no `(` open before the key.
    (
        "ClientSecretCredential(tenant_id=t, client_id=c, client_secret=SECRETPAREN1)",
        "SECRETPAREN1",
    ),
    ("Cred(client_secret=SECRETPAREN2) ok", "SECRETPAREN2"),
    ("Cred(password=ab)SECRETPAREN3) ok", "SECRETPAREN3"),
    ("password=ab)SECRETPAREN4 rest", "SECRETPAREN4"),
    ("f(x) password=SECRETPAREN5) y", "SECRETPAREN5)"),
    ("Cred(token=f(SECRETPAREN6)) next", "SECRETPAREN6"),
    ("Cred(token=9f(SECRETPAREN10)cd) next", "SECRETPAREN10)cd"),
    (
        "Outer(Cred(api_key=SECRETPAREN7), region=eu-west-1)",
        "SECRETPAREN7",
    ),
    ("Cred(\npassword=SECRETPAREN8) x", "SECRETPAREN8)"),
    ("Cred(password=SECRETPAREN9)$x)", "SECRETPAREN9)$x"),
    // A `)` followed by `,` `;` or a closing bracket ends the call only when a blank, the end or the
    // next argument's `key=` comes after them: a generated password holding `),` or `)]` goes whole.
    ("Cred(password=Xy7),SECRETPAREN11)", "SECRETPAREN11"),
    ("Cred(password=Xy7);SECRETPAREN12)", "SECRETPAREN12"),
    ("Cred(password=Xy7)]SECRETPAREN13)", "SECRETPAREN13"),
    ("Cred(password=Xy7)}SECRETPAREN14)", "SECRETPAREN14"),
    ("Cred(password=Xy7))SECRETPAREN15)", "SECRETPAREN15"),
    ("Cred(password=Xy7)\\SECRETPAREN16)", "SECRETPAREN16"),
    ("Cred(password=SECRETPAREN17),region=eu-west-1)", "SECRETPAREN17"),
    ("Outer(Cred(token=SECRETPAREN18))] next", "SECRETPAREN18"),
    // A no-break space or a full-width separator between the key and its value (a pasted label,
    // a CJK locale's punctuation).
    ("Password\u{a0}: SECRETNBSP1", "SECRETNBSP1"),
    ("password\u{a0}:\u{a0}SECRETNBSP2", "SECRETNBSP2"),
    ("api_key\u{202f}= SECRETNBSP3", "SECRETNBSP3"),
    ("password\u{ff1a}SECRETFW1", "SECRETFW1"),
    ("password\u{ff1d}SECRETFW2", "SECRETFW2"),
    ("ログイン token \u{ff1a}SECRETFW3 ok", "SECRETFW3"),
    ("secret\u{3000}\u{ff1a}\u{3000}SECRETFW4", "SECRETFW4"),
    // After a full-width separator the value ends at CJK punctuation and the next label.
    (
        "token\u{ff1a}SECRETFW5\u{3002}ユーザーID=123 を確認してください",
        "SECRETFW5",
    ),
    (
        "password\u{ff1a}SECRETFW6\u{3001}user\u{ff1a}bob\u{3001}region\u{ff1a}tokyo",
        "SECRETFW6",
    ),
    ("api_key\u{ff1a}SECRETFW7\u{ff0c}note\u{ff1a}x", "SECRETFW7"),
    ("secret\u{ff1d}SECRETFW8\u{3000}次へ", "SECRETFW8"),
    // API gateways' subscription and function keys, as headers and JSON keys.
    ("Ocp-Apim-Subscription-Key: SECRETHDR1", "SECRETHDR1"),
    ("x-functions-key: SECRETHDR2", "SECRETHDR2"),
    ("X-Vault-Token: hvs.SECRETHDR3", "SECRETHDR3"),
    ("X-Shopify-Access-Token: shpat_SECRETHDR4", "SECRETHDR4"),
    (
        r#"{"headers":{"Ocp-Apim-Subscription-Key":"SECRETHDR5","Host":"a"}}"#,
        "SECRETHDR5",
    ),
    (r#"{"x-functions-key": "SECRETHDR6"}"#, "SECRETHDR6"),
    (r#"{"X-Vault-Token":"SECRETHDR7"}"#, "SECRETHDR7"),
    ("GET /api?subscription-key=SECRETHDR8&x=1", "SECRETHDR8"),
    ("X-Auth-Key: SECRETHDR9", "SECRETHDR9"),
    // TOML's (and Python's) multi-line strings, on one line or over several.
    ("password = \"\"\"a SECRETTOML1\"\"\"", "SECRETTOML1"),
    ("password = '''SECRETTOML2'''", "SECRETTOML2"),
    (
        "[db]\npassword = \"\"\"\nline1\nSECRETTOML3\n\"\"\"\nhost = \"db\"",
        "SECRETTOML3",
    ),
    ("token = '''\nSECRETTOML4'''\nn = 1", "SECRETTOML4"),
    // Escaped inside a JSON string.
    (r#"{"cfg":"password = \"\"\"SECRETTOML5\"\"\""}"#, "SECRETTOML5"),
    (
        r#"{"cfg":"token = \"\"\"a SECRETTOML6\"\"\"\nn = 1","n":1}"#,
        "SECRETTOML6",
    ),
    // A JSON string value holding a raw line break runs to its closing quote when a `,`, `}` or `]`
    // follows that quote.
    ("{\"password\": \"line1\nSECRETJNL1\"}", "SECRETJNL1"),
    ("{\"password\":\"a\r\nSECRETJNL2\",\"n\":1}", "SECRETJNL2"),
    ("[{\"token\": \"x\n\nSECRETJNL3\"\n}]", "SECRETJNL3"),
    ("{\"password\": \"SECRETJNL4\nnext line \"x\", more", "SECRETJNL4"),
    // A client's password on its command line, given by a short flag: MySQL's and MariaDB's `-p`
    // (attached), sshpass's `-p`, redis-cli's `-a`, after a path, `docker exec` or in JSON.
    ("mysql -h db -u root -pSECRETCLI1 cards", "SECRETCLI1"),
    (
        "/usr/bin/mysqldump -uroot -p'SECRETCLI2 x' --all-databases",
        "SECRETCLI2",
    ),
    ("docker exec db mariadb -pSECRETCLI3 -e 'select 1'", "SECRETCLI3"),
    ("sshpass -p 'SECRETCLI4' ssh deploy@host", "SECRETCLI4"),
    ("sshpass -pSECRETCLI5 scp a host:", "SECRETCLI5"),
    ("redis-cli -h cache -p 6379 -a SECRETCLI6 ping", "SECRETCLI6"),
    ("{\"cmd\":\"mysql -uroot -pSECRETCLI7 -e x\"}", "SECRETCLI7"),
    (
        "docker login -u bob -p SECRETCLI8 registry.example.com",
        "SECRETCLI8",
    ),
    // One-dash long flags (Go's `flag`, Java's tools) and keytool's store and key passwords.
    ("./server -token SECRETCLI10 -port 8080", "SECRETCLI10"),
    (
        "java -jar app.jar -password 'SECRETCLI11' -verbose",
        "SECRETCLI11",
    ),
    (
        "keytool -importkeystore -srcstorepass SECRETCLI12 -destkeypass SECRETCLI13 -alias x",
        "SECRETCLI12 SECRETCLI13",
    ),
    (
        "docker run -p 8080:80 app && podman login -pSECRETCLI9 quay.io",
        "SECRETCLI9",
    ),
    // A CI checkout's token in a URL's userinfo: the host after it stays (KEPT_AROUND_SECRETS).
    (
        "git clone https://x-access-token:SECRETURL3abcdefghijklmnop@github.com/o/r",
        "SECRETURL3",
    ),
    // Application keys named for what they do, a JWT, a one-time password, a SAML assertion.
    ("SECRET_KEY_BASE=SECRETAPP1abcdef0123", "SECRETAPP1"),
    ("ENCRYPTION_KEY=SECRETAPP2abcdef", "SECRETAPP2"),
    ("master_key: SECRETAPP3", "SECRETAPP3"),
    ("{\"signingKey\":\"SECRETAPP4\"}", "SECRETAPP4"),
    ("HMAC_KEY=SECRETAPP5", "SECRETAPP5"),
    ("jwt=SECRETAPP6", "SECRETAPP6"),
    ("otp=SECRETAPP7", "SECRETAPP7"),
    ("SAMLResponse=SECRETAPP8PHNhbWxwOlJlc3BvbnNl", "SECRETAPP8"),
    // Prose setting a secret to a value: `to` (a participle may come between) and `->`.
    ("set password to SECRETTO1", "SECRETTO1"),
    ("admin password changed to SECRETTO2.", "SECRETTO2"),
    ("API key rotated to sk-SECRETTO3", "SECRETTO3"),
    ("password -> SECRETTO4", "SECRETTO4"),
    // A URL password before a dotted host: the host stays (KEPT_AROUND_SECRETS).
    (
        "connecting to https://admin:SECRETURL1@db.example.com:5432/app",
        "SECRETURL1",
    ),
    (
        "dsn=postgres%3A%2F%2Fapp%3ASECRETURL2%40db.example.com%3A5432%2Fcards",
        "SECRETURL2",
    ),
];

/// `(input, kept)`: the input's secret goes (each is in [`MUST_GO`]) and `kept`, the text around it,
/// stays as it is.
const KEPT_AROUND_SECRETS: &[(&str, &str)] = &[
    (
        "connecting to https://admin:SECRETURL1@db.example.com:5432/app",
        "connecting to https://admin:[REDACTED]@db.example.com:5432/app",
    ),
    (
        "dsn=postgres%3A%2F%2Fapp%3ASECRETURL2%40db.example.com%3A5432%2Fcards",
        "dsn=postgres%3A%2F%2Fapp%3A[REDACTED]%40db.example.com%3A5432%2Fcards",
    ),
    (
        "mysql -h db -u root -pSECRETCLI1 cards",
        "mysql -h db -u root -p[REDACTED] cards",
    ),
    (
        "sshpass -p 'SECRETCLI4' ssh deploy@host",
        "sshpass -p '[REDACTED]' ssh deploy@host",
    ),
    (
        "docker login -u bob -p SECRETCLI8 registry.example.com",
        "docker login -u bob -p [REDACTED] registry.example.com",
    ),
    (
        "./server -token SECRETCLI10 -port 8080",
        "./server -token [REDACTED] -port 8080",
    ),
    (
        "git clone https://x-access-token:SECRETURL3abcdefghijklmnop@github.com/o/r",
        "git clone https://x-access-token:[REDACTED]@github.com/o/r",
    ),
    (
        "admin password changed to SECRETTO2.",
        "admin password changed to [REDACTED].",
    ),
    (
        "Generated password for admin: SECRETPP1 (change it)",
        "Generated password for admin: [REDACTED] (change it)",
    ),
    (
        "Error: invalid password \"SECRETQP1\" for user bob",
        "Error: invalid password \"[REDACTED]\" for user bob",
    ),
    (
        "Creds {\n    token: Some(\n        Token {\n            value: \"SECRETDBG2\",\n        },\n    ),\n    user: \"bob\",\n}",
        "Creds {\n    token: Some(\n        [REDACTED],\n    ),\n    user: \"bob\",\n}",
    ),
    (
        "Creds { api_key: ApiKey { inner: \"SECRETDBG4\" }, region: \"eu\" }",
        "Creds { api_key: [REDACTED], region: \"eu\" }",
    ),
    (
        "INSERT INTO users (password, note) VALUES ('SECRETINS11', 'x, y (z)')",
        "INSERT INTO users (password, note) VALUES ('[REDACTED]', 'x, y (z)')",
    ),
    (
        "REPLACE INTO users (name, client_secret) VALUES ('bob', crypt('SECRETINS6', gen_salt('bf')))",
        "REPLACE INTO users (name, client_secret) VALUES ('bob', [REDACTED])",
    ),
    (
        "ALTER USER app IDENTIFIED BY ab'SECRETQ1",
        "ALTER USER app IDENTIFIED BY [REDACTED]",
    ),
    (
        "ALTER USER app IDENTIFIED BY ab\"SECRETQ2 ACCOUNT UNLOCK",
        "ALTER USER app IDENTIFIED BY [REDACTED] ACCOUNT UNLOCK",
    ),
    (
        "{'sql': 'CREATE USER u IDENTIFIED BY SECRETQ3'}",
        "{'sql': 'CREATE USER u IDENTIFIED BY [REDACTED]'}",
    ),
    (
        "ran 'ALTER USER u IDENTIFIED BY SECRETQ4' ok",
        "ran 'ALTER USER u IDENTIFIED BY [REDACTED]' ok",
    ),
    (
        "GET /admin?q=ALTER%20USER%20app%20IDENTIFIED%20BY%20SECRETENC2&page=2",
        "GET /admin?q=ALTER%20USER%20app%20IDENTIFIED%20BY%20[REDACTED]&page=2",
    ),
    (
        "GET /admin?sql=ALTER+ROLE+app+PASSWORD+%27SECRETENC3%27",
        "GET /admin?sql=ALTER+ROLE+app+PASSWORD+%27[REDACTED]%27",
    ),
    (
        r#"{"url":"/admin?sql=CREATE+USER+scott+IDENTIFIED+BY+SECRETENC4","n":1}"#,
        r#"{"url":"/admin?sql=CREATE+USER+scott+IDENTIFIED+BY+[REDACTED]","n":1}"#,
    ),
    (
        r#"{"u":"/x?sql=ALTER+USER+a+PASSWORD+%22SECRETENC15%22"}"#,
        r#"{"u":"/x?sql=ALTER+USER+a+PASSWORD+%22[REDACTED]%22"}"#,
    ),
    (
        "GET /x?sql=ALTER+USER+a+IDENTIFIED+BY+\"SECRETENC11\"&page=2",
        "GET /x?sql=ALTER+USER+a+IDENTIFIED+BY+\"[REDACTED]\"&page=2",
    ),
    (
        r#"{\"u\":\"/x?sql=ALTER+USER+a+IDENTIFIED+BY+SECRETENC16\"}"#,
        r#"{\"u\":\"/x?sql=ALTER+USER+a+IDENTIFIED+BY+[REDACTED]\"}"#,
    ),
    (
        "token\u{ff1a}SECRETFW5\u{3002}ユーザーID=123 を確認してください",
        "token\u{ff1a}[REDACTED]\u{3002}ユーザーID=123 を確認してください",
    ),
    (
        "password\u{ff1a}SECRETFW6\u{3001}user\u{ff1a}bob\u{3001}region\u{ff1a}tokyo",
        "password\u{ff1a}[REDACTED]\u{3001}user\u{ff1a}bob\u{3001}region\u{ff1a}tokyo",
    ),
    (
        "api_key\u{ff1a}SECRETFW7\u{ff0c}note\u{ff1a}x",
        "\u{ff0c}note\u{ff1a}x",
    ),
    ("secret\u{ff1d}SECRETFW8\u{3000}次へ", "\u{3000}次へ"),
    // An unquoted password ends at its word: the rest of the statement stays.
    (
        "ALTER USER scott IDENTIFIED BY SECRETORA2 REPLACE SECRETORA3;",
        "ALTER USER scott IDENTIFIED BY [REDACTED] REPLACE [REDACTED];",
    ),
    (
        "CREATE DATABASE LINK l CONNECT TO u IDENTIFIED BY SECRETORA4 USING 'db'",
        "CREATE DATABASE LINK l CONNECT TO u IDENTIFIED BY [REDACTED] USING 'db'",
    ),
    (
        r#"{"sql":"CREATE USER scott\nIDENTIFIED BY\nSECRETORA11\nDEFAULT TABLESPACE users"}"#,
        r#"{"sql":"CREATE USER scott\nIDENTIFIED BY\n[REDACTED]\nDEFAULT TABLESPACE users"}"#,
    ),
    (
        r#"{"sql":"CREATE USER scott IDENTIFIED BY SECRETORA10"}"#,
        r#"{"sql":"CREATE USER scott IDENTIFIED BY [REDACTED]"}"#,
    ),
    (
        "ALTER USER scott IDENTIFIED BY VALUES 'S:SECRETORA13;T:99'",
        "ALTER USER scott IDENTIFIED BY VALUES '[REDACTED]'",
    ),
    (
        "GRANT ALL ON *.* TO u@'%' IDENTIFIED BY PASSWORD '*SECRETORA14'",
        "GRANT ALL ON *.* TO u@'%' IDENTIFIED BY PASSWORD '[REDACTED]'",
    ),
    (
        "ALTER USER u IDENTIFIED BY SECRETORA15,PASSWORD EXPIRE",
        "ALTER USER u IDENTIFIED BY [REDACTED] EXPIRE",
    ),
    (
        "(ALTER USER u IDENTIFIED BY SECRETORA16)",
        "(ALTER USER u IDENTIFIED BY [REDACTED])",
    ),
    (
        "GRANT CONNECT TO u1, u2 IDENTIFIED BY SECRETORA19, SECRETORA20;",
        "GRANT CONNECT TO u1, u2 IDENTIFIED BY [REDACTED], [REDACTED];",
    ),
    (
        "ALTER USER u IDENTIFIED BY p@ss(w)SECRETORA22 ACCOUNT UNLOCK",
        "ALTER USER u IDENTIFIED BY [REDACTED] ACCOUNT UNLOCK",
    ),
    (
        "ALTER USER u IDENTIFIED BY /* rotated */ SECRETORA24;",
        "ALTER USER u IDENTIFIED BY /* rotated */ [REDACTED];",
    ),
    (
        "ALTER USER u IDENTIFIED BY Xy7,SECRETORA30 ACCOUNT UNLOCK",
        "ALTER USER u IDENTIFIED BY [REDACTED] ACCOUNT UNLOCK",
    ),
    (
        r#"{"sql":"ALTER USER u IDENTIFIED BY -- new\nSECRETORA29"}"#,
        r#"{"sql":"ALTER USER u IDENTIFIED BY -- new\n[REDACTED]"}"#,
    ),
    (
        r#"{"a":"{\"b\":\"{\\\"sql\\\":\\\"CREATE USER scott IDENTIFIED BY SECRETORA23\\\"}\"}"}"#,
        r#"{"a":"{\"b\":\"{\\\"sql\\\":\\\"CREATE USER scott IDENTIFIED BY [REDACTED]\\\"}\"}"}"#,
    ),
    // The `)` closing a call's parentheses and the text after it stay.
    (
        "ClientSecretCredential(tenant_id=t, client_id=c, client_secret=SECRETPAREN1)",
        "ClientSecretCredential(tenant_id=t, client_id=c, client_secret=[REDACTED])",
    ),
    (
        "Cred(client_secret=SECRETPAREN2) ok",
        "Cred(client_secret=[REDACTED]) ok",
    ),
    (
        "Cred(password=ab)SECRETPAREN3) ok",
        "Cred(password=[REDACTED]) ok",
    ),
    ("password=ab)SECRETPAREN4 rest", "password=[REDACTED] rest"),
    ("f(x) password=SECRETPAREN5) y", "f(x) password=[REDACTED] y"),
    // A wrapper's name stays, as in `Some("…")`; a `(` inside the value is the value's own.
    (
        "Cred(token=f(SECRETPAREN6)) next",
        "Cred(token=f([REDACTED])) next",
    ),
    (
        "Cred(token=9f(SECRETPAREN10)cd) next",
        "Cred(token=[REDACTED]) next",
    ),
    (
        "Outer(Cred(api_key=SECRETPAREN7), region=eu-west-1)",
        "Outer(Cred(api_key=[REDACTED]), region=eu-west-1)",
    ),
    ("Cred(password=Xy7),SECRETPAREN11)", "Cred(password=[REDACTED])"),
    (
        "Cred(password=SECRETPAREN17),region=eu-west-1)",
        "Cred(password=[REDACTED]),region=eu-west-1)",
    ),
    (
        "Outer(Cred(token=SECRETPAREN18))] next",
        "Outer(Cred(token=[REDACTED]))] next",
    ),
    (
        "db:\n  password: |\n    SECRETYAML1\n    SECRETYAML2\n  user: bob",
        "\n  user: bob",
    ),
    ("token: >-\r\n  SECRETYAML3\r\nnext: 1", "\r\nnext: 1"),
    (
        "<auth><password>SECRETXMLK</password><user>bob</user></auth>",
        "<auth><password>[REDACTED]</password><user>bob</user></auth>",
    ),
    (
        "the password is hunter2, retrying",
        "the password is [REDACTED], retrying",
    ),
    (
        "body cut: <apiKey>\n  SECRETXMLT2\n",
        "body cut: <apiKey>\n  [REDACTED]\n",
    ),
    (
        "&lt;password&gt;SECRETXMLE1&lt;/password&gt;",
        "&lt;password&gt;[REDACTED]&lt;/password&gt;",
    ),
    (
        "the password for bob is hunter2",
        "the password for bob is [REDACTED]",
    ),
    (
        r#"[{"value":"eu-west-1","name":"REGION"},{"value":"SECRETVF2","name":"Authorization"}]"#,
        r#"[{"value":"eu-west-1","name":"REGION"},{"value":"[REDACTED]","name":"Authorization"}]"#,
    ),
    (
        r#"{"Parameters":[{"ParameterKey":"DBPassword","ParameterValue":"SECRETCFN1"},{"ParameterKey":"Env","ParameterValue":"prod"}]}"#,
        r#""ParameterValue":"[REDACTED]"},{"ParameterKey":"Env","ParameterValue":"prod"}]}"#,
    ),
    (
        "--parameters ParameterKey=DBPassword,ParameterValue=SECRETCFN2 ParameterKey=Env,ParameterValue=prod",
        "ParameterValue=[REDACTED] ParameterKey=Env,ParameterValue=prod",
    ),
    // An object value becomes one string, so JSON stays JSON.
    (
        r#"{"attributes":[{"key":"db.password","value":{"stringValue":"SECRETKV3"}},{"key":"http.method","value":{"stringValue":"GET"}}]}"#,
        r#"{"attributes":[{"key":"db.password","value":"[REDACTED]"},{"key":"http.method","value":{"stringValue":"GET"}}]}"#,
    ),
    (
        "error: 401 (Bearer SECRETERRBEARER was rejected)",
        "error: 401 (Bearer [REDACTED] was rejected)",
    ),
    (
        "Server=db;User Id=sa;Pwd=x7SECRET;",
        "Server=db;User Id=sa;Pwd=[REDACTED]",
    ),
    (
        "https://a.blob.core.windows.net/c/b?sv=2022-11-02&sig=SECRETSIG%2B&se=2",
        "?sv=2022-11-02&sig=[REDACTED]&se=2",
    ),
    (
        "authorization%3A%20Bearer%20SECRETPCTH%0D%0AHost%3A%20x",
        "authorization%3A%20[REDACTED]%0D%0AHost%3A%20x",
    ),
    (
        r#"Config { api_key: None, region: "eu-west-1", retries: 3 }"#,
        r#"Config { api_key: [REDACTED], region: "eu-west-1", retries: 3 }"#,
    ),
    (
        "client_secret=abc&grant_type=client_credentials&scope=read",
        "&grant_type=client_credentials&scope=read",
    ),
    ("rawQueryString=token=abc&page=2&sort=asc", "&page=2&sort=asc"),
    (
        "https://app.example.com/callback#access_token=eyJabc&state=xyz&expires_in=3600",
        "https://app.example.com/callback#access_token=[REDACTED]&state=xyz&expires_in=3600",
    ),
    (
        "Password=hunter2;Encrypt=True;Connection Timeout=30",
        ";Encrypt=True;Connection Timeout=30",
    ),
    (
        "X-Amz-Signature=abcdef&X-Amz-Date=20261205T000000Z",
        "&X-Amz-Date=20261205T000000Z",
    ),
    ("password=p;ss user=bob", " user=bob"),
    (
        r#"he wrote "hello Cookie: theme="dark"; session=abc"#,
        r#"he wrote "hello Cookie: "#,
    ),
    (
        r#"size 5" tv; Cookie: theme="dark"; session=abc"#,
        r#"size 5" tv; Cookie: "#,
    ),
    (r#"{"msg":"Cookie: a=b","x":1}"#, r#"","x":1}"#),
    (
        r#"read buf=b"GET / HTTP/1.1\r\nHost: api\r\nCookie: theme=dark; sid=s3cr3tSess\r\n\r\n""#,
        r#"read buf=b"GET / HTTP/1.1\r\nHost: api\r\nCookie: [REDACTED]\r\n\r\n""#,
    ),
    (
        r#"{"raw":"GET / HTTP/1.1\r\nAuthorization: Digest username=\"bob\", response=\"secret1\"\r\n","n":1}"#,
        r#"{"raw":"GET / HTTP/1.1\r\nAuthorization: [REDACTED]\r\n","n":1}"#,
    ),
    (
        r#"{"raw":"HTTP/1.1 200 OK\r\nSet-Cookie: sid=secret1; Path=/; HttpOnly\r\n"}"#,
        r#"{"raw":"HTTP/1.1 200 OK\r\nSet-Cookie: [REDACTED]"#,
    ),
    (
        r#"{ "msg" : "Cookie: sid=abc" }"#,
        r#"{ "msg" : "Cookie: [REDACTED]" }"#,
    ),
    (
        r#"Error { msg: "Cookie: sid=abc", code: 5 }"#,
        r#"Error { msg: "Cookie: [REDACTED]", code: 5 }"#,
    ),
    (
        "{ msg: 'Cookie: sid=abc', n: 1 }",
        "{ msg: 'Cookie: [REDACTED]', n: 1 }",
    ),
    (
        r#"{"environment":[{"name":"DB_PASSWORD","value":"SECRETECSENV"}]}"#,
        r#"{"environment":[{"name":"DB_PASSWORD","value":"[REDACTED]"}]}"#,
    ),
    (
        "env:\n- name: STRIPE_SECRET_KEY\n  value: SECRETK8SENV\n- name: REGION\n  value: eu-west-1",
        "value: [REDACTED]\n- name: REGION\n  value: eu-west-1",
    ),
    (
        r#"{"headers":[{"name":"Authorization","value":"Bearer SECRETHARAUTH"},{"name":"Accept","value":"*/*"}]}"#,
        r#""value":"[REDACTED]"},{"name":"Accept","value":"*/*"}]}"#,
    ),
    (
        "curl -H 'Authorization: Bearer SECRETCURLSQ' https://api.example.com/v1/cards -d x",
        "curl -H 'Authorization: [REDACTED]' https://api.example.com/v1/cards -d x",
    ),
    (
        r#"curl -H "Authorization: Bearer SECRETCURLDQ" https://api.example.com/v1/cards"#,
        r#"curl -H "Authorization: [REDACTED]" https://api.example.com/v1/cards"#,
    ),
    (
        r#"{"cmd":"curl -H \"Cookie: sid=SECRETCURLJSON\" https://a.example.com","n":1}"#,
        r#"{"cmd":"curl -H \"Cookie: [REDACTED]\" https://a.example.com","n":1}"#,
    ),
    (
        "AWS4-HMAC-SHA256 Credential=AKIASECRETSIGV4/20261205/eu-west-1/s3/aws4_request,SignedHeaders=host;x-amz-date,Signature=abcdef0123",
        "Credential=[REDACTED],SignedHeaders=host;x-amz-date,Signature=[REDACTED]",
    ),
    (
        "%2522password%2522%253A%2522SECRETDBL2%2522%252C%2522n%2522",
        "%2522password%2522%253A%2522[REDACTED]%2522%252C%2522n%2522",
    ),
    (
        "?next=%252Fcb%253Ftoken%253DSECRETDBL3%2526page%253D2",
        "%253Ftoken%253D[REDACTED]%2526page%253D2",
    ),
    (
        "q=api_key%25253DSECRETTRIPLE%252526x%25253D1",
        "q=api_key%25253D[REDACTED]%252526x%25253D1",
    ),
    (
        "q=%3Fu%3D%253Fpassword%253DSECRETMIX%26page%3D2",
        "%253Fpassword%253D[REDACTED]%26page%3D2",
    ),
    (
        "token%3DSECRETAMP%2526SECRETTAIL%26x%3D1",
        "token%3D[REDACTED]%26x%3D1",
    ),
    (
        "GET https://maps.googleapis.com/maps/api/geocode/json?key=AIzaSyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY&address=x",
        "/geocode/json?key=[REDACTED]&address=x",
    ),
    (
        "GET /v1/search?q=card&key=SECRETQKEY1&page=2",
        "GET /v1/search?q=card&key=[REDACTED]&page=2",
    ),
    (
        "?redirect=https%3A%2F%2Fapi.example.com%2Fx%3Fkey%3DSECRETQKEY3%26q%3D1",
        "%2Fx%3Fkey%3D[REDACTED]%26q%3D1",
    ),
    (
        "?u=%252Fx%253Fkey%253DSECRETQKEY4%2526q%253D1",
        "?u=%252Fx%253Fkey%253D[REDACTED]%2526q%253D1",
    ),
    // An array or object value becomes one string between quotes written as the key's are.
    (
        "q=%22password%22%3A%5B%22SECRETARR1%22%2C%22SECRETARR2%22%5D&x=1",
        "q=%22password%22%3A%22[REDACTED]%22&x=1",
    ),
    (
        r"{\u0022token\u0022:[\u0022SECRETU3\u0022]}",
        r"{\u0022token\u0022:\u0022[REDACTED]\u0022}",
    ),
    (
        "{&quot;token&quot;:{&quot;a&quot;:&quot;SECRETENT4&quot;}}",
        "{&quot;token&quot;:&quot;[REDACTED]&quot;}",
    ),
    (
        r#""body":"{\u0022user\u0022:\u0022bob\u0022,\u0022client_secret\u0022: \u0022SECRETU2 x\u0022}""#,
        r#"\u0022client_secret\u0022: \u0022[REDACTED]\u0022}""#,
    ),
    ("{'password': b'hunter2'}", "{'password': b'[REDACTED]'}"),
    (
        "dsn=postgres%3A%2F%2Fapp%3ASECRETDSN1%40db%3A5432%2Fcards",
        "dsn=postgres%3A%2F%2Fapp%3A[REDACTED]%40db%3A5432%2Fcards",
    ),
    (
        "u=https%253A%252F%252Fhooks.slack.com%252Fservices%252FT000%252FB000%252FXXXX",
        "u=https%253A%252F%252Fhooks.slack.com%252F[REDACTED]",
    ),
    (
        "payload=%7B%22body%22%3A%22%7B%5C%22password%5C%22%3A%5C%22SECRETPEJ1%5C%22%7D%22%7D&x=1",
        "%5C%22password%5C%22%3A%5C%22[REDACTED]%5C%22%7D%22%7D&x=1",
    ),
    (
        "%5C%22token%5C%22%3A%20%5C%22SECRET%20PEJ2%5C%22%2C%5C%22n%5C%22%3A1",
        "%5C%22token%5C%22%3A%20%5C%22[REDACTED]%5C%22%2C%5C%22n%5C%22%3A1",
    ),
    // An array value's marker between quotes escaped as the key's are, so the inner JSON stays JSON.
    (
        "%5C%22password%5C%22%3A%5B%5C%22SECRETPEJ5%5C%22%5D%2C%5C%22n%5C%22%3A1",
        "%5C%22password%5C%22%3A%5C%22[REDACTED]%5C%22%2C%5C%22n%5C%22%3A1",
    ),
    (
        "[db]\npassword = \"\"\"\nline1\nSECRETTOML3\n\"\"\"\nhost = \"db\"",
        "password = \"\"\"[REDACTED]\"\"\"\nhost = \"db\"",
    ),
    (
        "{\"password\": \"line1\nSECRETJNL1\"}",
        "{\"password\": \"[REDACTED]\"}",
    ),
    // An unbalanced quote's value ends at the line break: the next line is no string's.
    (
        "{\"password\": \"SECRETJNL4\nnext line \"x\", more",
        "\nnext line \"x\", more",
    ),
    (
        "ALTER ROLE r PASSWORD 'it''s SECRETSQL8' VALID UNTIL 'infinity'",
        "ALTER ROLE r PASSWORD '[REDACTED]' VALID UNTIL 'infinity'",
    ),
    (
        "set password for 'u'@'localhost' = 'SECRETSQL6';",
        "set password for 'u'@'localhost' = '[REDACTED]';",
    ),
    (
        r#"{"sql":"ALTER USER app WITH PASSWORD 'SECRETSQL9'","n":1}"#,
        r#"PASSWORD '[REDACTED]'","n":1}"#,
    ),
    ("password\u{ff1a}SECRETFW1", "password\u{ff1a}[REDACTED]"),
    (
        "ログイン token \u{ff1a}SECRETFW3 ok",
        "ログイン token \u{ff1a}[REDACTED] ok",
    ),
];

const MULTI_VALUE_HEADERS: &str =
    r#"{"multiValueHeaders":{"Authorization":["Bearer sk_live_abc"],"Cookie":["sid=S3SS10N"]}}"#;

const PEM: &str = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA0Z3VS5JJcds3xfn/ygWyF8PbnGy0AHB7MhgHcTz6sE2I2yPB\naFDrBz9vFqU4yMvwyGSRbnbt35VBCsdFdKbrtZ1OWTuO3uh+PqsSWpbzjyQlnzvR\n-----END RSA PRIVATE KEY-----\nafter";

/// Look-alikes: redaction must leave each unchanged.
const MUST_STAY: &[&str] = &[
    // After `<name> for <word>:` only a value that reads as a secret goes.
    "Password for bob: reset link sent; the token for request 42: accepted",
    // A quote after `token` is a parser's, after `secret` a secret's name; a quoted `"password"` is a
    // field's name.
    "unexpected token \"}\" at line 3, secret \"prod/db\" not found",
    "the \"password\" field is required; password_policy \"strict\" applied",
    // Structs under fields no rule names.
    "status: Ok { code: 200 }, usage: Usage { input_tokens: 10, output_tokens: 20 }",
    "x := 5; y := token",
    // An insert's placeholders, `NULL`, a column not denied (`passes`), a denied word as a value, a
    // column list without values.
    "INSERT INTO users (email, password) VALUES ($1, $2), (?, ?), (:email, NULL), (@e, DEFAULT)",
    "INSERT INTO t (name, passes) VALUES ('bob', 3)",
    "INSERT INTO users (name) VALUES ('password')",
    "insert into t (a, password) select a, b from u",
    "<span>card priced</span>",
    r#"{"Parameter":{"Name":"/prod/db/host","Type":"String","Value":"db.internal"}}"#,
    r#"[{"value":"eu-west-1","name":"REGION"},{"name":"DB_PASSWORD","valueFrom":"arn:aws:ssm:eu-west-1:123456789012:parameter/db"}]"#,
    "- name: REGION\n  value: eu-west-1\n- name: DB_PASSWORD\n  valueFrom:\n    secretKeyRef:\n      name: db",
    "the password is invalid; token was Expired, refreshing",
    "the signature is OK, the token is JWT and the password is 8 characters long",
    "the token count is 12 and This is 42",
    "secret is out: nothing was found",
    "the password is required; the token was expired and the secret is missing",
    "the password is incorrect, the password is too short, the password is not set",
    "the password is different from the old one; the api key is optional",
    "the token cache is 3x faster and the token was 20ms",
    "the password is hashed, the secret is stored securely, the token is available",
    "the password is the same; the secret is null; the token is empty",
    "<input_tokens>1200</input_tokens><tokenCount>42</tokenCount>",
    "<Company>Acme</Company>",
    "<credentials>\n  <user>bob</user>\n</credentials>",
    "<password/><token></token> a < b </ c",
    "&lt;span&gt;card priced&lt;/span&gt; &amp; &lt;password/&gt; \\u003cb\\u003ebold\\u003c/b\\u003e",
    "a <b>bold</b> move, x<y and <br> then <br/> done",
    "failed to parse Option<Token> from the header; retrying",
    "returned Result<Secret, Error> and HashMap<ApiKey, u8>",
    "the token for this request is invalid; the count of tokens for this card is 1200",
    "the price of card 4 is 12.50 and the password for bob is required",
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
    // A decimal whose fraction spells a Luhn-valid Visa number, and dotted groups not in fours.
    "ratio 0.4111111111111111",
    "score=0.4111111111111111",
    "version 4111.11111111.1111",
    "build 12.4111.1111.1111.1111",
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
    // A 40-character URL path is not an AWS secret key (audit F1).
    "GET /cards/GradedCollection2024/ValuationLog 200",
    "path=/cards/GradedCollection2024/ValuationLog",
    "https://cdn.example.com/cards/GradedCollection/Valuation2024.csv",
    "s3://collectiq-media/GradedCollection2024/ValuationLogs.csv",
    // Field names that end like a card word without being one.
    r#"{"span": "price_card", "company": "Acme", "lifespan": 3}"#,
    "span=12 company=acme timespan=3s japan=1",
    r#"{"span_id":"53995c3f42cd8ad8","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736"}"#,
    "X-Amzn-Trace-Id: Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1",
    "commit da39a3ee5e6b4b0d3255bfef95601890afd80709 on github.com/org/repo",
    "job 7f1c0a7e-3b9b-4e4c-9e1a-2a7d4c1b9f00 request_id=c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
    "arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/github-token-Xy12Ab",
    r#"{"usage":{"inputTokens":1200,"outputTokens":350,"cacheReadInputTokens":2048}}"#,
    // Arrays and objects under keys that are not denied stay, and stay JSON.
    r#"{"multiValueHeaders":{"Accept":["application/json"],"X-Forwarded-For":["10.0.0.1"]}}"#,
    r#"{"cookies_enabled": true, "tokens": [1, 2]}"#,
    "items[0][name]=card&items[0][qty]=2",
    r#"{"user" => "bob", "input_tokens" => 1200}"#,
    // Token look-alikes.
    "ghp_short and gh_pages branch",
    "risk_live_feed disk_test_results sk_live_ alone",
    "xoxo-hugs",
    "AIza short",
    "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY-----",
    "-----BEGIN CERTIFICATE-----",
    "https://api.example.com:443/v1/cards?page=2",
    "see https://github.com/org/repo/blob/main/a@b",
    "passphrase_hint = ask the admin",
    // Span ids that are all decimal and Luhn-valid, in trace headers; an empty query parameter.
    "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=4111111111111111;Sampled=1",
    "traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-4111111111111111-01",
    "GET /cards?token=&page=2",
    // What follows a secret in the inputs above, without the secret.
    r#"Config { retries: 3, region: "eu-west-1", cache: None }"#,
    "grant_type=client_credentials&scope=read",
    "https://app.example.com/callback#state=xyz&expires_in=3600",
    "Server=db;Encrypt=True;Connection Timeout=30",
    "X-Amz-Date=20261205T000000Z&X-Amz-Expires=300",
    r#"he wrote "hello there" and size 5" tv"#,
    // Escaped line breaks before words that are not header names.
    r#"{"raw":"GET / HTTP/1.1\r\nHost: api\r\nAccept: */*\r\n\r\n","n":1}"#,
    r#"Error { msg: "not found", code: 5 }"#,
    // Scheme words that are words (Pokémon card stages), and keys that only look like deny-listed ones.
    "Basic Charizard",
    "Basic Pokemon HP 60",
    "Bearer",
    "bearer of news",
    "cwd=/tmp",
    "OLDPWD=/home/app",
    // The shell's working directory in an environment dump (ODBC's `PWD=…;` is a password).
    "PWD=/var/task",
    "env PWD=/var/task HOME=/root LANG=C.UTF-8",
    r#"{"PWD":"/var/task","SHLVL":"1"}"#,
    // Names and values that are no secrets, and a secret's name without a value.
    r#"[{"name":"REGION","value":"eu-west-1"},{"name":"TABLE","value":"cards"}]"#,
    r#"{"name":"input_tokens","value":"1234"}"#,
    // `key` and `ParameterKey` naming no secret; a `key` that is an object's, with a `value` nearby.
    r#"[{"Key":"Environment","Value":"prod"},{"key":"input_tokens","value":"1234"}]"#,
    r#"{"ParameterKey":"Env","ParameterValue":"prod"} ParameterKey=Subnets,ParameterValue=a\,b"#,
    "cache hit key=card:c-123 ttl=60 value=42",
    r#"{"s3":{"object":{"key":"uploads/password.txt","size":1024}},"value":"x"}"#,
    r#"{"name":"DB_PASSWORD","valueFrom":"arn:aws:secretsmanager:eu-west-1:123456789012:secret:db"}"#,
    "- name: LOG_LEVEL\n  value: debug",
    "signal=TERM",
    "design=x",
    "?design=x&signal=TERM",
    // Prose after `Bearer`, flags that are no secrets, `pass`/`code`/`sk-` where they are words.
    "Bearer authentication is required",
    "the Bearer Authorization header was missing",
    "cargo test --release --features lambda",
    "tool --token-count 12 --dry-run",
    "curl -u -X GET",
    "bypass=true compass=north",
    "status code=500 error_code=AccessDenied",
    "sk-learn hf_hub npm_config glpat- discord server",
    "discord.com/channels/1/2",
    // Encoded blanks and `+` between numbers that are no card; a percent-escape's hex digits.
    "total=4111+1111+1111+1112&n=12%2034",
    "q=%2041111111111111111&p=1+2+3",
    // YAML keys whose value is on their own line, and a denied key with nothing below it.
    "token:\nuser: bob\nregion: eu-west-1",
    // A tab-separated row and a range whose digits spell no card.
    "sku\t4111\t1111\t1111\t1112\tqty\t2",
    "pages 1200 - 1300 - 1400 - 1500",
    "slack.com\\/pricing and hooks.slack.com%2F",
    // Two-word names that are no secret's; pairs whose value is no string.
    "primary key: card_id, sort key: graded_at, card number: 4/102",
    "monkey: x, turkey: y",
    "[('password', 3), ('user', 'bob')]",
    // `key` outside a URL query is an object's or a table's key: an S3 event notification, a cache
    // line, S3's `key-marker` and words ending in `key`, in a query encoded or not.
    r#"{"s3":{"bucket":{"name":"collectiq-media"},"object":{"key":"uploads/c-123.jpg","size":1024}}}"#,
    "cache hit key=card:c-123 ttl=60",
    r#"GetItem Key={"pk":"CARD#c-123"}"#,
    "GET /?versions&key-marker=photos/2006/&version-id-marker=3/L4kqtJl",
    "?hotkey=F5&keys=3&monkey=1&keyboard=us",
    "?next=%2Fcards%3Fmonkey%3D1%26keys%3D2",
    // URLs encoded twice that hold no secret, and ids in them.
    "?next=%252Fcards%253Fpage%253D2%2526limit%253D50",
    "?q=request_id%253D989ffbf8-9ace-4817-a57c-e4dd734019ee%2526trace%253D1-5759e988-bd862e3fe1be46a994272793",
    "?r=arn%3Aaws%3Asecretsmanager%3Aeu-west-1%3A123456789012%3Asecret%3Aprod%2Fdb",
    "?r=arn%253Aaws%253Asecretsmanager%253Aeu-west-1%253A123456789012%253Asecret%253Aprod%252Fdb",
    "progress 100%25%25%25 and discount 25%2525 off",
    // Look-alikes of the forms above: encoded arrays, `\u0022` and entity quotes under keys that are
    // not denied; a byte string after a plain key; a URL's port and user without a password; the
    // encoded `+` and no-break space between numbers that spell no card; span ids that are decimal.
    "q=%22tags%22%3A%5B%22a%22%5D&x=1",
    "payload=%7B%22body%22%3A%22%7B%5C%22user%5C%22%3A%5C%22bob%5C%22%2C%5C%22tags%5C%22%3A%5B%5C%22a%5C%22%5D%7D%22%7D",
    r"{\u0022user\u0022:\u0022bob\u0022,\u0022tags\u0022:[\u0022a\u0022]}",
    "{&quot;user&quot;:&quot;bob&quot;} &amp; &lt;b&gt;",
    "{'user': b'bob', 'n': u'x'}",
    "u=https%3A%2F%2Fapi.example.com%3A443%2Fv1%3Fa%3D1",
    "u=postgres%3A%2F%2Fapp%40db%3A5432%2Fcards",
    "total=4111%2B1111%2B1111%2B1112 price 4\u{a0}111",
    // Encoded dashes and dots between numbers that spell no card: dates, times, versions, a decimal,
    // digit groups that fail the Luhn check or are not in fours, words.
    "date=2024%2D01%2D02&at=2026%2D12%2D02T08%3A00%3A00.000Z",
    "v=1%2E2%2E3%2E4567890123456&build=12%2E4111%2E1111%2E1111%2E1111",
    "ratio=0%2E4111111111111111&version=4111%2E11111111%2E1111",
    "?ids=4111%2D1111%2D1111%2D1112&isbn=978%2D0%2D306%2D40615%2D7",
    "q=t%2Dshirt%2Dsize%2D42%2Dslim&ref=%252D1%252D2",
    // An encoded `.` after a digit is a decimal's or a version's, as a written one.
    "build=v1%2E4111111111111111&n=%253D12",
    r#"{"qty":"4\u00a0111","n":"12&nbsp;345"} &nbsp; 4111\u00a01111\u00a01111\u00a01112"#,
    "u=https%253A%252F%252Fhooks.example.com%252Fservices%252FT0",
    "span_id=4111111111111111",
    r#"{"spanId":"4111111111111111","parent_span_id": "5555555555554444"}"#,
    "otel.span_id = 4111111111111111 ParentId=4111111111111111",
    // Look-alikes of SQL that sets a password: prose, a column, `IDENTIFIED BY` with no literal.
    "password reset requested for bob",
    "ALTER TABLE users ADD COLUMN password_hash TEXT; -- column password_hash 'bcrypt'",
    "the user is IDENTIFIED BY certificate; identified by email",
    "SET PASSWORD FOR u failed: see the docs",
    "forgot password? click 'reset'",
    // A `key` naming an S3 object or a file, not a secret.
    r#"{"Key":"uploads/token","Value":"public"}"#,
    "s3 get key=reports/passwords.csv value=ok",
    r#"{"key":"secrets.json","value":"uploaded"}"#,
    // `IDENTIFIED BY` and `PASSWORD` before a literal in prose: no statement's verb before them.
    "Order identified by 'ord-12345' was not found",
    "Resource identified with id by 'i-0abc123' terminated",
    "Field password 'required' is missing",
    "validation failed: password \"must be at least 12 characters\"",
    "CREATE TABLE t (id int); Order identified by 'ord-1' was not found",
    // `IDENTIFIED` with no password after it: a keyword after `BY` (MySQL's generated password),
    // no `BY` (Oracle's external and directory users), prose without a statement's verb or after a
    // `;`, and `SET`, whose statements never take `IDENTIFIED BY` (`set to owner identified by id`).
    "CREATE USER u IDENTIFIED BY RANDOM PASSWORD;",
    "ALTER USER u IDENTIFIED BY RANDOM PASSWORD RETAIN CURRENT PASSWORD",
    "CREATE USER ops$scott IDENTIFIED EXTERNALLY;",
    "CREATE USER u IDENTIFIED GLOBALLY AS 'CN=scott,OU=ops,O=example';",
    "CREATE USER u IDENTIFIED WITH auth_socket;",
    "The caller is identified by certificate and was let in",
    "GRANT SELECT ON t TO app; caller identified by certificate",
    "set the owner identified by id to 42",
    "Order identified by ord-12345 was not found",
    // Encoded blanks in a query are blanks, and a query reads as text does: no statement's verb.
    "GET /search?q=identified+by+color&page=2",
    "GET /search?q=password+reset+help&sort=new",
    "GET /search?q=password%0Areset%2520help&next=%2Fa%3Fq%3Didentified%2520by%2520color",
    "GET /search?q=%22identified+by%22+color",
    "GET /search?q=the+caller+is+identified+by+certificate",
    "GET /p?q=a%20password%20%27required%27&n=2",
    // A statement's verb and object with no account's name before `IDENTIFIED`: prose, whose next
    // word is no password (`CREATE USER <name> IDENTIFIED BY <password>`).
    "failed to create user identified by email alice",
    "cannot alter role identified by name: not found",
    "GET /help?q=create+user+identified+by+email",
    // A no-break space or a full-width colon after names that are no secret's.
    "input_tokens\u{ff1a}1200 output_tokens\u{a0}=\u{a0}80 span\u{a0}: 12",
    "時刻\u{ff1a}12時 合計\u{ff1d}300円",
    // Header names ending in `-key` that name no secret.
    "Idempotency-Key: 7f3c2a X-Partition-Key: p1 x-cache-key: card:c-1",
    r#"{"Idempotency-Key":"7f3c2a","sortKey":"s"}"#,
    // Multi-line strings under keys that are no secret's.
    "description = \"\"\"a\nlong text\"\"\"\nname = '''x'''",
    // A JSON value with a raw line break under a key that is no secret's.
    "{\"msg\": \"line1\nline2\"}",
    // Short flags that are no password's: MySQL's `-p` alone prompts (the next word is the
    // database), redis-cli's `-p` is its port, other programs' `-p` are theirs.
    "mysql -u root -p cards",
    "redis-cli -h cache -p 6379 ping",
    "ssh -p 2222 deploy@host; tar -pxvf a.tar; docker run -p 8080:80 app",
    "mysql -u root --port 3306 -P3307 -e 'select 1'",
    // `<name> to` / `->` before a plain word, a URL or an address.
    "refreshing token to refresh the session",
    "sending token to https://auth.example.com/token",
    "password set to default",
    "fn password -> String",
    // A URL's user with no password is the user's, not an e-mail split from its host; a host named
    // like a secret, before its port.
    "connecting to postgres://app@db:5432/cards",
    "GET https://token:8080/health",
    // Flags naming where a secret is read from, not the secret.
    "docker login -u bob --password-stdin registry.example.com",
    "app --password-file /run/secrets/db --private-key-path key.pem",
    // One-dash flags that name no secret, and one naming a secret's source.
    "ls -la /tmp; grep -rn token src; run -secret-file /x -v",
    // Names that end like the new deny-listed words but name no secret.
    "encryption_key_id=alias/cards hotp_counter=3 jwt_ttl=3600",
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
        // The whole secret goes: every word of a multi-word one (`correct horse battery`).
        let leaked = out.contains(secret) || secret.split_whitespace().any(|w| out.contains(w));
        if leaked || !out.contains(REDACTED) {
            failures.push(format!("leaked {secret:?}: {input:?} -> {out:?}"));
        }
    }
    for input in MUST_STAY {
        let out = r(input);
        if out != *input {
            failures.push(format!("over-redacted: {input:?} -> {out:?}"));
        }
    }
    for (input, kept) in KEPT_AROUND_SECRETS {
        let out = r(input);
        if !out.contains(kept) || !MUST_GO.iter().any(|(go, _)| go == input) {
            failures.push(format!(
                "over-redacted around the secret: {input:?} -> {out:?}, want {kept:?}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn sql_keywords_in_prose_keep_their_literal() {
    // The value is an e-mail address: only the SQL rule is under test here.
    let input = r#"Customer identified by "alice@example.com" opted out"#;
    assert_eq!(Redactor::default().keep_emails().redact_str(input), input);
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

/// A URL encoded into another's query is encoded twice (`%` became `%25`): its keys, quotes and
/// delimiters are read at their own level, and the value ends at its own delimiter or one of the
/// URL around it, never running on over the rest of the line.
#[test]
fn percent_encoded_twice_keys_and_query_keys() {
    assert_eq!(r("password%253Dhunter2"), "password%253D[REDACTED]");
    assert_eq!(
        r("%2522password%2522%253A%2522x%2522"),
        "%2522password%2522%253A%2522[REDACTED]%2522"
    );
    assert_eq!(
        r(
            "https://a.example.com/login?next=https%3A%2F%2Fb.example.com%2Fcb%3Fstate%3D%252Fx%253Ftoken%253Dabc%2526n%253D1%26y%3D2&z=3"
        ),
        "https://a.example.com/login?next=https%3A%2F%2Fb.example.com%2Fcb%3Fstate%3D%252Fx%253Ftoken%253D[REDACTED]%2526n%253D1%26y%3D2&z=3"
    );
    // Encoded five times is past the levels read: not a separator, and nothing is over-redacted.
    assert_eq!(r("token%252525253Dx"), "token%252525253Dx");
    // `key` in a URL query goes; a field, a JSON key or `key=` in text stays.
    assert_eq!(
        r("GET https://maps.googleapis.com/maps/api/js?key=k-123&callback=init 200"),
        "GET https://maps.googleapis.com/maps/api/js?key=[REDACTED]&callback=init 200"
    );
    assert_eq!(r("#key=abc&x=1"), "#key=[REDACTED]&x=1");
    assert_eq!(
        redact_attribute(
            "url.full",
            "https://maps.googleapis.com/maps/api/js?v=3&key=k-123"
        ),
        "https://maps.googleapis.com/maps/api/js?v=3&key=[REDACTED]"
    );
    let red = Redactor::default();
    assert!(!red.is_denied_field("key"));
    assert_eq!(
        red.redact_field("key", "uploads/c-123.jpg", &red.budget()),
        "uploads/c-123.jpg"
    );
    assert_eq!(
        redact_attribute("aws.s3.key", "uploads/c-123.jpg"),
        "uploads/c-123.jpg"
    );
    assert_eq!(r("s3 put key=uploads/c-1.jpg"), "s3 put key=uploads/c-1.jpg");
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
        red.redact_within("ab cdef", &budget),
        "ab [REDACTED: 4 bytes past the scan limit]"
    );
    // The word the limit falls in goes whole, even at the start of a text.
    let budget = red.budget();
    assert_eq!(
        red.redact_within("abcdefghijkl", &budget),
        "[REDACTED: 12 bytes past the scan limit]"
    );
}

/// The limit never cuts a secret so that its first part is printed: a token longer than any
/// lookback, a JWT cut in its payload, a card number written in groups, cut in any place.
#[test]
fn the_scan_limit_never_prints_the_first_part_of_a_secret() {
    let cases: Vec<(String, &str)> = vec![
        (format!("tok {JWT} ok"), "eyJhbGciOiJIUzI1NiJ9"),
        (format!("id ghp_{} end", "Ab1".repeat(200)), "ghp_"),
        ("card 4111 1111 1111 1111 ok".to_owned(), "4111"),
        ("card 4111  1111  1111  1111 ok".to_owned(), "4111"),
        ("card 4111 - 1111 - 1111 - 1111 ok".to_owned(), "4111"),
        ("card 4111.1111.1111.1111 ok".to_owned(), "4111"),
        ("card 4111\t1111\t1111\t1111 ok".to_owned(), "4111"),
        ("card 4111\u{a0}1111\u{a0}1111\u{a0}1111 ok".to_owned(), "4111"),
        (r"card 4111\u00a01111\u00a01111\u00a01111 ok".to_owned(), "4111"),
        ("card 4111&nbsp;1111&nbsp;1111&nbsp;1111 ok".to_owned(), "4111"),
        ("card 4111%2B1111%2B1111%2B1111 ok".to_owned(), "4111"),
        ("card 4111%25201111%25201111%25201111 ok".to_owned(), "4111"),
        ("card 4111%2D1111%2D1111%2D1111 ok".to_owned(), "4111"),
        ("card 4111%252E1111%252E1111%252E1111 ok".to_owned(), "4111"),
        // Separators mixed: the encoded dash is read back over as well as the blanks.
        ("card 4111 1111%2D1111 1111 ok".to_owned(), "4111"),
        ("card 3782 822463 10005 ok".to_owned(), "3782"),
        ("mail alice.b+x@mail.example.org ok".to_owned(), "alice"),
        // A card ending where a quote or the text does: its groups before the cut are withheld too.
        (r#"{"card":"4539 1488 0343 6467","n":1}"#.to_owned(), "4539"),
        ("card 4111 1111 1111 1111".to_owned(), "4111"),
        // A URL password with bytes no token has: the cut goes back to the authority.
        ("mysql://root:Pa$$w0rd!2024@10.0.0.5:3306/app".to_owned(), "Pa$"),
        ("postgres%3A%2F%2Fapp%3Ahun!ter2xyzw%40db%2Fx".to_owned(), "hun"),
        ("postgres%3A//app%3Ahun!ter2xyzw%40db/x".to_owned(), "hun"),
    ];
    for (text, prefix) in &cases {
        for limit in 0..text.len() {
            let red = Redactor::default().with_max_scan_bytes(limit);
            let out = red.redact_str(text);
            assert!(
                !out.contains(prefix),
                "limit {limit}: {text:?} -> {out:?} shows {prefix:?}"
            );
        }
    }
    // A card at the end of a long run of digit groups, the limit in the card: the whole run is
    // withheld, however long, from the blank before it (the card may stand anywhere in the run,
    // and cut it is no card).
    let text = format!("ids: {}4111 1111 1111 1111 ok", "7 ".repeat(2000));
    let out = Redactor::default()
        .with_max_scan_bytes(text.len() - 10)
        .redact_str(&text);
    assert_eq!(
        out,
        format!("ids:[REDACTED: {} bytes past the scan limit]", text.len() - 4)
    );
    // A token longer than the old 512-byte lookback, at the default budget's edge.
    let token = format!("ghp_{}", "A".repeat(2000));
    let text = format!("{}{token} ok", "x ".repeat((DEFAULT_MAX_SCAN_BYTES - 1000) / 2));
    let out = Redactor::default().redact_str(&text);
    assert!(!out.contains("ghp_"), "{}", &out[out.len() - 80..]);
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

    /// Text made of the pieces the scanners look for — the quote spellings (`\u0022`, `&quot;`,
    /// `%22`, `\"`), brackets plain and encoded, Python string prefixes, encoded URL authorities, card
    /// digits with every separator, span-id keys, encoded SQL next to raw UTF-8, inserts' names, rows
    /// and literals — in any order, under any budget: no panic, and the
    /// budget holds.
    #[test]
    fn pieces_of_every_rule_in_any_order_are_safe(
        pieces in proptest::collection::vec(proptest::sample::select(vec![
            "password", "token", "span_id", "key", ":", "=", "%3A", "%3D", "%253A", "\"", "\\\"",
            "\\u0022", "\\u0027", "\\\\\\u0022", "&quot;", "&#34;", "&#x22;", "&apos;", "%22", "%2522", "'",
            "[", "]", "{", "}", "%5B", "%5D", "%7B", "%7D", "%255B", "b'", "rb\"", "u'", "4111", "1111",
            " ", "\u{a0}", "\\u00a0", "&nbsp;", "%2B", "%2520", "-", ".", "%3A%2F%2F", "://", "%40", "@",
            "hooks.slack.com", "%252F", "/", "eyJhbGciOiJIUzI1NiJ9", "\n", ",", "x",
            "ALTER+USER+u", "+IDENTIFIED+BY+", "+PASSWORD+", "%20", "%27", "%C2%A0", "é",
            "INSERT INTO t ", "(", ")", " VALUES ", "`", "$$", "$1", "N'", "\\n",
        ]), 0..60),
        cap in prop_oneof![Just(usize::MAX), 0usize..400],
    ) {
        let s: String = pieces.concat();
        let red = Redactor::default().with_max_scan_bytes(cap);
        let out = red.redact_str(&s);
        prop_assert!(s.len() <= cap || out.contains("past the scan limit"), "{:?} -> {:?}", s, out);
    }

    #[test]
    fn keyed_values_never_leak(
        key in "(password|api_key|token|client_secret|X-Amz-Signature|\\?key|&key|%3Fkey|%2526key|%2522password%2522)",
        sep in "(=|: |%3D|%253D|%25253D|\":\"|%253A%2522)",
        value in "[A-Za-z0-9]{6,20}",
    ) {
        let s = format!("x {key}{sep}{value}&n=1");
        prop_assert!(!r(&s).contains(&value));
    }
}

#[test]
fn arrays_and_objects_under_a_denied_key_become_one_string_and_json_stays_json() {
    let out = r(MULTI_VALUE_HEADERS);
    assert_eq!(
        out,
        r#"{"multiValueHeaders":{"Authorization":"[REDACTED]","Cookie":"[REDACTED]"}}"#
    );
    for input in [
        MULTI_VALUE_HEADERS,
        r#"{"password": ["a","b"], "n": 1}"#,
        r#"{"password":{"new":"n3w","old":"0ld"},"user":"u1"}"#,
        r#"{"version":"2.0","cookies":["sid=S3SS10N","theme=dark"],"rawPath":"/x"}"#,
        r#"{"api_key":[["]","[",{"}":"{"}]],"ok":true}"#,
        r#"{"token":"a \"quoted\" \\ value","next":"kept"}"#,
    ] {
        let out = r(input);
        let parsed: serde_json::Value =
            serde_json::from_str(&out).unwrap_or_else(|e| panic!("{input} -> {out}: {e}"));
        assert!(out.contains(REDACTED), "{out}");
        if let Some(n) = parsed.get("n") {
            assert_eq!(n, 1);
        }
    }
    assert_eq!(
        r(r#"{"api_key":[["]","[",{"}":"{"}]],"ok":true}"#),
        r#"{"api_key":"[REDACTED]","ok":true}"#,
        "brackets inside strings do not close the value"
    );
    // Escaped JSON inside a string stays escaped JSON.
    assert_eq!(
        r(r#"{"body":"{\"password\":[\"a\",\"b\"],\"n\":1}"}"#),
        r#"{"body":"{\"password\":\"[REDACTED]\",\"n\":1}"}"#
    );
    // Percent-encoded quotes keep their form; an unquoted key gets an unquoted marker.
    assert_eq!(r("password=[abc,def]&x=1"), "password=[REDACTED]&x=1");
}

#[test]
fn key_forms_and_escape_levels() {
    assert_eq!(r("user[password]=hunter2&x=1"), "user[password]=[REDACTED]&x=1");
    assert_eq!(
        r("user%5Bpassword%5D=hunter2&x=1"),
        "user%5Bpassword%5D=[REDACTED]&x=1"
    );
    assert_eq!(
        r(r#"{"password" => "hunter2"}"#),
        r#"{"password" => "[REDACTED]"}"#
    );
    // SNS inside SQS, serialised once more: the value's quotes are `\\\"`, an inner quote `\\\\\\\"`.
    assert_eq!(
        r(r#""body":"{\"Message\":\"{\\\"password\\\":\\\"hun\\\\\\\"ter2\\\",\\\"n\\\":1}\"}""#),
        r#""body":"{\"Message\":\"{\\\"password\\\":\\\"[REDACTED]\\\",\\\"n\\\":1}\"}""#
    );
    // A value ending in an escaped backslash keeps its closing quote.
    assert_eq!(
        r(r#"{"password":"ab\\","n":1}"#),
        r#"{"password":"[REDACTED]","n":1}"#
    );
}

#[test]
fn multi_word_values() {
    assert_eq!(r("passphrase = correct horse battery"), "passphrase = [REDACTED]");
    assert_eq!(
        r("password: correct horse battery user=bob"),
        "password: [REDACTED] user=bob",
        "the phrase stops before the next key"
    );
    assert_eq!(
        r("calling upstream authorization=Bearer opaque-7f3a9c status=401"),
        "calling upstream authorization=[REDACTED] status=401"
    );
    assert_eq!(r("token=abc def=1"), "token=[REDACTED] def=1");
    assert_eq!(
        r(r#"{"db_password": 98765432, "port": 5432}"#),
        r#"{"db_password": [REDACTED], "port": 5432}"#
    );
}

#[test]
fn token_formats_and_url_passwords() {
    assert_eq!(
        r("dsn postgres://app:s3cret@10.0.0.5:5432/db"),
        "dsn postgres://app:[REDACTED]@10.0.0.5:5432/db"
    );
    assert_eq!(
        r("cache redis://:pw-9f8e@cache:6379/0"),
        "cache redis://:[REDACTED]@cache:6379/0"
    );
    assert_eq!(
        r(PEM),
        "-----BEGIN RSA PRIVATE KEY-----[REDACTED]-----END RSA PRIVATE KEY-----\nafter"
    );
    assert_eq!(r("ghp_16C7e42F292c6912E7710c838347Ae178B4a."), "[REDACTED].");
}

#[test]
fn card_words_are_denied_as_whole_words_only() {
    let red = Redactor::default();
    for name in [
        "pan",
        "PAN",
        "card_pan",
        "cardPan",
        "card.pan",
        "cvv",
        "cvc",
        "cvv2",
        "card_cvv",
        "card_number",
        "cardNumber",
        "cookies",
        "Pwd",
        "db_pwd",
        "accountKey",
        "setcookie",
        "Set-Cookie",
    ] {
        assert!(red.is_denied_field(name), "{name}");
    }
    for name in [
        "span",
        "Span",
        "SPAN",
        "timespan",
        "company",
        "japan",
        "span_id",
        "cookies_enabled",
        "cwd",
        "OLDPWD",
        "sig",
        "signal",
    ] {
        assert!(!red.is_denied_field(name), "{name}");
    }
}

#[cfg(any(feature = "logs", feature = "xray"))]
#[test]
fn integer_card_numbers() {
    assert!(is_card_number(4_111_111_111_111_111));
    assert!(is_card_number(378_282_246_310_005));
    assert!(!is_card_number(4_111_111_111_111_112), "Luhn");
    assert!(!is_card_number(1_732_871_234_567), "an epoch in ms");
    assert!(!is_card_number(42));
}

/// Time per byte at 128 KB and 1 MB (both past the CPU caches): linear if the ratio stays near 1,
/// quadratic at 8. The bound, 4, leaves room for a busy machine.
fn assert_linear(name: &str, make: impl Fn(usize) -> String) {
    let red = Redactor::default().with_max_scan_bytes(usize::MAX);
    let time = |n: usize| {
        let s = make(n);
        let t = std::time::Instant::now();
        let out = red.redact_str(&s);
        std::hint::black_box(out);
        t.elapsed().as_secs_f64() / s.len() as f64
    };
    // 16× the input: a quadratic scan takes 16× longer per byte, a linear one the same; the 4× bound
    // leaves room for a loaded machine either way (the best of three runs at each size).
    let small = (0..3).map(|_| time(64 << 10)).fold(f64::MAX, f64::min);
    let large = (0..3).map(|_| time(1 << 20)).fold(f64::MAX, f64::min);
    assert!(
        large < small * 4.0,
        "{name}: {small:e} s/B at 64 KB vs {large:e} s/B at 1 MB"
    );
}

#[test]
fn prose_stays_linear() {
    assert_linear("verbs", |n| " is ".repeat(n / 4));
    assert_linear("blank runs", |n| format!("password{}x", " ".repeat(n)));
    assert_linear("blank runs and verbs", |n| "password \t is".repeat(n / 13));
    assert_linear("denied names and verbs", |n| "password is ".repeat(n / 12));
    assert_linear("one long word", |n| format!("token is {}", "A1".repeat(n / 2)));
    // A long secret goes whole, not its first bytes only.
    assert_eq!(
        r(&format!("token is {} ok", "A1".repeat(5000))),
        "token is [REDACTED] ok"
    );
    assert_linear("long names", |n| format!("{} is x1", "password".repeat(n / 8)));
    assert_linear("prepositions", |n| "password for a is ".repeat(n / 18));
    assert_linear("words before verbs", |n| "for of a b c d is ".repeat(n / 18));
    assert_linear("to after a participle", |n| "password set to x1 ".repeat(n / 19));
    assert_linear("arrows", |n| " -> ".repeat(n / 4));
}

#[test]
fn command_lines_and_url_hosts_stay_linear() {
    assert_linear("short flags", |n| "mysql -p".repeat(n / 8));
    assert_linear("one-dash flags", |n| " -token -ab".repeat(n / 11));
    assert_linear("flags without a program", |n| " -pa -ab".repeat(n / 8));
    assert_linear("spaced flags", |n| "sshpass -p ".repeat(n / 11));
    assert_linear("unclosed quoted flags", |n| {
        format!("mysql -p'{}", "a ".repeat(n / 2))
    });
    assert_linear("one long command word", |n| format!("mysql -p{}", "a".repeat(n)));
    assert_linear("url passwords before hosts", |n| {
        "https://u:p@db.example.com ".repeat(n / 27)
    });
    assert_linear("userinfo ats", |n| {
        format!("https://u:p{}", "@a.bc".repeat(n / 5))
    });
}

#[test]
fn xml_elements_stay_linear() {
    assert_linear("denied start tags", |n| "<password>".repeat(n / 10));
    assert_linear("unclosed start tags", |n| {
        format!("</{}", "<password ".repeat(n / 10))
    });
    assert_linear("one long tag name", |n| format!("</ <{}", "a".repeat(n)));
    assert_linear("unclosed CDATA", |n| {
        "<token><![CDATA[x".repeat(n / 17) + "</token>"
    });
    assert_linear("entity start tags", |n| "&lt;password&gt;".repeat(n / 16));
    assert_linear("half entities", |n| "&l&lt;p".repeat(n / 7));
    assert_linear("escaped start tags", |n| "\\u003cpassword\\u003e".repeat(n / 20));
    assert_linear("escaped CDATA ends", |n| {
        format!("\\u003ctoken\\u003e\\u003c![CDATA[{}", "]]\\u003".repeat(n / 8))
    });
    assert_linear("cut-short start tags", |n| "<password>x".repeat(n / 11));
}

#[test]
fn adversarial_nesting_and_escapes_stay_linear() {
    // Pairs, two-word names, escaped webhook hosts and encoded card separators.
    assert_linear("cookie pairs", |n| "('cookie', ".repeat(n / 11));
    assert_linear("api key words", |n| "api key api Key ".repeat(n / 16));
    assert_linear("escaped webhook hosts", |n| "hooks.slack.com\\/".repeat(n / 17));
    assert_linear("encoded card groups", |n| "4111%20".repeat(n / 7));
    assert_linear("dash-set card groups", |n| "4111 - ".repeat(n / 7));
    assert_linear("tabbed card groups", |n| "4111\t".repeat(n / 5));
    assert_linear("yaml block keys", |n| "password: |\n".repeat(n / 12));
    assert_linear("yaml keys over blank lines", |n| "token:\n \n \n".repeat(n / 11));
    assert_linear("one long yaml key line", |n| {
        format!("{}token: |\n", "x ".repeat(n / 2))
    });
    assert_linear("nested brackets", |n| format!("\"password\":{}", "[".repeat(n)));
    assert_linear("repeated keys with brackets", |n| {
        "\"password\":[[[[".repeat(n / 15)
    });
    assert_linear("brackets and quotes", |n| {
        format!("\"password\":{}", "[\"]\\\"".repeat(n / 5))
    });
    assert_linear("backslash runs", |n| format!("\"token\":\"{}", "\\".repeat(n)));
    assert_linear("escaped quotes", |n| "\\\\\\\"token\\\\\\\":".repeat(n / 14));
    assert_linear("phrases", |n| "password: a b ".repeat(n / 14));
    assert_linear("url authorities", |n| "x://a:b@".repeat(n / 8));
    assert_linear("pem begins", |n| "-----BEGIN RSA PRIVATE KEY-----".repeat(n / 31));
    assert_linear("token prefixes", |n| "ghp_xoxb-sk_live_AIza".repeat(n / 21));
    assert_linear("more token prefixes", |n| {
        "sk-ant-glpat-SG.npm_hf_pypi-".repeat(n / 28)
    });
    assert_linear("webhook hosts", |n| "discord.com/api/webhooks/ ".repeat(n / 26));
    assert_linear("flags", |n| "--password --token -u ".repeat(n / 22));
    assert_linear("flag values", |n| "--token \"".repeat(n / 10));
    assert_linear("secret names without values", |n| {
        r#"{"name":"token","#.repeat(n / 16)
    });
    // Each `name` looked at its value: a value running to the end of the text, read again from
    // every `name` (`name=name=…`, `name = name = …`), was quadratic.
    assert_linear("repeated name keys", |n| "name=".repeat(n / 5));
    assert_linear("repeated spaced name keys", |n| "name = ".repeat(n / 7));
    assert_linear("repeated name keys with colons", |n| "Name:".repeat(n / 5));
    assert_linear("repeated key keys", |n| "key=".repeat(n / 4));
    assert_linear("parameter keys naming secrets", |n| {
        "ParameterKey=token,".repeat(n / 19)
    });
    assert_linear("key keys naming secrets", |n| {
        r#"{"key":"password","#.repeat(n / 18)
    });
    assert_linear("name keys before a long value", |n| {
        "value=X;name=password;x={".repeat(n / 25)
    });
    assert_linear("secret names after blanks", |n| {
        format!(r#"{}"name":"password""#, " x".repeat(n / 2)).repeat(1)
    });
    assert_linear("secret names after values", |n| {
        r#""value":"#.repeat(n / 8) + r#""name":"token""#
    });
    assert_linear("secret names and blanks", |n| {
        format!(r#""name":"password"{}"#, " x".repeat(n / 2))
    });
    assert_linear("quoted headers", |n| "-H 'Cookie: a' ".repeat(n / 15));
    // Each `20` is a word followed by encoded blanks: only a deny-listed word may look past them.
    assert_linear("encoded blanks", |n| "%20".repeat(n / 3));
    assert_linear("scheme words", |n| "Bearer Basic bearer ".repeat(n / 20));
    assert_linear("basic credentials", |n| "Basic dXNlcjpwYXNz ".repeat(n / 19));
    assert_linear("encoded headers", |n| "authorization%3A%20a%20".repeat(n / 23));
    assert_linear("encoded quotes and brackets", |n| "a%22%5D%29%5C".repeat(n / 13));
    // Headers inside quoted strings: the quote state is read once, left to right.
    assert_linear("quoted headers", |n| "\"Cookie: a\" ".repeat(n / 12));
    assert_linear("escaped quoted headers", |n| {
        "\\\"x Cookie: a\\\" ".repeat(n / 16)
    });
    assert_linear("punctuated values", |n| "password=;#&<\\n ".repeat(n / 17));
    // Every `;`/`&` in one long value looks ahead for a key, a bounded number of bytes.
    assert_linear("separators before long words", |n| {
        format!(
            "password={}",
            ";abcdefghijklmnopqrstuvwxyz0123456789_.-[]&x".repeat(n / 45)
        )
    });
    // Headers in strings closed by `",`: each value ends at its own string, never looks to the line's end.
    assert_linear("quoted headers closed by commas", |n| {
        "\"Cookie: a\", ".repeat(n / 14)
    });
    assert_linear("unmatched quotes before headers", |n| {
        "x\" Cookie: a=\"b\"; c\n".repeat(n / 23)
    });
    // Headers after escaped line breaks: each value ends at the next escaped break.
    assert_linear("headers after escaped line breaks", |n| {
        "\\r\\nCookie: a=b; c \"".repeat(n / 21)
    });
    assert_linear("cookie pairs", |n| {
        format!("cookie={}", "a=b; c&d=e;".repeat(n / 11))
    });
    assert_linear("quoted headers closed before fields", |n| {
        "\"Cookie: a\" , code: ".repeat(n / 20)
    });
    // Percent-encoding read at several levels: each read looks at most four levels deep, whatever a
    // run of `%25` is, and a value encoded twice is skipped whole like any other.
    assert_linear("runs of encoded percents after a key", |n| {
        format!("password{}", "%25".repeat(n / 3))
    });
    assert_linear("runs of %2525 after keys", |n| {
        "token%252525252525".repeat(n / 18)
    });
    assert_linear("keys encoded twice", |n| "password%253D".repeat(n / 13));
    assert_linear("json keys encoded twice", |n| {
        "%2522token%2522%253A%2522".repeat(n / 25)
    });
    assert_linear("an open quote encoded twice", |n| {
        format!("password%253A%2522{}", "%2525".repeat(n / 5))
    });
    assert_linear("query keys encoded twice", |n| {
        "%253Fkey%253D%2526key%253D%2526sig".repeat(n / 34)
    });
    assert_linear("query keys", |n| "?key=&key=&code=".repeat(n / 16));
    assert_linear("trace parent ids", |n| {
        "00-4bf92f3577b34da6a3ce929d0e0e4736-4111111111111111-01 Parent=4111111111111111;".repeat(n / 82)
    });
    // Quotes written `\u0022`, `&quot;` or percent-encoded around arrays: each value is read once and
    // skipped whole, however its brackets nest or fail to close.
    assert_linear("unicode-quoted keys", |n| {
        r"\u0022password\u0022:\u0022".repeat(n / 26)
    });
    assert_linear("unicode-quoted brackets", |n| {
        r"\u0022token\u0022:[[\u0022".repeat(n / 22)
    });
    assert_linear("escaped unicode quotes", |n| {
        format!(r"\u0022token\u0022:\u0022{}", r"\\\u0022".repeat(n / 8))
    });
    assert_linear("entity-quoted keys", |n| {
        "&quot;password&quot;:&quot;".repeat(n / 27)
    });
    assert_linear("entity-quoted brackets", |n| {
        "&#34;token&#34;:{&amp;".repeat(n / 22)
    });
    assert_linear("encoded brackets", |n| {
        "%22password%22%3A%5B%5B%22".repeat(n / 26)
    });
    assert_linear("encoded brackets twice", |n| {
        format!("%2522token%2522%253A{}", "%255B%2522%255D".repeat(n / 15))
    });
    assert_linear("python string prefixes", |n| "password=b'".repeat(n / 11));
    // Encoded URLs: each `%` reads O(1) for a `://`, each authority is read once.
    assert_linear("encoded url authorities", |n| "%3A%2F%2Fa%3Ab%40".repeat(n / 17));
    assert_linear("encoded url authorities twice", |n| {
        "%253A%252F%252F%253A%2540".repeat(n / 25)
    });
    assert_linear("encoded webhook hosts", |n| "hooks.slack.com%252F".repeat(n / 20));
    assert_linear("encoded card separators", |n| "4111%2B%2520\u{a0}".repeat(n / 13));
    assert_linear("encoded dash card groups", |n| "4111%2D".repeat(n / 7));
    assert_linear("encoded escaped quotes", |n| {
        "%5C%22password%5C%22%3A%5C%22".repeat(n / 30)
    });
    assert_linear("encoded backslash runs", |n| {
        format!("%22password%22%3A%5C%5C%22{}", "%5C%22".repeat(n / 6))
    });
    assert_linear("encoded backslashes after keys", |n| {
        format!("password%3A{}", "%5C".repeat(n / 3)).repeat(2)
    });
    assert_linear("encoded dash and dot digits", |n| "1%252D2%2E".repeat(n / 10));
    // Span-id keys before each number: a bounded look back.
    assert_linear("span id keys", |n| "x_span_id=4111111111111111;".repeat(n / 27));
    assert_linear("long span id keys", |n| {
        format!("{}span_id=4111111111111111", "a".repeat(n))
    });
    // 100k nested brackets after one key: one value, redacted whole.
    let s = format!("\"password\":{}", "[".repeat(100_000));
    let out = Redactor::default()
        .with_max_scan_bytes(usize::MAX)
        .redact_str(&s)
        .into_owned();
    assert_eq!(out, "\"password\":\"[REDACTED]\"");
}

#[test]
fn sql_wide_separators_and_multi_line_strings_stay_linear() {
    // SQL keywords: each reads a bounded number of words after it, the cursor jumps past literals.
    assert_linear("sql password literals", |n| " PASSWORD '".repeat(n / 11));
    assert_linear("sql password literals in a statement", |n| {
        format!("ALTER ROLE r{}", " PASSWORD '".repeat(n / 11))
    });
    assert_linear("sql doubled quotes", |n| " PASSWORD 'a''".repeat(n / 14));
    assert_linear("one literal of doubled quotes", |n| {
        format!(" PASSWORD '{}", "''".repeat(n / 2))
    });
    assert_linear("sql password for", |n| " password for ".repeat(n / 14));
    assert_linear("sql long accounts", |n| {
        format!(" password for {}", "a".repeat(n))
    });
    assert_linear("sql accounts without equals", |n| {
        " SET PASSWORD FOR 'u'@'%' ".repeat(n / 26)
    });
    assert_linear("sql identified with", |n| " IDENTIFIED WITH ".repeat(n / 17));
    // Inserts: the cursor only moves on, through names, rows, parentheses and literals.
    assert_linear("sql insert verbs", |n| "INSERT INTO t (".repeat(n / 15));
    assert_linear("sql insert columns", |n| {
        format!("INSERT INTO t ({}", "password, ".repeat(n / 10))
    });
    assert_linear("sql insert rows", |n| {
        format!("INSERT INTO t (password) VALUES {}", "('x'), ".repeat(n / 7))
    });
    assert_linear("sql insert nesting", |n| {
        format!("INSERT INTO t (password) VALUES ({}", "f(".repeat(n / 2))
    });
    assert_linear("sql insert open literals", |n| {
        "INSERT INTO t (password) VALUES ('x\n".repeat(n / 37)
    });
    assert_linear("sql values parentheses", |n| "values (".repeat(n / 8));
    assert_linear("names through prepositions", |n| {
        "password for a: ".repeat(n / 16)
    });
    assert_linear("quoted passwords", |n| "password \"".repeat(n / 10));
    assert_linear("quoted passwords escaped", |n| "pwd \\\"".repeat(n / 6));
    assert_linear("debug structs under a denied field", |n| {
        "token: T {".repeat(n / 10)
    });
    assert_linear("pretty wrappers", |n| "token: Some(\n".repeat(n / 13));
    assert_linear("sql insert quoted names", |n| "INSERT INTO \"".repeat(n / 13));
    assert_linear("sql insert quoted columns", |n| {
        "INSERT INTO t (\"".repeat(n / 16)
    });
    assert_linear("sql insert backslashes", |n| {
        format!("INSERT INTO t (password) VALUES ({}", "\\".repeat(n))
    });
    assert_linear("sql identified by", |n| " identified by \\\"".repeat(n / 17));
    assert_linear("sql whitespace runs", |n| {
        format!(" PASSWORD {}x", "\n ".repeat(n / 2))
    });
    assert_linear("sql escaped line breaks", |n| "\\nPASSWORD \\n".repeat(n / 13));
    assert_linear("sql escaped blanks after keywords", |n| {
        " PASSWORD\\n\\t\u{a0}".repeat(n / 15)
    });
    assert_linear("sql blank runs", |n| {
        format!(" PASSWORD {}x", "\\n\u{a0}\\t".repeat(n / 6))
    });
    assert_linear("sql statements", |n| {
        " ALTER USER a PASSWORD 'x' ;".repeat(n / 28)
    });
    assert_linear("sql verbs", |n| "create user ".repeat(n / 12));
    assert_linear("sql verbs and keywords far apart", |n| {
        format!("GRANT {} IDENTIFIED BY 'x'", "identified ".repeat(n / 11))
    });
    assert_linear("sql verbs before blank runs", |n| {
        format!("alter {}x PASSWORD 'x'", " ".repeat(n))
    });
    assert_linear("sql dollar quotes", |n| " SET PASSWORD $a$".repeat(n / 17));
    assert_linear("sql one dollar-quoted line", |n| {
        format!(" PASSWORD $ab$ {}", "$a".repeat(n / 2))
    });
    assert_linear("sql replace", |n| " PASSWORD '' REPLACE '' ".repeat(n / 24));
    assert_linear("sql quoted plugins", |n| {
        " IDENTIFIED WITH 'a' AS ".repeat(n / 23)
    });
    assert_linear("sql prefixed literals", |n| " PASSWORD = N'".repeat(n / 14));
    // Oracle's unquoted passwords: the cursor jumps past each word; verbs read a bounded number of
    // words (`CREATE SHARED PUBLIC DATABASE LINK`).
    assert_linear("sql unquoted passwords", |n| {
        format!("ALTER USER u{}", " IDENTIFIED BY x".repeat(n / 16))
    });
    assert_linear("sql one long unquoted password", |n| {
        format!("CREATE USER u IDENTIFIED BY {}", "a".repeat(n))
    });
    assert_linear("sql unquoted replace chains", |n| {
        format!("ALTER USER u{}", " IDENTIFIED BY a REPLACE b".repeat(n / 26))
    });
    assert_linear("sql unquoted passwords of backslashes", |n| {
        format!("CREATE USER u IDENTIFIED BY {}", "\\\\\\a".repeat(n / 4))
    });
    assert_linear("sql unquoted passwords of parentheses", |n| {
        format!("CREATE USER u IDENTIFIED BY {}", "((a)".repeat(n / 4))
    });
    // A comment is read within a bound.
    assert_linear("sql unclosed comments after verbs", |n| "create/*".repeat(n / 8));
    assert_linear("sql unclosed comments after keywords", |n| {
        format!("ALTER USER u{}", " IDENTIFIED /* x".repeat(n / 16))
    });
    assert_linear("sql line comments without a line break", |n| {
        format!("ALTER USER u{}", " IDENTIFIED BY -- x".repeat(n / 19))
    });
    assert_linear("sql comments between passwords", |n| {
        format!("ALTER USER u{}", " IDENTIFIED /**/ BY /**/ x".repeat(n / 26))
    });
    assert_linear("sql punctuation in unquoted passwords", |n| {
        format!("CREATE USER u IDENTIFIED BY {}", ",;)\\\\a".repeat(n / 6))
    });
    assert_linear("sql quotes in unquoted passwords", |n| {
        format!("CREATE USER u IDENTIFIED BY {}", "a'\"".repeat(n / 3))
    });
    assert_linear("sql grant password lists", |n| {
        format!("GRANT c TO u IDENTIFIED BY {}", "a, ".repeat(n / 3))
    });
    assert_linear("sql keywords after verbs and blank runs", |n| {
        format!(
            ";create{}user u{}",
            " ".repeat(512),
            " identified by x".repeat(32)
        )
        .repeat(n / 1030)
    });
    assert_linear("sql keywords right after objects", |n| {
        "alter role identified by x ".repeat(n / 27)
    });
    assert_linear("sql database link verbs", |n| {
        "create shared public database ".repeat(n / 30)
    });
    // Parentheses before keys are counted once, left to right; a value's own once, as it is read.
    assert_linear("keys in parentheses", |n| "(token=a) ".repeat(n / 10));
    assert_linear("parentheses opened before a key", |n| {
        format!("{}token=x) y", "(".repeat(n))
    });
    assert_linear("a value's own parentheses", |n| {
        format!("(token={}", "(a)b".repeat(n / 4))
    });
    assert_linear("closing parentheses in a value", |n| {
        format!("(token={}", ")a".repeat(n / 2))
    });
    // What follows a `)` is read within a bound: closing brackets, a key after `,`.
    assert_linear("closing bracket runs in a value", |n| {
        format!("(token={}", ")]}".repeat(n / 3))
    });
    assert_linear("commas after parentheses in a value", |n| {
        format!("(token={}", "),a_long_argument_name".repeat(n / 22))
    });
    assert_linear("escapes after parentheses in a value", |n| {
        format!("(token={}", ")\\\\\\a".repeat(n / 5))
    });
    // Percent-encoded SQL: each parameter holding an encoded keyword is decoded once.
    assert_linear("sql encoded statements", |n| {
        "?q=ALTER+USER+a+IDENTIFIED+BY+x%27".repeat(n / 34)
    });
    assert_linear("sql encoded keywords in one parameter", |n| {
        format!("?q=ALTER+USER+a{}", "+identified+%20".repeat(n / 15))
    });
    assert_linear("sql encoded keywords without verbs", |n| {
        "+password%2".repeat(n / 11)
    });
    assert_linear("sql encoded keywords at every level", |n| {
        format!(
            "?q=ALTER+USER+a{}",
            "%2520PASSWORD%252B%0Aidentified".repeat(n / 36)
        )
    });
    assert_linear("sql encoded keywords after percent runs", |n| {
        format!(
            "?q=ALTER+USER+a{}",
            "%25%25%2B%25%2520IDENTIFIED\\\"".repeat(n / 30)
        )
    });
    assert_linear("sql encoded statement before a run of backslashes", |n| {
        format!("?q=ALTER+USER+a+IDENTIFIED+BY+x{}\"}}", "\\".repeat(n))
    });
    assert_linear("sql encoded statements with quotes", |n| {
        "?q=ALTER+USER+a+IDENTIFIED+BY+\"x\"+".repeat(n / 36)
    });
    assert_linear("sql random passwords", |n| {
        format!("SET ROLE r{}", " IDENTIFIED BY RANDOM PASSWORD".repeat(n / 30))
    });
    assert_linear("sql accounts of escapes", |n| {
        format!(" password for {}", "\\x".repeat(n / 2))
    });
    // No-break spaces and full-width separators.
    assert_linear("no-break spaces after keys", |n| "password\u{a0}".repeat(n / 10));
    assert_linear("no-break space runs", |n| {
        format!("password{}", "\u{a0}".repeat(n / 2))
    });
    assert_linear("full-width separators", |n| "token\u{ff1a}".repeat(n / 8));
    assert_linear("full-width separators and CJK punctuation", |n| {
        "token\u{ff1a}a\u{3001}".repeat(n / 12)
    });
    assert_linear("wide blanks and separators", |n| {
        "secret\u{3000}\u{ff1d}\u{202f}".repeat(n / 15)
    });
    // Triple-quoted strings: a search stops at the next triple quote.
    assert_linear("triple quotes", |n| "password = \"\"\"".repeat(n / 14));
    assert_linear("triple single quotes", |n| "password = '''\n".repeat(n / 15));
    assert_linear("escaped triple quotes", |n| r#"password = \"\"\""#.repeat(n / 17));
    assert_linear("one escaped triple-quoted string", |n| {
        format!(r#"password = \"\"\"{}"#, r#"\"\"a"#.repeat(n / 5))
    });
    assert_linear("one triple-quoted string", |n| {
        format!("password = \"\"\"{}", "\\\"\"\n".repeat(n / 4))
    });
    // JSON strings over line breaks: a search stops at the first quote after the break.
    assert_linear("json values cut by line breaks", |n| {
        "\"password\":\"\n".repeat(n / 13)
    });
    assert_linear("json value and a long line", |n| {
        format!("\"password\":\"\n{}", "a".repeat(n))
    });
    assert_linear("json values over blank lines", |n| {
        "\"token\":\"a\n\n\n\n\n\n\\\"\n".repeat(n / 20)
    });
    assert_linear("json values, quotes ending no member", |n| {
        "{\"password\":\"a\n\"x".repeat(n / 17)
    });
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
        prop_assert_eq!(red.is_denied_field(&name), denied_per_word(&red, &name));
    }
}

/// The deny-list test by its definition, word by word: the normalised name ends with a deny word,
/// contains a word denied anywhere, or its last word is `pan`.
fn denied_per_word(red: &Redactor, name: &str) -> bool {
    red.deny.iter().any(|d| ends_with_normalised(name, d))
        || DENY_ANYWHERE.iter().any(|d| contains_normalised(name, d))
        || DENY_LAST_WORD.iter().any(|w| last_word_is(name, w))
}

#[test]
fn the_deny_list_fast_paths_agree_with_its_definition() {
    let custom = Redactor::default().deny_fields(["x-session", "Pin"]);
    let empty = Redactor::default().deny_fields([""]);
    let names = [
        "",
        "_",
        "password",
        "db.password",
        "PASSWORD_HASH",
        "my-passwd-file",
        "private_key_pem",
        "api_key",
        "apiKey",
        "x-api-key",
        "token",
        "tokens",
        "session_token",
        "card_id",
        "span",
        "card_pan",
        "cardPan",
        "japan",
        "secret",
        "secrets",
        "SecretString",
        "cookie",
        "set-cookie",
        "cookies",
        "authorization",
        "user_pin",
        "pinned",
        "x_session",
        "xsession2",
        "cvv2",
        "cvc",
        "ssn",
        "lesson",
        "credential",
        "credentials",
        "signature",
        "a",
        "p",
        "pass",
        "privatekeys",
        "comparables",
        "value_usd",
        "function_request_id",
        "correlation_id",
        "arn",
        "aws",
        "eu-west-1",
        "123456789012",
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa_token",
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa_name",
    ];
    // `is_denied_field` reads a name for these words only when it holds a `p`.
    assert!(DENY_ANYWHERE.iter().all(|d| d.contains('p')));
    for r in [&Redactor::default(), &custom, &empty] {
        for name in names {
            assert_eq!(r.is_denied_field(name), denied_per_word(r, name), "{name:?}");
        }
    }
    assert!(custom.is_denied_field("user_pin") && !Redactor::default().is_denied_field("user_pin"));
    assert!(
        empty.is_denied_field("anything"),
        "an empty deny word ends every name"
    );
}

proptest! {
    /// The digits hint must hold wherever the card finder finds a card: test numbers grouped by
    /// fours with any of the separators the finder accepts, inside any surrounding text.
    #[test]
    fn the_digits_hint_never_hides_a_card(
        card in prop::sample::select(vec!["4111111111111111", "5555555555554444", "378282246310005", "6011111111111117", "4222222222222"]),
        seps in prop::collection::vec(prop::sample::select(vec!["", " ", "-", ".", "  ", "+", "%20", "\t", " - ", "%2B", "%2b", "%2520", "%252B", "%09", "%2D", "%2d", "%2E", "%2e", "%252D", "%25252E", "\u{a0}", "\u{202f}", "\u{2007}", "\u{2009}", "\\u00a0", "&nbsp;", "&#160;"]), 4),
        before in "[a-z0-9 .:=-]{0,12}",
        after in "[a-z0-9 .:=-]{0,12}",
    ) {
        let mut text = before.clone();
        for (k, chunk) in card.as_bytes().chunks(4).enumerate() {
            if k > 0 {
                text.push_str(seps[(k - 1) % seps.len()]);
            }
            text.push_str(std::str::from_utf8(chunk).unwrap());
        }
        text.push_str(&after);
        let mut spans = Vec::new();
        find_card_numbers(text.as_bytes(), &mut spans);
        if !spans.is_empty() {
            prop_assert!(Hints::of(text.as_bytes()).is_some_and(|h| h.digits), "{text:?}");
        }
    }
}

proptest! {
    /// UUIDs and X-Ray trace ids are taken as they are, without a scan, only when the scan would
    /// leave them so: for any rules (a custom deny word, e-mails off), each group drawn either from
    /// decimal digits only (so groups of digits that spell Luhn-valid card numbers come up) or from
    /// any hex digits, the answer is the full scan's.
    #[test]
    fn uuids_and_trace_ids_skipped_are_the_ones_the_scan_keeps(
        groups in proptest::collection::vec(
            (proptest::bool::ANY, "[0-9a-fA-F]{12}", "[0-9]{12}", "[4-5][0-9]{11}"),
            5,
        ),
        trace in proptest::bool::ANY,
        custom in proptest::bool::ANY,
    ) {
        let widths = [8usize, 4, 4, 4, 12];
        let part = |k: usize| {
            let (digits, hex, dec, card) = &groups[k];
            let src = if *digits { if k.is_multiple_of(2) { dec } else { card } } else { hex };
            src[..widths[k]].to_owned()
        };
        let s = if trace {
            format!("1-{}-{}{}{}{}", part(0), part(1), part(2), part(3), part(4))
        } else {
            format!("{}-{}-{}-{}-{}", part(0), part(1), part(2), part(3), part(4))
        };
        let red = if custom { Redactor::default().deny_fields(["ab", "ff"]).keep_emails() } else { Redactor::default() };
        prop_assert_eq!(red.redact_str(&s), red.scan_all(&s));
    }
}

/// UUIDs whose digit groups spell a Luhn-valid card (the first three groups, or the last two) are
/// scanned as any text: their card digits go. Digit groups that are no card (no issuer prefix, as in
/// `8000-000000000001`) leave the UUID as it is.
#[test]
fn a_uuid_whose_digit_groups_spell_a_card_is_scanned() {
    assert_eq!(
        r("deadbeef-dead-beef-4111-111111111111"),
        "deadbeef-dead-beef-[REDACTED]"
    );
    assert_eq!(
        r("41111111-1111-1111-abcd-ef0123456789"),
        "[REDACTED]-abcd-ef0123456789"
    );
    assert_eq!(
        r("41111111-1111-1111-1234-567890123456"),
        Redactor::default().scan_all("41111111-1111-1111-1234-567890123456")
    );
    assert_eq!(
        r("8f5b3c1e-0000-4000-8000-000000000001"),
        "8f5b3c1e-0000-4000-8000-000000000001"
    );
}

/// The per-thread answers for `'static` field names are the deny list's: for denied and allowed names
/// alike, asked again (from the cache), past the cache's size (evictions), and never carried over to a
/// redactor with other rules.
#[test]
fn static_field_names_are_denied_as_the_list_says() {
    const NAMES: &[&str] = &[
        "password",
        "user_password",
        "api_key",
        "apiKey",
        "card_pan",
        "cardPan",
        "span",
        "company",
        "session_secret",
        "token",
        "input_tokens",
        "Authorization",
        "cookie",
        "set_cookie",
        "card_id",
        "source",
        "table",
        "stage",
        "comparables",
        "value_usd",
        "outcome",
        "function_request_id",
        "function_arn",
        "correlation_id",
        "annotation.Service",
        "private_key_pem",
        "passwd",
        "cvv",
        "signature",
        "credential",
        "x_api_key",
        "refresh_token",
        "grade",
        "model",
        "agent",
        "region",
        "bucket",
        "key",
        "secret_name",
        "pan",
    ];
    let red = Redactor::default();
    for _ in 0..3 {
        for name in NAMES {
            assert_eq!(red.is_denied_static(name), red.is_denied_field(name), "{name}");
        }
    }
    assert!(!red.is_denied_static("source"));
    let custom = Redactor::default().deny_fields(["source"]);
    assert!(
        custom.is_denied_static("source"),
        "another redactor's rules, not the cache"
    );
    assert!(!red.is_denied_static("source"));
}

/// A text found clean before is not scanned again (`CleanTexts`): a secret in the same set as a
/// clean text, with the same length and the bytes the slot is chosen by, still goes; and a clean text
/// under the default rules is not taken for clean by a redactor with rules of its own.
#[test]
fn texts_found_clean_before_are_compared_whole() {
    let red = Redactor::default();
    let clean = "tokenXsupersecretvalue";
    let secret = "token=supersecretvalue";
    assert_eq!(clean.len(), secret.len());
    assert_eq!(
        CleanTexts::set(clean.as_bytes()),
        CleanTexts::set(secret.as_bytes())
    );
    for _ in 0..2 {
        assert_eq!(red.redact_str(clean), clean);
        assert_eq!(red.redact_str(secret), "token=[REDACTED]");
    }
    // Kept clean by the default rules, then under rules denying `card_ref`.
    let text = "card_ref=c-17 priced";
    assert_eq!(red.redact_str(text), text);
    assert_eq!(
        Redactor::default().deny_fields(["card_ref"]).redact_str(text),
        "card_ref=[REDACTED] priced"
    );
    assert_eq!(red.redact_str(text), text);
}

proptest! {
    /// Scanning a text twice (the second time it may be one found clean) gives what a scan by rules
    /// that keep nothing gives (`keep_emails` on a text without `@`: the same rules, no cache).
    #[test]
    fn a_repeated_text_is_redacted_as_a_fresh_scan_redacts_it(
        s in "[a-zA-Z0-9=:_ .-]{0,70}",
    ) {
        let red = Redactor::default();
        let fresh = Redactor::default().keep_emails();
        let first = red.redact_str(&s).into_owned();
        let second = red.redact_str(&s).into_owned();
        let uncached = fresh.redact_str(&s).into_owned();
        prop_assert_eq!(&first, &uncached);
        prop_assert_eq!(&second, &uncached);
    }
}

/// A header's value runs to the end of its line, over its own quotes: RFC 6265 cookie values may be
/// quoted (`theme="dark"`) and RFC 7616 Digest credentials are quoted-strings. Only a header written
/// inside a quoted string (a JSON value, at any escape level) ends where that string ends.
#[test]
fn header_values_run_over_their_own_quotes() {
    assert_eq!(
        r(r#"Cookie: theme="dark"; session=abc123secret"#),
        "Cookie: [REDACTED]"
    );
    assert_eq!(
        r(r#"Set-Cookie: sid="s3cr3t-value"; HttpOnly"#),
        "Set-Cookie: [REDACTED]"
    );
    let digest = r#"Authorization: Digest username="bob", realm="api@example.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", uri="/cards", response="6629fae49393a05397450978507c4ef1""#;
    assert_eq!(r(digest), "Authorization: [REDACTED]");
    assert_eq!(
        r("Cookie: theme=\"dark\"; session=abc123secret\nnext line"),
        "Cookie: [REDACTED]\nnext line"
    );
    // Inside a JSON string: the value ends with the string, JSON stays JSON.
    for (input, want) in [
        (
            r#"{"msg":"Cookie: a=b","n":1}"#,
            r#"{"msg":"Cookie: [REDACTED]","n":1}"#,
        ),
        (
            r#"{"msg":"got Cookie: theme=\"dark\"; session=abc123secret","n":1}"#,
            r#"{"msg":"got Cookie: [REDACTED]","n":1}"#,
        ),
        (
            r#"{"body":"{\"h\":\"Cookie: a=b\",\"n\":1}","n":1}"#,
            r#"{"body":"{\"h\":\"Cookie: [REDACTED]\",\"n\":1}","n":1}"#,
        ),
    ] {
        let out = r(input);
        assert_eq!(out, want);
        serde_json::from_str::<serde_json::Value>(&out).unwrap();
    }
    assert_eq!(
        r("{'h': 'Cookie: a=b', 'n': 1}"),
        "{'h': 'Cookie: [REDACTED]', 'n': 1}"
    );
}

/// A deny-listed key's unquoted value is the run up to the next blank, newline or quote, whatever
/// punctuation it starts with or holds; `&` and `#` end it only in a URL query or form (`?k=`,
/// `&k=`, `user[k]=`), where they separate parameters; a quoted key's (JSON) number still ends at
/// `,` `}` `]`.
#[test]
fn unquoted_values_run_over_punctuation() {
    for (input, want) in [
        ("password=#hunter2", "password=[REDACTED]"),
        ("password=<hunter2> next", "password=[REDACTED] next"),
        ("password=;hunter2", "password=[REDACTED]"),
        ("api_key=,abc", "api_key=[REDACTED]"),
        (r"secret=\abc", "secret=[REDACTED]"),
        ("password=p;ss user=bob", "password=[REDACTED] user=bob"),
        (
            "login(password=p)ss, user=bob)",
            "login(password=[REDACTED], user=bob)",
        ),
        ("password: #hunter2 user=bob", "password: [REDACTED] user=bob"),
        // URL queries and forms.
        ("GET /cards?token=&page=2", "GET /cards?token=&page=2"),
        (
            "GET /cards?token=a;b,c&page=2#top",
            "GET /cards?token=[REDACTED]&page=2#top",
        ),
        ("GET /cards?page=2&api_key=#x", "GET /cards?page=2&api_key=#x"),
        (
            "form user=u1&password=p;ss&go=1",
            "form user=u1&password=[REDACTED]&go=1",
        ),
        ("user[password]=p;ss&x=1", "user[password]=[REDACTED]&x=1"),
        // JSON numbers after a quoted key.
        (r#"{"pin_token":1234}"#, r#"{"pin_token":[REDACTED]}"#),
        (
            r#"{"db_password":-1,"n":1}"#,
            r#"{"db_password":[REDACTED],"n":1}"#,
        ),
        // Inside a JSON string: before the escaped quote's backslash, and before an escaped newline.
        (
            r#"{"msg":"password=p;ss\" x","n":1}"#,
            r#"{"msg":"password=[REDACTED]\" x","n":1}"#,
        ),
        (
            r#"{"msg":"password=p;ss\nuser=bob","n":1}"#,
            r#"{"msg":"password=[REDACTED]\nuser=bob","n":1}"#,
        ),
    ] {
        assert_eq!(r(input), want, "{input}");
    }
    for secret in [
        "#hunter2",
        "<hunter2>",
        ";hunter2",
        ",hunter2",
        "\\hunter2",
        "p;ss",
        "p#ss",
        ")hunter2",
    ] {
        for key in ["password", "api_key", "secret", "token"] {
            for sep in ["=", ": ", " = "] {
                let s = format!("x {key}{sep}{secret} n=1");
                let out = r(&s);
                assert!(!out.contains("hunter2") && !out.contains("ss "), "{s} -> {out}");
            }
        }
    }
}

/// A Slack incoming-webhook URL without a scheme (no `:`, `=` or `%` in the text) is still found.
#[test]
fn slack_webhooks_without_a_separator() {
    assert_eq!(
        r("posting to hooks.slack.com/services/T0AAA/B0BBB/abcdefghijklmnop now"),
        "posting to hooks.slack.com/[REDACTED] now"
    );
    assert_eq!(
        r("posting to HOOKS.SLACK.COM/services/T0AAA/B0BBB/abcdefghijklmnop now"),
        "posting to HOOKS.SLACK.COM/[REDACTED] now"
    );
    assert_eq!(r("the slack channel stays"), "the slack channel stays");
}

/// A span id is 16 random hex digits; about one in 1,800 is all decimal, and some of those
/// are Luhn-valid with a card prefix. In a trace header — after X-Ray's `Parent=` or as a W3C
/// `traceparent`'s parent-id — it is a span id, not a card, and the header stays whole.
#[test]
fn decimal_span_ids_in_trace_headers_are_not_cards() {
    let xray = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=4111111111111111;Sampled=1";
    let tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-4111111111111111-01";
    for text in [
        xray.to_owned(),
        format!("X-Amzn-Trace-Id: {xray}"),
        format!(r#"{{"AWSTraceHeader":"{xray}"}}"#),
        tp.to_owned(),
        format!("traceparent: {tp}"),
        format!(r#"{{"traceparent":"{tp}","n":1}}"#),
        "00-12345678901234567890123456789012-5555555555554444-01".to_owned(),
    ] {
        assert_eq!(r(&text), text);
    }
    // The same digits anywhere else are still a card.
    assert_eq!(r("card 4111111111111111"), "card [REDACTED]");
    assert_eq!(r("Parent: 4111111111111111"), "Parent: [REDACTED]");
    // After a key naming a span id, 16 digits are one; grouped, or after another key, a card.
    assert_eq!(r("span_id=4111111111111111"), "span_id=4111111111111111");
    assert_eq!(r("span_id=4111 1111 1111 1111"), "span_id=[REDACTED]");
    assert_eq!(r("card_id=4111111111111111"), "card_id=[REDACTED]");
    assert_eq!(r("spanish=4111111111111111"), "spanish=[REDACTED]");
    assert_eq!(r("id-4111111111111111-01"), "id-[REDACTED]-01");
}

proptest! {
    /// The fuzz target's property (`fuzz/fuzz_targets/redact.rs`) on text made of the bytes the
    /// header, query, JSON and punctuation rules turn on: a value planted after any text never
    /// survives.
    #[test]
    fn a_value_planted_after_punctuated_text_never_leaks(
        text in "[\"'\\\\ a-zA-Z:=?&#;,<>(){}\\[\\]%n\n-]{0,60}",
        header in "(Cookie|Authorization|x|password|token)",
    ) {
        let text = text.replace('x', &header);
        for key in ["password=", "api_key: ", "\"token\":\"", "X-Amz-Signature=", "token%3D", "Cookie: "] {
            let planted = format!("{text} {key}Zq9PlantedSecretValue7");
            let out = r(&planted);
            prop_assert!(!out.contains("Zq9PlantedSecretValue7"), "{:?} -> {:?}", planted, out);
        }
    }
}

/// Only a real HTTP header name (the whole name, any case, `_` for `-`) followed by `:` runs to the end
/// of the line. A field whose name merely ends like one (`api_key`, `session_cookie`,
/// `security_token`: a Rust `Debug` struct, YAML) ends as any other value, at the next blank, and a
/// `,` right before the next key stays.
#[test]
fn only_http_header_names_run_to_the_end_of_the_line() {
    for (input, want) in [
        (
            r#"Config { api_key: None, region: "eu-west-1", retries: 3 }"#,
            r#"Config { api_key: [REDACTED], region: "eu-west-1", retries: 3 }"#,
        ),
        ("api_key: None", "api_key: [REDACTED]"),
        (
            "Settings { session_cookie: abc, path: /, security_token: xyz, ttl: 60 }",
            "Settings { session_cookie: [REDACTED], path: /, security_token: [REDACTED], ttl: 60 }",
        ),
        (
            "login(user=bob, password=hunter2, mode=x)",
            "login(user=bob, password=[REDACTED], mode=x)",
        ),
        // The headers themselves, in any case and with `_` for `-`, still run to the line's end.
        (r#"Cookie: theme="dark"; session=abc"#, "Cookie: [REDACTED]"),
        (r#"set_cookie: sid="s"; HttpOnly"#, "set_cookie: [REDACTED]"),
        ("X_API_KEY: abc def, ghi", "X_API_KEY: [REDACTED]"),
        ("x-auth-token: abc def", "x-auth-token: [REDACTED]"),
        (
            r#"headers.cookie: theme="dark"; session=abc"#,
            "headers.cookie: [REDACTED]",
        ),
        (
            "authorization: Digest a=\"b\", c=\"d\"\nnext",
            "authorization: [REDACTED]\nnext",
        ),
    ] {
        assert_eq!(r(input), want, "{input}");
    }
    assert!(is_header_name("Proxy-Authorization") && is_header_name("X-Amz-Security-Token"));
    for field in [
        "api_key",
        "apikey",
        "session_cookie",
        "security_token",
        "cookies",
        "SetCookie",
    ] {
        assert!(!is_header_name(field), "{field}");
    }
}

/// A `&` or `;` followed by another `key=` separates fields — a form body, a URL fragment (OAuth's
/// implicit flow), a query string logged as a value, an ADO.NET connection string — and ends the
/// value before it. With no key after it (`password=p;ss`, `password=;x`) it is the value's own.
#[test]
fn ampersand_or_semicolon_before_another_key_ends_a_value() {
    for (input, want) in [
        (
            "client_secret=abc&grant_type=client_credentials&scope=read",
            "client_secret=[REDACTED]&grant_type=client_credentials&scope=read",
        ),
        (
            "rawQueryString=token=abc&page=2&sort=asc",
            "rawQueryString=token=[REDACTED]&page=2&sort=asc",
        ),
        (
            "https://app.example.com/callback#access_token=eyJabc&state=xyz&expires_in=3600",
            "https://app.example.com/callback#access_token=[REDACTED]&state=xyz&expires_in=3600",
        ),
        (
            "Password=hunter2;Encrypt=True;Connection Timeout=30",
            "Password=[REDACTED];Encrypt=True;Connection Timeout=30",
        ),
        (
            "Server=db;User Id=sa;Password=hunter2;Encrypt=True",
            "Server=db;User Id=sa;Password=[REDACTED];Encrypt=True",
        ),
        (
            "X-Amz-Signature=abcdef&X-Amz-Date=20261205T000000Z",
            "X-Amz-Signature=[REDACTED]&X-Amz-Date=20261205T000000Z",
        ),
        ("password=abc; user=bob", "password=[REDACTED]; user=bob"),
        (
            "form password=a&user[name]=bob",
            "form password=[REDACTED]&user[name]=bob",
        ),
        // In a fragment `&` and `#` end a value as in a query, whatever follows.
        ("cb#token=abc&", "cb#token=[REDACTED]&"),
        // No key after the `&`/`;`: the value runs on, whole.
        ("password=#hunter2", "password=[REDACTED]"),
        ("password=;x", "password=[REDACTED]"),
        ("password=p;ss", "password=[REDACTED]"),
        ("password=p;ss user=bob", "password=[REDACTED] user=bob"),
        ("password=a&b c", "password=[REDACTED] c"),
        ("password=a;=b", "password=[REDACTED]"),
        ("password=a;1x=b", "password=[REDACTED]"),
        // A key with a blank (`Connection Timeout=`) right after the value is not read as one: the
        // value ends at the blank, and what stands before it may be the secret's (`p;ss user=`).
        (
            "Password=hunter2;Connection Timeout=30",
            "Password=[REDACTED] Timeout=30",
        ),
    ] {
        assert_eq!(r(input), want, "{input}");
    }
    // A key longer than the look-ahead leaves the value running on (more hidden, never less).
    let long = format!("password=abc&{}=1", "k".repeat(KEY_LOOKAHEAD));
    assert_eq!(r(&long), "password=[REDACTED]");
}

/// A header counted inside a quoted string ends only where that string closes: at a closing quote
/// followed by `,` and the next member's quote, `}`, `]`, `\` or the line's end. A quote followed by
/// anything else is the value's own, or the quote before the header was not a string's (an unmatched
/// `"` earlier on the line): the header then runs to the end of the line.
#[test]
fn a_header_in_a_quoted_string_ends_only_where_the_string_closes() {
    for (input, want) in [
        (
            r#"he wrote "hello Cookie: theme="dark"; session=abc"#,
            r#"he wrote "hello Cookie: [REDACTED]"#,
        ),
        (
            r#"size 5" tv; Cookie: theme="dark"; session=abc"#,
            r#"size 5" tv; Cookie: [REDACTED]"#,
        ),
        (
            "size 5\" tv; Cookie: theme=\"dark\"; session=abc\nnext \"line\"",
            "size 5\" tv; Cookie: [REDACTED]\nnext \"line\"",
        ),
        (
            "size 5\" tv; Cookie: theme=\"dark\"; session=abc\r\nnext",
            "size 5\" tv; Cookie: [REDACTED]\r\nnext",
        ),
        // Digest's `"bob",` is followed by a parameter, not by the next member's quote.
        (
            r#"he said "Authorization: Digest username="bob", response="6629fae4""#,
            r#"he said "Authorization: [REDACTED]""#,
        ),
        // A string closed by anything else than JSON punctuation: to the end of the line, unless
        // the string holds the header alone (its quote right before the name: a logfmt value, a
        // shell word), which a blank after its closing quote ends.
        (
            r#"msg="x Cookie: a=b" level=info"#,
            r#"msg="x Cookie: [REDACTED]"#,
        ),
        (
            r#"msg="Cookie: a=b" level=info"#,
            r#"msg="Cookie: [REDACTED]" level=info"#,
        ),
        (r#"msg="Cookie: a=b"level=info"#, r#"msg="Cookie: [REDACTED]"#),
        (
            r#"{"msg":"hello \"Cookie: theme=\"dark\"; session=abc"}"#,
            r#"{"msg":"hello \"Cookie: [REDACTED]"}"#,
        ),
    ] {
        assert_eq!(r(input), want, "{input}");
    }
    // JSON stays JSON: the value ends at the string's closing quote.
    for (input, want) in [
        (
            r#"{"msg":"Cookie: a=b","x":1}"#,
            r#"{"msg":"Cookie: [REDACTED]","x":1}"#,
        ),
        (
            r#"{"msg": "Cookie: a=b", "x": 1}"#,
            r#"{"msg": "Cookie: [REDACTED]", "x": 1}"#,
        ),
        (r#"["Cookie: a=b"]"#, r#"["Cookie: [REDACTED]"]"#),
        (
            r#"["Cookie: a=b","Authorization: Basic x"]"#,
            r#"["Cookie: [REDACTED]","Authorization: [REDACTED]"]"#,
        ),
        (
            r#"{"body":"{\"h\":\"Cookie: a=b\",\"n\":1}","n":1}"#,
            r#"{"body":"{\"h\":\"Cookie: [REDACTED]\",\"n\":1}","n":1}"#,
        ),
        (
            r#"{"body":"{\"h\":\"Cookie: a=b\"}"}"#,
            r#"{"body":"{\"h\":\"Cookie: [REDACTED]\"}"}"#,
        ),
    ] {
        let out = r(input);
        assert_eq!(out, want, "{input}");
        serde_json::from_str::<serde_json::Value>(&out).unwrap();
    }
    assert_eq!(
        r("{'h': 'Cookie: a=b', 'n': 1}"),
        "{'h': 'Cookie: [REDACTED]', 'n': 1}"
    );
}

/// Regressions of the exact header names and the `&`/`;` look-ahead: a header after an escaped line
/// break (`\r\nCookie:` reads as the word `nCookie`) ends at the next escaped break; a cookie's value
/// runs over `;` and `&`; any name ending in `authorization` is a header; a password's value ends
/// only before a parameter name of a form or connection string; a header's string closes before
/// blanks and `}`, or `,` and the next `field:`.
#[test]
fn escaped_line_breaks_cookies_and_passwords() {
    for (input, want) in [
        (
            r#"{"raw":"GET / HTTP/1.1\r\nCookie: theme=dark; sid=secret1\r\nHost: x\r\n\r\n","n":1}"#,
            r#"{"raw":"GET / HTTP/1.1\r\nCookie: [REDACTED]\r\nHost: x\r\n\r\n","n":1}"#,
        ),
        (
            r#"raw="\tAuthorization: Digest username=\"bob\", response=\"6629fae4\"""#,
            r#"raw="\tAuthorization: [REDACTED]""#,
        ),
        (
            r"GET / HTTP/1.1\r\nX-Api-Key: abc def\r\nHost: x",
            r"GET / HTTP/1.1\r\nX-Api-Key: [REDACTED]\r\nHost: x",
        ),
        // `\\n` is an escaped backslash, then the word `nCookie`: no header.
        (r"a\\nCookie: a=b", r"a\\nCookie: [REDACTED]"),
        ("Cookies: a=b; session=xyz", "Cookies: [REDACTED]"),
        ("session_cookie: a=b; sid=xyz", "session_cookie: [REDACTED]"),
        ("cookie=a=b;sid=xyz", "cookie=[REDACTED]"),
        ("cookie=a=b; sid=xyz next", "cookie=[REDACTED] next"),
        (
            "Settings { session_cookie: abc, path: / }",
            "Settings { session_cookie: [REDACTED], path: / }",
        ),
        ("GET /x?cookie=a&page=2", "GET /x?cookie=[REDACTED]&page=2"),
        (
            r#"x-amzn-remapped-authorization: Digest username="bob", response="6629fae4""#,
            "x-amzn-remapped-authorization: [REDACTED]",
        ),
        (
            "X-Forwarded-Authorization: Bearer abc def",
            "X-Forwarded-Authorization: [REDACTED]",
        ),
        ("password=Xy7&Gh2=Kq9;Lm", "password=[REDACTED]"),
        ("password: hunter2&x=1", "password: [REDACTED]"),
        ("secret=x&y=z", "secret=[REDACTED]"),
        (
            "client_secret=abc&grant_type=client_credentials",
            "client_secret=[REDACTED]&grant_type=client_credentials",
        ),
        (
            "password=hunter2&remember=true",
            "password=[REDACTED]&remember=true",
        ),
        ("password=p@ss;Encrypt=True", "password=[REDACTED];Encrypt=True"),
        ("token=abc&x=1", "token=[REDACTED]&x=1"),
        // (Quoted headers closed before blanks + `}` or `, field:`: in KEPT_AROUND_SECRETS.)
        // Digest's `, response=` is the value's own.
        (
            r#"he said "Authorization: Digest username="bob", response="6629fae4", x"#,
            r#"he said "Authorization: [REDACTED]"#,
        ),
    ] {
        assert_eq!(r(input), want, "{input}");
    }
}

//! Redaction of secrets and personal data in log lines and span attributes.
//!
//! Hand-written scanners instead of regexes. Every scanner is one left-to-right pass that never
//! revisits a byte more than a constant number of times, so the cost is linear in the input: a value
//! found after a key is skipped whole, never rescanned for the next key (a field such as
//! `cookie=cookie=cookie=…` used to cost O(n²): 43 s for 1 MB). On top of that the work per record is
//! bounded: at most [`DEFAULT_MAX_SCAN_BYTES`] (64 KiB, [`Redactor::with_max_scan_bytes`]) of a line's
//! text is scanned; text past the budget is withheld, not printed unscanned, and replaced by
//! `[REDACTED: N bytes past the scan limit]` — with the whole token the limit falls in, however long,
//! a stretch of digit groups touching it, however long too, and a URL authority it falls in, so no
//! first part of a secret is printed. The digit stretch goes whole on purpose: a card number may
//! stand anywhere in a run of groups (`qty 2 4111 1111 …`), and the card rule finds it only with all
//! its groups, so a cut stretch would print a card's first digits; the cost, a long list of numbers
//! across the limit withheld from its start, falls only on a record already cut. Measured throughput: `docs/BENCHMARKS.md` (bench `redact`).
//!
//! What is found becomes [`REDACTED`]:
//! - the value after a key whose name ends with a deny-listed word ([`DEFAULT_DENY_LIST`]: password,
//!   secret, token, api key, account key, signature, credential, cookie(s), session id, `SecretString`,
//!   card number, cvv, API gateways' subscription, functions and auth keys
//!   (`Ocp-Apim-Subscription-Key`, `x-functions-key`, `X-Auth-Key`), …), holds `password`, `passwd`
//!   or `privatekey` anywhere (`password_hash`), or
//!   ends with the word `pan`, `pwd` or `pass` (`card_pan`, `Pwd=`, `DB_PASS`; not `span`, `cwd`,
//!   `bypass`), or `sig`, `code` or `key` in a URL query (`&sig=`, OAuth's `?code=`, Google's
//!   `?key=AIza…`), written `key=value`, `key: value`, `key => value`, `user[key]=value`,
//!   `"key": "value"` (JSON text, also escaped JSON `\"key\":\"value\"` at any depth, and JSON with its
//!   quotes written `\u0022` or `&quot;`: `{\u0022password\u0022:\u0022x\u0022}`), a Python string
//!   with a prefix (`'password': b'x'`), or
//!   percent-encoded (`token%3Dabc`, `%22password%22%3A%22x%22`, escaped JSON too:
//!   `%5C%22password%5C%22%3A%5C%22x%5C%22`), also twice or more, as a URL
//!   passed in another URL's query is (`password%253Dx`, `%2522password%2522%253A%2522x%2522`,
//!   `%253Fkey%253D…`; up to four times) — this covers `?api_key=`, `?token=`,
//!   `X-Amz-Signature=`, `X-Amz-Credential=` and `X-Amz-Security-Token=` query parameters; a
//!   no-break space (U+00A0, U+202F) or CJK's full-width space around the separator and a full-width
//!   separator count as written (`Password\u{a0}: x`, `password：x`, `password＝x`; after a
//!   full-width separator the value ends at CJK punctuation `。` `、` `，` `；`, an ideographic space
//!   or the next full-width separator: `password：x、user：bob` keeps `user：bob`). A name
//!   in two words (`API Key:`, `Secret Access Key`, `private key =`) and a pair
//!   (`('Cookie', 'sid=…')`, `(b'authorization', b'…')`) are keys too. A JSON array
//!   or object value (`"Authorization":["Bearer …"]`, also `%22password%22%3A%5B…%5D` and with `\u0022`
//!   or `&quot;` quotes) goes to its matching bracket and becomes one string between the key's own
//!   quotes (`"Authorization":"[REDACTED]"`), so JSON stays JSON. A quoted value ends at its line's
//!   end, so an unbalanced quote hides no more than its line, except: a triple-quoted one (TOML's and
//!   Python's `password = """…"""`, `'''…'''`; in a JSON string `\"\"\"…\"\"\"`) runs to its closing
//!   triple quote over line breaks, and
//!   a JSON string after a quoted key holding a raw line break (`{"password": "a`, a line break,
//!   `b"}`) runs on to its closing quote when that quote, within 4 KiB, ends a member (a `,`, `}` or
//!   `]` follows). An
//!   unquoted value runs to the next blank, line break or quote whatever punctuation it holds
//!   (`password=#hunter2`, `password=p;ss`), but a `&` or `;` followed by another `key=` ends it
//!   (`token=…&x=1`) — after a password's key only a known form or connection-string parameter
//!   (`client_secret=…&grant_type=…`, `Password=…;Encrypt=True`, not `password=Xy7&Gh2=Kq9`), after
//!   a cookie's key none (`cookie=a=b;sid=…`, and `; ` goes on to the next pair); `&` and `#` always end it in a URL
//!   query, fragment or form (`?token=…&page=2`, `#access_token=…`), and `,` `}` `]` only after a
//!   quoted (JSON) key. Inside parentheses opened before the key on its line
//!   (`ClientSecretCredential(…, client_secret=x)`, a constructor's `Debug`) a `)` closing them ends
//!   it when, past any closing brackets after it, a blank, a quote, the end, or a `,` or `;` followed
//!   by a blank or the next `key=` comes (`Cred(token=x) ok` keeps `) ok`, `Cred(token=x),region=eu)`
//!   keeps `),region=eu)`); a `)` before anything else, or closing a `(` of the value's own, is the
//!   value's (`Cred(password=ab)cd)`, `Cred(password=Xy7),Gh2)`, `Cred(token=9f(x)y)` keep theirs;
//!   so does `f(g(token=x),y)`, losing `,y)`), as is any `)` with no `(` open before the key
//!   (`password=ab)cd`). After a blank (`passphrase = correct horse battery`) a
//!   value runs over words up to the next `key=`; after an authorization scheme (`token=Bearer x`) it takes the credential
//!   too; a YAML value below its key (`password: |`, `api_key:` and the lines indented under it);
//! - the password of an SQL statement that sets one, any case, over line breaks (also escaped ones,
//!   `\n` `\r` `\t` in a JSON string, no-break spaces, and comments, `/* … */` and `-- …` to the
//!   line's end, each of at most 256 bytes, between the words): the string literal of
//!   `… [ENCRYPTED] PASSWORD '…'` (PostgreSQL's `ALTER USER app WITH PASSWORD '…'`; SQL Server's
//!   `PASSWORD = N'…'`), `IDENTIFIED [WITH plugin] BY '…'` or `"…"` (MySQL, Oracle; the plugin also
//!   quoted, `AS '<hash>'` too, and the old password after `REPLACE '…'`) and `SET PASSWORD FOR
//!   account = '…'` (also `= PASSWORD('…')`); a literal may be prefixed (`N'…'`, `E'…'`, `U&'…'`) or
//!   dollar-quoted (`$$…$$`, `$tag$…$tag$`, to the same tag on its line). Oracle's unquoted password
//!   goes too, after `IDENTIFIED BY` and `REPLACE` (`CREATE USER scott IDENTIFIED BY tiger DEFAULT
//!   TABLESPACE users` keeps `DEFAULT …`: the word ends at a blank, an escaped quote at any level, or
//!   a `;` `,` `)` or quote before a blank, the end or other punctuation — `Xy7,Gh2`, `ab'cd` and
//!   `p@ss(w)rd` go whole), each
//!   of a `GRANT`'s (`… TO u1, u2 IDENTIFIED BY p1, p2`), and a stored hash after `BY VALUES '…'`
//!   (Oracle) or `BY PASSWORD '*…'` (MySQL 5); `BY RANDOM PASSWORD`, `IDENTIFIED EXTERNALLY`,
//!   `IDENTIFIED GLOBALLY AS '…'` and `IDENTIFIED WITH auth_socket` stay. Also percent-encoded
//!   in a URL's query or a form, `+`, `%20`, `%0A` or `%09` for a blank and `%27` for a quote
//!   (`?sql=ALTER+USER+app+IDENTIFIED+BY+tiger`, `PASSWORD+%27…%27`, `BY+"tiger"`), also twice
//!   or more (`%2520`, `%2B`: a URL in another URL's query). Not `password reset
//!   requested`, and only in a statement: after its verb (`CREATE|ALTER USER|ROLE|LOGIN`,
//!   `CREATE|ALTER [SHARED] [PUBLIC] DATABASE LINK`, `GRANT`, `SET`; before an unquoted word `SET
//!   ROLE` only) within 1 KiB and no `;` between (`Order identified by 'ord-1' was not found`, `the
//!   caller is identified by certificate`, `set the owner identified by id` stay — but prose with
//!   a verb's word before it is read as a statement: `grant access to users identified by SSO` loses
//!   `SSO`); an unquoted one only after an account's name (`CREATE USER <name> IDENTIFIED BY …`:
//!   `failed to create user identified by email alice` stays, `… create user bob identified by x`
//!   does not);
//! - the value of a secret passed as a name and a value, in either order: `{"name":"DB_PASSWORD",
//!   "value":"…"}` (ECS, Kubernetes, HAR), CloudFormation's `ParameterKey=DBPassword,ParameterValue=…`,
//!   `{"key":"smtp_password","value":…}` (a settings row, an OpenTelemetry attribute: `db.password`)
//!   — not under a `key` holding a path or a file's name (`{"Key":"uploads/token"}`,
//!   `key=reports/passwords.csv`: an S3 object's);
//! - HTTP header values to the end of the line, over their own quotes (`Cookie: theme="dark"; …`,
//!   `Authorization: Digest username="bob", response="…"`): the whole names `Authorization:`,
//!   `Proxy-Authorization:`, `Cookie:`, `Set-Cookie:`, `X-Api-Key:`, `X-Amz-Security-Token:`,
//!   `X-Auth-Token:`, `X-Access-Token:`, `X-Goog-Api-Key:` and any name ending in `authorization`,
//!   any case, `_` for `-` (a field such as `api_key: None,` is no header); after an escaped line
//!   break (`\r\nCookie:`) the value ends at the next one; a header written inside a quoted string
//!   (`{"msg":"Cookie: a=b"}`) ends with that string, at a closing quote followed (blanks allowed) by
//!   `,"`, `, field:`, `}`, `]`, `\` or the line's end;
//! - the credential after `Bearer` (8 or more bytes, not a word of prose such as `authentication`) or
//!   `Basic` (base64 of `user:password` only: `Basic Charizard` stays) with no key in front
//!   (`401 (Bearer … was rejected)`);
//! - the next word after a command-line flag named by the deny list (`--password hunter2`,
//!   `--api-key "a b"`), and the password of curl's `-u`/`--user`/`--proxy-user user:password`;
//! - the word after `<denied name> is|was` in prose when it reads as a secret (`the password is
//!   hunter2`; `the password is invalid` stays);
//! - the text of XML elements the deny list names (`<password>x</password>`, SOAP's
//!   `<wsse:Password …>`, a CDATA section whole);
//! - JWTs (three parts) and JWE tokens (five parts, `eyJ…`);
//! - e-mail addresses (also `%40`-encoded);
//! - AWS access key ids (`AKIA…`/`ASIA…`) and 40-character AWS secret access keys (not URL paths);
//! - PEM private-key bodies, GitHub (`ghp_…`, `github_pat_…`), GitLab (`glpat-…`, `glrt-…`), Slack
//!   (`xoxb-…`, `xoxe-…`, `xapp-…`), Stripe (`sk_live_…`), OpenAI (`sk-proj-…`, `sk-…`), Anthropic
//!   (`sk-ant-…`), SendGrid (`SG.…`), npm (`npm_…`), Hugging Face (`hf_…`), PyPI (`pypi-…`) and
//!   Google (`AIza…`) tokens, and the password of a URL's userinfo (`postgres://u:PASS@10.0.0.5`, also
//!   percent-encoded once or more: `postgres%3A%2F%2Fu%3APASS%40db`, also with the slashes left as
//!   Python's `quote()` leaves them, `postgres%3A//u%3APASS%40db`);
//! - Slack and Discord incoming-webhook URLs (the path after `hooks.slack.com/` or
//!   `discord.com/api/webhooks/`, with or without a scheme, slashes also written `\/`, `%2F` or `%252F`);
//! - payment card numbers: 13–19 digits, spaces (also a form's `+` and `%20`, encoded again: `%2B`,
//!   `%2520`; a no-break space), tabs or dashes allowed between digit groups (dots when
//!   the groups are fours; either also percent-encoded, once or more: `4539%2D1488%2D…`, `%252E`),
//!   a known issuer prefix and a valid Luhn check digit (so timestamps and ids of the same length stay) — also when
//!   another digit group touches the number (`qty 2 4111 1111 1111 1111`), after a delimiter
//!   encoded once or more (`cc%253D4111…`, a URL in another's query), and as integer fields.
//!
//! Look-alikes stay: git SHAs (lowercase hex), UUIDs, request ids, ARNs (`…:secret:name` is a name, not
//! a value), X-Ray trace ids and headers (a span id after `Parent=`, after a key naming one
//! (`span_id=`) or in a `traceparent` is not a card number, even when all decimal and Luhn-valid),
//! token counts (`input_tokens=1200`).
//!
//! `key` is denied only as a URL query parameter, never as a field name or a key in other text: a
//! `key` field or `key=` in a log line is an S3 object's, a cache's or a table's key (S3 event
//! notifications carry `"object":{"key":…}`), which the line is useless without, while in a query
//! string it is, by the convention of Google's and many other APIs, the API key — and a URL's query
//! reaches the logs whole, in access logs and in HTTP clients' errors. The cost is a query parameter
//! `key` that holds an object key (`/download?key=cards/c-1.jpg`) printed as `[REDACTED]`.
//!
//! [`redact_attribute`] is the entry point for span attributes (X-Ray/OpenTelemetry exporters).

use std::borrow::Cow;
use std::cell::Cell;
use std::fmt::Write as _;
use std::sync::OnceLock;

/// The replacement text.
pub const REDACTED: &str = "[REDACTED]";

/// Bytes of text scanned per record (log line or span) by default: 64 KiB.
pub const DEFAULT_MAX_SCAN_BYTES: usize = 64 * 1024;

/// Field-name endings that are always redacted (compared lowercase, ignoring `_`, `-` and `.`); the same
/// words mark a key inside free text.
pub const DEFAULT_DENY_LIST: &[&str] = &[
    "password",
    "passwd",
    "passphrase",
    "secret",
    "secretkey",
    // Secrets Manager's GetSecretValue answer: `SecretString`, `SecretBinary`.
    "secretstring",
    "secretbinary",
    "token",
    "authorization",
    "cookie",
    // HTTP API payload 2.0 moves the `Cookie` header into a `cookies` array (`Set-Cookie` ends in
    // `cookie` already).
    "cookies",
    // Session ids are bearer credentials: `session_id`, `sessionId`, `JSESSIONID`, `PHPSESSID`.
    "sessionid",
    "sessid",
    "apikey",
    "accesskey",
    // Azure Storage connection strings: `AccountKey=…;`.
    "accountkey",
    // API gateways' keys sent as headers: Azure API Management's `Ocp-Apim-Subscription-Key` (also
    // its `?subscription-key=`), Azure Functions' `x-functions-key`, Cloudflare's `X-Auth-Key` and
    // Tailscale's `TS_AUTHKEY`. Not any `-key` header: `Idempotency-Key` and `X-Partition-Key` are ids.
    "subscriptionkey",
    "functionskey",
    "authkey",
    "privatekey",
    // Java's keytool and jarsigner: `-storepass`, `-keypass`, `-srcstorepass`, `-destkeypass`.
    "storepass",
    "keypass",
    // Application keys named for what they do: Rails' `SECRET_KEY_BASE`, `ENCRYPTION_KEY`,
    // `MASTER_KEY`, `SIGNING_KEY`, `HMAC_KEY`.
    "secretkeybase",
    "encryptionkey",
    "masterkey",
    "signingkey",
    "hmackey",
    // A JWT, a one-time password and a SAML assertion are each a credential.
    "jwt",
    "otp",
    "samlresponse",
    "credential",
    "credentials",
    "signature",
    "ssn",
    "cardnumber",
    "cvv",
    "cvv2",
    "cvc",
];

/// Words denied only as the whole name or its last word (`pan`, `card_pan`, `cardPan`; ODBC's
/// `Pwd=`), never as the end of a longer word (`span`, `timespan`, `japan`, `OLDPWD`).
/// `bearer` too: the scheme used as a key (`Bearer: …`, `bearer=…`) holds the token itself.
const DENY_LAST_WORD: &[&str] = &["pan", "pwd", "pass", "bearer"];

/// Keys denied only as a URL query parameter: `?sv=…&sig=…` (an Azure SAS signature), OAuth's
/// `?code=`, and `?key=` (Google's and many other REST APIs' API key: `maps.googleapis.com/…?key=…`).
/// Elsewhere these words name no secret: `sig` is too short a word to mean one, `code` is a status,
/// and a field or text key named `key` is an S3 object's, a cache's or a table's key
/// (`"object":{"key":"uploads/a.jpg"}`, `s3 key=cards/c-1.jpg`), which an operator needs to read.
const QUERY_KEYS: &[&str] = &["sig", "code", "key"];

/// Words that deny a name wherever they stand in it (`password_hash`, `private_key_pem`), not only at
/// its end: nothing named after a password or a private key is safe to print.
const DENY_ANYWHERE: &[&str] = &["password", "passwd", "privatekey"];

/// HTTP header names (lowercase, `-` for `_`) whose `Name: value` runs to the end of the line: their
/// values hold blanks, quotes and `;` of their own (`Cookie: theme="dark"; session=…`). Whole names
/// only: `api_key:` or `session_cookie:` in a `Debug` struct is a field, whose value ends as any other.
const HEADER_NAMES: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "cookie",
    "set-cookie",
    "x-api-key",
    "x-amz-security-token",
    "x-auth-token",
    "x-access-token",
    "x-goog-api-key",
];

/// Authorization schemes: a value that is one of these words goes on to the credential after it
/// (`authorization=Bearer abc`).
const AUTH_SCHEMES: &[&str] = &[
    "bearer",
    "basic",
    "token",
    "digest",
    "negotiate",
    "aws4-hmac-sha256",
];

/// What to redact. On by default in the JSON logger.
///
/// ```
/// use telemetry::redact::Redactor;
/// let r = Redactor::default();
/// assert_eq!(r.redact_str("mail bob@example.com now"), "mail [REDACTED] now");
/// assert_eq!(r.redact_str("GET /cards?api_key=k-123&page=2"), "GET /cards?api_key=[REDACTED]&page=2");
/// assert!(r.is_denied_field("user_password"));
/// assert!(!r.is_denied_field("input_tokens"));
/// ```
#[derive(Debug, Clone)]
pub struct Redactor {
    deny: Vec<String>,
    /// The `deny` words by last byte.
    deny_ends: ByLastByte,
    emails: bool,
    max_scan: usize,
    /// Whether `deny` and `emails` are the defaults: what it leaves unchanged, [`redact_attribute`]
    /// leaves unchanged too (a span's log layer and span layer then need not both scan a field).
    default_rules: bool,
}

/// The deny words grouped by their last byte, so a name is compared only with the words that end in
/// its own last byte (most names: none). An empty word, which every name ends with, is `ends_all`.
#[derive(Debug, Clone)]
struct ByLastByte {
    words: Vec<String>,
    /// The words ending in byte `b` are `words[starts[b]..starts[b + 1]]`.
    starts: Box<[u32; 257]>,
    ends_all: bool,
}

impl ByLastByte {
    fn of(words: &[String]) -> Self {
        // Grouped by last byte; the order within a group does not matter (any word may match).
        let mut sorted: Vec<(u8, String)> = words
            .iter()
            .filter_map(|w| w.as_bytes().last().map(|&b| (b, w.clone())))
            .collect();
        crate::sort::sort_by_key(&mut sorted, |(b, _)| *b);
        let mut starts = Box::new([0u32; 257]);
        for (b, _) in &sorted {
            starts[usize::from(*b) + 1] += 1;
        }
        for b in 1..starts.len() {
            starts[b] += starts[b - 1];
        }
        Self {
            words: sorted.into_iter().map(|(_, w)| w).collect(),
            starts,
            ends_all: words.iter().any(String::is_empty),
        }
    }

    fn ending_in(&self, b: u8) -> &[String] {
        let at = |i: usize| self.starts[i] as usize;
        &self.words[at(usize::from(b))..at(usize::from(b) + 1)]
    }
}

impl Default for Redactor {
    fn default() -> Self {
        let deny: Vec<String> = DEFAULT_DENY_LIST.iter().map(|s| (*s).to_owned()).collect();
        Self {
            deny_ends: ByLastByte::of(&deny),
            deny,
            emails: true,
            max_scan: DEFAULT_MAX_SCAN_BYTES,
            default_rules: true,
        }
    }
}

/// How many bytes of one record may still be scanned. Shared by all the strings of a record (message,
/// fields, context keys), so a line with many large fields is bounded as a whole.
///
/// ```
/// use telemetry::redact::Redactor;
/// let r = Redactor::default().with_max_scan_bytes(10);
/// let budget = r.budget();
/// assert_eq!(r.redact_within("abcdef", &budget), "abcdef");
/// // The word the limit falls in is withheld whole: it may be the first part of a token.
/// assert_eq!(r.redact_within("gh ijkl", &budget), "gh [REDACTED: 4 bytes past the scan limit]");
/// assert_eq!(budget.remaining(), 0);
/// ```
#[derive(Debug)]
pub struct ScanBudget(Cell<usize>);

impl ScanBudget {
    /// A budget of `bytes`.
    #[must_use]
    pub const fn new(bytes: usize) -> Self {
        Self(Cell::new(bytes))
    }

    /// Bytes left.
    #[must_use]
    pub fn remaining(&self) -> usize {
        self.0.get()
    }
}

impl Redactor {
    /// Adds field-name endings to the deny-list (also used as keys inside text).
    #[must_use]
    pub fn deny_fields<I: IntoIterator<Item = S>, S: AsRef<str>>(mut self, names: I) -> Self {
        self.deny.extend(names.into_iter().map(|n| normalise(n.as_ref())));
        self.deny_ends = ByLastByte::of(&self.deny);
        self.default_rules = false;
        self
    }

    /// Keeps e-mail addresses (some services log them on purpose).
    #[must_use]
    pub fn keep_emails(mut self) -> Self {
        self.emails = false;
        self.default_rules = false;
        self
    }

    /// Bytes of text scanned per record (default [`DEFAULT_MAX_SCAN_BYTES`]); the rest is withheld.
    #[must_use]
    pub fn with_max_scan_bytes(mut self, bytes: usize) -> Self {
        self.max_scan = bytes;
        self
    }

    /// The per-record byte budget.
    #[must_use]
    pub fn max_scan_bytes(&self) -> usize {
        self.max_scan
    }

    /// Whether this redactor's rules are the default ones (any scan budget): text it leaves unchanged,
    /// scanned whole, [`redact_attribute`] leaves unchanged too.
    #[cfg_attr(not(feature = "logs"), allow(dead_code))]
    pub(crate) fn has_default_rules(&self) -> bool {
        self.default_rules
    }

    /// A fresh budget for one record.
    #[must_use]
    pub fn budget(&self) -> ScanBudget {
        ScanBudget::new(self.max_scan)
    }

    /// Whether a field with this name is redacted whole.
    #[must_use]
    pub fn is_denied_field(&self, name: &str) -> bool {
        // `pan` and the like only as the name's last word (`span`, `company` stay): read from the name
        // as written, word boundaries included.
        if DENY_LAST_WORD.iter().any(|w| last_word_is(name, w)) {
            return true;
        }
        // This runs for every field of every line and every word before a separator in text: the
        // name is compared, from its end and as far as they go, only with the deny words ending in
        // its last byte (`_id` names end in the `d` of `password`; most names in none).
        let b = name.as_bytes();
        let ends_denied = self.deny_ends.ends_all
            || b.iter()
                .rev()
                .find(|c| !matches!(c, b'_' | b'-' | b'.'))
                .is_some_and(|&last| {
                    self.deny_ends
                        .ending_in(last.to_ascii_lowercase())
                        .iter()
                        .any(|d| ends_with_normalised(name, d))
                });
        // The words denied anywhere all hold a `p`: a name without one is not read again.
        ends_denied || (b.iter().any(|&c| c | 0x20 == b'p') && denied_anywhere(name))
    }

    /// [`Self::is_denied_field`] for a name that lives for the whole program (a `tracing` callsite's
    /// field name): under the default rules the answer is kept per thread, by the name's address — a
    /// `'static` string's address never holds another string. Other rules ask every time.
    #[cfg_attr(not(feature = "logs"), allow(dead_code))]
    #[inline]
    pub(crate) fn is_denied_static(&self, name: &'static str) -> bool {
        /// Answers kept: `(address, length, denied)`. A name may sit in the slot its address hashes
        /// to or the one beside it (two ways): with one way, two of an invocation's dozen or so names
        /// sharing a slot — which depends on where the linker put them — evicted each other at every
        /// line.
        type Slots = [(usize, usize, bool); DENIED_SLOTS];
        const DENIED_SLOTS: usize = 64;
        thread_local! {
            static DENIED: std::cell::RefCell<Slots> =
                const { std::cell::RefCell::new([(0, 0, false); DENIED_SLOTS]) };
        }
        if !self.default_rules {
            return self.is_denied_field(name);
        }
        let at = name.as_ptr() as usize;
        // Fibonacci hashing: the names of one callsite lie side by side, a few bytes apart.
        let slot = (at.wrapping_mul(0x9E37_79B9_7F4A_7C15_u64 as usize) >> (usize::BITS - 6)) % DENIED_SLOTS;
        let ways = [slot, slot ^ 1];
        DENIED
            .try_with(|d| {
                let Ok(mut d) = d.try_borrow_mut() else {
                    return self.is_denied_field(name);
                };
                for w in ways {
                    let (a, len, denied) = d[w];
                    if a == at && len == name.len() {
                        return denied;
                    }
                }
                let denied = self.is_denied_field(name);
                // An empty way first, else the hashed slot.
                let way = if d[slot].0 != 0 && d[slot ^ 1].0 == 0 {
                    slot ^ 1
                } else {
                    slot
                };
                d[way] = (at, name.len(), denied);
                denied
            })
            .unwrap_or_else(|_| self.is_denied_field(name))
    }

    /// Redacts secrets found inside free text, scanning at most the per-record budget.
    #[must_use]
    pub fn redact_str<'a>(&self, s: &'a str) -> Cow<'a, str> {
        self.redact_within(s, &self.budget())
    }

    /// A field: [`REDACTED`] if its name is denied, else its value through [`redact_str`](Self::redact_str).
    #[must_use]
    pub fn redact_field<'a>(&self, name: &str, value: &'a str, budget: &ScanBudget) -> Cow<'a, str> {
        if self.is_denied_field(name) {
            return Cow::Borrowed(REDACTED);
        }
        self.redact_within(value, budget)
    }

    /// Redacts `s`, charging its length to `budget`; text past the budget is withheld.
    #[must_use]
    pub fn redact_within<'a>(&self, s: &'a str, budget: &ScanBudget) -> Cow<'a, str> {
        let allowed = budget.remaining();
        if s.len() <= allowed {
            budget.0.set(allowed - s.len());
            return self.redact_all(s);
        }
        budget.0.set(0);
        let cut = cut_point(s, allowed);
        let mut out = self.redact_all(&s[..cut]).into_owned();
        let _ = write!(out, "[REDACTED: {} bytes past the scan limit]", s.len() - cut);
        Cow::Owned(out)
    }

    fn redact_all<'a>(&self, s: &'a str) -> Cow<'a, str> {
        // An id in a shape every invocation carries — a UUID (Lambda's request id) or an X-Ray trace id
        // — is hex digits and hyphens in fixed places: no rule but the card rule can match in it, and
        // `is_uuid` leaves out the UUIDs whose digits make a card (a trace id's digit groups never
        // can: 1, 8 and 24 digits). The scan would leave these unchanged (a test holds the two
        // equal); they are skipped because every invocation's log context has two of them.
        if is_uuid(s.as_bytes()) || is_xray_trace_id(s.as_bytes()) {
            return Cow::Borrowed(s);
        }
        // A function logs the same messages and span values again and again: under the default rules
        // a short text found clean once is clean again ([`CleanTexts`]).
        if !self.default_rules || !CleanTexts::fits(s) {
            return self.scan_all(s);
        }
        if CLEAN_TEXTS.with(|c| c.borrow().holds(s)) {
            return Cow::Borrowed(s);
        }
        let scanned = self.scan_all(s);
        if let Cow::Borrowed(_) = scanned {
            CLEAN_TEXTS.with(|c| c.borrow_mut().keep(s));
        }
        scanned
    }

    /// Every rule on `s` (no budget).
    fn scan_all<'a>(&self, s: &'a str) -> Cow<'a, str> {
        let Some(hints) = Hints::of(s.as_bytes()) else {
            return Cow::Borrowed(s);
        };
        let mut spans: Vec<(usize, usize)> = Vec::new();
        // Spans (by start) whose marker is written between the key's quotes: an array or object value.
        let mut quoted: Vec<(usize, (usize, usize))> = Vec::new();
        // The `@` ending each URL userinfo that holds a password: the host after it is no e-mail's.
        let mut userinfo_ends: Vec<usize> = Vec::new();
        if hints.separator {
            self.find_key_values(s, &mut spans, &mut quoted);
            if hints.url {
                find_url_passwords(s.as_bytes(), &mut spans, &mut userinfo_ends);
                find_encoded_url_passwords(s.as_bytes(), &mut spans, &mut userinfo_ends);
                crate::sort::sort_by_key(&mut userinfo_ends, |&at| at);
            }
        }
        // A webhook URL needs no separator: `posting to hooks.slack.com/services/T…/B…/…`.
        if hints.webhook {
            find_webhooks(s.as_bytes(), &mut spans);
        }
        if hints.pem {
            find_pem_private_keys(s.as_bytes(), &mut spans);
        }
        if hints.scheme {
            find_scheme_credentials(s.as_bytes(), &mut spans);
        }
        if hints.flag {
            self.find_flag_values(s.as_bytes(), &mut spans);
        }
        if hints.short_flag {
            find_command_passwords(s.as_bytes(), &mut spans);
        }
        for angles in Angles::ALL {
            if hints.xml[angles as usize] {
                self.find_xml_values(s, angles, &mut spans);
            }
        }
        if hints.prose {
            self.find_prose_values(s, &mut spans);
        }
        if hints.sql {
            find_sql_passwords(s.as_bytes(), &mut spans);
        }
        if hints.encoded_sql {
            find_encoded_sql_passwords(s.as_bytes(), &mut spans);
        }
        if hints.sql_insert {
            self.find_sql_insert_values(s.as_bytes(), &mut spans);
        }
        if hints.quoted_password {
            find_quoted_passwords(s.as_bytes(), &mut spans);
        }
        if hints.prefixed {
            find_prefixed_tokens(s.as_bytes(), &mut spans);
        }
        if hints.jwt {
            find_jwts(s.as_bytes(), &mut spans);
        }
        if self.emails && hints.at {
            find_emails(s.as_bytes(), &userinfo_ends, &mut spans);
        }
        if hints.akia {
            find_access_key_ids(s, &mut spans);
        }
        if hints.b64_run {
            find_secret_keys(s.as_bytes(), &mut spans);
        }
        if hints.digits {
            find_card_numbers(s.as_bytes(), &mut spans);
        }
        if spans.is_empty() {
            return Cow::Borrowed(s);
        }
        // Longest first among spans starting together; a span overlapping the last one widens it.
        crate::sort::sort_by_key(&mut spans, |&(start, end)| (start, std::cmp::Reverse(end)));
        // A value written before its name ([`Self::named_value`]) is found after the values behind it.
        crate::sort::sort_by_key(&mut quoted, |&(at, _)| at);
        let mut quoted = quoted.iter().peekable();
        let mut out = String::with_capacity(s.len());
        let mut pos = 0;
        for (start, end) in spans {
            if end <= pos {
                continue;
            }
            if start < pos {
                pos = end;
                continue;
            }
            out.push_str(&s[pos..start]);
            while quoted.next_if(|(at, _)| *at < start).is_some() {}
            match quoted.next_if(|(at, _)| *at == start) {
                Some(&(_, (from, to))) => {
                    out.push_str(&s[from..to]);
                    out.push_str(REDACTED);
                    out.push_str(&s[from..to]);
                }
                None => out.push_str(REDACTED),
            }
            pos = end;
        }
        out.push_str(&s[pos..]);
        Cow::Owned(out)
    }

    /// Keys (words ending with a deny-listed name) followed by `:`/`=` (or `%3A`/`%3D`): the value
    /// after them. The cursor jumps past each value, so no byte is scanned for keys twice.
    fn find_key_values(
        &self,
        s: &str,
        spans: &mut Vec<(usize, usize)>,
        quoted: &mut Vec<(usize, (usize, usize))>,
    ) {
        let b = s.as_bytes();
        // Read only when a header name is found (rare), left to right: linear in all.
        let mut open_quotes = OpenQuotes::default();
        // Read at every denied key, left to right: linear in all.
        let mut open_parens = OpenParens::default();
        let mut previous = (0, 0);
        let mut i = 0;
        while i < b.len() {
            if !is_word(b[i]) {
                i += 1;
                continue;
            }
            let start = i;
            while i < b.len() && is_word(b[i]) {
                i += 1;
            }
            // Word bytes are ASCII, so `start..i` are char boundaries.
            let word = &s[start..i];
            let pair = is_secret_pair(b, previous, start, word);
            previous = (start, i);
            // The deny list first: looking for a separator after every word would not stay linear
            // (`%20%20%20…`: each `20` is a word, and the look runs over all the encoded blanks after it).
            if !pair && !self.is_denied_field(word) && !is_query_key(b, word, start) {
                if is_name_key(word)
                    && let Some(v) = self.named_value(s, start, i)
                {
                    spans.push((v.start, v.end));
                    // An object value (an OpenTelemetry attribute's `"value":{"stringValue":…}`)
                    // becomes a string, so JSON stays JSON.
                    if let Some(q) = v.quote {
                        quoted.push((v.start, q));
                    }
                    // A value written first lies behind the cursor: the cursor never goes back.
                    i = i.max(v.end);
                } else if b.get(i) == Some(&b':') && self.named_before_preposition(s, start) {
                    // `Password for admin: Xy7…`, `the API key of staging: …`: a word a denied name
                    // names through `for`/`of` (the prose rule's bounded lookback), then `:`.
                    let key = KeyContext::of(b, word, start, None, &mut open_quotes, &mut open_parens);
                    if let Some(v) = value_after(b, i, key).and_then(|v| secret_after_preposition(b, v)) {
                        spans.push(v);
                        i = i.max(v.1);
                    }
                }
                continue;
            }
            // A URL's user (`https://x-access-token:ghs_…@github.com/o/r`, a CI checkout's): the URL
            // password rule takes what follows, and the host stays.
            if is_userinfo_user(b, start, i) {
                continue;
            }
            // `arn:aws:secretsmanager:…:secret:name` — a name inside an ARN, not a key; also in an
            // encoded URL (`arn%3Aaws%3A…%3Asecret%3Aname`, the word read as `3Asecret`).
            let in_colon_list = if start > 0 && b[start - 1] == b':' {
                Some(0)
            } else {
                encoded_before(b, start, i).and_then(|(c, level, _)| (c == b':').then_some(level))
            };
            let key = KeyContext::of(b, word, start, in_colon_list, &mut open_quotes, &mut open_parens);
            let mut next = value_after(b, i, key)
                .filter(|v| !is_working_directory(b, word, v))
                .or_else(|| tuple_value(b, start, i));
            while let Some(v) = next.take() {
                if v.end > v.start {
                    spans.push((v.start, v.end));
                    if let Some(q) = v.quote {
                        quoted.push((v.start, q));
                    }
                }
                i = i.max(v.end);
                // The value skipped whole may itself be a key (`x = "token":"…"`, `x%3D api_key: …`):
                // when its last word is denied and a separator follows it, the value after it goes
                // too. Each step starts past the last value, so this stays one pass.
                let mut word_end = v.end;
                if word_end > v.start && matches!(b[word_end - 1], b':' | b'=') {
                    word_end -= 1;
                }
                let mut word_start = word_end;
                while word_start > v.start && is_word(b[word_start - 1]) {
                    word_start -= 1;
                }
                let word = &s[word_start..word_end];
                if !word.is_empty() && self.is_denied_field(word) {
                    let key = KeyContext::of(b, word, word_start, None, &mut open_quotes, &mut open_parens);
                    next = value_after(b, word_end, key).filter(|n| n.start >= v.end);
                }
            }
        }
    }
}

impl Redactor {
    /// The value of a secret passed as a name and a value (`{"name":"DB_PASSWORD","value":"…"}` in
    /// an ECS task definition, a Kubernetes `env` list or a HAR header, `- name: API_TOKEN` then
    /// `value: …` in YAML, `Header { name: "authorization", value: "…" }`; CloudFormation's
    /// `{"ParameterKey":"DBPassword","ParameterValue":"…"}`, also as the CLI and the SDK's `Debug`
    /// write it; a settings row's or an OpenTelemetry attribute's `{"key":"…","value":…}`): after
    /// the key `name` ([`is_name_key`]) ending at `name_end` whose value is a deny-listed name or a
    /// header name, the value of the next `value` key ([`is_value_key`]) of the same entry — within
    /// [`NAMED_VALUE_LOOKAHEAD`] bytes, before any `{`, `}` or other `name`; or, when none follows,
    /// of the `value` key just before it (value first).
    fn named_value(&self, s: &str, name_start: usize, name_end: usize) -> Option<KeyValue> {
        let b = s.as_bytes();
        let plain = |word: &str, start: usize| KeyContext {
            header: None,
            escaped_line: false,
            in_colon_list: None,
            query: in_query(b, start),
            split: FieldSplit::of(word),
            comma: false,
            in_parens: false,
        };
        // Only a name of at most 64 bytes counts, so no more than that (and the separator and quotes
        // before it, however encoded) is read: a value running on to the end of the text, read from
        // every `name` before it (`name=name=…`), made the scan quadratic.
        let cut = b.len().min(name_end + NAMED_VALUE_BYTES);
        // A name holds no `,`: `ParameterKey=DBPassword,ParameterValue=…` (the CLI's shorthand).
        let name_key = KeyContext {
            comma: true,
            ..plain("name", name_start)
        };
        let named = value_after(&b[..cut], name_end, name_key)?;
        if named.end >= cut && cut < b.len() {
            return None;
        }
        let name = s.get(named.start..named.end)?;
        // A bare `key` also holds an S3 object's or a cache entry's key (`{"Key":"uploads/token"}`,
        // `key=reports/passwords.csv`): only an identifier (`smtp_password`, OTLP's `db.password`)
        // names a secret, not a path or a file.
        if b[name_start..name_end].eq_ignore_ascii_case(b"key")
            && (name.contains('/') || has_file_extension(name))
        {
            return None;
        }
        // An SSM parameter's or a secret's path (`"Name":"/prod/db/password"` in a GetParameter
        // answer): its last segment names it.
        let leaf = name.rsplit('/').next().unwrap_or(name);
        if leaf.is_empty()
            || leaf.len() > 64
            || name.len() > 128
            || !name.bytes().all(|c| is_word(c) || c == b'/')
            || !(self.is_denied_field(leaf) || is_header_name(leaf))
        {
            return None;
        }
        let name = leaf;
        let limit = b.len().min(named.end + NAMED_VALUE_LOOKAHEAD);
        let mut j = named.end;
        while j < limit {
            if matches!(b[j], b'{' | b'}') {
                break;
            }
            if !is_word(b[j]) {
                j += 1;
                continue;
            }
            let start = j;
            while j < b.len() && is_word(b[j]) {
                j += 1;
            }
            let word = &s[start..j];
            if is_name_key(word) {
                break;
            }
            if is_value_key(word) {
                return value_after(b, j, plain(name, start)).filter(|v| v.end > v.start);
            }
        }
        // Value first (`{"value":"…","name":"DB_PASSWORD"}`, as a serializer sorting its keys writes
        // it): the nearest `value` key before the name, within the same bound, after no `{`, `}`,
        // other `name` or YAML list item (`- `), whose value ends before the name.
        let floor = name_start.saturating_sub(NAMED_VALUE_LOOKAHEAD);
        let mut j = name_start;
        while j > floor {
            if matches!(b[j - 1], b'{' | b'}') {
                return None;
            }
            // A YAML list item's `- ` starts the entry: nothing before it is this entry's.
            if b[j - 1] == b'-' && b.get(j) == Some(&b' ') {
                let mut k = j - 1;
                while k > floor && is_blank(b[k - 1]) {
                    k -= 1;
                }
                if k == 0 || b[k - 1] == b'\n' {
                    return None;
                }
            }
            if !is_word(b[j - 1]) {
                j -= 1;
                continue;
            }
            let end = j;
            while j > floor && is_word(b[j - 1]) {
                j -= 1;
            }
            let word = &s[j..end];
            if is_name_key(word) {
                return None;
            }
            if is_value_key(word) {
                // Read no further than the name: a value running on to the end of the text, read
                // again for every name after it, made the scan quadratic.
                let cut = b.len().min(name_start + 1);
                return value_after(&b[..cut], end, plain(name, j))
                    .filter(|v| v.end > v.start && v.end < cut);
            }
        }
        None
    }

    /// The text of XML elements the deny list names (SOAP bodies, XML APIs): `<password>x</password>`,
    /// `<wsse:Password Type="…">x</wsse:Password>` (the name after a namespace prefix), up to the
    /// next `<`; a CDATA section (`<ClientSecret><![CDATA[x]]></ClientSecret>`) whole. Only a value
    /// that is not blank (an element holding other elements has none of its own). A start tag with no
    /// `<` after it holds the rest of the text when that is one word (a document cut short). The brackets as
    /// `angles` writes them: raw, `&lt;password&gt;`, `\u003cpassword\u003e`. One pass: each start
    /// tag is read once, at most 1 KiB of it, and the cursor jumps past each value.
    fn find_xml_values(&self, s: &str, angles: Angles, spans: &mut Vec<(usize, usize)>) {
        const MAX_TAG: usize = 1024;
        const CDATA: &[u8] = b"![cdata[";
        let (lt, gt) = angles.brackets();
        let b = s.as_bytes();
        let mut i = 0;
        while let Some(open) = find_bracket(b, lt, i) {
            let name_start = open + lt.len();
            let mut j = name_start;
            while j < b.len()
                && j - name_start < MAX_TAG
                && (b[j].is_ascii_alphanumeric() || matches!(b[j], b'_' | b'-' | b'.' | b':'))
            {
                j += 1;
            }
            if j == name_start || !(b[name_start].is_ascii_alphabetic() || b[name_start] == b'_') {
                i = name_start;
                continue;
            }
            // The attributes, to the tag's `>`: none of these bytes starts a `<`, so the search goes
            // on from where this one stopped.
            let mut k = j;
            let closed = loop {
                if k >= b.len() || k - j >= MAX_TAG || starts_with_ci(b, k, lt) {
                    break false;
                }
                if starts_with_ci(b, k, gt) {
                    break true;
                }
                k += 1;
            };
            // A tag's name ends at its `>` or a blank, and attributes are `name="value"`: not a type's
            // parameters (`Result<Secret, Error>`).
            let attributes = &b[j..k];
            let tag_like = attributes.is_empty()
                || (attributes[0].is_ascii_whitespace()
                    && (attributes.contains(&b'=')
                        || attributes.iter().all(|c| c.is_ascii_whitespace() || *c == b'/')));
            if !closed || b[k - 1] == b'/' || !tag_like {
                i = k;
                continue;
            }
            let name = &s[name_start..j];
            let local = name.rsplit(':').next().unwrap_or(name);
            let value = k + gt.len();
            if local.is_empty() || !self.is_denied_field(local) {
                i = value;
                continue;
            }
            // A CDATA section may stand on a line of its own.
            let text = value + b[value..].iter().take_while(|c| c.is_ascii_whitespace()).count();
            if starts_with_ci(b, text, lt) && starts_with_ci(b, text + lt.len(), CDATA) {
                let from = text + lt.len() + CDATA.len();
                let to = cdata_end(b, from, gt).unwrap_or(b.len());
                if to > from {
                    spans.push((from, to));
                }
                i = to;
                continue;
            }
            let Some(end) = find_bracket(b, lt, value) else {
                // No `<` after: a document cut short (`body: <password>hunter2`) when the rest is one
                // word; words and blanks after a `>` are prose (`parse Option<Token> from the header`).
                let rest = text..text + b[text..].iter().take_while(|c| !c.is_ascii_whitespace()).count();
                if !rest.is_empty() && b[rest.end..].iter().all(u8::is_ascii_whitespace) {
                    spans.push((rest.start, rest.end));
                }
                break;
            };
            if b[value..end].iter().any(|c| !c.is_ascii_whitespace()) {
                spans.push((value, end));
            }
            i = end;
        }
    }

    /// A secret named in prose: the word after `<name> is ` or `<name> was ` when `<name>` (or the
    /// two words before the verb, `api key`) is denied and the word reads as a secret
    /// ([`secret_like_word`]): `the password is hunter2`, `my API key was sk3y-1`. Also after
    /// `<name> to ` (`set password to Xy7…`, `password changed to Xy7…`: a participle of
    /// [`PROSE_PARTICIPLES`] may come between) and `<name> -> `, where the word must not be a plain
    /// one (a digit, a symbol or a capital after its first letter) nor a URL or an address (`token
    /// to refresh`, `sending token to https://…` stay). Quotes around the word stay, and trailing
    /// `.`, `,`, `;`, `:`, `)`. Each verb is read once, the words around it once: linear.
    fn find_prose_values(&self, s: &str, spans: &mut Vec<(usize, usize)>) {
        let b = s.as_bytes();
        let mut i = 0;
        while let Some(off) = b[i..].iter().position(|&c| is_blank(c)) {
            let at = i + off;
            let Some((after, strict)) = prose_verb_at(b, at) else {
                // Past the whole run of blanks: each is read once.
                i = blanks_end(b, at);
                continue;
            };
            i = after;
            // The word before the verb (a closing quote or bracket after it skipped: `"password" is`),
            // and the one before it.
            let name_end = if at > 0 && matches!(b[at - 1], b'"' | b'\'' | b'`' | b')') {
                at - 1
            } else {
                at
            };
            let Some((mut last, mut named)) = self.named_before(s, name_end) else {
                continue;
            };
            if strict
                && !named
                && PROSE_PARTICIPLES
                    .iter()
                    .any(|p| b[last..name_end].eq_ignore_ascii_case(p))
            {
                let end = blanks_before(b, last);
                if let Some(before) = (end < last).then(|| self.named_before(s, end)).flatten() {
                    (last, named) = before;
                }
            }
            let named = named || self.named_before_preposition(s, last);
            if !named {
                continue;
            }
            let quote = b.get(after).filter(|c| matches!(c, b'"' | b'\'' | b'`')).copied();
            let from = after + usize::from(quote.is_some());
            let mut end = from;
            // A quoted value runs to its closing quote (over blanks) or the line's end.
            while end < b.len()
                && Some(b[end]) != quote
                && !(matches!(b[end], b'\n' | b'\r') || (quote.is_none() && b[end].is_ascii_whitespace()))
            {
                end += 1;
            }
            let mut word_end = end;
            if quote.is_none() {
                while word_end > from && matches!(b[word_end - 1], b'.' | b',' | b';' | b':' | b')') {
                    word_end -= 1;
                }
            }
            let word = &b[from..word_end];
            let secret = quote.is_some()
                || if strict {
                    !plain_word(word) && !is_address(word) && secret_like_word(word)
                } else {
                    secret_like_word(word)
                };
            if word_end > from && secret {
                spans.push((from, word_end));
            }
            i = end.max(after);
        }
    }

    /// The word ending at `end` (its start) and whether it, or it with the word before
    /// (`api key`), is a denied name; `None` when no word ends there.
    fn named_before(&self, s: &str, end: usize) -> Option<(usize, bool)> {
        let b = s.as_bytes();
        let last = prose_word_start(b, end);
        if last == end {
            return None;
        }
        let named = self.is_denied_field(&s[last..end])
            || (last >= 2 && b[last - 1] == b' ' && {
                let first = prose_word_start(b, last - 1);
                first < last - 1 && {
                    let two = format!("{}_{}", &s[first..last - 1], &s[last..end]);
                    self.is_denied_field(&two)
                }
            });
        Some((last, named))
    }

    /// Whether a denied name and `for` or `of` come within the [`PROSE_LOOKBACK_WORDS`] words
    /// before `start` (on one line): `the password for bob is …`, `the API key of the staging
    /// account was …`. Bounded: a few words of at most [`PROSE_MAX_WORD`] bytes each.
    fn named_before_preposition(&self, s: &str, start: usize) -> bool {
        let b = s.as_bytes();
        let mut start = start;
        for _ in 0..PROSE_LOOKBACK_WORDS {
            let end = blanks_before(b, start);
            if end == start || end == 0 {
                return false;
            }
            let word = prose_word_start(b, end);
            if word == end {
                return false;
            }
            if [&b"for"[..], b"of"]
                .iter()
                .any(|p| b[word..end].eq_ignore_ascii_case(p))
            {
                let name_end = blanks_before(b, word);
                return name_end < word && self.named_before(s, name_end).is_some_and(|(_, named)| named);
            }
            start = word;
        }
        false
    }

    /// Command-line flags whose next word is a secret: a deny-listed name after `--` or `-`
    /// (`--password hunter2`, `--api-key "a b"`, Go's `-token x`, keytool's `-storepass x`;
    /// `--password=x` is a key and value already; not one naming where the secret is read from,
    /// [`names_a_source`]: `--password-stdin registry.example.com`, `--private-key-file key.pem`),
    /// and curl's `-u`, `--user` and `--proxy-user` (`user:password`: the part after the first `:`).
    /// A next word that is itself a flag (`--token --verbose`) is no value. The cursor jumps past
    /// each value.
    fn find_flag_values(&self, b: &[u8], spans: &mut Vec<(usize, usize)>) {
        let mut i = 0;
        while i < b.len() {
            let Some((name, name_end)) = (b[i] == b'-').then(|| flag_at(b, i)).flatten() else {
                i += 1;
                continue;
            };
            i = name_end;
            let user = matches!(name, b"-u" | b"--user" | b"--proxy-user");
            let bare = &name[1 + usize::from(name.starts_with(b"--"))..];
            let denied = !user
                && !names_a_source(bare)
                && std::str::from_utf8(bare).is_ok_and(|n| self.is_denied_field(n));
            if !user && !denied {
                continue;
            }
            let start = skip_blanks(b, name_end);
            let Some(&first) = b.get(start) else { break };
            let quoted = matches!(first, b'"' | b'\'');
            // Another flag is no value; the search for a value's end runs only once the cursor can
            // jump past it.
            if b.get(start + usize::from(quoted)).is_none_or(|c| *c == b'-') {
                continue;
            }
            let (from, end) = if quoted {
                (start + 1, quote_close_on_line(b, start))
            } else {
                let end = b[start..]
                    .iter()
                    .position(|c| c.is_ascii_whitespace() || matches!(c, b'"' | b'\''))
                    .map_or(b.len(), |k| start + k);
                (start, end)
            };
            i = end;
            let secret = if user {
                b[from..end].iter().position(|c| *c == b':').map(|k| from + k + 1)
            } else {
                Some(from)
            };
            if let Some(secret) = secret
                && secret < end
            {
                spans.push((secret, end));
            }
        }
    }
}

/// The SQL keywords after which a statement sets a password ([`find_sql_passwords`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SqlKeyword {
    /// PostgreSQL's `[ENCRYPTED] PASSWORD '…'`, MySQL's `SET PASSWORD FOR account = '…'`.
    Password,
    /// MySQL's and Oracle's `IDENTIFIED [WITH plugin] BY '…'`.
    Identified,
}

/// `PASSWORD` or `IDENTIFIED` (any case) at `i`, followed by whitespace (`PASSWORD` also by SQL
/// Server's `=N'…'`, which no `key=value` reads when percent-encoded): which, and where it ends.
fn sql_keyword_at(b: &[u8], i: usize) -> Option<(SqlKeyword, usize)> {
    let (keyword, word): (_, &[u8]) = match b.get(i)? | 0x20 {
        b'p' => (SqlKeyword::Password, b"password"),
        b'i' => (SqlKeyword::Identified, b"identified"),
        _ => return None,
    };
    let end = i + word.len();
    let equals = keyword == SqlKeyword::Password && b.get(end) == Some(&b'=');
    (starts_with_ci(b, i, word) && (equals || sql_gap_len(b, end) > 0)).then_some((keyword, end))
}

/// The length of the SQL blank at `i`, 0 when none is there: ASCII whitespace, an escaped line break
/// or tab (`\n`, `\r`, `\t`: SQL in a JSON string, `…PASSWORD\n'…'`) or a no-break space (U+00A0, a
/// statement pasted from a document).
fn sql_blank_len(b: &[u8], i: usize) -> usize {
    match b.get(i) {
        Some(c) if c.is_ascii_whitespace() => 1,
        Some(b'\\') if matches!(b.get(i + 1), Some(b'n' | b'r' | b't')) => 2,
        Some(0xC2) if b.get(i + 1) == Some(&0xA0) => 2,
        _ => 0,
    }
}

/// The longest SQL comment [`sql_comment_len`] reads: a longer one is no blank.
const SQL_COMMENT_MAX: usize = 256;

/// The length of the SQL comment at `i`, 0 when none is there: `/* … */` closed within
/// [`SQL_COMMENT_MAX`] bytes, or `--` and a blank up to the end of its line (a line break, escaped
/// too) within as many — `IDENTIFIED BY /* rotated */ tiger`, `ALTER /* ops */ USER`. A password
/// starting with `--` and no blank (`--x9`) is no comment. Bounded, so each reading costs a constant.
fn sql_comment_len(b: &[u8], i: usize) -> usize {
    let ahead = &b[i.min(b.len())..b.len().min(i + SQL_COMMENT_MAX)];
    if ahead.starts_with(b"/*") {
        return ahead[2..]
            .windows(2)
            .position(|w| w == b"*/")
            .map_or(0, |k| k + 4);
    }
    if !ahead.starts_with(b"--") || sql_blank_len(b, i + 2) == 0 {
        return 0;
    }
    let line_end = (2..ahead.len()).find(|&k| {
        matches!(ahead[k], b'\n' | b'\r')
            || (ahead[k] == b'\\' && matches!(ahead.get(k + 1), Some(b'n' | b'r')))
    });
    match line_end {
        Some(k) => k,
        // The text ends within the comment.
        None if i + ahead.len() == b.len() => ahead.len(),
        None => 0,
    }
}

/// The length of the blank ([`sql_blank_len`]) or comment ([`sql_comment_len`]) at `i`, 0 when
/// neither is there: what may stand between a statement's words.
fn sql_gap_len(b: &[u8], i: usize) -> usize {
    match sql_blank_len(b, i) {
        0 => sql_comment_len(b, i),
        n => n,
    }
}

/// A [`SqlKeyword`] starting a word after the blank ([`sql_blank_len`]) at `i` (`…WITH\nPASSWORD '…'`
/// in a JSON string).
fn sql_keyword_after(b: &[u8], i: usize) -> Option<(SqlKeyword, usize)> {
    match sql_blank_len(b, i) {
        0 => None,
        n => sql_keyword_at(b, i + n),
    }
}

/// Past the blanks and comments ([`sql_gap_len`]; line breaks too: a statement may span lines) at
/// `i`.
fn skip_sql_gaps(b: &[u8], mut i: usize) -> usize {
    loop {
        match sql_gap_len(b, i) {
            0 => return i,
            n => i += n,
        }
    }
}

/// Whether the word `lower` (any case) stands at `i`, followed by a blank or a comment
/// ([`sql_gap_len`]: `CREATE/**/USER`).
fn sql_word_at(b: &[u8], i: usize, lower: &[u8]) -> bool {
    starts_with_ci(b, i, lower) && sql_gap_len(b, i + lower.len()) > 0
}

/// The longest MySQL account (`'app'@'10.0.%'`) [`find_sql_passwords`] reads after `SET PASSWORD
/// FOR`, and the longest authentication plugin's name after `IDENTIFIED WITH`.
const SQL_NAME_MAX: usize = 256;

/// The longest tag of a PostgreSQL dollar-quoted string (`$pw$…$pw$`) [`sql_literal_at`] reads.
const SQL_DOLLAR_TAG_MAX: usize = 32;

/// The length of an SQL string literal's prefix at `i`, 0 when none: SQL Server's national `N'…'`,
/// PostgreSQL's escape `E'…'` and Unicode `U&'…'` strings, any case.
fn sql_literal_prefix_len(b: &[u8], i: usize) -> usize {
    let quote_at = |k: usize| b.get(skip_backslashes(b, k)) == Some(&b'\'');
    match b.get(i).map(|c| c | 0x20) {
        Some(b'n' | b'e') if quote_at(i + 1) => 1,
        Some(b'u') if b.get(i + 1) == Some(&b'&') && quote_at(i + 2) => 2,
        _ => 0,
    }
}

/// The length of the dollar quote's tag (`$$`, `$pw$`) at `at`; `None` when none is there (`$5`).
fn sql_dollar_tag_len(b: &[u8], at: usize) -> Option<usize> {
    if b.get(at) != Some(&b'$') || b.get(at + 1).is_some_and(u8::is_ascii_digit) {
        return None;
    }
    let name = b[at + 1..]
        .iter()
        .take(SQL_DOLLAR_TAG_MAX)
        .take_while(|c| c.is_ascii_alphanumeric() || **c == b'_')
        .count();
    (b.get(at + 1 + name) == Some(&b'$')).then_some(name + 2)
}

/// The dollar-quoted string (PostgreSQL's `$$…$$`, `$tag$…$tag$`) opened at `at`: its text, to the
/// same tag on its line, else to the line's end (as an unclosed quote's). The search goes no further
/// than the line, where [`find_sql_passwords`]'s cursor then jumps: linear.
fn sql_dollar_literal_at(b: &[u8], at: usize) -> Option<(usize, usize)> {
    let tag = &b[at..at + sql_dollar_tag_len(b, at)?];
    let start = at + tag.len();
    let mut end = start;
    while end < b.len() && !matches!(b[end], b'\n' | b'\r') && !b[end..].starts_with(tag) {
        end += 1;
    }
    Some((start, end))
}

/// The text of an SQL string literal opened at `at` by `'` or `"`, escaped as inside a JSON string
/// (`\"`) or not, after an optional prefix ([`sql_literal_prefix_len`]): to its closing quote — a
/// quote written twice (`'it''s'`) or after a backslash (`E'it\'s'`) is the literal's own — or the
/// end of the line; or a dollar-quoted string ([`sql_dollar_literal_at`]).
fn sql_literal_at(b: &[u8], at: usize) -> Option<(usize, usize)> {
    if let Some(literal) = sql_dollar_literal_at(b, at) {
        return Some(literal);
    }
    let at = at + sql_literal_prefix_len(b, at);
    let run_end = skip_backslashes(b, at);
    let q = *b.get(run_end).filter(|q| matches!(q, b'\'' | b'"'))?;
    let level = quote_level(run_end - at);
    let start = run_end + 1;
    let mut end = quoted_end(b, start, q, level);
    while level == 0 && b.get(end) == Some(&q) && b.get(end + 1) == Some(&q) {
        end = quoted_end(b, end + 2, q, level);
    }
    Some((start, end))
}

/// How far before its keyword a statement's verb ([`sql_verb_at`]) may stand.
const SQL_STATEMENT_MAX: usize = 1024;

/// Whether a statement that may set a password starts at `k`: `CREATE|ALTER USER|ROLE|LOGIN`,
/// Oracle's `CREATE|ALTER [SHARED] [PUBLIC] DATABASE LINK`, `GRANT` or `SET` (any case), as a word
/// of its own (after a non-word byte or an escaped line break or tab, `…;\nALTER USER` in a JSON
/// string).
fn sql_verb_at(b: &[u8], k: usize) -> bool {
    if !sql_word_start(b, k) {
        return false;
    }
    if sql_account_object_end(b, k).is_some() {
        return true;
    }
    for verb in [&b"create"[..], b"alter"] {
        if sql_word_at(b, k, verb) {
            let mut object = skip_sql_gaps(b, k + verb.len());
            // A database link's `CONNECT TO user IDENTIFIED BY password`.
            for modifier in [&b"shared"[..], b"public"] {
                if sql_word_at(b, object, modifier) {
                    object = skip_sql_gaps(b, object + modifier.len());
                }
            }
            return sql_word_at(b, object, b"database")
                && sql_object_at(b, skip_sql_gaps(b, object + 8), b"link");
        }
    }
    sql_word_at(b, k, b"grant") || sql_word_at(b, k, b"set")
}

/// Whether a word of its own may start at `k`: after a non-word byte, or an escaped line break or tab
/// (`…;\nALTER USER` in a JSON string).
fn sql_word_start(b: &[u8], k: usize) -> bool {
    k == 0 || !is_word(b[k - 1]) || (k >= 2 && b[k - 2] == b'\\' && matches!(b[k - 1], b'n' | b'r' | b't'))
}

/// Whether the object word `lower` (any case) stands at `at`: no word byte follows it (the statement
/// may end there, `CREATE USER`, unlike a keyword [`sql_word_at`] reads).
fn sql_object_at(b: &[u8], at: usize, lower: &[u8]) -> bool {
    starts_with_ci(b, at, lower) && !b.get(at + lower.len()).is_some_and(|c| is_word(*c))
}

/// Where the object of `CREATE|ALTER USER|ROLE|LOGIN` (any case) starting at `k` ends; `None` for
/// any other statement.
fn sql_account_object_end(b: &[u8], k: usize) -> Option<usize> {
    let verb = [&b"create"[..], b"alter"]
        .into_iter()
        .find(|v| sql_word_at(b, k, v))?;
    let object = skip_sql_gaps(b, k + verb.len());
    [&b"user"[..], b"role", b"login"]
        .into_iter()
        .find(|o| sql_object_at(b, object, o))
        .map(|o| object + o.len())
}

/// Where Oracle's unquoted password (`IDENTIFIED BY tiger`) starting at `at` ends: at a blank
/// ([`sql_blank_len`]: escaped line breaks too), an escaped quote or line break at any level (`\"`,
/// `\\\"`: the end of the JSON string the statement is written in, so its backslashes stay), or a
/// `;`, `,`, `)` or quote that ends it ([`sql_punctuation_ends`]; a quote also before `]` or `}`:
/// `ab'cd` goes whole, `'… BY tiger'}` keeps its quote) — never further,
/// so the rest of the statement stays. A `)` closing a `(` of the password's own is its own
/// (`p@ss(w)rd` goes whole; `(… IDENTIFIED BY tiger)` keeps its `)`). A backslash run is read
/// once: linear.
fn sql_unquoted_end(b: &[u8], at: usize) -> usize {
    let mut end = at;
    let mut own_parens = 0u32;
    while end < b.len() && sql_blank_len(b, end) == 0 {
        match b[end] {
            b'(' => own_parens = own_parens.saturating_add(1),
            b')' if own_parens > 0 => own_parens -= 1,
            b';' | b',' | b')' if sql_punctuation_ends(b, end) => break,
            // The end of the string the statement is written in (`{'sql': '… BY tiger'}`); a quote
            // before anything else is the password's own (`ab'cd`).
            b'\'' | b'"' if sql_punctuation_ends(b, end) || matches!(b.get(end + 1), Some(b']' | b'}')) => {
                break;
            }
            b'\\' => {
                let run_end = skip_backslashes(b, end);
                if matches!(b.get(run_end), Some(b'"' | b'n' | b'r' | b't')) {
                    break;
                }
                end = run_end;
                continue;
            }
            _ => {}
        }
        end += 1;
    }
    end
}

/// Whether the `;`, `,`, `)` or quote at `k` ends an unquoted password: a blank, the end, a quote, another
/// of them, or an escaped quote or line break follows it (`tiger;`, `p1, p2`, `(… BY tiger)`,
/// `tiger;\"}`). Before anything else it is the password's own: a generated one holding `,` `;` or
/// `)` (`Xy7,Gh2`, invalid unquoted, so the failed statement is what gets logged) goes whole.
fn sql_punctuation_ends(b: &[u8], k: usize) -> bool {
    let next = k + 1;
    sql_blank_len(b, next) > 0
        || match b.get(next) {
            None => true,
            Some(b';' | b',' | b')' | b'\'' | b'"') => true,
            Some(b'\\') => matches!(b.get(skip_backslashes(b, next)), Some(b'"' | b'n' | b'r' | b't')),
            _ => false,
        }
}

/// A password after `IDENTIFIED BY` or `REPLACE` at `at`: a literal ([`sql_literal_at`]), or, when
/// `unquoted` (Oracle's statements), a word ([`sql_unquoted_end`]). Its text, and where the cursor
/// goes on from.
fn sql_password_at(b: &[u8], at: usize, unquoted: bool) -> Option<((usize, usize), usize)> {
    match sql_literal_at(b, at) {
        Some((from, to)) => Some(((from, to), sql_literal_close(b, to))),
        None if unquoted => {
            let end = sql_unquoted_end(b, at);
            (end > at).then_some(((at, end), end))
        }
        None => None,
    }
}

/// Passwords in SQL statements, which carry them as string literals after a keyword rather than
/// after a separator: PostgreSQL's `CREATE|ALTER USER|ROLE … [WITH] [ENCRYPTED] PASSWORD '…'`,
/// MySQL's `IDENTIFIED [WITH plugin] BY '…'` and `SET PASSWORD FOR account = '…'` (also
/// `= PASSWORD('…')`; `SET PASSWORD = …` is a `key = value` already), and Oracle's unquoted
/// `IDENTIFIED BY tiger [REPLACE old]`. Any case, over line breaks between the words. After
/// `PASSWORD` only a quoted literal goes (`password reset requested` is prose), and only in a
/// statement: its verb ([`sql_verb_at`]) stands within [`SQL_STATEMENT_MAX`] bytes before the
/// keyword with no `;` between (`Order identified by 'ord-1' was not found`, `the caller is
/// identified by certificate` are prose). `SET`'s statements take no unquoted password but `SET
/// ROLE`'s: `set the owner identified by id` is prose too. One pass: each keyword reads
/// a bounded number of words after it, the cursor jumps past each literal, and the text before a
/// keyword is read for verbs once, from where the last reading stopped.
fn find_sql_passwords(b: &[u8], spans: &mut Vec<(usize, usize)>) {
    let mut i = 0;
    // The last verb seen, and where the search for verbs has reached.
    let (mut verb, mut verbs_read) = (None::<usize>, 0);
    // Where the word after the last verb's `USER`, `ROLE` or `LOGIN` starts: the account's name.
    let mut account = None::<usize>;
    while let Some(off) = b[i..]
        .iter()
        .position(|c| c.is_ascii_whitespace() || matches!(c, b'\\' | 0xC2))
    {
        let at = i + off;
        let Some((keyword, end)) = sql_keyword_after(b, at) else {
            i = at + 1;
            continue;
        };
        i = end;
        for k in verbs_read.max(at.saturating_sub(SQL_STATEMENT_MAX))..at {
            match b[k] {
                b';' => verb = None,
                c if matches!(c | 0x20, b'c' | b'a' | b'g' | b's') && sql_verb_at(b, k) => {
                    verb = Some(k);
                    account = sql_account_object_end(b, k).map(|object| skip_sql_gaps(b, object));
                }
                _ => {}
            }
        }
        verbs_read = verbs_read.max(at);
        if verb.is_none_or(|v| at - v > SQL_STATEMENT_MAX) {
            continue;
        }
        let next = skip_sql_gaps(b, end);
        // Oracle writes a password unquoted (`IDENTIFIED BY tiger`), in every statement that takes
        // one; of `SET`'s only `SET ROLE r IDENTIFIED BY pw` does (`set the owner identified by id`
        // is prose).
        // Nor does one without the account's name: `CREATE USER <name> IDENTIFIED BY <password>`, so
        // `failed to create user identified by email alice` is prose (a literal still goes).
        let unnamed = account == Some(at + sql_blank_len(b, at));
        let oracle = !unnamed
            && verb.is_some_and(|v| {
                !sql_word_at(b, v, b"set") || sql_word_at(b, skip_sql_gaps(b, v + 3), b"role")
            });
        // Where the password starts and whether it may be an unquoted word; `Err(resume)` after
        // MySQL's `BY RANDOM PASSWORD`, which sets none but may be followed by `REPLACE 'old'`.
        let password = match keyword {
            SqlKeyword::Password if sql_word_at(b, next, b"for") => {
                // `FOR 'app'@'%' = …`: the account is one word, then `=`.
                let account = skip_sql_gaps(b, next + 3);
                let mut account_end = account;
                while account_end - account < SQL_NAME_MAX
                    && account_end < b.len()
                    && b[account_end] != b'='
                    && sql_blank_len(b, account_end) == 0
                {
                    account_end += 1;
                }
                let equals = skip_sql_gaps(b, account_end);
                if account_end == account || b.get(equals) != Some(&b'=') {
                    continue;
                }
                // `PASSWORD('…')`, MySQL 5's hashing function around the literal.
                Ok((past_wrappers(b, skip_sql_gaps(b, equals + 1)), false))
            }
            // SQL Server's `PASSWORD = N'…'`.
            // (A plain `PASSWORD = '…'` is a `key = value` already.)
            SqlKeyword::Password if b.get(next) == Some(&b'=') => {
                let literal = skip_sql_gaps(b, next + 1);
                if sql_literal_prefix_len(b, literal) == 0 {
                    continue;
                }
                Ok((literal, false))
            }
            SqlKeyword::Password => Ok((next, false)),
            SqlKeyword::Identified => {
                let mut by = next;
                if sql_word_at(b, by, b"with") {
                    // The plugin's name, bare or quoted (`WITH 'caching_sha2_password'`).
                    let plugin = skip_sql_gaps(b, by + 4);
                    let plugin_end = match sql_literal_at(b, plugin) {
                        Some((from, to)) if to - from <= SQL_NAME_MAX => sql_literal_close(b, to),
                        Some(_) => continue,
                        None => {
                            plugin
                                + b[plugin..]
                                    .iter()
                                    .take(SQL_NAME_MAX)
                                    .take_while(|c| is_word(**c))
                                    .count()
                        }
                    };
                    by = skip_sql_gaps(b, plugin_end);
                }
                // `AS 'hash'` (MySQL's stored hash, as good as the password).
                if sql_word_at(b, by, b"as") {
                    Ok((skip_sql_gaps(b, by + 2), false))
                } else if sql_word_at(b, by, b"by") {
                    let word = skip_sql_gaps(b, by + 2);
                    let random_password = skip_sql_gaps(b, word + 6);
                    if sql_word_at(b, word, b"values") {
                        // Oracle's stored hash.
                        Ok((skip_sql_gaps(b, word + 6), false))
                    } else if sql_word_at(b, word, b"password") {
                        // MySQL 5's stored hash, `BY PASSWORD '*…'`.
                        Ok((skip_sql_gaps(b, word + 8), false))
                    } else if sql_word_at(b, word, b"random")
                        && starts_with_ci(b, random_password, b"password")
                    {
                        Err(random_password + 8)
                    } else {
                        Ok((word, oracle))
                    }
                } else {
                    continue;
                }
            }
        };
        let mut after = match password {
            Ok((at, unquoted)) => {
                let Some(((from, to), after)) = sql_password_at(b, at, unquoted) else {
                    continue;
                };
                if to > from {
                    spans.push((from, to));
                }
                after
            }
            Err(resume) => resume,
        };
        // Oracle's `GRANT … TO u1, u2 IDENTIFIED BY p1, p2`: a password per grantee. The cursor
        // jumps past each.
        if matches!(password, Ok((_, true))) && verb.is_some_and(|v| sql_word_at(b, v, b"grant")) {
            loop {
                let comma = skip_sql_gaps(b, after);
                if b.get(comma) != Some(&b',') {
                    break;
                }
                let Some(((from, to), next)) = sql_password_at(b, skip_sql_gaps(b, comma + 1), true) else {
                    break;
                };
                if to > from {
                    spans.push((from, to));
                }
                after = next;
            }
        }
        i = i.max(after);
        // A `;` in the literal is the password's own.
        verbs_read = verbs_read.max(after);
        // MySQL's and Oracle's `IDENTIFIED BY new REPLACE old`: the current password goes too.
        let replace = skip_sql_gaps(b, after);
        let unquoted = keyword == SqlKeyword::Identified && oracle;
        if sql_word_at(b, replace, b"replace")
            && let Some(((from, to), after)) = sql_password_at(b, skip_sql_gaps(b, replace + 7), unquoted)
        {
            if to > from {
                spans.push((from, to));
            }
            i = i.max(after);
            verbs_read = verbs_read.max(after);
        }
    }
}

/// Past the closing quote (`'`, `"`, `\"`, a dollar quote's tag) of an SQL literal whose text ends at
/// `to`; `to` when none is there (the line ended).
fn sql_literal_close(b: &[u8], to: usize) -> usize {
    let run_end = skip_backslashes(b, to);
    match b.get(run_end) {
        Some(b'\'' | b'"') => run_end + 1,
        Some(b'$') => sql_dollar_tag_len(b, to).map_or(to, |tag| to + tag),
        _ => to,
    }
}

/// The length of a blank percent-encoded as a URL's query or a form writes one at `i`, 0 when none
/// is there: `+`, `%20`, `%C2%A0`, a tab or line break (`%09`, `%0A`, `%0D`: a statement over
/// lines), any case, also encoded again ([`decoded_at`]: `%2520`, `%2B` — a URL in another URL's
/// query).
fn encoded_blank_len(b: &[u8], i: usize) -> usize {
    match decoded_at(b, i) {
        Some((b'+', level)) => encoded_width(level),
        Some((b' ' | b'\t' | b'\n' | b'\r', level)) if level > 0 => encoded_width(level),
        // A no-break space (`%C2%A0`), as [`sql_blank_len`] reads one.
        Some((0xC2, level))
            if level > 0 && decoded_at(b, i + encoded_width(level)) == Some((0xA0, level)) =>
        {
            2 * encoded_width(level)
        }
        _ => 0,
    }
}

/// Whether a [`SqlKeyword`] (`PASSWORD`, `IDENTIFIED`, any case) follows an encoded blank
/// ([`encoded_blank_len`]) at `i`: percent-encoded SQL may set a password.
fn encoded_sql_keyword_at(b: &[u8], i: usize) -> bool {
    let n = encoded_blank_len(b, i);
    n > 0 && (starts_with_ci(b, i + n, b"password") || starts_with_ci(b, i + n, b"identified"))
}

/// Passwords in SQL percent-encoded in a URL's query or a form
/// (`?sql=ALTER+USER+app+IDENTIFIED+BY+tiger`, `%20` for a blank, `%27` for a quote), which
/// [`find_sql_passwords`] reads as one word: each stretch up to a blank, a `&` (the next
/// parameter) or a `"` ending a JSON string (`,` `}` `]` `:` or the end follows; another `"` or a
/// `\` may be the password's, `BY+"tiger"&`, and is read as in SQL) holding an
/// encoded keyword ([`encoded_sql_keyword_at`]) is decoded, read by it, and what it finds is mapped
/// back onto the encoded text; decoded again while it still holds one, up to [`PERCENT_LEVELS`]
/// times (`%2520`, `%252B`: a URL in another URL's query). Stretches do not overlap and each level
/// is read once: linear.
fn find_encoded_sql_passwords(b: &[u8], spans: &mut Vec<(usize, usize)>) {
    let (mut text, mut origin, mut decoded, mut decoded_origin, mut found) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let has_keyword = |t: &[u8]| (0..t.len()).any(|k| encoded_sql_keyword_at(t, k));
    let mut start = 0;
    while start < b.len() {
        let stop = (start..b.len())
            .find(|&k| match b[k] {
                b'&' => true,
                b'"' => matches!(b.get(k + 1), None | Some(b',' | b'}' | b']' | b':')),
                c => c.is_ascii_whitespace(),
            })
            .unwrap_or(b.len());
        // An escaped JSON string's closing `\"` stays whole.
        let end = stop - b[start..stop].iter().rev().take_while(|c| **c == b'\\').count();
        if has_keyword(&b[start..end]) {
            text.clear();
            text.extend_from_slice(&b[start..end]);
            // Where each byte of `text` was written, and the stretch's end.
            origin.clear();
            origin.extend(start..=end);
            for _ in 0..PERCENT_LEVELS {
                if !has_keyword(&text) {
                    break;
                }
                decoded.clear();
                decoded_origin.clear();
                let mut k = 0;
                while k < text.len() {
                    let (c, width) = match text[k] {
                        b'+' => (b' ', 1),
                        // An encoded backslash before `n`, `r`, `t` is the password's, not the
                        // escape [`sql_blank_len`] ends a word at (`PW%5Cnx` goes whole).
                        b'%' if hex_pair_at(&text, k + 1) == Some(b'\\')
                            && matches!(text.get(k + 3), Some(b'n' | b'r' | b't')) =>
                        {
                            (b'_', 3)
                        }
                        b'%' => hex_pair_at(&text, k + 1).map_or((b'%', 1), |c| (c, 3)),
                        c => (c, 1),
                    };
                    decoded.push(c);
                    decoded_origin.push(origin[k]);
                    k += width;
                }
                decoded_origin.push(end);
                find_sql_passwords(&decoded, &mut found);
                spans.extend(
                    found
                        .drain(..)
                        .map(|(from, to)| (decoded_origin[from], decoded_origin[to])),
                );
                std::mem::swap(&mut text, &mut decoded);
                std::mem::swap(&mut origin, &mut decoded_origin);
            }
        }
        start = stop + 1;
    }
}

/// The most columns [`Redactor::find_sql_insert_values`] maps to values: a longer list is not read.
const SQL_COLUMNS_MAX: usize = 256;

/// The keyword before an SQL insert's rows: `VALUES`, or MySQL's `VALUE` (longest first).
const SQL_VALUES_WORDS: [&[u8]; 2] = [b"values", b"value"];

/// Whether the `(` at `paren` opens the rows of an SQL `VALUES` (or MySQL's `VALUE`): the word, any
/// case, standing alone before it, blanks between ([`Hints::sql_insert`]).
fn sql_values_before(b: &[u8], paren: usize) -> bool {
    let end = paren
        - b[paren.saturating_sub(16)..paren]
            .iter()
            .rev()
            .take_while(|c| c.is_ascii_whitespace())
            .count();
    SQL_VALUES_WORDS.into_iter().any(|w| word_ends_at(b, end, w))
}

/// Where an SQL statement that inserts rows starts at `k`: `INSERT`, `REPLACE` (MySQL) or `UPSERT`
/// (CockroachDB), any case, a word of its own, then a blank or comment; the verb's end.
fn sql_insert_verb_at(b: &[u8], k: usize) -> Option<usize> {
    if !matches!(b[k] | 0x20, b'i' | b'r' | b'u') || !sql_word_start(b, k) {
        return None;
    }
    [&b"insert"[..], b"replace", b"upsert"]
        .into_iter()
        .find(|v| sql_word_at(b, k, v))
        .map(|v| k + v.len())
}

/// The SQL identifier at `at` — a word (`password`, `users.password`, `$`s in it), or quoted as
/// PostgreSQL (`"password"`, also `\"…\"` inside a JSON string), MySQL (`` `password` ``) or SQL Server
/// (`[password]`) write it — and a schema-qualified one part by part (`"public"."users"`): its last
/// part's text and the identifier's end. At most [`SQL_NAME_MAX`] bytes a part.
fn sql_identifier_at(b: &[u8], at: usize) -> Option<((usize, usize), usize)> {
    let mut k = at;
    loop {
        let quote_at = skip_backslashes(b, k);
        let (text, end) = match b.get(quote_at) {
            Some(b'"') if quote_at == k || quote_level(quote_at - k) > 0 => {
                // Its closing quote looked for no further than a name may go: each reading costs
                // a constant.
                let near = &b[..b.len().min(quote_at + 2 * SQL_NAME_MAX)];
                let (from, to) = sql_literal_at(near, k)?;
                let close = sql_literal_close(near, to);
                if close == to {
                    return None;
                }
                ((from, to), close)
            }
            Some(&open @ (b'`' | b'[')) if quote_at == k => {
                let close = if open == b'[' { b']' } else { b'`' };
                let len = b[k + 1..].iter().take(SQL_NAME_MAX).position(|c| *c == close)?;
                ((k + 1, k + 1 + len), k + len + 2)
            }
            _ => {
                let len = b[k..]
                    .iter()
                    .take(SQL_NAME_MAX)
                    .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'$'))
                    .count();
                if len == 0 {
                    return None;
                }
                ((k, k + len), k + len)
            }
        };
        if text.1 - text.0 > SQL_NAME_MAX || b.get(end) != Some(&b'.') {
            return (text.1 - text.0 <= SQL_NAME_MAX).then_some((text, end));
        }
        k = end + 1;
    }
}

/// The end of the SQL expression starting at `at` in a row of values: at a `,` or `)` outside its
/// own parentheses and literals ([`sql_literal_at`]), or where a literal is left open (the line
/// ended); with the literal's text when the expression is one literal alone (blanks after it).
fn sql_value_end(b: &[u8], at: usize) -> (usize, Option<(usize, usize)>) {
    let (mut j, mut depth) = (at, 0usize);
    // The literal the expression starts with: its text, and where its closing quote ends.
    let mut first = None;
    while j < b.len() {
        match b[j] {
            b',' | b')' if depth == 0 => break,
            b'(' => depth += 1,
            b')' => depth -= 1,
            b'\'' | b'"' | b'$' | b'\\' | b'n' | b'N' | b'e' | b'E' | b'u' | b'U'
                if (j == at || !is_word(b[j - 1]))
                    && let Some((from, to)) = sql_literal_at(b, j) =>
            {
                let close = sql_literal_close(b, to);
                if close == to {
                    // Left open: the line ended.
                    return (to, None);
                }
                if j == at {
                    first = Some(((from, to), close));
                }
                j = close;
                continue;
            }
            // A backslash run no quote follows is read once.
            b'\\' => {
                j = skip_backslashes(b, j);
                continue;
            }
            _ => {}
        }
        j += 1;
    }
    let only = first
        .filter(|&(_, close)| b[close..j].iter().all(u8::is_ascii_whitespace))
        .map(|(text, _)| text);
    (j, only)
}

/// Whether the SQL expression `e` holds no value of its own: a placeholder (`?`, `$1`, `:name`,
/// `@name`, `%s`, `%(name)s`), `NULL` or `DEFAULT` (any case), or nothing.
fn sql_no_value(e: &[u8]) -> bool {
    let word = |w: &[u8]| !w.is_empty() && w.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_');
    match e {
        [] | [b'?'] | [b'%', b's'] => true,
        [b'$', rest @ ..] => !rest.is_empty() && rest.iter().all(u8::is_ascii_digit),
        [b':' | b'@', rest @ ..] => word(rest),
        [b'%', b'(', rest @ .., b')', b's'] => word(rest),
        _ => e.eq_ignore_ascii_case(b"null") || e.eq_ignore_ascii_case(b"default"),
    }
}

impl Redactor {
    /// `INSERT|REPLACE|UPSERT [INTO] table (column, …) VALUES (value, …)[, (…)]`: the value of each
    /// deny-listed column, in every row — an ORM's statement logged with its values inlined
    /// (`INSERT INTO "users" ("email", "password") VALUES ('a@b.c', 'tiger')`). A literal loses its
    /// text, any other expression (`crypt('tiger', gen_salt('bf'))`) goes whole; a placeholder, `NULL`
    /// or `DEFAULT` stays ([`sql_no_value`]). The cursor only moves on: linear.
    fn find_sql_insert_values(&self, b: &[u8], spans: &mut Vec<(usize, usize)>) {
        let mut i = 0;
        while i < b.len() {
            match sql_insert_verb_at(b, i) {
                Some(verb_end) => i = self.sql_insert_rows(b, verb_end, spans).max(verb_end),
                None => i += 1,
            }
        }
    }

    /// [`Self::find_sql_insert_values`] after the verb ending at `at`: where the reading stopped.
    fn sql_insert_rows(&self, b: &[u8], at: usize, spans: &mut Vec<(usize, usize)>) -> usize {
        let mut k = skip_sql_gaps(b, at);
        if sql_word_at(b, k, b"into") {
            k = skip_sql_gaps(b, k + 4);
        }
        let Some((_, table_end)) = sql_identifier_at(b, k) else {
            return k;
        };
        k = skip_sql_gaps(b, table_end);
        if b.get(k) != Some(&b'(') {
            return k;
        }
        let mut denied = Vec::new();
        loop {
            k = skip_sql_gaps(b, k + 1);
            let Some(((from, to), end)) = sql_identifier_at(b, k) else {
                return k;
            };
            let name = std::str::from_utf8(&b[from..to]).unwrap_or_default();
            denied.push(self.is_denied_field(name));
            k = skip_sql_gaps(b, end);
            match b.get(k) {
                Some(b',') if denied.len() < SQL_COLUMNS_MAX => {}
                Some(b')') => break,
                _ => return k,
            }
        }
        k = skip_sql_gaps(b, k + 1);
        if !denied.contains(&true) {
            return k;
        }
        let Some(keyword) = SQL_VALUES_WORDS.into_iter().find(|w| sql_object_at(b, k, w)) else {
            return k;
        };
        k = skip_sql_gaps(b, k + keyword.len());
        while b.get(k) == Some(&b'(') {
            let mut column = 0;
            loop {
                let start = skip_sql_gaps(b, k + 1);
                let (end, literal) = sql_value_end(b, start);
                let trimmed = start + b[start..end].trim_ascii_end().len();
                if denied.get(column) == Some(&true) {
                    match literal {
                        Some(text) => spans.push(text),
                        None if !sql_no_value(&b[start..trimmed]) => spans.push((start, trimmed)),
                        None => {}
                    }
                }
                k = end;
                match b.get(k) {
                    Some(b',') => column += 1,
                    Some(b')') => break,
                    _ => return k,
                }
            }
            let next = skip_sql_gaps(b, k + 1);
            if b.get(next) != Some(&b',') {
                return k + 1;
            }
            k = skip_sql_gaps(b, next + 1);
        }
        k
    }
}

/// The password words after which a quoted string is the password itself ([`find_quoted_passwords`]).
/// Not every denied word: after `token` a quote is most often a parser's (`unexpected token "}"`),
/// after `secret` a secret's name (`secret "prod/db" not found`).
const QUOTED_AFTER: &[&[u8]] = &[b"password", b"passwd", b"passphrase", b"pwd"];

/// Whether a password word ([`QUOTED_AFTER`], any case, a word of its own) ends at `end`.
fn password_word_before(b: &[u8], end: usize) -> bool {
    QUOTED_AFTER.iter().any(|w| word_ends_at(b, end, w))
}

/// Whether the word `lower` (any case) ends at `end`, a word of its own: no word byte before it.
fn word_ends_at(b: &[u8], end: usize, lower: &[u8]) -> bool {
    end >= lower.len()
        && b[end - lower.len()..end].eq_ignore_ascii_case(lower)
        && (end == lower.len() || !is_word(b[end - lower.len() - 1]))
}

/// Whether the blank at `i` stands between a password word and a quote ([`find_quoted_passwords`]).
fn quoted_password_at(b: &[u8], i: usize) -> bool {
    matches!(b.get(skip_backslashes(b, i + 1)), Some(b'"' | b'\'')) && password_word_before(b, i)
}

/// A quoted word right after a password word and one blank, no separator between — a message
/// naming the password it refused (`invalid password "hunter2" for user bob`, `wrong passwd
/// 'x'`): its text, to its closing quote on its line, `\"` inside a JSON string too, when it is one
/// word that reads as a secret ([`secret_like_word`]). Each string is read once: linear.
fn find_quoted_passwords(b: &[u8], spans: &mut Vec<(usize, usize)>) {
    let mut i = 0;
    while let Some(off) = b[i..].iter().position(|&c| c == b' ') {
        let blank = i + off;
        i = blank + 1;
        if !quoted_password_at(b, blank) {
            continue;
        }
        let run_end = skip_backslashes(b, blank + 1);
        let q = b[run_end];
        let start = run_end + 1;
        let end = quoted_end(b, start, q, quote_level(run_end - blank - 1));
        // One word that reads as a secret: `password 'required'` and `password "must be at least 12
        // characters"` are a form's messages.
        let text = &b[start..end];
        if !text.is_empty() && !text.iter().any(u8::is_ascii_whitespace) && secret_like_word(text) {
            spans.push((start, end));
        }
        i = i.max(end);
    }
}

/// The longest word [`Redactor::find_prose_values`] looks at before its verb (a value is taken whole:
/// the cursor jumps past it).
const PROSE_MAX_WORD: usize = 256;

/// How many words before a prose verb may stand between it and `<name> for|of`.
const PROSE_LOOKBACK_WORDS: usize = 4;

/// Where the blanks ending at `end` start, at most eight back (words in prose are a blank or a few apart).
fn blanks_before(b: &[u8], end: usize) -> usize {
    end - b[..end]
        .iter()
        .rev()
        .take(8)
        .take_while(|&&c| is_blank(c))
        .count()
}

/// Where the word (letters, digits, `_`, `-`) ending at `end` starts, at most [`PROSE_MAX_WORD`] back.
fn prose_word_start(b: &[u8], end: usize) -> usize {
    let mut k = end;
    while k > 0 && end - k < PROSE_MAX_WORD && (is_word(b[k - 1]) || b[k - 1] == b'-') {
        k -= 1;
    }
    k
}

/// The verbs of [`Redactor::find_prose_values`], each with whether the word after it is read
/// strictly: `password is x`, `token was x`; `password to x`, `password -> x` (strictly).
const PROSE_VERBS: &[(&[u8], bool)] = &[(b"is", false), (b"was", false), (b"to", true), (b"->", true)];

/// Words between a denied name and `to`: `password set to …`, `API key rotated to …`.
const PROSE_PARTICIPLES: &[&[u8]] = &[b"set", b"changed", b"reset", b"updated", b"rotated"];

/// Whether `c` is a blank between prose words (space or tab).
const fn is_blank(c: u8) -> bool {
    matches!(c, b' ' | b'\t')
}

/// The end of the run of blanks starting at `i`.
fn blanks_end(b: &[u8], i: usize) -> usize {
    b[i..]
        .iter()
        .position(|&c| !is_blank(c))
        .map_or(b.len(), |k| i + k)
}

/// Where the value after a prose verb starts, when the blanks at `i` are followed by one of
/// [`PROSE_VERBS`] (an optional `:`) and blanks: `password  is\thunter2`, `token is: x`; and whether
/// the verb is read strictly (`to`, `->`).
fn prose_verb_at(b: &[u8], i: usize) -> Option<(usize, bool)> {
    let verb = blanks_end(b, i);
    let &(v, strict) = PROSE_VERBS.iter().find(|(v, _)| b[verb..].starts_with(v))?;
    let mut k = verb + v.len();
    if b.get(k) == Some(&b':') {
        k += 1;
    }
    let after = blanks_end(b, k);
    (after > k).then_some((after, strict))
}

/// Whether `w` is a plain word: letters only, no capital after the first.
fn plain_word(w: &[u8]) -> bool {
    w.iter().all(u8::is_ascii_alphabetic) && !w.iter().skip(1).any(u8::is_ascii_uppercase)
}

/// Whether `w` is a URL or an address (`https://…`, `bob@example.com`): where something is sent,
/// not what.
fn is_address(w: &[u8]) -> bool {
    w.contains(&b'@') || find_exact(w, b"://", 0).is_some()
}

/// Whether the word `w` after `password is` reads as a secret rather than prose. It holds a digit, a
/// symbol, or a capital after its first letter (`hunter2`, `p@ss`, `tRoub4dor`); or it is a plain
/// word that is not one of the words prose puts there (`correcthorse`, `letmein`). These stay:
/// a state or an English word shaped like one ([`PROSE_STATES`], `required`, `Expired`, `missing`,
/// `mandatory`, `available`), a short number (`is 8 characters`), a quantity (`is 3x faster`,
/// `was 20ms`) and a short acronym (`is OK`, `was JWT`).
fn secret_like_word(w: &[u8]) -> bool {
    let acronym = w.len() <= 5 && w.iter().all(u8::is_ascii_uppercase);
    let small_number = w.len() <= 3 && w.iter().all(u8::is_ascii_digit);
    if acronym || small_number || is_quantity(w) {
        return false;
    }
    if w.iter().any(|c| !c.is_ascii_alphabetic()) || w.iter().skip(1).any(u8::is_ascii_uppercase) {
        return true;
    }
    !is_prose_word(w)
}

/// What of `v`, the value after `<name> for <word>:`, is a secret: a quoted value whole; else its
/// first word, trailing `.`, `,`, `;`, `)` cut, when it reads as one ([`secret_like_word`]) and is
/// no plain word (a digit, a symbol or a capital after its first letter: `Xy7…`) —
/// `Password for bob: reset` and `SET PASSWORD FOR u failed: see the docs` stay.
fn secret_after_preposition(b: &[u8], v: KeyValue) -> Option<(usize, usize)> {
    if v.start > 0 && matches!(b[v.start - 1], b'"' | b'\'' | b'`') {
        return (v.end > v.start).then_some((v.start, v.end));
    }
    let mut end = v.start
        + b[v.start..v.end]
            .iter()
            .take_while(|c| !c.is_ascii_whitespace())
            .count();
    while end > v.start && matches!(b[end - 1], b'.' | b',' | b';' | b')') {
        end -= 1;
    }
    let w = &b[v.start..end];
    (!w.is_empty() && !plain_word(w) && secret_like_word(w)).then_some((v.start, end))
}

/// `3x`, `20ms`, `512mb`, `10k`: one to four digits and one to two letters.
fn is_quantity(w: &[u8]) -> bool {
    let digits = w.iter().take_while(|c| c.is_ascii_digit()).count();
    (1..=4).contains(&digits)
        && (1..=2).contains(&(w.len() - digits))
        && w[digits..].iter().all(u8::is_ascii_alphabetic)
}

/// Words prose puts after `password is` / `token was` that no suffix of [`PROSE_SUFFIXES`] gives
/// away: states, articles, pronouns, adverbs, prepositions.
const PROSE_STATES: &[&str] = &[
    "a",
    "absent",
    "active",
    "all",
    "also",
    "always",
    "an",
    "and",
    "any",
    "as",
    "at",
    "back",
    "bad",
    "being",
    "blank",
    "by",
    "case",
    "correct",
    "done",
    "due",
    "empty",
    "false",
    "fine",
    "for",
    "from",
    "gone",
    "good",
    "here",
    "hidden",
    "how",
    "in",
    "incorrect",
    "invalid",
    "it",
    "its",
    "just",
    "kept",
    "known",
    "long",
    "lost",
    "mine",
    "my",
    "nil",
    "no",
    "none",
    "not",
    "now",
    "null",
    "of",
    "off",
    "ok",
    "okay",
    "old",
    "on",
    "one",
    "only",
    "or",
    "our",
    "out",
    "own",
    "part",
    "present",
    "ready",
    "same",
    "secret",
    "sent",
    "set",
    "short",
    "shown",
    "so",
    "still",
    "stale",
    "strong",
    "that",
    "the",
    "their",
    "there",
    "these",
    "this",
    "those",
    "to",
    "too",
    "true",
    "two",
    "undefined",
    "unknown",
    "unset",
    "up",
    "valid",
    "very",
    "via",
    "weak",
    "what",
    "when",
    "where",
    "which",
    "who",
    "why",
    "with",
    "within",
    "without",
    "wrong",
    "yes",
    "yet",
    "your",
    "yours",
];

/// Endings of English words that name a state or a manner (`required`, `missing`, `mandatory`,
/// `available`, `different`, `optional`, `securely`, `useless`), on words long enough to have them.
const PROSE_SUFFIXES: &[&str] = &[
    "able", "al", "ant", "ary", "ed", "ent", "ful", "ible", "ic", "ing", "ive", "less", "ly", "ory", "ous",
];

/// Whether the plain word `w` (letters only, any case) reads as prose after `password is`.
fn is_prose_word(w: &[u8]) -> bool {
    w.len() <= 16
        && (PROSE_STATES.iter().any(|p| p.as_bytes().eq_ignore_ascii_case(w))
            || PROSE_SUFFIXES
                .iter()
                .any(|x| w.len() >= x.len() + 3 && w[w.len() - x.len()..].eq_ignore_ascii_case(x.as_bytes())))
}

/// Keys whose value names the value of a `value` key of the same entry ([`Redactor::named_value`]):
/// `name`, `key`, CloudFormation's `ParameterKey` (the SDK's `parameter_key`).
fn is_name_key(word: &str) -> bool {
    ["name", "key", "parameterkey", "parameter_key"]
        .iter()
        .any(|k| word.eq_ignore_ascii_case(k))
}

/// Whether `name` ends in a common file's extension (`passwords.csv`, `token.txt`): a file's name,
/// where a dotted attribute's (`db.password`) last part is a word.
fn has_file_extension(name: &str) -> bool {
    const EXTENSIONS: &[&str] = &[
        "csv", "tsv", "txt", "json", "jsonl", "ndjson", "xml", "yaml", "yml", "toml", "ini", "conf", "cfg",
        "log", "md", "html", "htm", "pdf", "doc", "docx", "xls", "xlsx", "zip", "gz", "tgz", "tar", "bz2",
        "zst", "parquet", "avro", "orc", "png", "jpg", "jpeg", "gif", "svg", "bak", "sql", "pem", "crt",
        "der", "p12", "pfx", "bin", "dat",
    ];
    name.rsplit_once('.')
        .is_some_and(|(stem, ext)| !stem.is_empty() && EXTENSIONS.iter().any(|e| ext.eq_ignore_ascii_case(e)))
}

/// Keys that hold the value [`is_name_key`]'s key names: `value`, `ParameterValue`, `parameter_value`.
fn is_value_key(word: &str) -> bool {
    ["value", "parametervalue", "parameter_value"]
        .iter()
        .any(|k| word.eq_ignore_ascii_case(k))
}

/// Bytes [`Redactor::named_value`] looks at past a secret's name for its `value` key.
const NAMED_VALUE_LOOKAHEAD: usize = 256;
/// How far past a `name` key its value is read: a name of at most 128 bytes (a path), after a
/// separator and quotes that may be percent-encoded up to four times over.
const NAMED_VALUE_BYTES: usize = 256;

/// First words that make a secret's name with a following `Key` and one blank between them (`API
/// Key: …`, `{"Secret Access Key": "…"}`), as labels and spreadsheets write the names.
const PAIR_FIRST: &[&str] = &["api", "access", "secret", "private", "account"];

/// Whether the word `word` at `start` is `Key` after one blank and a [`PAIR_FIRST`] word ending at
/// `previous.1`: the two words name a secret.
fn is_secret_pair(b: &[u8], previous: (usize, usize), start: usize, word: &str) -> bool {
    word.eq_ignore_ascii_case("key")
        && previous.1 + 1 == start
        && is_blank(b[previous.1])
        && PAIR_FIRST
            .iter()
            .any(|p| b[previous.0..previous.1].eq_ignore_ascii_case(p.as_bytes()))
}

/// The value of a header or secret written as a pair (`('Cookie', 'sid=…')` in Python's and ASGI's
/// header lists, `(b'authorization', b'…')`, Rust's `Debug` of a `(&str, &str)`): the quoted name
/// `start..end` right after a `(`, then `,` and a quoted value, which goes whole.
fn tuple_value(b: &[u8], start: usize, end: usize) -> Option<KeyValue> {
    let quote = *b.get(start.checked_sub(1)?)?;
    if !matches!(quote, b'"' | b'\'') || b.get(end) != Some(&quote) {
        return None;
    }
    let mut open = start - 1;
    if open > 0 && b[open - 1] == b'b' {
        open -= 1;
    }
    if open == 0 || b[open - 1] != b'(' {
        return None;
    }
    let comma = skip_blanks(b, end + 1);
    if b.get(comma) != Some(&b',') {
        return None;
    }
    let mut at = skip_blanks(b, comma + 1);
    if b.get(at) == Some(&b'b') {
        at += 1;
    }
    let q = *b.get(at).filter(|q| matches!(q, b'"' | b'\''))?;
    Some(KeyValue {
        start: at + 1,
        end: quoted_end(b, at + 1, q, 0),
        quote: None,
    })
}

/// Whether `value` after the key `word` is the shell's working directory (`PWD=/var/task` in an
/// environment dump), not ODBC's password (`PWD=…;`): the key written `PWD` and the value an absolute
/// path standing alone.
fn is_working_directory(b: &[u8], word: &str, value: &KeyValue) -> bool {
    word == "PWD"
        && b.get(value.start) == Some(&b'/')
        && b[value.start..value.end].iter().all(|&c| is_word(c) || c == b'/')
        && b.get(value.end)
            .is_none_or(|c| c.is_ascii_whitespace() || matches!(c, b'"' | b'\'' | b',' | b'}'))
}

/// Whether a flag's name (after its dashes) says where a secret is read from, not the secret:
/// `password-stdin`, `password-file`, `private-key-path`, `token_file`.
fn names_a_source(name: &[u8]) -> bool {
    [&b"stdin"[..], b"file", b"path"].iter().any(|end| {
        name.len() > end.len() + 1
            && name[name.len() - end.len()..].eq_ignore_ascii_case(end)
            && matches!(name[name.len() - end.len() - 1], b'-' | b'_')
    })
}

/// Whether the word at `start..end`, followed by `:`, is all of a URL's user: right after `://`
/// (`https://x-access-token:…@github.com`). Its value is the userinfo's password ([`find_url_passwords`]
/// takes it, the host after it stays), or a port when no `@` follows (`https://token:8080/`).
fn is_userinfo_user(b: &[u8], start: usize, end: usize) -> bool {
    b.get(end) == Some(&b':') && b.get(end + 1) != Some(&b'/') && start >= 3 && &b[start - 3..start] == b"://"
}

/// A command-line flag starting at `i` and followed by a blank: `--name` or `-name` (letters, digits,
/// `-`, `_`, starting with two letters after one dash) or curl's `-u`, at the start of a word. Its
/// text and end.
fn flag_at(b: &[u8], i: usize) -> Option<(&[u8], usize)> {
    if i > 0 && !matches!(b[i - 1], b' ' | b'\t' | b'"' | b'\'' | b'\n' | b'(' | b'[') {
        return None;
    }
    let name_at = |from: usize| {
        let mut j = from;
        while j < b.len() && (b[j].is_ascii_alphanumeric() || matches!(b[j], b'-' | b'_')) {
            j += 1;
        }
        j
    };
    let end = match (b.get(i + 1), b.get(i + 2)) {
        (Some(b'u'), Some(b' ' | b'\t')) => i + 2,
        (Some(b'-'), Some(c)) if c.is_ascii_alphabetic() => name_at(i + 3),
        // One dash and a long name, as Go's `flag` package and Java's tools write it (`-password x`,
        // `-storepass x`).
        (Some(c), Some(d)) if c.is_ascii_alphabetic() && d.is_ascii_alphabetic() => name_at(i + 3),
        _ => return None,
    };
    matches!(b.get(end), Some(b' ' | b'\t')).then(|| (&b[i..end], end))
}

/// `-p` or `-a` starting a word at `i`, with more after it: a flag [`find_command_passwords`] may read.
fn short_password_flag_at(b: &[u8], i: usize) -> bool {
    (i == 0 || !is_command_word_byte(b[i - 1]))
        && matches!(b.get(i + 1), Some(b'p' | b'a'))
        && i + 2 < b.len()
}

/// The programs whose short flag takes a password on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PasswordProgram {
    /// MySQL's and MariaDB's clients: `-pSECRET`, attached (`-p` alone prompts, and the word after
    /// it is the database).
    MySql,
    /// `sshpass -p SECRET`, attached or not.
    SshPass,
    /// `redis-cli -a SECRET` (its `-p` is the port).
    RedisCli,
    /// A container tool (`docker`, `podman`, …): its `login` takes `-p SECRET`, attached or not; its
    /// other commands' `-p` is a port (`docker run -p 8080:80`).
    Containers,
    /// A container tool's `login`.
    RegistryLogin,
}

/// The programs of [`PasswordProgram::Containers`]: each has a `login -p`.
const CONTAINER_TOOLS: &[&[u8]] = &[
    b"docker", b"podman", b"nerdctl", b"buildah", b"skopeo", b"oras", b"helm",
];

/// The clients of [`PasswordProgram::MySql`]: MySQL's and MariaDB's.
const MYSQL_CLIENTS: &[&[u8]] = &[
    b"mysql",
    b"mysqldump",
    b"mysqladmin",
    b"mysqlimport",
    b"mysqlcheck",
    b"mysqlshow",
    b"mysqlslap",
    b"mysqlpump",
    b"mysqlbinlog",
    b"mariadb",
    b"mariadb-dump",
    b"mariadb-admin",
    b"mariadb-import",
    b"mariadb-check",
    b"mariadb-show",
    b"mariadb-slap",
    b"mariadb-binlog",
];

/// The program `word` runs, when it is one of [`PasswordProgram`]'s: its name after any directory
/// (`/usr/bin/mysql`), with or without `.exe`, any case.
fn password_program(word: &[u8]) -> Option<PasswordProgram> {
    let name = word.rsplit(|c| *c == b'/').next().unwrap_or(word);
    let name = match name.len().checked_sub(4) {
        Some(k) if name[k..].eq_ignore_ascii_case(b".exe") => &name[..k],
        _ => name,
    };
    if MYSQL_CLIENTS.iter().any(|c| name.eq_ignore_ascii_case(c)) {
        Some(PasswordProgram::MySql)
    } else if name.eq_ignore_ascii_case(b"sshpass") {
        Some(PasswordProgram::SshPass)
    } else if name.eq_ignore_ascii_case(b"redis-cli") {
        Some(PasswordProgram::RedisCli)
    } else if CONTAINER_TOOLS.iter().any(|c| name.eq_ignore_ascii_case(c)) {
        Some(PasswordProgram::Containers)
    } else {
        None
    }
}

/// Whether `c` is inside a word of a command line: not a blank, a line break, a quote, a bracket, a
/// backslash (a JSON escape's, or a Windows path's) or one of `;`, `|`, `&`, which end a command.
const fn is_command_word_byte(c: u8) -> bool {
    !matches!(
        c,
        b' ' | b'\t' | b'\n' | b'\r' | b'"' | b'\'' | b'`' | b'(' | b')' | b'\\' | b';' | b'|' | b'&'
    )
}

/// Where the string opened by the quote at `open` closes on its line: its closing quote, else the
/// line's end (or the text's). A command-line value's ([`Redactor::find_flag_values`],
/// [`command_value`]).
fn quote_close_on_line(b: &[u8], open: usize) -> usize {
    let q = b[open];
    b[open + 1..]
        .iter()
        .position(|&c| c == q || matches!(c, b'\n' | b'\r'))
        .map_or(b.len(), |k| open + 1 + k)
}

/// The end of the value starting at `at`: at its closing quote when it opens with one (on its line;
/// the quotes stay), else at the end of its word.
fn command_value(b: &[u8], at: usize) -> (usize, usize) {
    match b.get(at) {
        Some(b'"' | b'\'') => (at + 1, quote_close_on_line(b, at)),
        _ => (at, command_word_end(b, at)),
    }
}

/// Where the word of a command line starting at `i` ends ([`is_command_word_byte`]).
fn command_word_end(b: &[u8], i: usize) -> usize {
    b[i..]
        .iter()
        .position(|&c| !is_command_word_byte(c))
        .map_or(b.len(), |k| i + k)
}

/// Passwords given to a client by a short flag ([`PasswordProgram`]): `mysql -u root -pS3cr3t db`,
/// `sshpass -p 'S3cr3t' ssh host`, `redis-cli -h cache -a S3cr3t`, `docker login -u bob -p S3cr3t`.
/// The program's word comes first in the same command (after a path, `sudo`, `docker exec …` or an
/// environment assignment): a line break, `;`, `|` or `&` ends it. A value that is itself a flag is
/// none. Each byte is read once.
fn find_command_passwords(b: &[u8], spans: &mut Vec<(usize, usize)>) {
    let mut program = None;
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if !is_command_word_byte(c) {
            if matches!(c, b'\n' | b'\r' | b';' | b'|' | b'&') {
                program = None;
            }
            i += 1;
            continue;
        }
        let end = command_word_end(b, i);
        let word = &b[i..end];
        let start = i;
        i = end;
        if word[0] != b'-' {
            program = if program == Some(PasswordProgram::Containers) && word == b"login" {
                Some(PasswordProgram::RegistryLogin)
            } else {
                password_program(word).or(program)
            };
            continue;
        }
        let Some(p) = program.filter(|p| *p != PasswordProgram::Containers) else {
            continue;
        };
        let flag = if p == PasswordProgram::RedisCli {
            b'a'
        } else {
            b'p'
        };
        if word.get(1) != Some(&flag) {
            continue;
        }
        let (from, to) = if word.len() > 2 || matches!(b.get(end), Some(b'"' | b'\'')) {
            // Attached: `-pS3cr3t`, `-p'a b'`.
            if p == PasswordProgram::RedisCli {
                continue;
            }
            command_value(b, start + 2)
        } else {
            if p == PasswordProgram::MySql {
                continue;
            }
            let at = blanks_end(b, end);
            if b.get(at).is_none_or(|c| *c == b'-' || matches!(c, b'\n' | b'\r')) {
                continue;
            }
            command_value(b, at)
        };
        if from < to {
            spans.push((from, to));
        }
        i = i.max(to);
    }
}

/// Redacts a span attribute with the default rules: [`REDACTED`] when the key is deny-listed, else the
/// value's secrets, bounded by [`DEFAULT_MAX_SCAN_BYTES`]. For the X-Ray and OpenTelemetry exporters.
///
/// ```
/// use telemetry::redact::redact_attribute;
/// assert_eq!(redact_attribute("db.password", "hunter2"), "[REDACTED]");
/// assert_eq!(redact_attribute("http.url", "https://x.io/a?token=abc"), "https://x.io/a?token=[REDACTED]");
/// assert_eq!(redact_attribute("card_id", "c-1"), "c-1");
/// ```
#[must_use]
pub fn redact_attribute<'a>(key: &str, value: &'a str) -> Cow<'a, str> {
    let r = default_redactor();
    r.redact_field(key, value, &r.budget())
}

/// Whether an integer span attribute is printed as [`REDACTED`]: its key is denied, or it is a card
/// number ([`is_card_number`]).
#[cfg(feature = "xray")]
pub(crate) fn redacts_integer(key: &str, value: u128) -> bool {
    default_redactor().is_denied_field(key) || is_card_number(value)
}

/// [`redacts_integer`] for a float span attribute: its key is denied, or it is a whole number that is
/// a card number.
#[cfg(feature = "xray")]
pub(crate) fn redacts_float(key: &str, value: f64) -> bool {
    default_redactor().is_denied_field(key) || is_card_number_f64(value)
}

/// The default rules, built once.
pub(crate) fn default_redactor() -> &'static Redactor {
    static DEFAULT: OnceLock<Redactor> = OnceLock::new();
    DEFAULT.get_or_init(Redactor::default)
}

/// Texts the default rules left unchanged, scanned on this thread: a function's log messages, field
/// and span values repeat from invocation to invocation, and a repeat is not scanned again. The scan
/// is a function of the text alone (the rules being the default ones), so a text equal byte for byte
/// to one found clean is clean; a text is only ever taken for clean by comparing it whole. Small and
/// fixed: [`CLEAN_SETS`] sets of two texts of at most [`CLEAN_TEXT_MAX`] bytes, the set chosen by a
/// hash of the text's length and some of its bytes; a text kept in a full set replaces the older one.
struct CleanTexts {
    sets: [[CleanText; 2]; CLEAN_SETS],
}

/// One kept text: `len` bytes of `bytes` (0: none).
#[derive(Clone, Copy)]
struct CleanText {
    len: u8,
    bytes: [u8; CLEAN_TEXT_MAX],
}

const CLEAN_SETS: usize = 64;
const CLEAN_TEXT_MAX: usize = 63;

thread_local! {
    static CLEAN_TEXTS: std::cell::RefCell<CleanTexts> = const {
        std::cell::RefCell::new(CleanTexts {
            sets: [[CleanText { len: 0, bytes: [0; CLEAN_TEXT_MAX] }; 2]; CLEAN_SETS],
        })
    };
}

impl CleanText {
    fn is(&self, b: &[u8]) -> bool {
        self.bytes.get(..usize::from(self.len)) == Some(b)
    }
}

impl CleanTexts {
    /// Whether `s` may be kept: long enough for the scan to look at it ([`Hints::of`]), short enough
    /// for a slot.
    fn fits(s: &str) -> bool {
        (6..=CLEAN_TEXT_MAX).contains(&s.len())
    }

    /// The set of `b` ([`Self::fits`]): its length, first and last four bytes and middle byte, mixed.
    fn set(b: &[u8]) -> usize {
        let n = b.len();
        let four = |at: usize| u64::from(u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]));
        let x = (four(0) << 32 | four(n - 4)) ^ ((n as u64) << 8 | u64::from(b[n / 2]));
        (x.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 58) as usize % CLEAN_SETS
    }

    /// Whether `s` ([`Self::fits`]) is a text kept.
    fn holds(&self, s: &str) -> bool {
        let b = s.as_bytes();
        self.sets[Self::set(b)].iter().any(|t| t.is(b))
    }

    /// Keeps `s` ([`Self::fits`]), found clean by the default rules, in front of its set.
    fn keep(&mut self, s: &str) {
        let b = s.as_bytes();
        let Ok(len) = u8::try_from(b.len()) else { return };
        let set = &mut self.sets[Self::set(b)];
        set[1] = set[0];
        set[0].bytes[..b.len()].copy_from_slice(b);
        set[0].len = len;
    }
}

/// What a one-pass look at the bytes says is worth scanning for.
#[derive(Debug, Default)]
struct Hints {
    separator: bool,
    /// `://` somewhere, also percent-encoded (`%3A%2F%2F`): a URL that may carry `user:password@`.
    url: bool,
    at: bool,
    jwt: bool,
    akia: bool,
    b64_run: bool,
    digits: bool,
    pem: bool,
    prefixed: bool,
    /// `slack.com/` or `discord` (any case): a Slack or Discord webhook URL, with or without its scheme.
    webhook: bool,
    /// `Bearer ` or `Basic ` (any case): a credential without a key in front.
    scheme: bool,
    /// A command-line flag (`--x` or curl's `-u `) starting a word: its value may be the next word.
    flag: bool,
    /// `-p` or `-a` starting a word: a password on a client's command line ([`find_command_passwords`]).
    short_flag: bool,
    /// An XML tag (`<` and a letter, `_` or `/`), indexed by how its brackets are written
    /// ([`Angles`]): an element may hold a value (`<password>x</password>`).
    xml: [bool; 3],
    /// A blank, `is` or `was`, a blank: prose may name a secret (`the password is hunter2`).
    prose: bool,
    /// `PASSWORD` or `IDENTIFIED` after whitespace, then whitespace: SQL may set a password
    /// (`ALTER USER app WITH PASSWORD '…'`).
    sql: bool,
    /// A password word, a blank, a quote ([`quoted_password_at`]): a message may quote the password
    /// it refused.
    quoted_password: bool,
    /// `VALUES (` (any case, [`sql_values_before`]): an SQL statement may insert a deny-listed column's
    /// value (`INSERT INTO users (email, password) VALUES (…)`, [`Redactor::find_sql_insert_values`]).
    sql_insert: bool,
    /// `+` or `%20`, then `PASSWORD` or `IDENTIFIED` ([`encoded_sql_keyword_at`]): percent-encoded
    /// SQL may set a password (`?sql=ALTER+USER+app+IDENTIFIED+BY+…`).
    encoded_sql: bool,
    /// An escaped no-break space (`\u00a0`, `&nbsp;`): it may join a card number's groups, whose
    /// digits the count of [`HINT_DIGIT`]s then does not see together.
    escaped_space: bool,
    /// A percent-encoded `-` or `.` between two digits (`4539%2D1488`, [`encoded_join_at`]): it may
    /// join a card number's groups, and the letter of its escape breaks the count of digits.
    encoded_join: bool,
}

/// Byte classes for [`Hints::of`], looked up once per byte: a digit; a byte between a card number's
/// digit groups ([`is_digit_stretch`]); a base64 byte; a byte that may start something worth a look.
const HINT_DIGIT: u8 = 1;
const HINT_STRETCH: u8 = 2;
const HINT_B64: u8 = 4;
const HINT_LOOK: u8 = 8;

static HINT_CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut c = 0usize;
    while c < 256 {
        let b = c as u8;
        if b.is_ascii_digit() {
            t[c] |= HINT_DIGIT;
        }
        // `+` and `%` (with the `20` after it, counted as digits: too many is safe) join a card's
        // groups in a form body, also encoded again (`%2B`, `%2520`); the bytes of the wide spaces
        // of [`wide_space_at`] too (the escaped ones set [`Hints::escaped_space`]). An encoded dash
        // or dot (`%2D`, `%2E`) breaks the count at its letter: the `%` looks at it instead
        // ([`Hints::encoded_join`]), so no byte but a `%` pays for it.
        if is_digit_stretch(b) {
            t[c] |= HINT_STRETCH;
        }
        if is_b64(b) {
            t[c] |= HINT_B64;
        }
        if matches!(
            b,
            b':' | b'='
                | b'%'
                | b'@'
                | b'+'
                | b'e'
                | b'A'
                | b's'
                | b'S'
                | b'd'
                | b'D'
                | b'-'
                | b'B'
                | b'b'
                | b'<'
                | b'&'
                | b'\\'
                | b' '
                | b'\t'
                | b'\n'
                | b'('
                // The lead byte of `：` and `＝`, full width: only CJK text holds it.
                | 0xEF
                // The lead byte of a no-break space before an SQL keyword.
                | 0xC2
        ) {
            t[c] |= HINT_LOOK;
        }
        let mut k = 0;
        while k < TOKEN_FIRST_BYTES.len() {
            if TOKEN_FIRST_BYTES[k] == b {
                t[c] |= HINT_LOOK;
            }
            k += 1;
        }
        c += 1;
    }
    t
};

impl Hints {
    fn of(b: &[u8]) -> Option<Self> {
        if b.len() < 6 {
            return None;
        }
        // A run of 40 base64 bytes needs 40 bytes: most values are shorter, and skip counting it.
        let h = if b.len() >= 40 {
            Self::scan::<true>(b)
        } else {
            Self::scan::<false>(b)
        };
        (h.separator
            || h.at
            || h.jwt
            || h.akia
            || h.b64_run
            || h.digits
            || h.pem
            || h.prefixed
            || h.webhook
            || h.scheme
            || h.flag
            || h.short_flag
            || h.xml.contains(&true)
            || h.prose
            || h.sql
            || h.sql_insert
            || h.quoted_password
            || h.encoded_sql)
            .then_some(h)
    }

    fn scan<const B64_RUNS: bool>(b: &[u8]) -> Self {
        let mut h = Self::default();
        // `digits`: the digits of the current stretch of digits, blanks, `-` and `.` — the only bytes a
        // card number's groups and separators are made of, so a card needs one such stretch of 13 or
        // more digits (a request id's or a trace id's hex breaks them up).
        let (mut run, mut digits, mut longest_run, mut most_digits) = (0usize, 0usize, 0usize, 0usize);
        for (i, &c) in b.iter().enumerate() {
            let class = HINT_CLASS[usize::from(c)];
            if class & HINT_LOOK != 0 {
                h.look(b, i, c);
            }
            digits = if class & HINT_DIGIT != 0 {
                digits + 1
            } else if class & HINT_STRETCH != 0 {
                digits
            } else {
                0
            };
            most_digits = most_digits.max(digits);
            if B64_RUNS {
                run = if class & HINT_B64 != 0 { run + 1 } else { 0 };
                longest_run = longest_run.max(run);
            }
        }
        h.digits = most_digits >= 13 || h.escaped_space || h.encoded_join;
        h.b64_run = longest_run >= 40;
        h
    }

    /// What the byte `c` at `i` may start.
    fn look(&mut self, b: &[u8], i: usize, c: u8) {
        match c {
            b':' => {
                self.separator = true;
                self.url |= b[i + 1..].starts_with(b"//");
            }
            b'=' => self.separator = true,
            0xEF if full_width_separator_at(b, i).is_some() => self.separator = true,
            b'(' => {
                // A pair `("name", "value")` ([`tuple_value`]) holds no other separator.
                self.separator |= matches!(b.get(i + 1), Some(b'"' | b'\'' | b'b'));
                self.sql_insert |= sql_values_before(b, i);
            }
            b'%' => {
                self.separator = true;
                self.at = true;
                self.encoded_sql |= encoded_sql_keyword_at(b, i);
                self.url |= encoded_scheme_end(b, i).is_some();
                self.encoded_join |= encoded_join_at(b, i).is_some();
            }
            b'@' => self.at = true,
            b'+' if encoded_sql_keyword_at(b, i) => self.encoded_sql = true,
            b'e' if b[i..].starts_with(b"eyJ") => self.jwt = true,
            b'A' if b[i..].starts_with(b"AKIA") || b[i..].starts_with(b"ASIA") => self.akia = true,
            _ if TOKEN_FIRST_BYTES.contains(&c) && token_prefix(&b[i..]).is_some() => self.prefixed = true,
            b's' | b'S' | b'd' | b'D' if WEBHOOK_HINTS.iter().any(|hint| starts_with_ci(b, i, hint)) => {
                self.webhook = true;
            }
            b'-' if b[i..].starts_with(PEM_BEGIN) => self.pem = true,
            b'-' => {
                self.flag |= flag_at(b, i).is_some();
                self.short_flag |= short_password_flag_at(b, i);
            }
            b'B' | b'b' if credential_scheme_at(b, i).is_some() => self.scheme = true,
            b'<' if b
                .get(i + 1)
                .is_some_and(|&c| c.is_ascii_alphabetic() || matches!(c, b'_' | b'/')) =>
            {
                self.xml[Angles::Raw as usize] = true;
            }
            b'&' if starts_with_ci(b, i, Angles::Entity.brackets().0) => {
                self.xml[Angles::Entity as usize] = true
            }
            b'\\' if starts_with_ci(b, i, Angles::JsonEscape.brackets().0) => {
                self.xml[Angles::JsonEscape as usize] = true;
            }
            b'\\' | b'&' if wide_space_at(b, i).is_some() => self.escaped_space = true,
            // Looked at only before a `p` or an `i`: most blanks pay one comparison.
            b' ' | b'\t' | b'\n' | b'\\' | 0xC2 if sql_keyword_after(b, i).is_some() => self.sql = true,
            // At the first blank of a run only: the run is read once.
            b' ' | b'\t' if (i == 0 || !is_blank(b[i - 1])) && prose_verb_at(b, i).is_some() => {
                self.prose = true;
            }
            b' ' if quoted_password_at(b, i) => self.quoted_password = true,
            _ => {}
        }
    }
}

/// The largest char boundary ≤ `limit`, moved back so that the text kept never ends in the first
/// part of a secret the whole text would show redacted: to the start of the token the cut falls in,
/// however long it is (a 2 KB JWT cut in its payload is no JWT, and its first part would be
/// printed), and, when the text withheld goes on from a stretch of digit groups, to the start of that
/// whole stretch (`4111 1111 |1111 1111`: a card number's groups, cut, spell no card; any separator
/// the card rule reads between them). Reads back at most `limit` bytes, once per record, so the budget
/// bounds it.
fn cut_point(s: &str, limit: usize) -> usize {
    let mut cut = limit.min(s.len());
    while cut > 0 && !s.is_char_boundary(cut) {
        cut -= 1;
    }
    let b = s.as_bytes();
    let mut i = token_start(b, cut);
    // An escaped space the limit falls in (`\u00|a0`) is withheld whole.
    let end = (1..6)
        .filter_map(|k| cut.checked_sub(k))
        .find(|&at| wide_space_at(b, at).is_some_and(|w| at + w > cut))
        .unwrap_or(cut);
    let stretch = digit_stretch_start(b, end);
    // Digits right before the cut are read as continuing too: the text withheld may hold no more of
    // them (`…0343 6467|"`), but the stretch kept would then print all but a card's last group.
    let continued = i < end
        || end < cut
        || wide_space_at(b, end).is_some()
        || b.get(end)
            .is_some_and(|&c| c.is_ascii_alphanumeric() || is_digit_stretch(c));
    if continued && b[stretch..end].iter().any(u8::is_ascii_digit) {
        i = i.min(token_start(b, stretch));
    }
    // Inside a URL's authority the password may hold bytes no token has (`root:Pa$$w0rd!…@host`):
    // the kept text then ends before the authority, whose `@` it would need to be seen as one.
    if let Some(authority) = open_authority_start(b, i) {
        i = authority;
    }
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// How far back [`open_authority_start`] looks for the `://` of a URL: longer than any userinfo and
/// host a log line carries, and a bound on the once-per-record look back.
const AUTHORITY_LOOKBACK: usize = 512;

/// Where the authority starts (just after `://`, plain or percent-encoded once: `%3A%2F%2F`) of a
/// URL that `end` falls inside, before any `/`, `?`, `#`, blank or quote ends it; `None` outside one.
fn open_authority_start(b: &[u8], end: usize) -> Option<usize> {
    let floor = end.saturating_sub(AUTHORITY_LOOKBACK);
    let mut j = end;
    while j > floor {
        j -= 1;
        match b[j] {
            b'/' if j >= 2 && &b[j - 2..j] == b":/" => return Some(j + 1),
            // The end of an encoded `://` as [`encoded_scheme_end`] reads one: Python's `quote()`'s
            // `%3A//`, and `%3A%2F%2F`.
            b'/' if j >= 4 && encoded_scheme_end(b, j - 4) == Some((j + 1, 1)) => return Some(j + 1),
            b'/' | b'?' | b'#' | b' ' | b'\t' | b'\n' | b'\r' | b'"' | b'\'' | b'<' | b'>' => return None,
            b'%' => match hex_pair_at(b, j + 1) {
                Some(b'/') if j >= 6 && encoded_scheme_end(b, j - 6) == Some((j + 3, 1)) => {
                    return Some(j + 3);
                }
                Some(b'/' | b'?' | b'#' | b' ' | b'"' | b'\'') => return None,
                _ => {}
            },
            _ => {}
        }
    }
    None
}

/// Where the token ending at `end` starts: the bytes of the secrets found by their shape (base64 and
/// URL-safe base64, JWTs' `.`, token68's `~`, percent-escapes, an e-mail's `@`), back to the first
/// other byte, at any distance. Non-ASCII bytes are no token's.
fn token_start(b: &[u8], end: usize) -> usize {
    let mut i = end;
    while i > 0 && (is_b64url(b[i - 1]) || matches!(b[i - 1], b'/' | b'+' | b'=' | b'%' | b'.' | b'~' | b'@'))
    {
        i -= 1;
    }
    i
}

/// Whether `c` may be in a card number's stretch of digit groups besides its digits: a blank, a tab,
/// `-`, `.`, `+`, `%` and the `B` of `%2B`, a byte of a wide space ([`wide_space_at`] as written).
const fn is_digit_stretch(c: u8) -> bool {
    matches!(
        c,
        b' ' | b'\t'
            | b'-'
            | b'.'
            | b'+'
            | b'%'
            | b'B'
            | b'b'
            | 0xC2
            | 0xA0
            | 0xE2
            | 0x80
            | 0x87
            | 0x89
            | 0xAF
    )
}

/// Where the stretch of digits and the bytes between card digit groups ([`is_digit_stretch`],
/// escaped spaces: `\u00a0`, `&nbsp;`, and encoded dashes and dots: `%2D`, `%252E`) ending at `end`
/// starts, at any distance.
fn digit_stretch_start(b: &[u8], end: usize) -> usize {
    let mut i = end;
    while i > 0 {
        if let Some(at) = i.checked_sub(6)
            && wide_space_at(b, at) == Some(6)
        {
            i = at;
        } else if let Some(at) = encoded_join_before(b, i) {
            i = at;
        } else if b[i - 1].is_ascii_digit() || is_digit_stretch(b[i - 1]) {
            i -= 1;
        } else {
            break;
        }
    }
    i
}

fn normalise(name: &str) -> String {
    name.chars()
        .filter(|c| !matches!(c, '_' | '-' | '.'))
        .flat_map(char::to_lowercase)
        .collect()
}

/// `normalise(name).ends_with(suffix)` without allocating (this runs for every field of every line).
fn ends_with_normalised(name: &str, suffix: &str) -> bool {
    let mut n = name
        .bytes()
        .rev()
        .filter(|c| !matches!(c, b'_' | b'-' | b'.'))
        .map(|c| c.to_ascii_lowercase());
    suffix.bytes().rev().all(|s| n.next() == Some(s))
}

/// `normalise(name).contains(needle)` (`needle` lowercase ASCII) without allocating for names up to 64
/// bytes.
fn contains_normalised(name: &str, needle: &str) -> bool {
    let mut buf = [0u8; 64];
    match normalised_on_stack(name, &mut buf) {
        Some(n) => contains_bytes(n, needle.as_bytes()),
        None => normalise(name).contains(needle),
    }
}

/// Whether the name holds a word of [`DENY_ANYWHERE`], normalised once for all of them.
fn denied_anywhere(name: &str) -> bool {
    let mut buf = [0u8; 64];
    match normalised_on_stack(name, &mut buf) {
        Some(n) => DENY_ANYWHERE.iter().any(|d| contains_bytes(n, d.as_bytes())),
        None => DENY_ANYWHERE.iter().any(|d| contains_normalised(name, d)),
    }
}

/// `name` as [`normalise`] makes it for ASCII (`_`, `-`, `.` dropped, ASCII letters lowercased), in
/// `buf`; `None` when that is longer than `buf`.
fn normalised_on_stack<'b>(name: &str, buf: &'b mut [u8; 64]) -> Option<&'b [u8]> {
    let mut n = 0;
    for c in name.bytes().filter(|c| !matches!(c, b'_' | b'-' | b'.')) {
        *buf.get_mut(n)? = c.to_ascii_lowercase();
        n += 1;
    }
    Some(&buf[..n])
}

/// Whether `needle` occurs in `hay`: the needle's first byte is looked for, the rest compared only
/// where it is found.
fn contains_bytes(hay: &[u8], needle: &[u8]) -> bool {
    let Some((&first, rest)) = needle.split_first() else {
        return true;
    };
    let Some(last_start) = hay.len().checked_sub(needle.len()) else {
        return false;
    };
    hay[..=last_start]
        .iter()
        .enumerate()
        .any(|(i, &c)| c == first && hay[i + 1..i + needle.len()] == *rest)
}

/// Whether `name`'s last word is `word` (lowercase ASCII): the whole name, or after a `_`, `-`, `.` or
/// other non-alphanumeric byte, or a camelCase boundary (`cardPan`). `span` and `SPAN` are not `pan`.
fn last_word_is(name: &str, word: &str) -> bool {
    let n = name.as_bytes();
    let Some(cut) = n.len().checked_sub(word.len()) else {
        return false;
    };
    let tail = &n[cut..];
    if !tail.eq_ignore_ascii_case(word.as_bytes()) {
        return false;
    }
    let Some(&before) = cut.checked_sub(1).and_then(|k| n.get(k)) else {
        return true;
    };
    !before.is_ascii_alphanumeric()
        || ((before.is_ascii_lowercase() || before.is_ascii_digit()) && tail[0].is_ascii_uppercase())
}

const fn is_word(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.')
}

const fn is_b64(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'/' || c == b'+'
}

const fn is_b64url(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'-' || c == b'_'
}

/// `%XY` at `i`, case-insensitive, as the byte it encodes.
fn percent_at(b: &[u8], i: usize) -> Option<u8> {
    if b.get(i) != Some(&b'%') {
        return None;
    }
    hex_pair_at(b, i + 1)
}

/// The two hex digits at `i` (any case) as a byte.
fn hex_pair_at(b: &[u8], i: usize) -> Option<u8> {
    let hex = |c: u8| (c as char).to_digit(16);
    let hi = hex(*b.get(i)?)?;
    let lo = hex(*b.get(i + 1)?)?;
    u8::try_from(hi * 16 + lo).ok()
}

/// The most times a byte may have been percent-encoded over and still be read as that byte by
/// [`decoded_at`]: a URL encoded into another URL's query, and that one into a third
/// (`%25253D`), with one level to spare. A bound keeps each read O(1) whatever a run of `%25` is.
const PERCENT_LEVELS: u32 = 4;

/// The byte at `i` and how many times it was percent-encoded: 0 as written, 1 for `%3D`, 2 for
/// `%253D` (a URL passed as a parameter of another URL is encoded twice: its `%` became `%25`), up
/// to [`PERCENT_LEVELS`]. It spans [`encoded_width`] bytes.
fn decoded_at(b: &[u8], i: usize) -> Option<(u8, u32)> {
    let Some(mut c) = percent_at(b, i) else {
        return b.get(i).map(|c| (*c, 0));
    };
    let mut level = 1;
    // A `%` (`%25`) followed by two more hex digits is the byte they encode, one level deeper;
    // `%2525` then a non-hex byte is `%` encoded twice.
    while c == b'%' && level < PERCENT_LEVELS {
        let Some(deeper) = hex_pair_at(b, i + encoded_width(level)) else {
            break;
        };
        c = deeper;
        level += 1;
    }
    Some((c, level))
}

/// The byte percent-encoded right before the word `start..end`, when the word begins with that
/// escape's own hex digits (`%3Asecret` is read as the word `3Asecret`, `%253Fkey` as `253Fkey`):
/// the byte, how many times it was encoded, and where the word proper starts.
fn encoded_before(b: &[u8], start: usize, end: usize) -> Option<(u8, u32, usize)> {
    let (c, level) = decoded_at(b, start.checked_sub(1)?)?;
    let word_start = start - 1 + encoded_width(level);
    (level > 0 && word_start <= end).then_some((c, level, word_start))
}

/// The bytes a byte encoded `level` times spans: `=` 1, `%3D` 3, `%253D` 5.
const fn encoded_width(level: u32) -> usize {
    2 * level as usize + 1
}

/// The byte encoded at `j` (`level` ≥ 1) when it was encoded at most `level` times: the end of a
/// value encoded `level` times is its own delimiter encoded as often, or one of the URL around it
/// encoded fewer times (`password%253Dx%2526a%253D1%26b%3D2` ends at `%2526`, or `%26`); a
/// delimiter encoded more often is part of the value.
fn encoded_within(b: &[u8], j: usize, level: u32) -> Option<u8> {
    decoded_at(b, j)
        .filter(|&(_, l)| (1..=level).contains(&l))
        .map(|(c, _)| c)
}

/// A value found after a key: `start..end` becomes [`REDACTED`], written between `quote` (a range of
/// the input: the key's own closing quote, `"`, `\"`, `%22`…) when the value was a JSON array or
/// object, so JSON stays JSON.
struct KeyValue {
    start: usize,
    end: usize,
    quote: Option<(usize, usize)>,
}

/// The escape level of a quote preceded by `backslashes` backslashes: 0 for `"`, 1 for `\"` (JSON in a
/// JSON string), 2 for `\\\"` (escaped twice: SNS in SQS), … A quote of a deeper level than the
/// value's is an escaped quote inside it; one of a shallower level ends the string around it.
/// Escaping doubles the backslashes before a quote and adds one, so the level is the number of
/// trailing one bits of the count (`\\"` is an escaped backslash, then a level-0 quote).
const fn quote_level(backslashes: usize) -> u32 {
    (backslashes.wrapping_add(1)).trailing_zeros()
}

/// The backslashes written before a quote of `level`: 2^level − 1 (none for 64 and more levels,
/// which no input reaches within a scan budget).
fn delimiter_backslashes(level: u32) -> usize {
    1usize.checked_shl(level).map_or(0, |p| p - 1)
}

/// The end of a run of backslashes starting at `i`.
fn skip_backslashes(b: &[u8], mut i: usize) -> usize {
    while b.get(i) == Some(&b'\\') {
        i += 1;
    }
    i
}

/// What the text around a key says about where its value ends.
#[derive(Debug, Clone, Copy)]
struct KeyContext {
    /// An HTTP header name ([`is_header_name`]): where its `Name: value` ends.
    header: Option<HeaderEnd>,
    /// The header follows an escaped line break (`…\r\nCookie: …` in a JSON string or a byte
    /// string's `Debug`): its value also ends at the next escaped `\r` or `\n`.
    escaped_line: bool,
    /// After a `:` (`arn:aws:secretsmanager:…:secret:name`), encoded this many times (0: as
    /// written): `key:` with its `:` encoded as often is a name in a list, not a key.
    in_colon_list: Option<u32>,
    /// A URL query or form parameter (after `?`, `&` or `#`): `&` and `#` end its value.
    query: bool,
    /// Which `&`/`;` + `key=` end the value ([`FieldSplit`]).
    split: FieldSplit,
    /// A `,` ends the value: SigV4's `Credential=AKIA…/…/aws4_request,SignedHeaders=…` (the scope
    /// holds no comma).
    comma: bool,
    /// The key stands inside parentheses opened before it on its line
    /// (`ClientSecretCredential(…, client_secret=x)`): the `)` closing them ends the value.
    in_parens: bool,
}

impl KeyContext {
    /// The context of the denied key `word` starting at `start`.
    fn of(
        b: &[u8],
        word: &str,
        start: usize,
        in_colon_list: Option<u32>,
        open_quotes: &mut OpenQuotes,
        open_parens: &mut OpenParens,
    ) -> Self {
        // `\r\nCookie:` reads as the word `nCookie`: the byte after the backslash is the escape's.
        let escaped_line = escaped_line_start(b, start) && is_header_name(&word[1..]);
        let header = if escaped_line || is_header_name(word) {
            Some(header_end(b, start, open_quotes))
        } else {
            None
        };
        Self {
            header,
            escaped_line,
            in_colon_list,
            query: in_query(b, start),
            split: FieldSplit::of(word),
            comma: ends_with_normalised(word, "credential"),
            in_parens: open_parens.before(b, start) > 0,
        }
    }
}

/// Whether the word at `start` begins with the letter of an escape (`n`, `r`, `t`) after an odd run
/// of backslashes: `\n`, `\\\r`, not `\\n` (an escaped backslash, then `n`).
fn escaped_line_start(b: &[u8], start: usize) -> bool {
    if !matches!(b.get(start), Some(b'n' | b'r' | b't')) {
        return false;
    }
    let run = b[..start].iter().rev().take_while(|&&c| c == b'\\').count();
    run % 2 == 1
}

/// The first escaped `\r` or `\n` (an odd run of backslashes, then `r` or `n`) from `from`: the
/// start of its backslashes, or the end of the text.
fn escaped_break(b: &[u8], mut j: usize) -> usize {
    while j < b.len() {
        if b[j] == b'\\' {
            let run_end = skip_backslashes(b, j);
            if (run_end - j) % 2 == 1 && matches!(b.get(run_end), Some(b'r' | b'n')) {
                return j;
            }
            j = run_end;
        } else {
            j += 1;
        }
    }
    j
}

/// Which `&` or `;` followed by another `key=` ends a denied key's unquoted value ([`key_follows`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FieldSplit {
    /// Any key: a form body, a fragment, a connection string (`client_secret=…&grant_type=…`).
    AnyKey,
    /// A password's (names holding `password`, `passwd` or `privatekey`, ending in `secret` or
    /// `passphrase`, or whose last word is `pwd`): only a parameter name of a form or connection string ([`FIELD_NAMES`]); a
    /// generated password may hold `&Gh2=` or `;k=`.
    KnownKey,
    /// A cookie's (names ending in `cookie`, `cookies`): never, a `Cookie` value is `a=b; sid=…`.
    Never,
}

impl FieldSplit {
    fn of(word: &str) -> Self {
        if ends_with_normalised(word, "cookie") || ends_with_normalised(word, "cookies") {
            Self::Never
        } else if denied_anywhere(word)
            || last_word_is(word, "pwd")
            || ends_with_normalised(word, "secret")
            || ends_with_normalised(word, "passphrase")
        {
            Self::KnownKey
        } else {
            Self::AnyKey
        }
    }
}

/// Parameter names (normalised: lowercase, no `_`, `-`, `.` or blank) of OAuth token requests, login
/// forms and ADO.NET/JDBC/libpq connection strings: a `&` or `;` before one of them ends a
/// password's value (`client_secret=…&grant_type=…`, `Password=…;Encrypt=True`).
const FIELD_NAMES: &[&str] = &[
    // OAuth 2.0 (RFC 6749, 7636) and login forms.
    "granttype",
    "scope",
    "clientid",
    "redirecturi",
    "responsetype",
    "code",
    "codeverifier",
    "state",
    "nonce",
    "audience",
    "resource",
    "username",
    "user",
    "login",
    "email",
    "remember",
    "rememberme",
    "submit",
    "next",
    "returnurl",
    // Connection strings.
    "server",
    "host",
    "port",
    "database",
    "initialcatalog",
    "datasource",
    "userid",
    "uid",
    "encrypt",
    "trustservercertificate",
    "integratedsecurity",
    "persistsecurityinfo",
    "pooling",
    "sslmode",
    "timeout",
    "applicationname",
    "multipleactiveresultsets",
];

/// Where a header's value ends. A header value may hold quotes of its own (RFC 6265's
/// `theme="dark"`, RFC 7616's `Digest username="bob", response="…"`), so a header written in plain
/// text runs to the end of its line; one written inside a quoted string (a JSON value such as
/// `"msg":"Cookie: a=b"`) ends where that string does ([`quoted_header_end`]).
#[derive(Debug, Clone, Copy)]
enum HeaderEnd {
    Line,
    /// The quote byte and the escape level of the string the header is written in, and whether that
    /// quote stands right before the header's name (`-H 'Cookie: …'`, `-H "Authorization: …"`): a
    /// string holding the header alone, whose closing quote may be followed by a blank and more
    /// words of a command line.
    Quote(u8, u32, bool),
}

/// Where the line holding position `to` starts (after the last `\n` or `\r` before it).
fn line_start(b: &[u8], to: usize) -> usize {
    b[..to]
        .iter()
        .rposition(|&c| matches!(c, b'\n' | b'\r'))
        .map_or(0, |k| k + 1)
}

/// Which escape levels of `"` are open, one bit per level ([`quote_level`]), at a point of a line.
/// Read left to right from the last point asked, so the header rule, which asks at increasing
/// points, reads a text once.
#[derive(Debug, Default)]
struct OpenQuotes {
    at: usize,
    open: u64,
}

impl OpenQuotes {
    /// The open levels just before `to`, which starts a word (not a backslash or a quote).
    fn before(&mut self, b: &[u8], to: usize) -> u64 {
        if to < self.at {
            // Not asked so by the scan; start again from the line's start.
            self.at = line_start(b, to);
            self.open = 0;
        }
        let mut j = self.at;
        while j < to {
            match b[j] {
                // A JSON string holds no raw line break: a new line starts outside any string.
                b'\n' | b'\r' => {
                    self.open = 0;
                    j += 1;
                }
                b'\\' => {
                    let run_end = skip_backslashes(b, j);
                    if run_end < to && b[run_end] == b'"' {
                        self.open ^= 1 << quote_level(run_end - j).min(63);
                        j = run_end + 1;
                    } else {
                        j = run_end;
                    }
                }
                b'"' => {
                    self.open ^= 1;
                    j += 1;
                }
                _ => j += 1,
            }
        }
        self.at = j;
        self.open
    }
}

/// The parentheses open before a position on its line, counted once, left to right, as
/// [`OpenQuotes`] counts quotes: a key inside a call (`Cred(client_secret=x)`) ends its value at the
/// `)` that closes the call.
#[derive(Debug, Default)]
struct OpenParens {
    at: usize,
    open: u32,
}

impl OpenParens {
    /// How many `(` are open just before `to`, on its line.
    fn before(&mut self, b: &[u8], to: usize) -> u32 {
        if to < self.at {
            // Not asked so by the scan; start again from the line's start.
            self.at = line_start(b, to);
            self.open = 0;
        }
        for &c in &b[self.at..to] {
            match c {
                b'(' => self.open = self.open.saturating_add(1),
                b')' => self.open = self.open.saturating_sub(1),
                b'\n' | b'\r' => self.open = 0,
                _ => {}
            }
        }
        self.at = self.at.max(to);
        self.open
    }
}

/// Whether `word` is an HTTP header name ([`HEADER_NAMES`]): ignoring case, `_` for `-`, and a
/// dotted path before it (`headers.cookie`); or any name ending in `authorization`
/// (`X-Amzn-Remapped-Authorization`, `X-Forwarded-Authorization`: API Gateway and proxies rename the
/// header, whose Digest value holds blanks, quotes and `,`).
fn is_header_name(word: &str) -> bool {
    let name = word.rsplit('.').next().unwrap_or(word).as_bytes();
    const AUTHORIZATION: &[u8] = b"authorization";
    if name.len() >= AUTHORIZATION.len()
        && name[name.len() - AUTHORIZATION.len()..].eq_ignore_ascii_case(AUTHORIZATION)
    {
        return true;
    }
    HEADER_NAMES.iter().any(|h| {
        h.len() == name.len()
            && h.bytes()
                .zip(name)
                .all(|(h, &c)| h == if c == b'_' { b'-' } else { c.to_ascii_lowercase() })
    })
}

/// Where the value of a header name starting at `start` ends: inside the innermost `"` string open
/// before it, or a `'` string it opens (`'Cookie: a=b'`), else at the end of the line.
fn header_end(b: &[u8], start: usize, open_quotes: &mut OpenQuotes) -> HeaderEnd {
    let open = open_quotes.before(b, start);
    if open != 0 {
        HeaderEnd::Quote(b'"', 63 - open.leading_zeros(), b[start - 1] == b'"')
    } else if start > 0 && b[start - 1] == b'\'' {
        HeaderEnd::Quote(b'\'', 0, true)
    } else {
        HeaderEnd::Line
    }
}

/// Whether `word` at `start` is a [`QUERY_KEYS`] key in a URL query (`&sig=`, `?key=`), also in a
/// percent-encoded URL (`%26sig%3D`, `%253Fkey%253D`), where the word starts with the hex digits
/// of the encoded `?`, `&` or `#` (`3Fkey`, `253Fkey`). O(1): a suffix of at most four bytes and
/// one [`encoded_before`].
fn is_query_key(b: &[u8], word: &str, start: usize) -> bool {
    QUERY_KEYS.iter().any(|k| {
        let Some(at) = word.len().checked_sub(k.len()) else {
            return false;
        };
        // Word bytes are ASCII: `at` is a char boundary.
        if !word[at..].eq_ignore_ascii_case(k) {
            return false;
        }
        if at == 0 {
            return in_query(b, start);
        }
        matches!(
            encoded_before(b, start, start + word.len()),
            Some((b'?' | b'&' | b'#', _, key)) if key == start + at
        )
    })
}

/// Whether a key starting at `start` is a URL query or form parameter: right after `?` or `&`, or
/// `#` (OAuth's implicit flow returns `…/callback#access_token=…&state=…` in the fragment).
fn in_query(b: &[u8], start: usize) -> bool {
    start > 0 && matches!(b[start - 1], b'?' | b'&' | b'#')
}

/// Past up to four `Name(` openings at `i` (a Rust `Debug` of a wrapper: a name of letters, digits,
/// `_` and `::`, starting with a letter, at most 64 bytes, then `(`), and the blanks and line breaks
/// after each (pretty `Debug`, `{:#?}`, puts the wrapped value on a line of its own:
/// `Some(\n    "…",\n)`); `i` itself when none is there.
fn past_wrappers(b: &[u8], mut i: usize) -> usize {
    for _ in 0..4 {
        let name = rust_path_len(b, i);
        if name == 0 || !b[i].is_ascii_alphabetic() || b.get(i + name) != Some(&b'(') {
            break;
        }
        i += name + 1;
        i += b[i..]
            .iter()
            .take(256)
            .take_while(|c| c.is_ascii_whitespace())
            .count();
    }
    i
}

/// The length of the Rust type or variant name (a path: letters, digits, `_` and `::`) at `i`, at
/// most 64 bytes: a wrapper's ([`past_wrappers`]) or a struct's ([`debug_struct_brace`]).
fn rust_path_len(b: &[u8], i: usize) -> usize {
    b[i..]
        .iter()
        .take(64)
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b':'))
        .count()
}

/// The `{` of a Rust `Debug` struct at `i` (`Token { value: "…" }`, pretty `Token {\n`): a type's
/// name — a capital letter, then letters, digits, `_` and `::`, at most 64 bytes — a blank, then the
/// brace. A secret's wrapper may be a struct whose field is not itself named as a secret.
fn debug_struct_brace(b: &[u8], i: usize) -> Option<usize> {
    if !b.get(i)?.is_ascii_uppercase() {
        return None;
    }
    let name = rust_path_len(b, i);
    (b.get(i + name) == Some(&b' ') && b.get(i + name + 1) == Some(&b'{')).then_some(i + name + 1)
}

/// The length of a Python string literal's prefix at `i` (`b'…'`, `u"…"`, `rb'…'`: one or two of `b`,
/// `r`, `u`, `f`, any case, then a quote) or an SQL one (`N'…'`, `E'…'`), 0 when none is there: the secret is the string, and the
/// value would otherwise end at the quote after the prefix (`{'password': b'hunter2'}`).
fn string_prefix_len(b: &[u8], i: usize) -> usize {
    let letter = |k: usize| {
        b.get(k)
            .is_some_and(|c| matches!(c | 0x20, b'b' | b'r' | b'u' | b'f'))
    };
    // The quote may be escaped (`b\"…\"` in a JSON string holding a Python repr); an even run of
    // backslashes before it is escaped backslashes, and the quote ends the string around.
    let quote = |k: usize| {
        let q = skip_backslashes(b, k);
        ((q - k) % 2 == 1 || q == k) && matches!(b.get(q), Some(b'"' | b'\''))
    };
    // SQL's national and escape strings (`PASSWORD = N'…'`, SQL Server; `E'…'`, PostgreSQL).
    let sql =
        |k: usize| b.get(k).is_some_and(|c| matches!(c | 0x20, b'n' | b'e')) && b.get(k + 1) == Some(&b'\'');
    match (letter(i), letter(i + 1)) {
        _ if sql(i) => 1,
        (true, _) if quote(i + 1) => 1,
        (true, true) if quote(i + 2) => 2,
        _ => 0,
    }
}

/// The value after a key ending at `i`, or `None` when no `:`/`=`/`=>` follows.
fn value_after(b: &[u8], mut i: usize, key: KeyContext) -> Option<KeyValue> {
    let KeyContext {
        header,
        escaped_line,
        in_colon_list,
        mut query,
        split,
        comma,
        in_parens,
    } = key;
    // The key's closing quote (`"`, `\"`, `\\\"`, `%22`), bracket (`user[password]=`,
    // `user%5Bpassword%5D=`) and blanks.
    let mut key_quote: Option<((usize, usize), u32, u8)> = None;
    // The key's quote written `\u0022` or `&quot;` ([`written_quote_at`]): so are the value's.
    let mut key_form = None;
    // Where the percent-encoded backslashes before the key's encoded quote start (`%5C%22`): an
    // array value's marker is written between quotes escaped as the key's are.
    let mut encoded_escape = None;
    while let Some((c, level)) = decoded_at(b, i) {
        let w = encoded_width(level);
        if matches!(c, b'\\' | b'&')
            && let Some((form, width)) = written_quote_at(b, i)
        {
            key_quote = Some(((i, i + width), 0, form.quote()));
            key_form = Some(form);
            i += width;
            continue;
        }
        match c {
            b'\\' if level == 0 => {
                let run_end = skip_backslashes(b, i);
                if let Some(&q @ (b'"' | b'\'')) = b.get(run_end) {
                    key_quote = Some(((i, run_end + 1), quote_level(run_end - i), q));
                    i = run_end + 1;
                } else {
                    i = run_end;
                }
            }
            b'"' | b'\'' => {
                let from = if level > 0 { encoded_escape.unwrap_or(i) } else { i };
                key_quote = Some(((from, i + w), 0, c));
                i += w;
            }
            // `user[password]=`, `user%5Bpassword%5D=`: form encoding, where `&` separates fields.
            b']' => {
                query = true;
                i += w;
            }
            b'\\' => {
                encoded_escape.get_or_insert(i);
                i += w;
                continue;
            }
            b' ' | b'\t' | b')' => i += w,
            // `Password\u{a0}: …`: a label pasted from a document or a form.
            _ => match wide_blank_at(b, i) {
                Some(width) if level == 0 => i += width,
                _ => break,
            },
        }
        encoded_escape = None;
    }
    // How many times the separator was percent-encoded (`%3D` once, `%253D` twice): so were the
    // value's own delimiters. A full-width `：` or `＝` (CJK punctuation) is one as written.
    let full_width = full_width_separator_at(b, i);
    let (sep, level, width) = match full_width {
        Some(sep) => (sep, 0, FULL_WIDTH_SEPARATOR_BYTES),
        None => {
            let (sep, level) = decoded_at(b, i)?;
            (sep, level, encoded_width(level))
        }
    };
    if !matches!(sep, b':' | b'=') {
        return None;
    }
    let encoded = level > 0;
    if sep == b':' && in_colon_list == Some(level) {
        return None;
    }
    i += width;
    // Ruby's and Perl's `"password" => "…"`; Go's and Pascal's `password := "…"`.
    if !encoded && b.get(i) == Some(if sep == b'=' { &b'>' } else { &b'=' }) {
        i += 1;
    }
    let blank_after = matches!(decoded_at(b, i), Some((b' ' | b'\t', _))) || wide_blank_at(b, i).is_some();
    // In form encoding a `+` is a blank (`%22password%22%3A+%22…`: `urlencode(json.dumps(…))`).
    let plus_blank = encoded || query;
    while let Some((c, l)) = decoded_at(b, i) {
        if matches!(c, b' ' | b'\t') || (c == b'+' && l == 0 && plus_blank) {
            i += encoded_width(l);
        } else if let Some(width) = wide_blank_at(b, i) {
            i += width;
        } else {
            break;
        }
    }
    // YAML: a block scalar (`password: |`) or a value on the lines below the key holds the secret
    // on those lines.
    if sep == b':'
        && !encoded
        && let Some(block) = yaml_block(b, i)
    {
        return Some(block);
    }
    // Rust's `Debug` of an `Option` or a newtype: `session_token: Some("…")`, `api_key: ApiKey("…")`,
    // `secret: Some(SecretString(Box("…")))` — the secret is inside the wrappers, not their names.
    i = past_wrappers(b, i);
    // A struct (`token: Some(Token { value: "…" })`) goes whole, over lines (pretty `Debug`).
    if !encoded && let Some(brace) = debug_struct_brace(b, i) {
        return Some(KeyValue {
            start: i,
            end: bracketed_end(b, brace, b'"', 0, false),
            quote: None,
        });
    }
    i += string_prefix_len(b, i);
    if let Some((form, width)) = written_quote_at(b, i) {
        let start = i + width;
        return Some(KeyValue {
            start,
            end: written_string_end(b, start, form),
            quote: None,
        });
    }
    // An opening quote percent-encoded: `%22`, `%27`, `%2522`, and escaped inside a JSON string
    // first (`%5C%22`: `\"` encoded, as a form body holding a document's escaped JSON writes it).
    if let Some(open) = encoded_quote_at(b, i) {
        return Some(KeyValue {
            start: open.start,
            end: encoded_string_end(b, open),
            quote: None,
        });
    }
    // An opening quote: `"`, `'`, `\"`, `\\\"`.
    let run_end = skip_backslashes(b, i);
    match decoded_at(b, run_end) {
        Some((q @ (b'"' | b'\''), 0)) => {
            let start = run_end + 1;
            // The same inside a JSON string, its quotes escaped: `password = \"\"\"…\"\"\"`.
            if run_end > i && (run_end - i) % 2 == 1 {
                let quote = &b[i..=run_end];
                if b[start..].starts_with(quote) && b[start + quote.len()..].starts_with(quote) {
                    let start = start + 2 * quote.len();
                    return Some(KeyValue {
                        start,
                        end: escaped_triple_quoted_end(b, start, quote),
                        quote: None,
                    });
                }
            }
            // TOML's and Python's multi-line strings: `password = """…"""`, `'''…'''`.
            if run_end == i && b.get(start..start + 2) == Some(&[q, q][..]) {
                let start = start + 2;
                return Some(KeyValue {
                    start,
                    end: triple_quoted_end(b, start, q),
                    quote: None,
                });
            }
            let mut end = quoted_end(b, start, q, quote_level(run_end - i));
            // A JSON key's string value holding a raw line break (a client that does not escape
            // one): on to its closing quote when that quote ends a member.
            if run_end == i
                && q == b'"'
                && key_quote.is_some_and(|((from, _), l, kq)| l == 0 && kq == b'"' && b[from] == b'"')
            {
                end = json_string_end_over_lines(b, start, end).unwrap_or(end);
            }
            return Some(KeyValue {
                start,
                end,
                quote: None,
            });
        }
        // Percent-encoded only after a quoted key (`%22password%22%3A%5B…%5D`: a JSON document);
        // after an unquoted one (`password%3D%5B1%5Dx`) the value is a word like any other.
        Some((b'[' | b'{', level)) if run_end == i && (level == 0 || key_quote.is_some()) => {
            let end = match key_form {
                // Its brackets and quotes are encoded as often as the key's.
                _ if level > 0 => written_bracketed_end(b, i, QuoteForm::Percent(level)),
                Some(form) => written_bracketed_end(b, i, form),
                None => {
                    let (level, q) = key_quote.map_or((0, b'"'), |(_, level, q)| (level, q));
                    bracketed_end(b, i, q, level, key_quote.is_none())
                }
            };
            return Some(KeyValue {
                start: i,
                end,
                quote: key_quote.map(|(range, _, _)| range),
            });
        }
        _ => {}
    }
    let start = i;
    // A percent-encoded header (`authorization%3A%20Bearer%20…`) runs over its encoded blanks to the
    // encoded line break, a `&`, a blank or a quote.
    if header.is_some() && key_quote.is_none() && sep == b':' && encoded {
        let mut end = start;
        while end < b.len()
            && !matches!(b[end], b'&' | b' ' | b'\t' | b'\n' | b'\r' | b'"' | b'\'')
            && !matches!(encoded_within(b, end, level), Some(b'\r' | b'\n'))
        {
            end += 1;
        }
        return Some(KeyValue {
            start,
            end,
            quote: None,
        });
    }
    // A header name written as a key of its own (`"Cookie":1`) is a JSON key, not a header line.
    if let Some(rule) = header
        && key_quote.is_none()
        && sep == b':'
        && !encoded
    {
        // After an escaped line break the header's line ends at the next one (`\r\nHost: …`).
        let line = if escaped_line {
            &b[..escaped_break(b, start)]
        } else {
            b
        };
        let end = match rule {
            HeaderEnd::Line => line_end(line, start),
            HeaderEnd::Quote(q, level, alone) => quoted_header_end(line, start, q, level, alone),
        };
        return Some(KeyValue {
            start,
            end,
            quote: None,
        });
    }
    // A quoted key is JSON (or a dict's repr): its unquoted value, a number or a literal, ends at
    // `,`, `}` or `]`. An unquoted key's value runs over them (`password=p;ss`, `api_key=,abc`).
    let stops = ValueStops {
        json: key_quote.is_some(),
        comma,
        query,
        encoded: level,
        split,
        cjk: full_width.is_some(),
        paren: in_parens,
    };
    let word_end = |from: usize| value_word_end(b, from, stops);
    // `key: a few words` and `key = a few words` run over blanks up to the next `key=`/`key:`;
    // `key=value` stops at the first blank unless the value is an authorization scheme.
    let phrase = blank_after && !encoded;
    let mut end = word_end(start);
    loop {
        if end >= b.len() || !matches!(b[end], b' ' | b'\t') || end == start {
            break;
        }
        let next = skip_blanks(b, end);
        let scheme = !phrase && is_auth_scheme(&b[start..end]);
        // A cookie's pairs are `a=b; sid=…`: a `;` before the blank goes on to the next pair.
        let cookie_pair = split == FieldSplit::Never && b[end - 1] == b';';
        if !(phrase || scheme || cookie_pair) || next >= b.len() || (starts_key(b, next) && !cookie_pair) {
            break;
        }
        let word_end = word_end(next);
        if word_end == next {
            break;
        }
        end = word_end;
        if scheme {
            break;
        }
    }
    // `api_key: None, region: …` (Rust `Debug`, Python keyword arguments): the `,` before the next
    // key separates the fields.
    if end > start && b[end - 1] == b',' && matches!(b.get(end), Some(b' ' | b'\t')) {
        let next = skip_blanks(b, end);
        if next < b.len() && starts_key(b, next) {
            end -= 1;
        }
    }
    Some(KeyValue {
        start,
        end,
        quote: None,
    })
}

/// A string's opening quote percent-encoded ([`encoded_quote_at`]).
#[derive(Clone, Copy)]
struct EncodedQuote {
    /// `"` or `'`.
    quote: u8,
    /// How many times it was percent-encoded (1: `%22`, 2: `%2522`).
    percent: u32,
    /// Its escape level ([`quote_level`]): 0 for `%22`, 1 for `%5C%22` (`\"`), 2 for `%5C%5C%5C%22`.
    escape: u32,
    /// Where the string's text starts.
    start: usize,
}

/// A quote percent-encoded at `i`, after the percent-encoded backslashes that escape it when the
/// document is itself inside a JSON string (`%22`, `%2522`, `%5C%22`), all encoded as often.
fn encoded_quote_at(b: &[u8], i: usize) -> Option<EncodedQuote> {
    let (_, percent) = decoded_at(b, i).filter(|&(_, l)| l > 0)?;
    let width = encoded_width(percent);
    let mut j = i;
    while decoded_at(b, j) == Some((b'\\', percent)) {
        j += width;
    }
    match decoded_at(b, j)? {
        (quote @ (b'"' | b'\''), l) if l == percent => Some(EncodedQuote {
            quote,
            percent,
            escape: quote_level((j - i) / width),
            start: j + width,
        }),
        _ => None,
    }
}

/// The end of a string opened by the percent-encoded quote `open`: before its closing quote's own
/// encoded backslashes — a quote of the string's escape level or a shallower one, written as often
/// encoded or fewer times ([`encoded_within`]) — or at a `&`, blank or line break of the URL around.
/// A quote escaped deeper (`%5C%22` in a `%22` string) is the string's text. One pass: each run of
/// backslashes is read once, and once more to find the end of the string it closes.
fn encoded_string_end(b: &[u8], open: EncodedQuote) -> usize {
    let width_at = |j: usize| decoded_at(b, j).map_or(1, |(_, l)| encoded_width(l));
    let mut j = open.start;
    while j < b.len() && !matches!(b[j], b'&' | b' ' | b'\n') {
        match encoded_within(b, j, open.percent) {
            Some(c) if c == open.quote => return j,
            Some(b'\\') => {
                let run_start = j;
                let mut run = 0;
                while encoded_within(b, j, open.percent) == Some(b'\\') {
                    j += width_at(j);
                    run += 1;
                }
                if encoded_within(b, j, open.percent) == Some(open.quote) {
                    let level = quote_level(run);
                    if level <= open.escape {
                        // The backslashes before the delimiter's own are escaped ones of the text.
                        let mut end = run_start;
                        for _ in 0..run - delimiter_backslashes(level).min(run) {
                            end += width_at(end);
                        }
                        return end;
                    }
                    j += width_at(j);
                }
            }
            _ => j += 1,
        }
    }
    j
}

/// The lines of a YAML value below its key, when the key's line ends at `i` (after `:` and blanks) or
/// after a block-scalar indicator (`|`, `>`, with `-`/`+`/a digit): every following line indented more
/// than the key's line, blank lines among them, up to the first line indented no more than it.
/// `password: |\n  hunter2\nuser: bob` gives `hunter2`. Scans the key's line back once for its indent,
/// and the block once.
fn yaml_block(b: &[u8], mut i: usize) -> Option<KeyValue> {
    if matches!(b.get(i), Some(b'|' | b'>')) {
        i += 1;
        while matches!(b.get(i), Some(b'-' | b'+' | b'1'..=b'9')) {
            i += 1;
        }
        i = skip_blanks(b, i);
    }
    let first = match b.get(i..)? {
        [b'\n', ..] => i + 1,
        [b'\r', b'\n', ..] => i + 2,
        _ => return None,
    };
    let line_start = b[..i].iter().rposition(|&c| c == b'\n').map_or(0, |p| p + 1);
    let key_indent = skip_blanks(b, line_start) - line_start;
    let (mut j, mut end) = (first, None);
    while j < b.len() {
        let content = skip_blanks(b, j);
        let next = b[content..]
            .iter()
            .position(|&c| c == b'\n')
            .map_or(b.len(), |p| content + p);
        let blank_line = matches!(b.get(content), None | Some(b'\n' | b'\r'));
        if !blank_line {
            if content - j <= key_indent {
                break;
            }
            end = Some(if next > content && b[next - 1] == b'\r' {
                next - 1
            } else {
                next
            });
        }
        j = next + 1;
    }
    let end = end?;
    Some(KeyValue {
        start: skip_blanks(b, first),
        end,
        quote: None,
    })
}

fn skip_blanks(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && matches!(b[i], b' ' | b'\t') {
        i += 1;
    }
    i
}

fn is_auth_scheme(word: &[u8]) -> bool {
    AUTH_SCHEMES
        .iter()
        .any(|s| word.eq_ignore_ascii_case(s.as_bytes()))
}

/// Whether a `key=`/`key:` starts at `i` (a word beginning with a letter, then the separator).
fn starts_key(b: &[u8], i: usize) -> bool {
    if !b[i].is_ascii_alphabetic() {
        return false;
    }
    let mut j = i;
    while j < b.len() && is_word(b[j]) {
        j += 1;
    }
    matches!(b.get(j), Some(b'=' | b':'))
}

/// Whether a field `name:` starts at `i` (`code: 5` in a `Debug` struct, `n: 1` in a JS object): a
/// `,` before it closes the string of a header (Digest's `, response=` does not).
fn starts_field(b: &[u8], i: usize) -> bool {
    if !b.get(i).is_some_and(u8::is_ascii_alphabetic) {
        return false;
    }
    let mut j = i;
    while j < b.len() && is_word(b[j]) {
        j += 1;
    }
    b.get(j) == Some(&b':')
}

/// The end of the line from `j`.
fn line_end(b: &[u8], mut j: usize) -> usize {
    while j < b.len() && !matches!(b[j], b'\n' | b'\r') {
        j += 1;
    }
    j
}

/// What ends a denied key's unquoted value besides a blank, a line break or a quote.
#[derive(Debug, Clone, Copy)]
struct ValueStops {
    /// `,`, `}`, `]`: the key was quoted (JSON).
    json: bool,
    /// `,` ([`KeyContext::comma`]).
    comma: bool,
    /// `&`, `#`: a URL query or form parameter, or a percent-encoded value (which sits in a URL).
    query: bool,
    /// How many times the separator was percent-encoded (0: not at all; 1: `token%3D…`, 2:
    /// `token%253D…`): so are the value's own ends (`%26`, `%22`, `%20`, `%2C`, `%3B`, `%7D`, `%23`,
    /// or `%2526`…), and one encoded fewer times ends it too ([`encoded_within`]).
    encoded: u32,
    /// Which `&`/`;` + `key=` end the value.
    split: FieldSplit,
    /// CJK punctuation and the next full-width separator ([`cjk_stop_at`]): the key's separator was
    /// full-width (`password：abc、user：bob`).
    cjk: bool,
    /// A `)` that closes the parentheses the key stands in ([`KeyContext::in_parens`]) and is not
    /// the value's own ([`closes_call`]).
    paren: bool,
}

/// How many closing brackets (`)` `]` `}`) [`closes_call`] reads past a `)`: nested calls close
/// together (`Outer(Cred(token=x)))`); a longer run is the value's own.
const CALL_CLOSERS_MAX: usize = 16;

/// Whether the `)` at `j` ends a call rather than a value holding `)`: after it and the closing
/// brackets that follow it (nested calls, `f(g(x))]`), the end of the text, a blank, a quote, an
/// escaped quote or line break (the end of a JSON string), or a `,` or `;` followed by a blank, the
/// end or the next argument's `key=` (`Outer(Cred(api_key=x), region=…)`, `…x),region=…`).
/// Anything else is the value's: `Cred(password=ab)cd)` keeps `ab)cd` whole, and a password such as
/// `Xy7),Gh2` or `Xy7)]Gh2` is not cut at its `)`. A value ending in `)` inside a call loses only that
/// `)`.
fn closes_call(b: &[u8], j: usize) -> bool {
    let mut k = j + 1;
    let closers_end = b.len().min(k + CALL_CLOSERS_MAX);
    while k < closers_end && matches!(b[k], b')' | b']' | b'}') {
        k += 1;
    }
    match b.get(k) {
        None => true,
        Some(c) if c.is_ascii_whitespace() || matches!(c, b'"' | b'\'') => true,
        Some(b'\\') => {
            let run_end = skip_backslashes(b, k);
            match b.get(run_end) {
                Some(b'"' | b'\'') => true,
                Some(b'n' | b'r' | b't') => (run_end - k) % 2 == 1,
                _ => false,
            }
        }
        Some(b',' | b';') => {
            b.get(k + 1).is_none_or(u8::is_ascii_whitespace) || argument_key_follows(b, k + 1)
        }
        _ => false,
    }
}

/// Whether a call's next argument, `key=` or `key:` (`[A-Za-z_][\w.-]*`), starts at `at`: read
/// within [`KEY_LOOKAHEAD`] bytes, so a value costs at most its length times a constant.
fn argument_key_follows(b: &[u8], at: usize) -> bool {
    if !b.get(at).is_some_and(|c| c.is_ascii_alphabetic() || *c == b'_') {
        return false;
    }
    let ahead = &b[at..b.len().min(at + KEY_LOOKAHEAD)];
    let name = ahead
        .iter()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-'))
        .count();
    matches!(ahead.get(name), Some(b'=' | b':'))
}

/// Whether CJK text's punctuation stands at `i`: an ideographic full stop (`。`), comma (`、`) or
/// space, a full-width comma (`，`) or semicolon (`；`), or a full-width separator (`：`, `＝`,
/// the next label's). After a full-width separator it ends a value, as a blank ends one after `:`.
fn cjk_stop_at(b: &[u8], i: usize) -> bool {
    matches!(
        b.get(i..i + 3),
        Some([0xE3, 0x80, 0x80..=0x82] | [0xEF, 0xBC, 0x8C | 0x9A | 0x9B | 0x9D])
    )
}

/// The end of one word of a denied key's unquoted value starting at `j`: the next blank, line
/// break or quote, whatever punctuation comes before it (`password=#hunter2`, `password=p;ss`,
/// `secret=\abc` are all secret), a `&` or `;` that another `key=` follows ([`key_follows`]:
/// `client_secret=abc&grant_type=…`, `Password=abc;Encrypt=True`), and [`ValueStops`]. Inside a
/// JSON string the value also ends before an escaped quote's backslashes (`\"`, so the string stays
/// whole) and before an escaped line break (`\n`) that does not start it. One pass, each byte looked
/// at once, and at most [`KEY_LOOKAHEAD`] more after each `&` or `;`.
fn value_word_end(b: &[u8], start: usize, stops: ValueStops) -> usize {
    let mut j = start;
    // `(` opened inside the value: the `)` closing them is the value's own (`token=f(x)`).
    let mut own_parens = 0u32;
    while j < b.len() {
        match b[j] {
            b'(' if stops.paren => {
                own_parens = own_parens.saturating_add(1);
                j += 1;
            }
            b')' if stops.paren && own_parens > 0 => {
                own_parens -= 1;
                j += 1;
            }
            b')' if stops.paren && closes_call(b, j) => break,
            b' ' | b'\t' | b'\n' | b'\r' | b'"' | b'\'' => break,
            b'\\' => {
                let run_end = skip_backslashes(b, j);
                let escapes = (run_end - j) % 2 == 1;
                match b.get(run_end) {
                    Some(b'"' | b'\'') => break,
                    Some(b'n' | b'r' | b't') if escapes && j > start => break,
                    _ => j = run_end,
                }
            }
            b',' | b'}' | b']' if stops.json => break,
            b',' if stops.comma => break,
            0xE3 | 0xEF if stops.cjk && cjk_stop_at(b, j) => break,
            b'&' | b'#' if stops.query || stops.encoded > 0 => break,
            b'&' | b';' if key_follows(b, j, stops.split) => break,
            b'%' if stops.encoded > 0
                && matches!(
                    encoded_within(b, j, stops.encoded),
                    Some(b'&' | b'"' | b'\'' | b' ' | b',' | b';' | b'}' | b'#')
                ) =>
            {
                break;
            }
            _ => j += 1,
        }
    }
    j
}

/// Bytes [`key_follows`] looks at past a `&` or `;`: a parameter or connection-string key
/// (`X-Amz-Security-Token`, `TrustServerCertificate`) fits; a longer one leaves the value running on.
const KEY_LOOKAHEAD: usize = 64;

/// Whether the `&` or `;` at `j` is followed by another `key=` (`[&;]\s*[A-Za-z_][\w.\-\[\]]*=`)
/// within [`KEY_LOOKAHEAD`] bytes: then it separates fields (a form body, a fragment, an ADO.NET or
/// JDBC connection string) and ends the value before it. `password=p;ss`, `password=;x` have no key
/// after the `;` and stay whole. The key holds no blank: the value ends at the blank anyway, and
/// `password=p;ss user=bob` must not show `ss` (`;Connection Timeout=30` right after a value goes
/// with it). After a password's key the key must be one of [`FIELD_NAMES`], after a cookie's none
/// ends the value ([`FieldSplit`]). Bounded, so a value costs at most its length times a constant.
fn key_follows(b: &[u8], j: usize, split: FieldSplit) -> bool {
    if split == FieldSplit::Never {
        return false;
    }
    let ahead = &b[j + 1..b.len().min(j + 1 + KEY_LOOKAHEAD)];
    let mut k = 0;
    while ahead.get(k).is_some_and(u8::is_ascii_whitespace) {
        k += 1;
    }
    if !ahead
        .get(k)
        .is_some_and(|c| c.is_ascii_alphabetic() || *c == b'_')
    {
        return false;
    }
    let key_start = k;
    while ahead
        .get(k)
        .is_some_and(|&c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-' | b'[' | b']'))
    {
        k += 1;
    }
    if ahead.get(k) != Some(&b'=') {
        return false;
    }
    if split == FieldSplit::AnyKey {
        return true;
    }
    // A password's: only a known parameter name (`user[name]` by its `user`). The key is ASCII.
    let key = &ahead[key_start..k];
    let base = key.split(|&c| c == b'[').next().unwrap_or(key);
    let mut buf = [0u8; 64];
    std::str::from_utf8(base)
        .ok()
        .and_then(|name| normalised_on_stack(name, &mut buf))
        .is_some_and(|name| FIELD_NAMES.iter().any(|f| f.as_bytes() == name))
}

/// The end of a string value opened by quote `q` of escape `level`, starting at `j`: before the
/// closing quote's own backslashes, at a newline, or where the string around it ends.
fn quoted_end(b: &[u8], mut j: usize, q: u8, level: u32) -> usize {
    while j < b.len() {
        match b[j] {
            b'\n' => return j,
            b'\\' => {
                let run_start = j;
                j = skip_backslashes(b, j);
                if b.get(j) == Some(&q) {
                    let l = quote_level(j - run_start);
                    if l <= level {
                        return j - delimiter_backslashes(l).min(j - run_start);
                    }
                    j += 1;
                }
            }
            c if c == q => return j,
            _ => j += 1,
        }
    }
    j
}

/// The longest a JSON string value read over raw line breaks ([`json_string_end_over_lines`]) may
/// be.
const MULTILINE_STRING_MAX: usize = 4096;

/// How far after a string's closing quote the `,`, `}` or `]` ending its member may stand.
const MEMBER_END_LOOKAHEAD: usize = 64;

/// The end of a JSON string value opened at `start` (not escaped, after a quoted key) whose text
/// [`quoted_end`] found cut by a raw line break at `line_break`: its closing quote, the first
/// unescaped `"` after the break, when that quote lies within [`MULTILINE_STRING_MAX`] bytes of
/// `start` and a `,`, `}` or `]` follows it (blanks and line breaks between allowed, within
/// [`MEMBER_END_LOOKAHEAD`] bytes); `None` otherwise: the value ends at the break. An unbalanced
/// quote (`{"password": "ab`, then a line `say "hi" now`) meets a quote that ends no member, so the
/// lines after it are not swallowed. Reads no further than the first quote after the break, which
/// the scan reaches next anyway: linear.
fn json_string_end_over_lines(b: &[u8], start: usize, line_break: usize) -> Option<usize> {
    let within = &b[..b.len().min(start + MULTILINE_STRING_MAX)];
    let mut end = line_break;
    while within.get(end) == Some(&b'\n') {
        end = quoted_end(within, end + 1, b'"', 0);
    }
    if end >= within.len() || end == line_break {
        return None;
    }
    let after = &b[end + 1..b.len().min(end + 1 + MEMBER_END_LOOKAHEAD)];
    after
        .iter()
        .find(|c| !c.is_ascii_whitespace())
        .is_some_and(|c| matches!(c, b',' | b'}' | b']'))
        .then_some(end)
}

/// The end of a triple-quoted string (TOML's, Python's) whose text starts at `from`: the first
/// three quotes `q` (for `"`, not escaped by a `\`), over line breaks; with none, the end of the
/// line, as an unclosed quote's. Linear over a scan: a search stops at the next triple quote, and
/// only the text's last triple quote finds none after it.
fn triple_quoted_end(b: &[u8], from: usize, q: u8) -> usize {
    let mut j = from;
    while j + 2 < b.len() {
        match b[j] {
            b'\\' if q == b'"' => j += 2,
            c if c == q && b[j + 1] == q && b[j + 2] == q => return j,
            _ => j += 1,
        }
    }
    line_end(b, from)
}

/// The end of a triple-quoted string written inside a JSON string, each quote escaped as `quote`
/// (`\"`, `\\\"`), whose text starts at `from`: the next three escaped quotes, else the end of the
/// line. The value is skipped whole, so the search reads no byte twice: linear.
fn escaped_triple_quoted_end(b: &[u8], from: usize, quote: &[u8]) -> usize {
    let mut j = from;
    while j < b.len() && !matches!(b[j], b'\n' | b'\r') {
        if b[j] == b'\\'
            && b[j..].starts_with(quote)
            && b[j + quote.len()..].starts_with(quote)
            && b[j + 2 * quote.len()..].starts_with(quote)
        {
            return j;
        }
        j += 1;
    }
    j
}

/// The end of a header's value starting at `start`, written inside a string opened by quote `q` of
/// escape `level`: at a closing quote that closes the string — one followed by the end of the line,
/// `}`, `]`, `\` (escaped JSON) or a `,` and the next member's quote (`"msg":"Cookie: a=b","n":1`,
/// `'Cookie: a=b', 'n': 1`) — else at the end of the line. A quote followed by anything else is the
/// value's own (`theme="dark"; session=…`, Digest's `username="bob", response=…`), or the quote
/// counted open before the header was not a string's (`size 5" tv; Cookie: …`): the header then runs
/// on as one in plain text does. Linear in the value: each search starts where the last one ended.
fn quoted_header_end(b: &[u8], start: usize, q: u8, level: u32, alone: bool) -> usize {
    let mut from = start;
    loop {
        // `quoted_end` stops at a `\n`; a `\r` ends the line too.
        let end = quoted_end(b, from, q, level);
        if let Some(cr) = b[from..end].iter().position(|&c| c == b'\r') {
            return from + cr;
        }
        if end >= b.len() || b[end] == b'\n' {
            return end;
        }
        // `end` is the closing quote or the start of its backslashes.
        let after = skip_backslashes(b, end) + 1;
        // A string holding the header alone is a word of a command line: a blank after its quote
        // ends it (`curl -H 'Authorization: Bearer …' https://…`).
        if alone && matches!(b.get(after), Some(b' ' | b'\t')) {
            return end;
        }
        let closes = match b.get(skip_blanks(b, after)) {
            None | Some(b'\n' | b'\r' | b'}' | b']' | b'\\') => true,
            Some(b',') => {
                let next = skip_blanks(b, skip_blanks(b, after) + 1);
                matches!(b.get(next), None | Some(b'"' | b'\'' | b'\\' | b'\n' | b'\r'))
                    || starts_field(b, next)
            }
            Some(_) => false,
        };
        if closes {
            return end;
        }
        from = after;
    }
}

/// How a JSON document's quotes are written when not as `"`, `\"` or `%22` before a string value:
/// percent-encoded (here only for an array or object value: `%22password%22%3A%5B%22x%22%5D`, its
/// brackets encoded as often), as JSON's unicode escape (`{\u0022password\u0022:\u0022x\u0022}`:
/// a document in a string, as .NET's encoder writes `"` inside strings) or as an HTML entity
/// (`{&quot;password&quot;:&quot;x&quot;}`: a document shown in HTML or XML).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum QuoteForm {
    /// Encoded this many times.
    Percent(u32),
    /// The quote, and the backslashes written before its `u` (1: a quote of the document; 3:
    /// `\\\u0022`, a quote escaped inside one of its strings).
    Unicode(u8, usize),
    /// The quote.
    Entity(u8),
}

impl QuoteForm {
    const fn quote(self) -> u8 {
        match self {
            Self::Percent(_) => b'"',
            Self::Unicode(q, _) | Self::Entity(q) => q,
        }
    }
}

/// What [`QuoteForm`] reads at a byte of a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum WrittenToken {
    /// A quote of the value's own level.
    Quote,
    Open,
    Close,
    /// The end of the text around (the URL, the string, the attribute, the line).
    End,
    Other,
}

/// `\u0022` or `\u0027` (any case; an odd run of backslashes) or an HTML entity for `"` or `'`
/// (`&quot;`, `&#34;`, `&#x22;`, `&apos;`, `&#39;`, `&#x27;`) at `i`: its form and width.
fn written_quote_at(b: &[u8], i: usize) -> Option<(QuoteForm, usize)> {
    match b.get(i)? {
        b'\\' => {
            let run_end = skip_backslashes(b, i);
            let run = run_end - i;
            let q = unicode_quote_at(b, run_end)?;
            (run % 2 == 1).then_some((QuoteForm::Unicode(q, run), run + 5))
        }
        b'&' => entity_quote_at(b, i).map(|(q, w)| (QuoteForm::Entity(q), w)),
        _ => None,
    }
}

/// `u0022` or `u0027` (hex digits in any case) at `i`: the quote.
fn unicode_quote_at(b: &[u8], i: usize) -> Option<u8> {
    if !starts_with_ci(b, i, b"u00") {
        return None;
    }
    match hex_pair_at(b, i + 3)? {
        q @ (b'"' | b'\'') => Some(q),
        _ => None,
    }
}

/// An HTML entity for `"` or `'` at `i`, any case: the quote and the entity's width.
fn entity_quote_at(b: &[u8], i: usize) -> Option<(u8, usize)> {
    const ENTITIES: &[(&[u8], u8)] = &[
        (b"&quot;", b'"'),
        (b"&#34;", b'"'),
        (b"&#x22;", b'"'),
        (b"&apos;", b'\''),
        (b"&#39;", b'\''),
        (b"&#x27;", b'\''),
    ];
    ENTITIES
        .iter()
        .find(|(e, _)| starts_with_ci(b, i, e))
        .map(|&(e, q)| (q, e.len()))
}

/// What the byte at `j` (within `b`) is in a value whose quotes are written `form`, and its width.
fn written_token(b: &[u8], j: usize, form: QuoteForm) -> (WrittenToken, usize) {
    let bracket = |c: u8| match c {
        b'[' | b'{' => WrittenToken::Open,
        b']' | b'}' => WrittenToken::Close,
        _ => WrittenToken::Other,
    };
    match form {
        QuoteForm::Percent(level) => {
            let (c, l) = decoded_at(b, j).unwrap_or((b[j], 0));
            if l == level && c == b'\\' {
                // An escape inside one of the document's strings (`%5C%22`): the quote after the
                // backslash is the string's own, not its end.
                let next = j + encoded_width(l);
                let escaped = match decoded_at(b, next) {
                    Some((_, l2)) => encoded_width(l2),
                    None => usize::from(next < b.len()),
                };
                return (WrittenToken::Other, encoded_width(l) + escaped);
            }
            let token = if l == level {
                if c == b'"' {
                    WrittenToken::Quote
                } else {
                    bracket(c)
                }
            } else if l < level && matches!(c, b'&' | b'"' | b'\'' | b'#' | b' ' | b'\t' | b'\n' | b'\r') {
                // A delimiter of the URL around, encoded fewer times.
                WrittenToken::End
            } else {
                WrittenToken::Other
            };
            (token, encoded_width(l))
        }
        QuoteForm::Unicode(q, level) => match b[j] {
            b'\\' => {
                let run_end = skip_backslashes(b, j);
                let run = run_end - j;
                match unicode_quote_at(b, run_end) {
                    Some(u) if u == q && run % 2 == 1 => {
                        let token = if run <= level {
                            WrittenToken::Quote
                        } else {
                            WrittenToken::Other
                        };
                        (token, run + 5)
                    }
                    _ => (WrittenToken::Other, run),
                }
            }
            // The string the document is written in ends at its own quote.
            b'"' | b'\n' | b'\r' => (WrittenToken::End, 1),
            c => (bracket(c), 1),
        },
        QuoteForm::Entity(q) => match b[j] {
            b'&' => match entity_quote_at(b, j) {
                // `\&quot;` is a quote escaped inside a string.
                Some((e, w)) if e == q && !(j > 0 && b[j - 1] == b'\\') => (WrittenToken::Quote, w),
                Some((_, w)) => (WrittenToken::Other, w),
                None => (WrittenToken::Other, 1),
            },
            // The attribute or the element the document is written in ends.
            b'"' | b'<' | b'\n' | b'\r' => (WrittenToken::End, 1),
            c => (bracket(c), 1),
        },
    }
}

/// The end of a string value whose quotes are written `form`, starting at `from`: its closing quote,
/// or the end of the text around it.
fn written_string_end(b: &[u8], from: usize, form: QuoteForm) -> usize {
    let mut j = from;
    while j < b.len() {
        let (token, width) = written_token(b, j, form);
        if matches!(token, WrittenToken::Quote | WrittenToken::End) {
            return j;
        }
        j += width;
    }
    j
}

/// [`bracketed_end`] for an array or object whose quotes (and, percent-encoded, brackets) are written
/// `form`: after its matching bracket, strings skipped, or at the end of the text around it. One
/// pass, depth counted.
fn written_bracketed_end(b: &[u8], from: usize, form: QuoteForm) -> usize {
    let (mut depth, mut in_string, mut j) = (0usize, false, from);
    while j < b.len() {
        let (token, width) = written_token(b, j, form);
        match token {
            WrittenToken::End => return j,
            WrittenToken::Quote => in_string = !in_string,
            WrittenToken::Open if !in_string => depth += 1,
            WrittenToken::Close if !in_string => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return j + width;
                }
            }
            _ => {}
        }
        j += width;
    }
    j
}

/// The end of a JSON array or object starting at `from` (`[` or `{`): after its matching bracket,
/// skipping strings (quote `q` at escape `level`); at the end of the string around it or of the text
/// if it is not closed (`line` also stops at a newline: the key was not quoted, so this is not JSON).
/// One pass, depth counted, so `[[[[…` costs its length.
fn bracketed_end(b: &[u8], from: usize, q: u8, level: u32, line: bool) -> usize {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut j = from;
    while j < b.len() {
        match b[j] {
            b'\\' => {
                let run_start = j;
                j = skip_backslashes(b, j);
                if b.get(j) == Some(&q) {
                    let l = quote_level(j - run_start);
                    if l < level {
                        return j - delimiter_backslashes(l).min(j - run_start);
                    }
                    if l == level {
                        in_string = !in_string;
                    }
                    j += 1;
                }
                continue;
            }
            c if c == q => {
                if level > 0 {
                    return j;
                }
                in_string = !in_string;
            }
            b'\n' if line => return j,
            b'[' | b'{' if !in_string => depth += 1,
            b']' | b'}' if !in_string => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return j + 1;
                }
            }
            _ => {}
        }
        j += 1;
    }
    j
}

/// Case-insensitive ASCII search for `needle` (lowercase) from `from`.
fn find_ci(b: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if needle.is_empty() || b.len() < needle.len() {
        return None;
    }
    (from..=b.len() - needle.len()).find(|&i| {
        b[i..i + needle.len()]
            .iter()
            .zip(needle)
            .all(|(c, n)| c.to_ascii_lowercase() == *n)
    })
}

/// How a text writes an XML document's angle brackets: as they are; as XML's entities
/// (`&lt;password&gt;`: a document quoted inside XML or HTML); as JSON's escapes (`\u003cpassword\u003e`:
/// Go's and .NET's encoders write `<` and `>` so).
#[derive(Clone, Copy)]
enum Angles {
    Raw,
    Entity,
    JsonEscape,
}

impl Angles {
    const ALL: [Self; 3] = [Self::Raw, Self::Entity, Self::JsonEscape];

    /// `<` and `>` as written, lowercase (matched in any case).
    const fn brackets(self) -> (&'static [u8], &'static [u8]) {
        match self {
            Self::Raw => (b"<", b">"),
            Self::Entity => (b"&lt;", b"&gt;"),
            Self::JsonEscape => (b"\\u003c", b"\\u003e"),
        }
    }
}

/// Whether `b[at..]` starts with `lower` (lowercase ASCII) in any case.
fn starts_with_ci(b: &[u8], at: usize, lower: &[u8]) -> bool {
    b.get(at..at + lower.len())
        .is_some_and(|w| w.eq_ignore_ascii_case(lower))
}

/// The next `bracket` (lowercase ASCII, a first byte without case: `<`, `&`, `\`) from `from`:
/// its first byte is looked for, the rest compared where it is found.
fn find_bracket(b: &[u8], bracket: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    while let Some(off) = b.get(i..)?.iter().position(|&c| c == bracket[0]) {
        if starts_with_ci(b, i + off, bracket) {
            return Some(i + off);
        }
        i += off + 1;
    }
    None
}

/// Where a CDATA section starting at `from` ends: its `]]` followed by `gt`.
fn cdata_end(b: &[u8], from: usize, gt: &[u8]) -> Option<usize> {
    let mut i = from;
    loop {
        let at = find_exact(b, b"]]", i)?;
        if starts_with_ci(b, at + 2, gt) {
            return Some(at);
        }
        i = at + 1;
    }
}

/// What [`Hints`] looks for: Slack's domain (`slack.com`, its slash written any way), the start of
/// Discord's (`discord.com`, `discordapp.com`).
const WEBHOOK_HINTS: &[&[u8]] = &[b"slack.com", b"discord"];

/// Incoming-webhook URLs whose path is the credential: Slack's (`hooks.slack.com/services/…`,
/// `…/workflows/…`) and Discord's (`discord.com/api/webhooks/<id>/<token>`): the path after the
/// host (Slack) or after `webhooks/` (Discord), to the next blank, quote, bracket, `,` or other `\`. The
/// slashes may be written as JSON escapes (`hooks.slack.com\/services\/…`, as PHP's and some Java
/// encoders write them) or percent-encoded, once or more (`hooks.slack.com%2Fservices%2F…`, a URL
/// passed in a query; `%252F` when that query was encoded again), where a `&` also ends the path, and
/// an encoded `&`, quote, blank or `,` (`…%2FXXXX%22%2C%22n%22`).
fn find_webhooks(b: &[u8], spans: &mut Vec<(usize, usize)>) {
    /// A host's segments, each but the first after a slash.
    const HOSTS: &[&[&[u8]]] = &[
        &[b"hooks.slack.com"],
        &[b"discord.com", b"api", b"webhooks"],
        &[b"discordapp.com", b"api", b"webhooks"],
    ];
    for host in HOSTS {
        let mut from = 0;
        while let Some(at) = find_ci(b, host[0], from) {
            from = at + host[0].len();
            let mut start = from;
            // How many times the slashes were percent-encoded (0: not).
            let mut encoded = 0;
            let mut whole = true;
            // Each segment after its slash, then the slash before the path.
            for segment in host[1..].iter().map(Some).chain([None]) {
                let Some((slash, width)) = url_slash_at(b, start) else {
                    whole = false;
                    break;
                };
                if let UrlSlash::Percent(level) = slash {
                    encoded = encoded.max(level);
                }
                start += width;
                if let Some(segment) = segment {
                    if !starts_with_ci(b, start, segment) {
                        whole = false;
                        break;
                    }
                    start += segment.len();
                }
            }
            if !whole {
                continue;
            }
            let mut end = start;
            while end < b.len()
                && !b[end].is_ascii_whitespace()
                && !matches!(b[end], b'"' | b'\'' | b'<' | b'>' | b')' | b',')
                && (encoded == 0
                    || !(b[end] == b'&'
                        || matches!(
                            encoded_within(b, end, encoded),
                            Some(b'&' | b'"' | b'\'' | b' ' | b',')
                        )))
            {
                if b[end] == b'\\' {
                    // `\/` is a slash of the path; any other escape (`\"`) ends it.
                    if b.get(end + 1) != Some(&b'/') {
                        break;
                    }
                    end += 1;
                }
                end += 1;
            }
            if end > start {
                spans.push((start, end));
            }
            from = end.max(start);
        }
    }
}

/// How a URL's `/` is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum UrlSlash {
    Plain,
    /// `\/`: a JSON string's escape.
    JsonEscape,
    /// `%2F`, or encoded this many times over (`%252F`: a URL in a URL in another's query).
    Percent(u32),
}

/// A `/` at `i`, as written ([`UrlSlash`]), and its width.
fn url_slash_at(b: &[u8], i: usize) -> Option<(UrlSlash, usize)> {
    match b.get(i)? {
        b'/' => Some((UrlSlash::Plain, 1)),
        b'\\' if b.get(i + 1) == Some(&b'/') => Some((UrlSlash::JsonEscape, 2)),
        b'%' => match decoded_at(b, i)? {
            (b'/', level) => Some((UrlSlash::Percent(level), encoded_width(level))),
            _ => None,
        },
        _ => None,
    }
}

/// Whether a token starts at `i`: at the start of the text, after a byte `in_word` does not take, or
/// right after an escape — a percent-escape (`%22eyJ…`, `x%20ghp_…`) or a JSON or C one (`\neyJ…`),
/// whose last letter or digit is not part of the token that follows it.
fn token_starts(b: &[u8], i: usize, in_word: impl Fn(u8) -> bool) -> bool {
    i == 0
        || !in_word(b[i - 1])
        || (i >= 3 && percent_at(b, i - 3).is_some())
        || (i >= 2 && b[i - 2] == b'\\' && matches!(b[i - 1], b'n' | b'r' | b't' | b'b' | b'f'))
}

/// A letter, a digit or `_`: the bytes a word-starting token may not follow.
fn is_word_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// JWS (`header.payload.signature`) and JWE (`header.key.iv.ciphertext.tag`, the key part may be empty).
fn find_jwts(b: &[u8], spans: &mut Vec<(usize, usize)>) {
    let mut i = 0;
    while i + 3 <= b.len() {
        if &b[i..i + 3] != b"eyJ" || !token_starts(b, i, is_b64url) {
            i += 1;
            continue;
        }
        let start = i;
        let mut dots = 0;
        while i < b.len() && (is_b64url(b[i]) || (b[i] == b'.' && dots < 4)) {
            if b[i] == b'.' {
                dots += 1;
            }
            i += 1;
        }
        let mut end = i;
        while end > start && b[end - 1] == b'.' && dots > 2 {
            end -= 1;
            dots -= 1;
        }
        if dots >= 2 && end - start > 20 {
            spans.push((start, end));
        }
        i = i.max(start + 3);
    }
}

/// `local@domain.tld`, also with `@` written `%40`. Local parts are at most 64 bytes and domains 255
/// (RFC 5321), which also bounds the work per `@`. An `@` in `userinfo_ends` (sorted) ends a URL's
/// `user:password` and is no e-mail's: the password before it goes by [`find_url_passwords`], and
/// the host after it (`postgres://app:pw@db.example.com`) stays.
fn find_emails(b: &[u8], userinfo_ends: &[usize], spans: &mut Vec<(usize, usize)>) {
    let mut userinfo_ends = userinfo_ends.iter().peekable();
    let local = |c: u8| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'%' | b'+' | b'-');
    let domain = |c: u8| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'-');
    let mut i = 0;
    while i < b.len() {
        let width = if b[i] == b'@' {
            1
        } else if percent_at(b, i) == Some(b'@') {
            3
        } else {
            i += 1;
            continue;
        };
        let at = i;
        while userinfo_ends.next_if(|&&end| end < at).is_some() {}
        if userinfo_ends.next_if(|&&end| end == at).is_some() {
            i = at + width;
            continue;
        }
        let mut start = at;
        while start > 0 && at - start < 64 && local(b[start - 1]) {
            start -= 1;
        }
        let dom_start = at + width;
        let mut end = dom_start;
        while end < b.len() && end - dom_start < 255 && domain(b[end]) {
            end += 1;
        }
        while end > dom_start && b[end - 1] == b'.' {
            end -= 1;
        }
        let dom = &b[dom_start..end];
        let tld_ok = dom.iter().rposition(|c| *c == b'.').is_some_and(|dot| {
            let tld = &dom[dot + 1..];
            dot > 0 && tld.len() >= 2 && tld.iter().all(u8::is_ascii_alphabetic)
        });
        if start < at && tld_ok {
            spans.push((start, end));
            i = end.max(at + width);
        } else {
            i = at + width;
        }
    }
}

/// An HTTP authorization scheme whose credential is found without a key in front (RFC 9110 §11.4:
/// `Bearer <token68>`, RFC 7617's `Basic <base64 of user:password>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CredentialScheme {
    Bearer,
    Basic,
}

/// `Bearer` or `Basic` (any case) and a blank at `i`: the scheme and the end of its word. The second
/// byte is compared first: this runs for every `B` and `b` of a text ([`Hints::look`]).
fn credential_scheme_at(b: &[u8], i: usize) -> Option<(CredentialScheme, usize)> {
    let (scheme, word): (_, &[u8]) = match b.get(i + 1).map(|c| c | 0x20) {
        Some(b'e') => (CredentialScheme::Bearer, b"bearer"),
        Some(b'a') => (CredentialScheme::Basic, b"basic"),
        _ => return None,
    };
    let end = i + word.len();
    (starts_with_ci(b, i, word) && matches!(b.get(end), Some(b' ' | b'\t'))).then_some((scheme, end))
}

/// The end of an RFC 9110 token68 (`[A-Za-z0-9-._~+/]+=*`) starting at `j`.
fn token68_end(b: &[u8], mut j: usize) -> usize {
    while j < b.len()
        && (b[j].is_ascii_alphanumeric() || matches!(b[j], b'-' | b'.' | b'_' | b'~' | b'+' | b'/'))
    {
        j += 1;
    }
    while j < b.len() && b[j] == b'=' {
        j += 1;
    }
    j
}

/// Whether `token` is base64 (standard or URL-safe) of printable text holding a `:`: Basic's
/// `user:password`, not a word (`Basic Pokemon`, a card's stage).
fn is_basic_credential(token: &[u8]) -> bool {
    let body = token
        .strip_suffix(b"==")
        .or_else(|| token.strip_suffix(b"="))
        .unwrap_or(token);
    if body.len() < 4 || body.len() % 4 == 1 {
        return false;
    }
    let (mut bits, mut nbits, mut colon) = (0u32, 0u32, false);
    for &c in body {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return false,
        };
        bits = (bits << 6 | u32::from(v)) & 0xFFFF;
        nbits += 6;
        if nbits >= 8 {
            nbits -= 8;
            // The low 8 bits above the `nbits` still pending.
            let byte = (bits >> nbits) as u8;
            if byte < 0x20 || byte == 0x7f {
                return false;
            }
            colon |= byte == b':';
        }
    }
    colon
}

/// Credentials after a `Bearer` (a token68 of 8 or more bytes) or `Basic` (base64 of `user:password`)
/// scheme word, any case, starting a word: `401 (Bearer abc… was rejected)`, `("Authorization",
/// "Bearer …")`. The scheme word stays; the cursor jumps past each credential.
fn find_scheme_credentials(b: &[u8], spans: &mut Vec<(usize, usize)>) {
    let mut i = 0;
    while i < b.len() {
        let found = (token_starts(b, i, is_word_char) && b[i] | 0x20 == b'b')
            .then(|| credential_scheme_at(b, i))
            .flatten();
        let Some((scheme, word_end)) = found else {
            i += 1;
            continue;
        };
        let start = skip_blanks(b, word_end);
        let end = token68_end(b, start);
        let secret = match scheme {
            // Prose about the scheme (`Bearer authentication is required`) is no credential.
            CredentialScheme::Bearer => {
                end - start >= 8
                    && !BEARER_PROSE
                        .iter()
                        .any(|w| b[start..end].eq_ignore_ascii_case(w.as_bytes()))
            }
            CredentialScheme::Basic => is_basic_credential(&b[start..end]),
        };
        if secret {
            spans.push((start, end));
        }
        i = end.max(word_end);
    }
}

/// Words that follow `Bearer` in prose (`Bearer authentication`, `a Bearer credential is
/// required`): not a token. Any other word of 8 or more bytes is taken for one (a test token may well
/// be letters only).
const BEARER_PROSE: &[&str] = &[
    "authentication",
    "authorization",
    "credential",
    "credentials",
    "required",
    "expected",
    "provided",
    "missing",
];

/// `-----BEGIN … PRIVATE KEY-----`: the PEM header and footer.
const PEM_BEGIN: &[u8] = b"-----BEGIN ";

/// PEM private-key blocks (RFC 7468; `RSA`, `EC`, `OPENSSH`, `ENCRYPTED`, PGP's `… KEY BLOCK`): the
/// body between the `BEGIN` line and `-----END`, or to the end of the text when the footer is missing
/// (a truncated key is still a key). Public keys and certificates stay.
fn find_pem_private_keys(b: &[u8], spans: &mut Vec<(usize, usize)>) {
    let mut from = 0;
    while let Some(at) = find_exact(b, PEM_BEGIN, from) {
        let label_start = at + PEM_BEGIN.len();
        let mut j = label_start;
        while j < b.len()
            && j - label_start < 64
            && (b[j].is_ascii_uppercase() || b[j].is_ascii_digit() || b[j] == b' ')
        {
            j += 1;
        }
        let label = &b[label_start..j];
        if !b[j..].starts_with(b"-----") || find_exact(label, b"PRIVATE KEY", 0).is_none() {
            from = label_start;
            continue;
        }
        let body = j + 5;
        let end = find_exact(b, b"-----END", body).unwrap_or(b.len());
        if end > body {
            spans.push((body, end));
        }
        from = end.max(body);
    }
}

/// Search for `needle` from `from`.
fn find_exact(b: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    let first = *needle.first()?;
    let mut i = from;
    while i + needle.len() <= b.len() {
        if b[i] == first && b[i..].starts_with(needle) {
            return Some(i);
        }
        i += 1;
    }
    None
}

/// A token format known by its prefix at the start of `b`: `(prefix length, body)`. The first byte
/// is one of [`TOKEN_FIRST_BYTES`].
fn token_prefix(b: &[u8]) -> Option<(usize, TokenBody)> {
    let at = |k: usize| b.get(k).copied().unwrap_or(0);
    match at(0) {
        // GitHub: `ghp_`, `gho_`, `ghu_`, `ghs_`, `ghr_` + 36 or more; fine-grained `github_pat_`.
        b'g' if at(1) == b'h' && matches!(at(2), b'p' | b'o' | b'u' | b's' | b'r') && at(3) == b'_' => {
            Some((4, TokenBody::Alnum { min: 36 }))
        }
        b'g' if b.starts_with(b"github_pat_") => Some((11, TokenBody::AlnumUnderscore { min: 22 })),
        // GitLab: personal, deploy, runner and pipeline-trigger tokens (`glpat-` + 20).
        b'g' if at(1) == b'l' => [&b"glpat-"[..], b"gldt-", b"glrt-", b"glptt-"]
            .iter()
            .find(|p| b.starts_with(p))
            .map(|p| (p.len(), TokenBody::AlnumDashUnderscore { min: 20 })),
        // Slack: `xoxb-`, `xoxp-`, `xoxa-`, `xoxo-`, `xoxs-`, `xoxr-`, refresh `xoxe-`; app-level `xapp-`.
        b'x' if b.starts_with(b"xox")
            && matches!(at(3), b'a' | b'b' | b'p' | b'o' | b's' | b'r' | b'e')
            && at(4) == b'-' =>
        {
            Some((5, TokenBody::AlnumDash { min: 10 }))
        }
        b'x' if b.starts_with(b"xapp-") => Some((5, TokenBody::AlnumDash { min: 20 })),
        // Stripe secret and restricted keys.
        b's' | b'r'
            if at(1) == b'k'
                && at(2) == b'_'
                && (b[3..].starts_with(b"live_") || b[3..].starts_with(b"test_")) =>
        {
            Some((8, TokenBody::Alnum { min: 16 }))
        }
        // Anthropic (`sk-ant-api03-…`) and OpenAI project, service-account and admin keys; OpenAI's
        // older `sk-` + 48 letters and digits.
        b's' if at(1) == b'k' && at(2) == b'-' => {
            match [&b"sk-ant-"[..], b"sk-proj-", b"sk-svcacct-", b"sk-admin-"]
                .iter()
                .find(|p| b.starts_with(p))
            {
                Some(p) => Some((p.len(), TokenBody::AlnumDashUnderscore { min: 20 })),
                None => Some((3, TokenBody::Alnum { min: 40 })),
            }
        }
        // SendGrid: `SG.` + 22 + `.` + 43 (the body's `.` is allowed: one token).
        b'S' if at(1) == b'G' && at(2) == b'.' => Some((3, TokenBody::Dotted { min: 60 })),
        // npm access tokens: `npm_` + 36.
        b'n' if b.starts_with(b"npm_") => Some((4, TokenBody::Alnum { min: 36 })),
        // Hugging Face: `hf_` + 34.
        b'h' if at(1) == b'f' && at(2) == b'_' => Some((3, TokenBody::Alnum { min: 30 })),
        // PyPI upload tokens: `pypi-` + a macaroon (`AgEIcHlwaS5vcmc…`).
        b'p' if b.starts_with(b"pypi-AgEIcHlwaS5vcmc") => {
            Some((5, TokenBody::AlnumDashUnderscore { min: 50 }))
        }
        // Google API keys: `AIza` + 35.
        b'A' if b.starts_with(b"AIza") => Some((4, TokenBody::Exactly35)),
        _ => None,
    }
}

/// The bytes a [`token_prefix`] starts with.
const TOKEN_FIRST_BYTES: &[u8] = b"AgxsrSnhp";

/// What follows a token prefix.
#[derive(Debug, Clone, Copy)]
enum TokenBody {
    Alnum {
        min: usize,
    },
    AlnumUnderscore {
        min: usize,
    },
    AlnumDash {
        min: usize,
    },
    AlnumDashUnderscore {
        min: usize,
    },
    /// Letters, digits, `-`, `_` and `.` (SendGrid's two parts).
    Dotted {
        min: usize,
    },
    /// `[A-Za-z0-9_-]{35}`, not followed by another such byte.
    Exactly35,
}

/// GitHub, GitLab, Slack, Stripe, OpenAI, Anthropic, SendGrid, npm, Hugging Face, PyPI and Google API
/// tokens, whole, when they start a word.
fn find_prefixed_tokens(b: &[u8], spans: &mut Vec<(usize, usize)>) {
    let mut i = 0;
    while i < b.len() {
        let Some((prefix, body)) = token_starts(b, i, is_word_char)
            .then(|| token_prefix(&b[i..]))
            .flatten()
        else {
            i += 1;
            continue;
        };
        let start = i + prefix;
        let (accept, min): (fn(u8) -> bool, usize) = match body {
            TokenBody::Alnum { min } => (|c: u8| c.is_ascii_alphanumeric(), min),
            TokenBody::AlnumUnderscore { min } => (|c: u8| c.is_ascii_alphanumeric() || c == b'_', min),
            TokenBody::AlnumDash { min } => (|c: u8| c.is_ascii_alphanumeric() || c == b'-', min),
            TokenBody::AlnumDashUnderscore { min } => (is_b64url, min),
            TokenBody::Dotted { min } => (|c: u8| is_b64url(c) || c == b'.', min),
            TokenBody::Exactly35 => (is_b64url, 35),
        };
        let mut end = start;
        while end < b.len() && accept(b[end]) {
            end += 1;
        }
        let ok = match body {
            TokenBody::Exactly35 => end - start == 35,
            _ => end - start >= min,
        };
        if ok {
            spans.push((i, end));
            i = end;
        } else {
            i = start;
        }
    }
}

/// The password of a URL's userinfo (`postgres://app:pw@10.0.0.5:5432/db`, `redis://:pw@cache`):
/// any host, dotted or not. The authority ends at `/`, `?`, `#`, a blank or a quote; its last `@` ends
/// the userinfo (a password may hold an unencoded `@`), and goes to `userinfo_ends`.
fn find_url_passwords(b: &[u8], spans: &mut Vec<(usize, usize)>, userinfo_ends: &mut Vec<usize>) {
    let mut from = 0;
    while let Some(at) = find_exact(b, b"://", from) {
        let authority = at + 3;
        let mut end = authority;
        let mut last_at = None;
        while end < b.len()
            && !matches!(
                b[end],
                b'/' | b'?' | b'#' | b' ' | b'\t' | b'\n' | b'\r' | b'"' | b'\'' | b'<' | b'>' | b'\\' | b'`'
            )
        {
            if b[end] == b'@' {
                last_at = Some(end);
            }
            end += 1;
        }
        if let Some(userinfo_end) = last_at
            && let Some(colon) = b[authority..userinfo_end].iter().position(|c| *c == b':')
            && authority + colon + 1 < userinfo_end
        {
            spans.push((authority + colon + 1, userinfo_end));
            userinfo_ends.push(userinfo_end);
        }
        from = end.max(authority);
    }
}

/// Where the authority starts after a percent-encoded `://` at `i` (`%3A%2F%2F`, `%253A%252F%252F`:
/// the three bytes encoded as many times, or the slashes fewer times: Python's `quote()` leaves `/`
/// as it is, `postgres%3A//app%3Apw%40db`), and the number of times the `:` is encoded.
fn encoded_scheme_end(b: &[u8], i: usize) -> Option<(usize, u32)> {
    let (b':', level) = decoded_at(b, i)? else {
        return None;
    };
    // A slash at `at` encoded at most as often as the `:`: where it ends.
    let slash = |at: usize| match decoded_at(b, at) {
        Some((b'/', l)) if l <= level => Some(at + encoded_width(l)),
        _ => None,
    };
    let authority = slash(slash(i + encoded_width(level))?)?;
    (level > 0).then_some((authority, level))
}

/// [`find_url_passwords`] in a percent-encoded URL (`postgres%3A%2F%2Fapp%3Apw%40db%3A5432`: a
/// connection string passed in a query or a form, once or more): its `:`, `@` and the `/`, `?` or
/// `#` ending the authority encoded as many times as its `://`; a delimiter of the text around it
/// (a blank, a quote, `&`, or one encoded fewer times) ends it too. The cursor jumps past each
/// authority. The `@` ending a userinfo with a password goes to `userinfo_ends`.
fn find_encoded_url_passwords(b: &[u8], spans: &mut Vec<(usize, usize)>, userinfo_ends: &mut Vec<usize>) {
    let mut i = 0;
    while let Some(off) = b[i..].iter().position(|&c| c == b'%') {
        let at = i + off;
        let Some((authority, level)) = encoded_scheme_end(b, at) else {
            i = at + 1;
            continue;
        };
        let w = encoded_width(level);
        let (mut end, mut last_at, mut colon) = (authority, None, None);
        while end < b.len() {
            let (c, l) = decoded_at(b, end).unwrap_or((b[end], 0));
            // A blank or quote at the URL's own level is one the URL's text holds: it ends it.
            if l == level && matches!(c, b'/' | b'?' | b'#' | b' ' | b'\t' | b'"' | b'\'') {
                break;
            }
            if l < level
                && matches!(
                    c,
                    b'&' | b'/'
                        | b'?'
                        | b'#'
                        | b' '
                        | b'\t'
                        | b'\n'
                        | b'\r'
                        | b'"'
                        | b'\''
                        | b'<'
                        | b'>'
                        | b'\\'
                )
            {
                break;
            }
            if l == level && c == b'@' {
                last_at = Some(end);
            }
            // The first `:` of the userinfo: one before any `@` (a later one is the port's).
            if l == level && c == b':' && colon.is_none() {
                colon = Some(end);
            }
            end += encoded_width(l);
        }
        if let (Some(userinfo_end), Some(colon)) = (last_at, colon)
            && colon + w < userinfo_end
        {
            spans.push((colon + w, userinfo_end));
            userinfo_ends.push(userinfo_end);
        }
        i = end.max(authority);
    }
}

fn find_access_key_ids(s: &str, spans: &mut Vec<(usize, usize)>) {
    let b = s.as_bytes();
    for prefix in ["AKIA", "ASIA"] {
        for (start, _) in s.match_indices(prefix) {
            let end = start + 20;
            if end > b.len() {
                continue;
            }
            let body_ok = b[start + 4..end]
                .iter()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
            let left_ok = token_starts(b, start, |c| c.is_ascii_alphanumeric());
            let right_ok = end == b.len() || !b[end].is_ascii_alphanumeric();
            if body_ok && left_ok && right_ok {
                spans.push((start, end));
            }
        }
    }
}

/// 40-character base64 runs with upper, lower and a digit or symbol (AWS secret access keys); git
/// SHAs (lowercase hex) never qualify, nor runs starting or ending with `/` (URL paths) or joined to a
/// word by `.`, `-` or `_` (file and host names).
fn find_secret_keys(b: &[u8], spans: &mut Vec<(usize, usize)>) {
    let mut i = 0;
    while i < b.len() {
        if !is_b64(b[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && is_b64(b[i]) {
            i += 1;
        }
        // A path (`/cards/GradedCollection2024/ValuationLog`) starts or ends with `/`; a file or host
        // name joins its neighbours with `.`, `-` or `_` (`example.com/…`, `…/report.csv`). A key
        // stands alone (a sentence's full stop after it is not a join). A key starting or ending with
        // `/` (1 in 32) is still found after its name (`aws_secret_access_key=`).
        let joined = |sep: usize, beyond: usize| {
            matches!(b.get(sep), Some(b'.' | b'-' | b'_'))
                && b.get(beyond).is_some_and(u8::is_ascii_alphanumeric)
        };
        if i - start == 40
            && b[start] != b'/'
            && b[i - 1] != b'/'
            && !(start >= 2 && joined(start - 1, start - 2))
            && !joined(i, i + 1)
        {
            let run = &b[start..i];
            let upper = run.iter().any(u8::is_ascii_uppercase);
            let lower = run.iter().any(u8::is_ascii_lowercase);
            let digit_or_sym = run.iter().any(|c| c.is_ascii_digit() || *c == b'/' || *c == b'+');
            if upper && lower && digit_or_sym {
                spans.push((start, i));
            }
        }
    }
}

/// `8-4-4-4-12` hex digits (either case) — a UUID — whose digits do not spell a card number. The card
/// rule reads 13 to 19 digits from groups of digits only: in a UUID, its first three groups or its last
/// two (16 digits each). When either is all decimal and is a card (an issuer prefix and a valid Luhn
/// digit), the UUID is scanned as any text.
fn is_uuid(b: &[u8]) -> bool {
    /// Groups of 16 decimal digits (and hyphens) that make a card number.
    fn card(groups: &[u8]) -> bool {
        let mut d = [0u8; 16];
        let mut n = 0;
        for &c in groups {
            match c {
                b'-' => {}
                b'0'..=b'9' if n < d.len() => {
                    d[n] = c - b'0';
                    n += 1;
                }
                _ => return false,
            }
        }
        n == d.len() && is_card(&d)
    }
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| {
            if matches!(i, 8 | 13 | 18 | 23) {
                *c == b'-'
            } else {
                c.is_ascii_hexdigit()
            }
        })
        && !card(&b[..18])
        && !card(&b[19..])
}

/// `1-{8 hex}-{24 hex}`: an X-Ray trace id.
fn is_xray_trace_id(b: &[u8]) -> bool {
    b.len() == 35
        && b.starts_with(b"1-")
        && b.iter().enumerate().skip(2).all(|(i, c)| {
            if i == 10 {
                *c == b'-'
            } else {
                c.is_ascii_hexdigit()
            }
        })
}

/// Payment card numbers: 13–19 digits with one or two spaces, a tab, one dash or ` - ` allowed
/// between them (a form body's `+` or `%20` for a space, also encoded again: `%2B`, `%2520`; a no-break
/// space; or a `.` when every group is four digits, as printed on the
/// card: `4111.1111.1111.1111`, never a decimal; the dash and the dot also percent-encoded: `%2D`,
/// `%2E`, `%252D`), an issuer prefix (Visa, Mastercard, Maestro, Mir, Amex, Discover, JCB, Diners, UnionPay,
/// RuPay) and a valid Luhn check digit.
///
/// A run of digit groups joined by single spaces or dashes is tried whole first; failing that, each
/// stretch of whole groups inside it, longest first from each group on (a quantity or a second number
/// next to a card number joins its run: `qty 2 4111 1111 1111 1111`). A stretch holds at most 19
/// digits, so at most 19 groups are tried from each start: linear in the input.
fn find_card_numbers(b: &[u8], spans: &mut Vec<(usize, usize)>) {
    let mut groups: Vec<Group> = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if !b[i].is_ascii_digit() || (i > 0 && !number_boundary(b, i - 1, true)) {
            i += 1;
            continue;
        }
        // The hex digits of a percent-escape (`%20`) are no number's.
        if i > 0 && percent_at(b, i - 1).is_some() {
            i += 2;
            continue;
        }
        if is_trace_parent_id(b, i) {
            i += 16;
            continue;
        }
        groups.clear();
        let mut group_start = i;
        let mut dotted = false;
        while i < b.len() {
            if b[i].is_ascii_digit() {
                i += 1;
                continue;
            }
            // The separator's width and the byte it stands for.
            let (width, joiner) = match (b[i], b.get(i + 1)) {
                (b' ', Some(b' ')) => (2, b' '),
                // A dash set off by blanks (`4111 - 1111 - …`), as some forms print the groups.
                (b' ', Some(b'-')) if b.get(i + 2) == Some(&b' ') => (3, b'-'),
                // A form body writes a blank `+` or `%20` (`number=4111+1111+…`); a pasted table
                // column, a tab.
                (c @ (b' ' | b'\t' | b'-' | b'.' | b'+'), _) => (1, c),
                // Either encoded again (`%2B`, `%2520`: a form body passed in a URL), up to
                // [`PERCENT_LEVELS`] times; an encoded tab; a dash or a dot encoded (`%2D`, `%2E`:
                // a card number as typed, percent-encoded whole by a client).
                (b'%', _) => match decoded_at(b, i) {
                    Some((c @ (b' ' | b'+' | b'\t' | b'-' | b'.'), level)) => (encoded_width(level), c),
                    _ => (0, 0),
                },
                // A no-break or narrow space ([`wide_space_at`]), as written or escaped.
                (0xC2 | 0xE2 | b'\\' | b'&', _) => (wide_space_at(b, i).unwrap_or(0), b' '),
                _ => (0, 0),
            };
            if width == 0
                || !b.get(i + width).is_some_and(u8::is_ascii_digit)
                || is_trace_parent_id(b, i + width)
            {
                break;
            }
            groups.push(Group {
                start: group_start,
                end: i,
                dotted,
            });
            dotted = joiner == b'.';
            i += width;
            group_start = i;
        }
        groups.push(Group {
            start: group_start,
            end: i,
            dotted,
        });
        // A dot at the run's end is a full stop (`… 1111.`), not a decimal point.
        let right_ok = i == b.len() || number_boundary(b, i, false);
        let mut first = 0;
        while first < groups.len() {
            match card_in_groups(b, &groups[first..], right_ok) {
                Some(taken) => {
                    spans.push((groups[first].start, groups[first + taken - 1].end));
                    first += taken;
                }
                None => first += 1,
            }
        }
    }
}

/// A blank other than ASCII's at `i` between a key and its separator or value: no-break (U+00A0),
/// narrow no-break (U+202F) or ideographic (U+3000, CJK's full-width space). Its width.
fn wide_blank_at(b: &[u8], i: usize) -> Option<usize> {
    match (b.get(i)?, b.get(i + 1), b.get(i + 2)) {
        (0xC2, Some(0xA0), _) => Some(2),
        (0xE2, Some(0x80), Some(0xAF)) | (0xE3, Some(0x80), Some(0x80)) => Some(3),
        _ => None,
    }
}

/// The bytes of a full-width separator in UTF-8.
const FULL_WIDTH_SEPARATOR_BYTES: usize = 3;

/// A full-width colon (U+FF1A) or equals sign (U+FF1D) at `i`, as CJK text writes a label's
/// separator (`パスワード：…`, `password：…`): the ASCII separator it stands for.
fn full_width_separator_at(b: &[u8], i: usize) -> Option<u8> {
    match b.get(i..i + FULL_WIDTH_SEPARATOR_BYTES)? {
        [0xEF, 0xBC, 0x9A] => Some(b':'),
        [0xEF, 0xBC, 0x9D] => Some(b'='),
        _ => None,
    }
}

/// A space other than ASCII's at `i`, as a formatted amount, a locale or a word processor writes it
/// between digit groups: no-break (U+00A0), figure (U+2007), thin (U+2009) or narrow no-break
/// (U+202F); U+00A0 and U+202F also as JSON escapes (`\u00a0`: Python's `json.dumps` writes any
/// non-ASCII byte so) or as HTML's `&nbsp;`/`&#160;`. Its width.
fn wide_space_at(b: &[u8], i: usize) -> Option<usize> {
    const ESCAPED: &[&[u8]] = &[b"\\u00a0", b"\\u202f", b"&nbsp;", b"&#160;"];
    match (b.get(i)?, b.get(i + 1), b.get(i + 2)) {
        (0xC2, Some(0xA0), _) => Some(2),
        (0xE2, Some(0x80), Some(0x87 | 0x89 | 0xAF)) => Some(3),
        (b'\\' | b'&', _, _) => ESCAPED.iter().find(|e| starts_with_ci(b, i, e)).map(|e| e.len()),
        _ => None,
    }
}

/// A dash or a dot percent-encoded at `i` (`%2D`, `%2e`, encoded again: `%252D`) between two digits,
/// as a card number typed with dashes or dots reads once a client has encoded it whole
/// (`4539%2D1488%2D…`): its width.
fn encoded_join_at(b: &[u8], i: usize) -> Option<usize> {
    if !i.checked_sub(1).is_some_and(|k| b[k].is_ascii_digit()) {
        return None;
    }
    let (c, level) = decoded_at(b, i)?;
    let width = encoded_width(level);
    (level > 0 && matches!(c, b'-' | b'.') && b.get(i + width).is_some_and(u8::is_ascii_digit))
        .then_some(width)
}

/// Where a dash or a dot percent-encoded (any number of times up to [`PERCENT_LEVELS`]) and ending
/// at `end` starts: `4539%2D|` gives the `%`.
fn encoded_join_before(b: &[u8], end: usize) -> Option<usize> {
    // Every such escape ends in the `D` or `E` of `2D` or `2E`, in either case.
    if !end
        .checked_sub(1)
        .is_some_and(|k| matches!(b[k] | 0x20, b'd' | b'e'))
    {
        return None;
    }
    encoded_ending_at(b, end).and_then(|(c, at)| matches!(c, b'-' | b'.').then_some(at))
}

/// The byte percent-encoded by the escape ending at `end` (`%3D|`, `%253D|`: up to
/// [`PERCENT_LEVELS`] times), and where the escape starts.
fn encoded_ending_at(b: &[u8], end: usize) -> Option<(u8, usize)> {
    (1..=PERCENT_LEVELS).find_map(|level| {
        let at = end.checked_sub(encoded_width(level))?;
        match decoded_at(b, at) {
            Some((c, l)) if l == level => Some((c, at)),
            _ => None,
        }
    })
}

/// Whether the 16 hex digits at `i` are the span id of a trace header: the value of X-Ray's
/// `Parent=` or of a key naming a span id ([`after_span_id_key`]: `span_id=`), or the parent-id of a
/// W3C `traceparent` (`{2}-{32}-{16}-{2}` hex digits). A span id is random; about one in 1,800 is
/// all decimal, and some of those spell a card number.
fn is_trace_parent_id(b: &[u8], i: usize) -> bool {
    let hex = |r: Option<&[u8]>| r.is_some_and(|r| r.iter().all(u8::is_ascii_hexdigit));
    if !hex(b.get(i..i + 16)) || b.get(i + 16).is_some_and(u8::is_ascii_alphanumeric) {
        return false;
    }
    if (i >= 7 && &b[i - 7..i] == b"Parent=") || after_span_id_key(b, i) {
        return true;
    }
    // `{version}-{trace id}-` before, `-{flags}` after.
    i >= 36
        && (i == 36 || !b[i - 37].is_ascii_alphanumeric())
        && hex(b.get(i - 36..i - 34))
        && b[i - 34] == b'-'
        && hex(b.get(i - 33..i - 1))
        && b[i - 1] == b'-'
        && b.get(i + 16) == Some(&b'-')
        && hex(b.get(i + 17..i + 19))
}

/// The longest key [`after_span_id_key`] reads back: `parent_span_id`, `otel.span_id`,
/// `dd.span_id` and the like fit.
const SPAN_ID_KEY_MAX: usize = 32;

/// Whether the value at `i` follows a key naming a span id (`span_id=`, `"spanId":"`,
/// `parent_span_id: `, `SpanId=`): its normalised name ends in `spanid` or is `parentid`
/// (OpenTelemetry, Zipkin, Datadog logs). Reads back a quote, blanks, the separator, a quote and a
/// name of at most [`SPAN_ID_KEY_MAX`] bytes: O(1).
fn after_span_id_key(b: &[u8], i: usize) -> bool {
    let mut k = i;
    // Back over at most `most` bytes of `set`.
    let back_over = |k: &mut usize, set: &[u8], most: usize| {
        let floor = k.saturating_sub(most);
        while *k > floor && set.contains(&b[*k - 1]) {
            *k -= 1;
        }
    };
    back_over(&mut k, b"\"'", 1);
    back_over(&mut k, b" \t", 4);
    if k == 0 || !matches!(b[k - 1], b'=' | b':') {
        return false;
    }
    k -= 1;
    back_over(&mut k, b" \t", 4);
    back_over(&mut k, b"\"'", 1);
    let end = k;
    while k > 0 && end - k < SPAN_ID_KEY_MAX && is_word(b[k - 1]) {
        k -= 1;
    }
    let mut buf = [0u8; 64];
    let Some(name) = std::str::from_utf8(&b[k..end])
        .ok()
        .and_then(|n| normalised_on_stack(n, &mut buf))
    else {
        return false;
    };
    name.ends_with(b"spanid") || name == b"parentid"
}

/// One digit group of a run, and whether a `.` joins it to the group before.
#[derive(Clone, Copy)]
struct Group {
    start: usize,
    end: usize,
    dotted: bool,
}

/// The most leading `groups` (counted) that spell a card number: 13–19 digits, an issuer prefix, a
/// valid Luhn digit. A stretch ending at the run's end needs `right_ok` (its right boundary). A
/// stretch with a `.` between its groups counts only in fours (`4111.1111.1111.1111`, the last group
/// shorter for 19 digits): `0.4111111111111111` is a decimal.
fn card_in_groups(b: &[u8], groups: &[Group], right_ok: bool) -> Option<usize> {
    let mut digits = [0u8; 19];
    let mut n = 0usize;
    let mut found = None;
    // A stretch after a `.` is a decimal's fraction (`0.4111111111111111`), not a number.
    if groups.first().is_some_and(|g| g.dotted) {
        return None;
    }
    let mut fours = true;
    let mut dotted = false;
    for (k, g) in groups.iter().enumerate() {
        if k > 0 && g.dotted {
            dotted = true;
        }
        if dotted && !fours {
            return found;
        }
        let (start, end) = (g.start, g.end);
        // Every group but the last of a dotted card is four digits.
        fours = fours && end - start == 4;
        for &c in &b[start..end] {
            if n == digits.len() {
                return found;
            }
            digits[n] = c - b'0';
            n += 1;
        }
        let at_run_end = k + 1 == groups.len();
        if (!at_run_end || right_ok) && is_card(&digits[..n]) {
            found = Some(k + 1);
        }
    }
    found
}

/// Whether the byte at `i` ends (or, `left`, starts) a number: not alphanumeric, and not the `.` of a
/// decimal or a version (`1.2.3.4567…`).
fn number_boundary(b: &[u8], i: usize, left: bool) -> bool {
    let c = b[i];
    // The hex digits of a percent-escape (`cc%3D4111…`, `%204111…`, encoded again in a URL passed
    // in another's query: `cc%253D4111…`) end at the byte it encodes; an encoded `.` after a digit
    // is a decimal's, as a written one.
    if left && let Some((encoded, at)) = encoded_ending_at(b, i + 1) {
        let decimal = encoded == b'.' && at > 0 && b[at - 1].is_ascii_digit();
        return !encoded.is_ascii_alphanumeric() && !decimal;
    }
    if c.is_ascii_alphanumeric() {
        return false;
    }
    if c != b'.' {
        return true;
    }
    let other = if left {
        i.checked_sub(1).and_then(|k| b.get(k))
    } else {
        b.get(i + 1)
    };
    !other.is_some_and(u8::is_ascii_digit)
}

fn card_prefix(d: &[u8], len: usize) -> bool {
    let p = |k: usize| d.iter().take(k).fold(0u32, |a, x| a * 10 + u32::from(*x));
    match d.first() {
        Some(4) => matches!(len, 13 | 16 | 19),
        // Mastercard; Maestro (50, 56–58: 13–19 digits).
        Some(5) => ((51..=55).contains(&p(2)) && len == 16) || (matches!(p(2), 50 | 56..=58) && len >= 13),
        // Mastercard's 2-series; Mir (2200–2204: 16–19 digits).
        Some(2) => {
            ((2221..=2720).contains(&p(4)) && len == 16) || ((2200..=2204).contains(&p(4)) && len >= 16)
        }
        Some(3) => {
            (matches!(p(2), 34 | 37) && len == 15)
                || ((3528..=3589).contains(&p(4)) && len >= 16)
                || ((matches!(p(2), 36 | 38) || (300..=305).contains(&p(3))) && len >= 14)
        }
        // Discover, UnionPay, RuPay and Maestro (6xxx) at 16–19 digits; Maestro's 6304 and 67 from 13.
        Some(6) => len >= 16 || ((p(2) == 67 || p(4) == 6304) && len >= 13),
        _ => false,
    }
}

/// Whether an integer field's value is a payment card number (13–19 digits, an issuer prefix, a valid
/// Luhn digit): logs and span attributes print it as [`REDACTED`] like the same digits in text.
#[cfg(any(feature = "logs", feature = "xray"))]
pub(crate) fn is_card_number(n: u128) -> bool {
    let mut digits = [0u8; 39];
    let mut len = 0;
    let mut rest = n;
    while rest > 0 {
        // `rest % 10` < 10.
        digits[len] = (rest % 10) as u8;
        rest /= 10;
        len += 1;
    }
    let d = &mut digits[..len];
    d.reverse();
    is_card(d)
}

/// [`is_card_number`] for a float field: a whole number (`amount = 4111111111111111.0`) that is one.
#[cfg(any(feature = "logs", feature = "xray"))]
pub(crate) fn is_card_number_f64(v: f64) -> bool {
    // Card numbers have at most 19 digits: anything at or above 1e19 (or not whole, or not finite) is not one.
    v.is_finite() && v.fract() == 0.0 && v.abs() < 1e19 && {
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        // A whole, finite value below 1e19 in magnitude: exact in a u128.
        let n = v.abs() as u128;
        is_card_number(n)
    }
}

/// Whether digits (each 0–9) make a payment card number: 13 to 19 of them, an issuer prefix, a valid
/// Luhn digit. The one test behind the card rule in text, integer fields and the UUID shortcut.
fn is_card(d: &[u8]) -> bool {
    (13..=19).contains(&d.len()) && card_prefix(d, d.len()) && luhn(d)
}

fn luhn(d: &[u8]) -> bool {
    let sum: u32 = d
        .iter()
        .rev()
        .enumerate()
        .map(|(k, &x)| {
            let x = u32::from(x);
            if k % 2 == 1 {
                let y = x * 2;
                if y > 9 { y - 9 } else { y }
            } else {
                x
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

#[cfg(test)]
mod tests;

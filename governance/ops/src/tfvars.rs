//! `platform.auto.tfvars.json`: the facts Terraform takes from a platform spec, so the spec and what is
//! deployed cannot drift. Schema: `docs/deploy.md`, "platform.auto.tfvars.json schema".

use platform_spec::PlatformSpec;
use serde_json::{Map, Value, json};

/// Why a spec cannot be exported for Terraform.
#[derive(Debug, thiserror::Error)]
pub enum TfvarsError {
    /// Terraform's envs take exactly one monthly budget.
    #[error("{prefix}: Terraform's envs take exactly one [[budgets]] entry, found {found}")]
    Budgets {
        /// `{platform}-{env}`.
        prefix: String,
        /// How many the spec has.
        found: usize,
    },
    /// Terraform creates the webhook's secret by name (`aws_secretsmanager_secret.name`, which cannot
    /// hold `:`): a spec naming the secret by ARN names one Terraform does not own.
    #[error(
        "{prefix}: notifications.slack_webhook_secret is an ARN ({arn}); Terraform creates the webhook's secret \
         and takes its name (e.g. {prefix_path}/slack-webhook), not an ARN"
    )]
    SecretArn {
        /// `{platform}-{env}`.
        prefix: String,
        /// `{platform}/{env}`, the default name's prefix.
        prefix_path: String,
        /// The ARN in the spec.
        arn: String,
    },
    /// Terraform's envs deploy the backend's one table (`table_name`) and one state machine
    /// (`state_machine_type`): with more in the spec, any one chosen would deploy the backend against a
    /// table — or a workflow type — the spec may not mean, while the dashboards and alarms watch them all.
    #[error(
        "{prefix}: Terraform's envs deploy the backend's one {what}, but the spec lists {found} ({names}); \
         keep the one the backend uses in this spec"
    )]
    NotOne {
        /// `{platform}-{env}`.
        prefix: String,
        /// `[[tables]] entry` or `[[state_machines]] entry`.
        what: &'static str,
        /// How many the spec has.
        found: usize,
        /// Their names, comma-separated.
        names: String,
    },
}

fn number(text: &str) -> Value {
    serde_json::from_str::<Value>(text).unwrap_or_else(|_| Value::String(text.to_owned()))
}

/// The variables document for `spec`, keys as Terraform declares them.
///
/// # Errors
/// [`TfvarsError::Budgets`] when the spec does not have exactly one budget;
/// [`TfvarsError::SecretArn`] when it names the webhook's secret by ARN; [`TfvarsError::NotOne`] when
/// it lists more than one table or state machine.
pub fn tfvars(spec: &PlatformSpec) -> Result<Value, TfvarsError> {
    let secret = &spec.notifications.slack_webhook_secret;
    if secret.to_ascii_lowercase().starts_with("arn:") {
        return Err(TfvarsError::SecretArn {
            prefix: spec.managed_prefix(),
            prefix_path: format!("{}/{}", spec.platform.name, spec.platform.environment),
            arn: secret.clone(),
        });
    }
    let [budget] = spec.budgets.as_slice() else {
        return Err(TfvarsError::Budgets {
            prefix: spec.managed_prefix(),
            found: spec.budgets.len(),
        });
    };
    let functions: Map<String, Value> = spec
        .functions
        .iter()
        .map(|f| {
            let mut entry = json!({
                "name": f.name,
                "memory_mb": f.memory_mb,
                "timeout_s": f.timeout_s,
                "tier": serde_json::to_value(f.tier).unwrap_or(Value::Null),
                // Exported so the spec, not Terraform's `arm64` default, decides the instruction set.
                "architecture": serde_json::to_value(f.architecture).unwrap_or(Value::Null),
            });
            if let (Some(agent), Some(obj)) = (f.agent, entry.as_object_mut()) {
                obj.insert("agent".into(), Value::String(agent.as_str().to_owned()));
            }
            (f.id.clone(), entry)
        })
        .collect();
    let p = &spec.platform;
    let mut doc = json!({
        "platform": p.name,
        "environment": p.environment,
        "region": p.region,
        "service_name": spec.service_name(),
        "log_retention_days": p.log_retention_days,
        "budget": {
            "name": budget.name,
            "limit_usd": number(&budget.limit_usd.normalize().to_string()),
            "actual_thresholds_percent": budget.actual_thresholds_percent,
            "forecast_thresholds_percent": budget.forecast_thresholds_percent,
        },
        "slack_webhook_secret_name": spec.notifications.slack_webhook_secret,
        "functions": functions,
    });
    if let Some(obj) = doc.as_object_mut() {
        if let Some(owner) = &p.owner {
            obj.insert("owner".into(), Value::String(owner.clone()));
        }
        // Terraform checks the deploying account against the spec's and applies the seeds'
        // per-environment settings (seed 001: log level, workflow type) from these.
        if let Some(account) = &p.account_id {
            obj.insert("account_id".into(), Value::String(account.clone()));
        }
        if let Some(level) = p.log_level {
            obj.insert("log_level".into(), Value::String(level.as_str().to_owned()));
        }
        if let Some(machine) = only_one(spec, "[[state_machines]] entry", &spec.state_machines, |m| {
            &m.name
        })? {
            obj.insert(
                "state_machine_type".into(),
                serde_json::to_value(machine.workflow_type).unwrap_or(Value::Null),
            );
        }
        if !spec.notifications.email.is_empty() {
            obj.insert("budget_email_addresses".into(), json!(spec.notifications.email));
        }
        // The backend's single table (seeds 001/004: `<env>-CollectIQ`).
        if let Some(table) = only_one(spec, "[[tables]] entry", &spec.tables, |t| &t.name)? {
            obj.insert("table_name".into(), Value::String(table.name.clone()));
        }
    }
    Ok(doc)
}

/// The one item of `items` (none is fine: the variable is left to Terraform's default), or
/// [`TfvarsError::NotOne`].
fn only_one<'a, T>(
    spec: &PlatformSpec,
    what: &'static str,
    items: &'a [T],
    name: impl Fn(&T) -> &String,
) -> Result<Option<&'a T>, TfvarsError> {
    match items {
        [] => Ok(None),
        [one] => Ok(Some(one)),
        many => Err(TfvarsError::NotOne {
            prefix: spec.managed_prefix(),
            what,
            found: many.len(),
            names: many
                .iter()
                .map(|i| name(i).as_str())
                .collect::<Vec<_>>()
                .join(", "),
        }),
    }
}

/// The document as committed: sorted keys, two-space indent, trailing newline.
///
/// # Errors
/// As [`tfvars`].
pub fn render(spec: &PlatformSpec) -> Result<String, TfvarsError> {
    let value = sorted(tfvars(spec)?);
    Ok(format!(
        "{}\n",
        serde_json::to_string_pretty(&value).unwrap_or_default()
    ))
}

/// Rebuilds objects with their keys in order (serde_json keeps insertion order in this workspace).
fn sorted(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(entries.into_iter().map(|(k, v)| (k, sorted(v))).collect())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sorted).collect()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn root() -> &'static Path {
        Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
    }

    /// The committed variables files are exactly what the generator makes from the committed specs: the
    /// spec is the one source of truth for what Terraform deploys.
    #[test]
    fn committed_tfvars_are_up_to_date() {
        for env in ["dev", "prod"] {
            let spec =
                platform_spec::load(&root().join(format!("infra/platforms/collectiq-{env}.toml"))).unwrap();
            let path = root().join(format!("infra/envs/{env}/platform.auto.tfvars.json"));
            let committed: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            assert_eq!(
                committed,
                tfvars(&spec).unwrap(),
                "{} is stale: run `collectiq-ops spec export-tfvars --platform infra/platforms/collectiq-{env}.toml \
                 --write {}`",
                path.display(),
                path.display()
            );
        }
    }

    #[test]
    fn agents_only_where_set_and_amounts_are_numbers() {
        let spec = platform_spec::load(&root().join("infra/platforms/collectiq-prod.toml")).unwrap();
        let doc = tfvars(&spec).unwrap();
        assert_eq!(doc["functions"]["pricing_agent"]["agent"], "pricing");
        assert!(doc["functions"]["cards_get"].get("agent").is_none());
        // 000 "Cost Optimization Strategies": ARM64, carried from the spec to Terraform.
        assert_eq!(doc["functions"]["cards_get"]["architecture"], "arm64");
        assert_eq!(doc["budget"]["limit_usd"], json!(500));
        assert_eq!(doc["service_name"], "collectiq");
        let committed =
            std::fs::read_to_string(root().join("infra/envs/prod/platform.auto.tfvars.json")).unwrap();
        // Byte for byte what is committed (sorted keys, two-space indent, one trailing newline).
        assert_eq!(render(&spec).unwrap(), committed);
    }

    #[test]
    fn a_spec_without_exactly_one_budget_is_refused() {
        let mut spec = platform_spec::load(&root().join("infra/platforms/collectiq-dev.toml")).unwrap();
        spec.budgets.clear();
        assert_eq!(
            tfvars(&spec).unwrap_err().to_string(),
            "collectiq-dev: Terraform's envs take exactly one [[budgets]] entry, found 0"
        );
    }

    /// Terraform would take the ARN as the secret's name (`:` is refused there, mid-apply).
    #[test]
    fn a_secret_named_by_arn_is_refused() {
        let mut spec = platform_spec::load(&root().join("infra/platforms/collectiq-dev.toml")).unwrap();
        spec.notifications.slack_webhook_secret =
            "arn:aws:secretsmanager:us-east-1:210987654321:secret:collectiq/dev/slack-webhook-AbCdEf".into();
        let err = tfvars(&spec).unwrap_err().to_string();
        assert!(
            err.starts_with(
                "collectiq-dev: notifications.slack_webhook_secret is an ARN (arn:aws:secretsmanager:"
            ) && err.contains("takes its name (e.g. collectiq/dev/slack-webhook)"),
            "{err}"
        );
    }

    /// The export took the first `[[tables]]` and `[[state_machines]]` entries: a spec listing an audit
    /// table (or a STANDARD machine) first deployed the backend against it, with `spec check` passing.
    #[test]
    fn a_second_table_or_state_machine_is_refused_not_dropped() {
        let base = platform_spec::load(&root().join("infra/platforms/collectiq-prod.toml")).unwrap();
        let mut spec = base.clone();
        let mut audit = spec.tables[0].clone();
        audit.name = "prod-Audit".into();
        spec.tables.insert(0, audit);
        let err = tfvars(&spec).unwrap_err().to_string();
        assert_eq!(
            err,
            "collectiq-prod: Terraform's envs deploy the backend's one [[tables]] entry, but the spec lists 2 \
             (prod-Audit, prod-CollectIQ); keep the one the backend uses in this spec"
        );
        let mut spec = base.clone();
        let mut batch = spec.state_machines[0].clone();
        batch.name = "collectiq-prod-batch".into();
        spec.state_machines.push(batch);
        let err = tfvars(&spec).unwrap_err().to_string();
        assert!(
            err.contains("one [[state_machines]] entry, but the spec lists 2"),
            "{err}"
        );
        // One of each, or none (a platform without a workflow), still exports.
        assert!(tfvars(&base).is_ok());
        let mut none = base;
        none.state_machines.clear();
        assert!(tfvars(&none).unwrap().get("state_machine_type").is_none());
    }
}

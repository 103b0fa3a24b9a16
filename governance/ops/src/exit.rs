//! The process exit codes, one meaning each, so that a script or a scheduler can tell "the tool could
//! not do its job" from "the tool did its job and found something". Their own module: the subcommand
//! modules need them and nothing else of `cli`. A reader that stops early (`| head`) does not change the
//! code: the rest of the output is dropped quietly ([`crate::output::write_stdout`]).

/// Done, and nothing a check looks for was found (also `--help` and `--version`).
pub const OK: i32 = 0;
/// Bad invocation (unknown option, a global option the subcommand would ignore, a malformed or refused
/// value, a missing spec file) or an error while running (an AWS call, the ledger, a Slack or SNS send,
/// a file that cannot be written, an `org plan|run` account × platform item that failed). The message
/// on stderr says what and where. Clap's own usage errors are mapped here too (clap exits 2).
pub const ERROR: i32 = 1;
/// A check ran to the end and found a problem: `spec check` with a spec that does not validate,
/// `doctor` with a check that found a problem (a refused permission, a missing resource; a doctor whose
/// checks could not run at all — AWS unreachable — is an [`ERROR`]), `dashboards|alarms plan
/// --detailed-exitcode` with changes to make.
pub const FINDINGS: i32 = 2;

/// The exit codes as `--help` shows them.
pub const HELP: &str = "\
Exit codes:
  0  done; nothing found (also --help, --version)
  1  bad invocation (unknown option, malformed or refused value, unreadable spec) or an error while
     running (AWS, ledger, a failed Slack/SNS send, a file that cannot be written); stderr says which
  2  a check found a problem: `spec check` with an invalid spec, `doctor` with a refused permission
     or a missing resource (AWS unreachable is 1), `plan --detailed-exitcode` with changes to make";

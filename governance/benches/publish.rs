#![allow(clippy::expect_used)] // a benchmark set-up that cannot run is a failed benchmark
#![allow(missing_docs)] // criterion_group! generates undocumented functions
//! Publishing benchmarks (figures and method in docs/BENCHMARKS.md, section `governance`).
//!
//! - `plan_1000/*`: plan 1,000 alarms *including the read-back*: converting 1,000 `DescribeAlarms`
//!   SDK items into `PutMetricAlarm` inputs and comparing them with the desired ones; and the same
//!   through the `CloudWatchApi` paging loop (10 pages of 100) of the in-memory fake.
//! - `apply_1000_changed/*`: apply 1,000 changed alarms through the fake CloudWatch on a paused `tokio`
//!   clock (`start_paused`): the pacer's sleeps advance virtual time instantly, so the run measures the
//!   CPU cost while the virtual clock measures how long the writes would take at 3 TPS. Before the timed
//!   runs, the benchmark asserts the virtual duration is within 1.1× the 3-TPS floor (1,000 / 3 s) with
//!   an 80 ms simulated latency per call, and prints it.

use std::hint::black_box;
use std::time::Duration;

use alarms::Alarm;
use alarms::catalogue::{AlarmDefinition, Catalogue, Severity};
use alarms::model::PutMetricAlarmInput;
use alarms::spec::{MathInput, MetricAlarm, MetricRef};
use aws_sdk_cloudwatch::types as cw;
use criterion::{Criterion, criterion_group, criterion_main};
use governance::publish::NoProgress;
use governance::publish::alarms::{ApplyOptions, apply, plan, plan_from};
use governance::publish::cloudwatch::{PublishedAlarm, published_metric_alarm};
use governance::publish::fake::FakeCloudWatch;
use vocabulary::Stat;

const N: usize = 1_000;
const PREFIX: &str = "bench-prod";

fn alarm(i: usize, threshold: f64) -> PutMetricAlarmInput {
    let f = format!("{PREFIX}-fn-{i}");
    let m = |n: &str| MetricRef::aws("AWS/Lambda", n).with_dimension("FunctionName", &f);
    let b = if i.is_multiple_of(2) {
        MetricAlarm::math(
            format!("{PREFIX}-fn-{i}-error-rate-critical"),
            vec![
                MathInput::new("errors", m("Errors"), Stat::Sum),
                MathInput::new("invocations", m("Invocations"), Stat::Sum),
            ],
            "IF(errors > 10, 100 * errors / invocations, 0)",
            "error rate (%)",
            60,
        )
    } else {
        MetricAlarm::new(
            format!("{PREFIX}-fn-{i}-duration-warning"),
            m("Duration"),
            Stat::Maximum,
            60,
        )
    };
    b.above(threshold)
        .evaluate(3, 5)
        .with_description(format!("Function {f}: see the runbook."))
        .with_alarm_actions(vec!["arn:aws:sns:us-east-1:123456789012:oncall".into()])
        .with_ok_actions(vec!["arn:aws:sns:us-east-1:123456789012:oncall".into()])
        .build()
        .expect("valid alarm")
}

fn catalogue(threshold: f64) -> Catalogue {
    Catalogue {
        alarms: (0..N)
            .map(|i| AlarmDefinition {
                severity: Severity::Critical,
                resource: format!("fn-{i}"),
                signal: "x".into(),
                runbook: None,
                notifies: true,
                trace_services: Vec::new(),
                alarm: Alarm::Metric(alarm(i, threshold)),
            })
            .collect(),
        notes: Vec::new(),
    }
}

/// The SDK items DescribeAlarms would return for `cat`.
fn described(cat: &Catalogue) -> Vec<cw::MetricAlarm> {
    cat.alarms
        .iter()
        .filter_map(|d| match &d.alarm {
            Alarm::Metric(a) => Some(a),
            Alarm::Composite(_) => None,
        })
        .map(|a| {
            let dims = |v: &[alarms::model::Dimension]| {
                v.iter()
                    .map(|d| cw::Dimension::builder().name(&d.name).value(&d.value).build())
                    .collect::<Vec<_>>()
            };
            let metrics = a
                .metrics
                .iter()
                .map(|q| {
                    cw::MetricDataQuery::builder()
                        .id(&q.id)
                        .set_expression(q.expression.clone())
                        .set_label(q.label.clone())
                        .set_return_data(q.return_data)
                        .set_metric_stat(q.metric_stat.as_ref().map(|s| {
                            cw::MetricStat::builder()
                                .metric(
                                    cw::Metric::builder()
                                        .namespace(&s.metric.namespace)
                                        .metric_name(&s.metric.metric_name)
                                        .set_dimensions(Some(dims(&s.metric.dimensions)))
                                        .build(),
                                )
                                .period(s.period as i32)
                                .stat(&s.stat)
                                .build()
                        }))
                        .build()
                })
                .collect();
            cw::MetricAlarm::builder()
                .alarm_name(&a.alarm_name)
                .set_alarm_description(a.alarm_description.clone())
                .set_ok_actions(Some(a.ok_actions.clone()))
                .set_alarm_actions(Some(a.alarm_actions.clone()))
                .set_namespace(a.namespace.clone())
                .set_metric_name(a.metric_name.clone())
                .set_statistic(a.statistic.map(|s| cw::Statistic::from(s.as_str())))
                .set_dimensions(Some(dims(&a.dimensions)))
                .set_period(a.period.map(|p| p as i32))
                .evaluation_periods(a.evaluation_periods as i32)
                .set_datapoints_to_alarm(a.datapoints_to_alarm.map(|d| d as i32))
                .set_threshold(a.threshold)
                .comparison_operator(cw::ComparisonOperator::GreaterThanThreshold)
                .set_treat_missing_data(Some("missing".into()))
                .set_metrics(Some(metrics))
                .state_value(cw::StateValue::Ok)
                .build()
        })
        .collect()
}

fn paused_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("runtime")
}

fn bench_plan(c: &mut Criterion) {
    let desired = catalogue(10.0);
    let published_sdk = described(&catalogue(5.0)); // every threshold differs: 1,000 updates
    let mut g = c.benchmark_group("plan_1000");
    g.bench_function("read_back_and_plan", |b| {
        b.iter(|| {
            let published: Vec<PublishedAlarm> = published_sdk.iter().map(published_metric_alarm).collect();
            black_box(plan_from(&desired, &published, PREFIX))
        });
    });
    let same_sdk = described(&desired);
    g.bench_function("read_back_and_plan_unchanged", |b| {
        b.iter(|| {
            let published: Vec<PublishedAlarm> = same_sdk.iter().map(published_metric_alarm).collect();
            let p = plan_from(&desired, &published, PREFIX);
            assert!(p.is_empty());
            black_box(p)
        });
    });
    let rt = paused_runtime();
    let fake = FakeCloudWatch::default();
    for d in &catalogue(5.0).alarms {
        fake.seed(d.alarm.clone());
    }
    g.bench_function("describe_pages_and_plan", |b| {
        b.to_async(&rt)
            .iter(|| async { black_box(plan(&fake, &desired, PREFIX).await.expect("plan")) });
    });
    g.finish();
}

fn simulated_apply(latency: Duration) -> (Duration, usize, usize) {
    let rt = paused_runtime();
    rt.block_on(async {
        let fake = FakeCloudWatch::with_latency(latency);
        for d in &catalogue(5.0).alarms {
            fake.seed(d.alarm.clone());
        }
        let planning = plan(&fake, &catalogue(10.0), PREFIX).await.expect("plan");
        let t0 = tokio::time::Instant::now();
        let report = apply(&fake, &planning.plan, ApplyOptions::default(), &NoProgress).await;
        assert!(report.ok());
        assert_eq!(report.updated.len(), N);
        (t0.elapsed(), report.write_calls, fake.max_writes_in_any_second())
    })
}

fn bench_apply(c: &mut Criterion) {
    let floor = Duration::from_secs_f64(N as f64 / 3.0);
    for latency_ms in [0_u64, 80] {
        let (virt, writes, peak) = simulated_apply(Duration::from_millis(latency_ms));
        let ratio = virt.as_secs_f64() / floor.as_secs_f64();
        eprintln!(
            "apply {writes} changed alarms, {latency_ms} ms per call: {:.1} s on the virtual clock; 3-TPS floor {:.1} s; ratio {ratio:.3}; peak {peak} writes in any 1 s",
            virt.as_secs_f64(),
            floor.as_secs_f64()
        );
        assert!(ratio <= 1.1, "apply took {ratio:.3}× the 3-TPS floor");
        assert!(peak <= 3, "{peak} writes within one second");
    }
    let mut g = c.benchmark_group("apply_1000_changed");
    g.sample_size(10);
    g.bench_function("paced_3tps_virtual_clock_cpu", |b| {
        b.iter(|| black_box(simulated_apply(Duration::from_millis(80))));
    });
    g.finish();
}

criterion_group!(benches, bench_plan, bench_apply);
criterion_main!(benches);

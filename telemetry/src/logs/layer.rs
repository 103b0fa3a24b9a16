//! The `tracing` layer that writes Powertools-shaped JSON lines.

use super::LogConfig;
use super::buffer::LogBuffer;
use super::record::{
    FieldCollector, FieldValue, Line, MAX_LINE_BYTES, Printed, context_slot, encode_span_value, is_printable,
    redact_captured, within_event_limit, write_context, write_field_key,
};
use crate::clock::{Clock, Stamp, SystemClock};
use crate::context::{CONTROL_TARGET, INVOCATION_SPAN};
use std::cell::RefCell;
use std::io::{self, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use tracing::level_filters::LevelFilter;
use tracing::span::{Attributes, Id, Record};
use tracing::subscriber::Interest;
use tracing::{Event, Level, Metadata, Subscriber};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;

/// Fields recorded on a span, kept in its extensions, already redacted (`redact_captured`): the lines
/// inside the span print them as they are, from their JSON, encoded when the first line needs it and
/// again after the span records new values.
#[derive(Debug, Default)]
pub(crate) struct SpanFields {
    fields: Vec<(&'static str, FieldValue)>,
    json: OnceLock<SpanJson>,
    /// Bit `i`: field `i` is a string the default redaction rules, scanning it whole, left unchanged.
    clean: u64,
    /// What the lines logged directly inside this span write from the spans ([`LineRun`]): read
    /// under the span's extensions' read lock, replaced under their write lock — no lock of its own.
    run: Option<Arc<LineRun>>,
    /// The layer ([`JsonLogLayer::cfg_id`]) that captured these ([`PerLayer`]).
    owner: u64,
}

/// A span extension each [`JsonLogLayer`] keeps its own of, captured and redacted under its own
/// configuration: the first layer's is the extension, the others' (a second log layer beside
/// `init`'s) are kept in an [`OtherLayers`]. A layer with none of its own (reloaded with another
/// configuration after the span began) takes over one a dropped layer kept — the one it replaced —
/// never a live layer's, which was captured and redacted under another configuration.
trait PerLayer: Sized + Send + Sync + 'static {
    /// The layer's [`JsonLogLayer::cfg_id`].
    fn owner(&self) -> u64;
    fn set_owner(&mut self, cfg: u64);
}

impl PerLayer for SpanFields {
    fn owner(&self) -> u64 {
        self.owner
    }
    fn set_owner(&mut self, cfg: u64) {
        self.owner = cfg;
    }
}

impl PerLayer for InvocationLog {
    fn owner(&self) -> u64 {
        self.owner
    }
    fn set_owner(&mut self, cfg: u64) {
        self.owner = cfg;
    }
}

/// The other log layers' own `T` on a span, when more than one layer keeps one ([`PerLayer`]).
struct OtherLayers<T>(Vec<T>);

/// The [`JsonLogLayer::cfg_id`]s of the layers not dropped yet.
static LIVE_LAYERS: Mutex<Vec<u64>> = Mutex::new(Vec::new());

fn is_live(cfg: u64) -> bool {
    LIVE_LAYERS
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .contains(&cfg)
}

/// A layer's configuration id, listed in [`LIVE_LAYERS`] while the layer lives.
#[derive(Debug)]
struct Live(u64);

impl Live {
    fn new(cfg: u64) -> Self {
        LIVE_LAYERS
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(cfg);
        Self(cfg)
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        LIVE_LAYERS
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|c| *c != self.0);
    }
}

/// Layer `cfg`'s own `T` in `ext`, else one a dropped layer kept ([`PerLayer`]).
fn layer_own<'a, T: PerLayer>(
    ext: &'a tracing_subscriber::registry::Extensions<'_>,
    cfg: u64,
) -> Option<&'a T> {
    let first = ext.get::<T>()?;
    if first.owner() == cfg {
        return Some(first);
    }
    let others = ext.get::<OtherLayers<T>>().map_or(&[][..], |o| &o.0);
    if let Some(mine) = others.iter().find(|t| t.owner() == cfg) {
        return Some(mine);
    }
    std::iter::once(first).chain(others).find(|t| !is_live(t.owner()))
}

/// [`layer_own`], to change: one a dropped layer kept becomes this layer's.
fn layer_own_mut<'a, T: PerLayer>(
    ext: &'a mut tracing_subscriber::registry::ExtensionsMut<'_>,
    cfg: u64,
) -> Option<&'a mut T> {
    let first_owner = ext.get_mut::<T>()?.owner();
    // Where it is: the extension (`None`) or an index in `OtherLayers`.
    let at = if first_owner == cfg {
        None
    } else {
        let others = ext.get_mut::<OtherLayers<T>>();
        let mine = others
            .as_ref()
            .and_then(|o| o.0.iter().position(|t| t.owner() == cfg));
        match mine {
            Some(i) => Some(i),
            None if !is_live(first_owner) => None,
            None => Some(others?.0.iter().position(|t| !is_live(t.owner()))?),
        }
    };
    let entry = match at {
        None => ext.get_mut::<T>()?,
        Some(i) => ext.get_mut::<OtherLayers<T>>()?.0.get_mut(i)?,
    };
    entry.set_owner(cfg);
    Some(entry)
}

/// Adds a layer's own `value` to `ext`: as the extension, or, when another layer's is there, beside
/// it.
fn insert_own<T: PerLayer>(ext: &mut tracing_subscriber::registry::ExtensionsMut<'_>, value: T) {
    let owner = value.owner();
    let Some(first) = ext.replace(value) else { return };
    if first.owner() == owner {
        return;
    }
    // Another layer's came first: it stays the extension, this one joins the others.
    let Some(mine) = ext.replace(first) else { return };
    match ext.get_mut::<OtherLayers<T>>() {
        Some(others) => {
            others.0.retain(|t| t.owner() != owner);
            others.0.push(mine);
        }
        None => ext.insert(OtherLayers(vec![mine])),
    }
}

/// What every line logged directly inside a span takes from the spans (the span and its ancestors,
/// innermost first), copied into each line: the context members and the spans' printable fields, as
/// [`JsonLogLayer::render_into`] writes them from the same spans. Made when a line is first logged
/// inside the span (with its ancestors' runs, which it extends) and again after any span records
/// values. A span adding fields of its own adds a node in front of its parent's run, shared; a span
/// adding a context key, or a field of a name an enclosing span has, gets a run of its own merged from
/// its whole scope. A line whose own fields include a context key or one of the spans' field names
/// (its own shadows the span's) is written the long way instead.
#[derive(Debug)]
struct LineRun {
    /// The configuration ([`JsonLogLayer::cfg_id`]) and the [`RECORDS`] count it was made under: any
    /// span recording values since makes a new one.
    cfg: u64,
    records: u64,
    /// The scope has an invocation span, and the outermost one sampled this invocation's debug lines.
    in_invocation: bool,
    debug_sampled: bool,
    /// `Line::write_context`'s bytes (`service`, the context keys, `sampling_rate`) in a merged
    /// node; a node in front of another takes the outer one's ([`LineRun::context`]).
    context: Option<Vec<u8>>,
    /// `,"name":json` for each printable field this node adds, and their names.
    fields: RunBytes,
    names: Names,
    /// The enclosing spans' run, whose fields follow this node's; `None`: this node has them all.
    outer: Option<Arc<LineRun>>,
    /// Nodes in the chain from this one (1 for a merged node): at [`MAX_RUN_DEPTH`] the next span's
    /// run is merged, so no line walks a longer chain.
    nodes: usize,
}

impl LineRun {
    /// This node and the enclosing ones, innermost first.
    fn nodes(&self) -> impl Iterator<Item = &LineRun> {
        std::iter::successors(Some(self), |r| r.outer.as_deref())
    }

    fn has_field(&self, name: &str) -> bool {
        self.nodes().any(|r| r.names.contains(name))
    }

    /// Whether a line with these fields of its own writes exactly the run's members: none of them is
    /// a context key or shadows a span field.
    fn admits(&self, own: &[(&'static str, FieldValue)]) -> bool {
        own.iter()
            .all(|(name, _)| context_slot(name).is_none() && !self.has_field(name))
    }

    /// The context members of every line written from this run.
    fn context(&self) -> &[u8] {
        self.nodes()
            .find_map(|r| r.context.as_deref())
            .unwrap_or_default()
    }

    /// The spans' fields, innermost span's first.
    fn write_fields(&self, out: &mut Vec<u8>) {
        for r in self.nodes() {
            out.extend_from_slice(r.fields.as_slice());
        }
    }
}

/// A [`LineRun`] node's field bytes: in the node when they fit (a span adds a field or two), else on
/// the heap.
#[derive(Debug)]
enum RunBytes {
    Inline(u8, [u8; RUN_BYTES_INLINE]),
    Heap(Box<[u8]>),
}

const RUN_BYTES_INLINE: usize = 126;

impl RunBytes {
    fn of(bytes: &[u8]) -> Self {
        match u8::try_from(bytes.len()) {
            Ok(len) if bytes.len() <= RUN_BYTES_INLINE => {
                let mut inline = [0; RUN_BYTES_INLINE];
                inline[..bytes.len()].copy_from_slice(bytes);
                Self::Inline(len, inline)
            }
            _ => Self::Heap(bytes.into()),
        }
    }

    fn as_slice(&self) -> &[u8] {
        match self {
            Self::Inline(len, bytes) => &bytes[..usize::from(*len)],
            Self::Heap(bytes) => bytes,
        }
    }
}

thread_local! {
    /// A line run's field bytes and context values while they are written, reused from run to run
    /// ([`RunBytes`] copies them).
    static RUN_SCRATCH: std::cell::Cell<(Vec<u8>, Vec<u8>)> = const { std::cell::Cell::new((Vec::new(), Vec::new())) };
}

/// `f` with two empty scratch buffers, [`RUN_SCRATCH`]'s (taken, then put back), or new ones when a
/// run is made inside another.
fn with_run_scratch<T>(f: impl FnOnce(&mut Vec<u8>, &mut Vec<u8>) -> T) -> T {
    let (mut a, mut b) = RUN_SCRATCH.try_with(std::cell::Cell::take).unwrap_or_default();
    a.clear();
    b.clear();
    let out = f(&mut a, &mut b);
    if a.capacity() <= MAX_KEPT_LINE && b.capacity() <= MAX_KEPT_LINE {
        let _ = RUN_SCRATCH.try_with(|s| s.set((a, b)));
    }
    out
}

/// The names of a [`LineRun`] node's fields.
#[derive(Debug)]
enum Names {
    /// Merged from several spans.
    Listed(Vec<&'static str>),
    /// One span's: every name its callsite declares, a superset of those it recorded. Taking a
    /// declared name for a field sends a line the long way, whose output is the same.
    Declared(&'static tracing::field::FieldSet),
}

impl Names {
    fn contains(&self, name: &str) -> bool {
        match self {
            Self::Listed(names) => names.contains(&name),
            Self::Declared(set) => set.field(name).is_some(),
        }
    }
}

/// Room for a line's context members: service, function name, memory size, ARN, request id, trace
/// id, a correlation id and the sampling rate come to 300–400 bytes.
const CONTEXT_BLOCK_ROOM: usize = 512;

/// What a span keeps for the lines of one configuration ([`SpanFields::line_run`]).
enum Kept {
    /// Its run, current.
    Current(Arc<LineRun>),
    /// Another configuration's current run, in span fields a dropped layer kept (this layer replaced
    /// it after the span began, see `a_reloaded_layer_writes_its_own_context_members`): this one's
    /// lines go the long way until a record makes it stale.
    Other,
    /// None, or a stale one.
    Nothing,
}

/// Spans a line's run is made through, one from the other ([`JsonLogLayer::run_of`]), and nodes in
/// one run ([`LineRun::nodes`]): past either, a run is merged from its span's whole scope at once.
const MAX_RUN_DEPTH: usize = 32;

/// Span records so far, counted by every [`JsonLogLayer`]'s `on_record` (lambda_runtime's spans, whose
/// records it ignores, aside): a [`LineRun`] made before the last one may hold values since replaced,
/// in its span or in any ancestor. Process-wide, so a record anywhere makes every run stale: code
/// that records on spans between its lines (a Bedrock call's usage) pays a rebuild at the next line.
static RECORDS: AtomicU64 = AtomicU64::new(0);

/// Every field value's JSON, one after the other; field `i`'s ends at `ends[i]`.
#[derive(Debug, Default)]
struct SpanJson {
    bytes: Vec<u8>,
    ends: Vec<usize>,
    /// The context members a line writes when all its context keys come from this span
    /// ([`SpanFields::context_block`]), and the configuration they were written for.
    context: OnceLock<(u64, Vec<u8>)>,
}

impl SpanJson {
    /// Field `i`'s JSON.
    fn value(&self, i: usize) -> &[u8] {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.bytes[start..self.ends[i]]
    }
}

impl SpanFields {
    fn new(owner: u64, fields: Vec<(&'static str, FieldValue)>, clean: u64) -> Self {
        Self {
            fields,
            json: OnceLock::new(),
            clean,
            run: None,
            owner,
        }
    }

    /// The run kept for lines inside this span under configuration `cfg` after `records` span
    /// records.
    fn line_run(&self, cfg: u64, records: u64) -> Kept {
        match self.run.as_ref() {
            Some(r) if r.records == records && r.cfg == cfg => Kept::Current(Arc::clone(r)),
            Some(r) if r.records == records => Kept::Other,
            _ => Kept::Nothing,
        }
    }

    fn keep_run(&mut self, run: Arc<LineRun>) {
        self.run = Some(run);
    }

    /// Whether `value`, recorded on this span as `name`, is one this layer found unchanged by the
    /// default redaction rules: the span layer, which redacts attributes by those rules, need not scan
    /// it again. Compared by value, so a stale or renamed field is never taken for another.
    #[cfg(feature = "xray")]
    pub(crate) fn is_clean(&self, name: &str, value: &str) -> bool {
        self.clean_str(name, value, &mut 0).is_some()
    }

    /// Appends field `i`'s JSON (a printable field's), as [`Self::printed`] has it: copied when the
    /// fields' JSON was encoded already, else encoded (a line written from a [`LineRun`] needs no
    /// more than the run's copy).
    fn write_json(&self, i: usize, out: &mut Vec<u8>) {
        match self.json.get() {
            Some(json) => out.extend_from_slice(json.value(i)),
            None => encode_span_value(out, &self.fields[i].1),
        }
    }

    /// The string `value` recorded on this span as `name`, shared, when this layer found it unchanged
    /// by the default redaction rules ([`Self::is_clean`]): the span layer's attribute, neither
    /// copied nor scanned again. The span layer visits the span's values in the order this layer
    /// did: the search starts at `from`, where the last one was found, and moves it on.
    #[cfg(feature = "xray")]
    pub(crate) fn shared_str(&self, name: &str, value: &str, from: &mut usize) -> Option<Arc<str>> {
        self.clean_str(name, value, from).map(Arc::clone)
    }

    /// The field named `name` (a span's names are distinct), looked for from `from` on and then
    /// from the start, when it holds `value` and the default rules left it unchanged (its bit in
    /// `clean`, so among the first 64); `from` moves past it.
    #[cfg(feature = "xray")]
    fn clean_str(&self, name: &str, value: &str, from: &mut usize) -> Option<&Arc<str>> {
        let fields = &self.fields[..self.fields.len().min(64)];
        let start = (*from).min(fields.len());
        // A callsite's names are one `&'static str` each: the same pointer, most often.
        let named = |i: &usize| {
            let n = fields[*i].0;
            (n.as_ptr() == name.as_ptr() && n.len() == name.len()) || n == name
        };
        let at = (start..fields.len()).chain(0..start).find(named)?;
        *from = at + 1;
        match &fields[at].1 {
            FieldValue::Str(s) if self.clean & (1 << at) != 0 && **s == *value => Some(s),
            _ => None,
        }
    }

    /// Each field with its JSON (printable fields only: the others are never printed).
    fn printed(&self) -> impl Iterator<Item = (&'static str, Printed<'_>)> {
        let json = self.json.get_or_init(|| {
            // Room for every value as it is, quoted: most need no escaping.
            let room = self
                .fields
                .iter()
                .map(|(_, v)| match v {
                    FieldValue::Str(s) => s.len() + 2,
                    _ => 24,
                })
                .sum();
            let mut j = SpanJson {
                bytes: Vec::with_capacity(room),
                ends: Vec::with_capacity(self.fields.len()),
                context: OnceLock::new(),
            };
            for (name, value) in &self.fields {
                if is_printable(name) {
                    encode_span_value(&mut j.bytes, value);
                }
                j.ends.push(j.bytes.len());
            }
            j
        });
        self.fields
            .iter()
            .enumerate()
            .map(move |(i, (name, value))| (*name, (value, Some(json.value(i)))))
    }

    /// The context members (`Line::write_context`) of a line whose context keys all come from this
    /// span, as `write` wrote them for the first such line under configuration `cfg` (its id):
    /// they depend on nothing else — this span's values, already redacted and encoded, and the
    /// configuration's service, function name, memory size and sampling rate. `None` under another
    /// configuration, or before [`Self::printed`] encoded the values (the values the block is made
    /// of; recording new ones starts a new block).
    fn context_block(&self, cfg: u64, write: impl FnOnce(&mut Vec<u8>) -> bool) -> Option<&[u8]> {
        let json = self.json.get()?;
        let (at, block) = json.context.get_or_init(|| {
            let mut block = Vec::with_capacity(CONTEXT_BLOCK_ROOM);
            if write(&mut block) {
                (cfg, block)
            } else {
                (0, Vec::new())
            }
        });
        (*at == cfg).then_some(block.as_slice())
    }
}

thread_local! {
    /// The line being written on this thread, reused from line to line.
    static LINE: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
    /// The event being collected on this thread: its field vector and message buffer reused.
    static EVENT: RefCell<FieldCollector> = RefCell::new(FieldCollector::default());
}

/// A line buffer larger than this is released after its line instead of kept.
const MAX_KEPT_LINE: usize = 64 * 1024;

/// Where a line's context keys came from ([`JsonLogLayer::render_into`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ContextOrigin {
    /// No context key yet.
    Nowhere,
    /// Every one so far from the span at this index of the line's scope.
    Span(usize),
    /// From the event's own fields, or from more than one span.
    Mixed,
}

impl ContextOrigin {
    /// After one more context key, from span `span` (`None`: the event's own fields).
    fn and(self, span: Option<usize>) -> Self {
        match (self, span) {
            (Self::Nowhere, Some(i)) => Self::Span(i),
            (Self::Span(j), Some(i)) if i == j => self,
            _ => Self::Mixed,
        }
    }
}

/// Per-invocation logger state, kept in the invocation span's extensions.
#[derive(Debug, Default)]
struct InvocationLog {
    debug_sampled: bool,
    buffer: LogBuffer,
    /// The layer whose state this is ([`PerLayer`]).
    owner: u64,
}

/// Writes one JSON object per event. See the [module docs](super).
///
/// ```
/// use telemetry::logs::{JsonLogLayer, LogConfig};
/// use tracing_subscriber::layer::SubscriberExt;
/// let layer = JsonLogLayer::new(LogConfig::new("valuation")).with_writer(std::io::sink);
/// let subscriber = tracing_subscriber::registry().with(layer);
/// tracing::subscriber::with_default(subscriber, || tracing::info!(card_id = "c-1", "valued"));
/// ```
#[derive(Debug)]
pub struct JsonLogLayer<W = fn() -> io::Stdout> {
    cfg: Arc<LogConfig>,
    /// This layer's configuration among every one made in the process (never reused, unlike an
    /// address): what a span's cached context members ([`SpanFields::context_block`]) and line run
    /// ([`LineRun`]) were written under.
    cfg_id: u64,
    /// Lists `cfg_id` among the live layers ([`PerLayer`]).
    live: Live,
    max: LevelFilter,
    writer: W,
    clock: Arc<dyn Clock>,
}

impl JsonLogLayer {
    /// A layer writing to stdout with the system clock.
    #[must_use]
    pub fn new(cfg: LogConfig) -> Self {
        static NEXT_CFG: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        let max = cfg.max_possible();
        let cfg_id = NEXT_CFG.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Self {
            cfg: Arc::new(cfg),
            cfg_id,
            live: Live::new(cfg_id),
            max,
            writer: io::stdout,
            clock: Arc::new(SystemClock),
        }
    }
}

impl<W> JsonLogLayer<W> {
    /// Writes through `writer` instead (tests inject a buffer).
    #[must_use]
    pub fn with_writer<W2>(self, writer: W2) -> JsonLogLayer<W2>
    where
        W2: for<'a> MakeWriter<'a> + 'static,
    {
        JsonLogLayer {
            cfg: self.cfg,
            cfg_id: self.cfg_id,
            live: self.live,
            max: self.max,
            writer,
            clock: self.clock,
        }
    }

    /// Uses `clock` for timestamps.
    #[must_use]
    pub fn with_clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// The configuration.
    #[must_use]
    pub fn config(&self) -> &LogConfig {
        &self.cfg
    }

    /// Whether this layer lets `meta` through `register_callsite`/`enabled`, which decide for every
    /// layer of the subscriber. `ERROR` events always pass, whatever the level (`on_event` still
    /// prints only what the level allows): at `OFF`/`SILENT`, disabling them also hid the handler's
    /// error from the X-Ray layer, whose subsegment then had `fault` but no `cause`.
    fn interested(&self, meta: &Metadata<'_>) -> bool {
        meta.is_span()
            || meta.target() == CONTROL_TARGET
            || *meta.level() <= self.max
            || *meta.level() == Level::ERROR
    }
}

const fn level_str(level: Level) -> &'static str {
    match level {
        Level::TRACE => "TRACE",
        Level::DEBUG => "DEBUG",
        Level::INFO => "INFO",
        Level::WARN => "WARN",
        Level::ERROR => "ERROR",
    }
}

/// Whether a span is lambda_runtime's own. Its fields are not flattened as they are: its invocation span
/// (`Lambda runtime invoke{requestId, xrayTraceId}`) is read for the context keys instead, so the
/// runtime's own events (`user handler panicked`, the handler's error) carry `function_request_id` and
/// `xray_trace_id` like every other line.
fn is_runtime_span(meta: &Metadata<'_>) -> bool {
    meta.target().starts_with("lambda_runtime")
}

/// lambda_runtime's span fields as context keys: `requestId` → `function_request_id`, the `Root` of
/// `xrayTraceId` → `xray_trace_id`; nothing else.
fn runtime_context(fields: Vec<(&'static str, FieldValue)>) -> Vec<(&'static str, FieldValue)> {
    fields
        .into_iter()
        .filter_map(|(name, value)| match (name, value) {
            ("requestId", v @ FieldValue::Str(_)) => Some(("function_request_id", v)),
            ("xrayTraceId", FieldValue::Str(header)) => header
                .split(';')
                .find_map(|p| p.trim().strip_prefix("Root="))
                .map(|root| ("xray_trace_id", FieldValue::Str(root.into()))),
            _ => None,
        })
        .collect()
}

impl<W> JsonLogLayer<W>
where
    W: for<'a> MakeWriter<'a> + 'static,
{
    fn write(&self, meta: &Metadata<'_>, bytes: &[u8]) {
        // A broken sink loses telemetry, never the request. Almost every line is far under the limit:
        // only a longer one goes through the cutting.
        let mut writer = self.writer.make_writer_for(meta);
        let _ = if bytes.len() <= MAX_LINE_BYTES {
            writer.write_all(bytes)
        } else {
            writer.write_all(&within_event_limit(bytes, self.cfg.pretty))
        };
    }

    fn render<S>(
        &self,
        level: Level,
        message: &str,
        own: &[(&'static str, FieldValue)],
        scope: &[tracing_subscriber::registry::SpanRef<'_, S>],
    ) -> Vec<u8>
    where
        S: for<'a> LookupSpan<'a>,
    {
        let mut out = Vec::with_capacity(512);
        self.render_into(&mut out, level, message, own, scope);
        out
    }

    /// Appends the line and its newline to `out` (nothing if it cannot be serialised).
    fn render_into<S>(
        &self,
        out: &mut Vec<u8>,
        level: Level,
        message: &str,
        own: &[(&'static str, FieldValue)],
        scope: &[tracing_subscriber::registry::SpanRef<'_, S>],
    ) where
        S: for<'a> LookupSpan<'a>,
    {
        let guards: Vec<_> = scope.iter().map(|s| s.extensions()).collect();
        let mut context: [Option<Printed<'_>>; 7] = [None; 7];
        let mut fields: Vec<(&str, Printed<'_>)> = Vec::with_capacity(own.len() + 8);
        // Where the context keys came from: none yet, all from one span (its index in `guards`), or
        // from more than one place (the event's own fields, several spans).
        let mut origin = ContextOrigin::Nowhere;
        // The event's own fields are redacted as the line is written; a span's were when it recorded
        // them (`SpanFields` holds them redacted, with their JSON).
        let sources = own.iter().map(|(n, v)| (None, *n, (v, None))).chain(
            guards
                .iter()
                .enumerate()
                .filter_map(|(i, g)| layer_own::<SpanFields>(g, self.cfg_id).map(|f| (i, f)))
                .flat_map(|(i, f)| f.printed().map(move |(n, v)| (Some(i), n, v))),
        );
        for (span, name, value) in sources {
            if let Some(i) = context_slot(name) {
                if context[i].is_none() {
                    context[i] = Some(value);
                    origin = origin.and(span);
                }
            } else if is_printable(name) && !fields.iter().any(|(n, _)| *n == name) {
                fields.push((name, value));
            }
        }
        let ts = Stamp::new(self.clock.now());
        let mut line = Line {
            timestamp: &ts,
            level: level_str(level),
            message,
            cfg: &self.cfg,
            context,
            fields: &fields,
            context_block: None,
        };
        // Every line of an invocation has the same context members, most often all from the
        // invocation span: written once, then copied.
        if let ContextOrigin::Span(i) = origin
            && !self.cfg.pretty
            && let Some(f) = layer_own::<SpanFields>(&guards[i], self.cfg_id)
        {
            line.context_block = f.context_block(self.cfg_id, |out| line.write_context(out, None).is_ok());
        }
        let start = out.len();
        let ok = if self.cfg.pretty {
            let mut compact = Vec::new();
            line.write_compact(&mut compact)
                .map(|()| crate::json::write_pretty(out, &compact))
        } else {
            line.write_compact(out)
        };
        if ok.is_err() {
            out.truncate(start);
        } else {
            out.push(b'\n');
        }
    }

    /// Appends the line and its newline to `out` as [`Self::render_into`] would for a line logged
    /// directly inside the span whose `run` this is, which [`LineRun::admits`] the line's `own` fields.
    fn render_run(
        &self,
        out: &mut Vec<u8>,
        level: Level,
        message: &str,
        own: &[(&'static str, FieldValue)],
        run: &LineRun,
    ) {
        // Most events have a few fields: listed on the stack.
        const UNSET: (&str, Printed<'static>) = ("", (&FieldValue::Bool(false), None));
        let mut listed = [UNSET; 8];
        let mut spilled = Vec::new();
        let slots: &mut [(&str, Printed<'_>)] = if own.len() <= listed.len() {
            &mut listed
        } else {
            spilled.resize(own.len(), UNSET);
            &mut spilled
        };
        // The printable ones, each name once (the first), as `render_into` lists them.
        let mut n = 0;
        for (name, value) in own {
            if is_printable(name) && !slots[..n].iter().any(|(m, _)| m == name) {
                slots[n] = (name, (value, None));
                n += 1;
            }
        }
        let fields = &slots[..n];
        let ts = Stamp::new(self.clock.now());
        let line = Line {
            timestamp: &ts,
            level: level_str(level),
            message,
            cfg: &self.cfg,
            context: [None; 7],
            fields,
            context_block: Some(run.context()),
        };
        let start = out.len();
        if line.write_open(out).is_err() {
            out.truncate(start);
        } else {
            run.write_fields(out);
            out.extend_from_slice(b"}\n");
        }
    }

    /// The run of the lines logged directly inside `leaf` under this layer's configuration: the one
    /// the span keeps, else one made (and kept) from the nearest enclosing span's that is current.
    /// `None` when the members cannot be written.
    fn line_run<S>(&self, leaf: &tracing_subscriber::registry::SpanRef<'_, S>) -> Option<Arc<LineRun>>
    where
        S: for<'a> LookupSpan<'a>,
    {
        // Read before the spans' values: a record after this read makes the runs stale, never wrong.
        self.run_of(leaf, RECORDS.load(Ordering::Acquire), 0)
    }

    /// [`Self::line_run`] of `span`, `depth` spans below the line's; past [`MAX_RUN_DEPTH`] merged
    /// from the whole scope instead of from the parent's.
    fn run_of<S>(
        &self,
        span: &tracing_subscriber::registry::SpanRef<'_, S>,
        records: u64,
        depth: usize,
    ) -> Option<Arc<LineRun>>
    where
        S: for<'a> LookupSpan<'a>,
    {
        let kept = layer_own::<SpanFields>(&span.extensions(), self.cfg_id)
            .map_or(Kept::Nothing, |f| f.line_run(self.cfg_id, records));
        match kept {
            Kept::Current(run) => return Some(run),
            Kept::Other => return None,
            Kept::Nothing => {}
        }
        let made = match span.parent() {
            Some(parent) if depth < MAX_RUN_DEPTH => {
                let outer = self.run_of(&parent, records, depth + 1)?;
                self.extend_run(outer, span, records)?
            }
            _ => Arc::new(self.merge_run(span, records)?),
        };
        if let Some(f) = layer_own_mut::<SpanFields>(&mut span.extensions_mut(), self.cfg_id) {
            f.keep_run(Arc::clone(&made));
        }
        Some(made)
    }

    /// The run of `span`, inside the spans whose run is `outer`: `outer` itself when the span adds
    /// nothing (the outermost invocation span adds its debug sampling), a node in front of it when it
    /// adds fields only, else merged from the whole scope.
    fn extend_run<S>(
        &self,
        outer: Arc<LineRun>,
        span: &tracing_subscriber::registry::SpanRef<'_, S>,
        records: u64,
    ) -> Option<Arc<LineRun>>
    where
        S: for<'a> LookupSpan<'a>,
    {
        let node = with_run_scratch(|fields, _| {
            let ext = span.extensions();
            // A chain as long as it may be: this span's run is merged instead.
            let mut merge = outer.nodes >= MAX_RUN_DEPTH;
            if let Some(f) = layer_own::<SpanFields>(&ext, self.cfg_id).filter(|_| !merge) {
                for (i, (name, _)) in f.fields.iter().enumerate() {
                    if context_slot(name).is_some() || (is_printable(name) && outer.has_field(name)) {
                        merge = true;
                        break;
                    }
                    if is_printable(name) {
                        write_field_key(fields, name);
                        f.write_json(i, fields);
                    }
                }
            }
            let invocation = !outer.in_invocation && span.name() == INVOCATION_SPAN;
            let debug_sampled = if invocation {
                layer_own::<InvocationLog>(&ext, self.cfg_id).is_some_and(|l| l.debug_sampled)
            } else {
                outer.debug_sampled
            };
            (!merge).then(|| (RunBytes::of(fields), invocation, debug_sampled))
        });
        match node {
            None => self.merge_run(span, records).map(Arc::new),
            Some((fields, false, _)) if fields.as_slice().is_empty() => Some(outer),
            Some((fields, invocation, debug_sampled)) => Some(Arc::new(LineRun {
                cfg: self.cfg_id,
                records,
                in_invocation: outer.in_invocation || invocation,
                debug_sampled,
                context: None,
                fields,
                names: Names::Declared(span.metadata().fields()),
                nodes: outer.nodes + 1,
                outer: Some(outer),
            })),
        }
    }

    /// The run of `leaf` merged from its whole scope, as [`Self::render_into`] merges the spans'
    /// fields for a line without fields of its own.
    fn merge_run<S>(
        &self,
        leaf: &tracing_subscriber::registry::SpanRef<'_, S>,
        records: u64,
    ) -> Option<LineRun>
    where
        S: for<'a> LookupSpan<'a>,
    {
        // Most often the invocation span, a root: no ancestors to collect. Each looked up once
        // (`leaf.scope()` would look the leaf up again).
        let ancestors: Vec<_> =
            std::iter::successors(leaf.parent(), tracing_subscriber::registry::SpanRef::parent).collect();
        let (root, listed);
        let guards: &[_] = if ancestors.is_empty() {
            root = [leaf.extensions()];
            &root
        } else {
            listed = std::iter::once(leaf.extensions())
                .chain(ancestors.iter().map(|s| s.extensions()))
                .collect::<Vec<_>>();
            &listed
        };
        let name_of = |i: usize| i.checked_sub(1).map_or(leaf.name(), |a| ancestors[a].name());
        with_run_scratch(|fields, context_json| {
            // Each context value's JSON is at `context_at[slot]` in `context_json`.
            let mut context_at: [Option<(&FieldValue, usize, usize)>; 7] = [None; 7];
            let mut names = Vec::new();
            for f in guards
                .iter()
                .filter_map(|g| layer_own::<SpanFields>(g, self.cfg_id))
            {
                for (i, (name, value)) in f.fields.iter().enumerate() {
                    if let Some(slot) = context_slot(name) {
                        if context_at[slot].is_none() {
                            let start = context_json.len();
                            if is_printable(name) {
                                f.write_json(i, context_json);
                            }
                            context_at[slot] = Some((value, start, context_json.len()));
                        }
                    } else if is_printable(name) && !names.contains(name) {
                        names.push(*name);
                        write_field_key(fields, name);
                        f.write_json(i, fields);
                    }
                }
            }
            let context: [Option<Printed<'_>>; 7] =
                context_at.map(|c| c.map(|(value, start, end)| (value, Some(&context_json[start..end]))));
            let invocation = (0..guards.len()).rev().find(|&i| name_of(i) == INVOCATION_SPAN);
            let debug_sampled = invocation
                .and_then(|i| layer_own::<InvocationLog>(&guards[i], self.cfg_id))
                .is_some_and(|l| l.debug_sampled);
            let mut block = Vec::with_capacity(CONTEXT_BLOCK_ROOM);
            // Every context value here is a span's, already redacted and encoded: no line budget to
            // share.
            write_context(&mut block, &self.cfg, &context, None).ok()?;
            Some(LineRun {
                cfg: self.cfg_id,
                records,
                in_invocation: invocation.is_some(),
                debug_sampled,
                context: Some(block),
                fields: RunBytes::of(fields),
                names: Names::Listed(names),
                outer: None,
                nodes: 1,
            })
        })
    }

    fn flush_buffer<S>(
        &self,
        meta: &Metadata<'_>,
        invocation: &tracing_subscriber::registry::SpanRef<'_, S>,
        scope: &[tracing_subscriber::registry::SpanRef<'_, S>],
    ) where
        S: for<'a> LookupSpan<'a>,
    {
        let (lines, dropped) = {
            let mut ext = invocation.extensions_mut();
            match layer_own_mut::<InvocationLog>(&mut ext, self.cfg_id) {
                Some(inv) if !inv.buffer.is_empty() => inv.buffer.drain(),
                _ => return,
            }
        };
        if dropped > 0 {
            let msg = format!("log buffer was full: {dropped} older buffered lines were dropped");
            let own = [("buffer_dropped_lines", FieldValue::U64(dropped as u64))];
            let line = self.render(Level::WARN, &msg, &own, scope);
            self.write(meta, &line);
        }
        for line in lines {
            self.write(meta, &line);
        }
    }
}

impl<S, W> tracing_subscriber::Layer<S> for JsonLogLayer<W>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    W: for<'a> MakeWriter<'a> + 'static,
{
    fn register_callsite(&self, meta: &'static Metadata<'static>) -> Interest {
        if self.interested(meta) {
            Interest::always()
        } else {
            Interest::never()
        }
    }

    fn enabled(&self, meta: &Metadata<'_>, _ctx: Context<'_, S>) -> bool {
        self.interested(meta)
    }

    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut c = FieldCollector::for_span(attrs.metadata().fields().len());
        attrs.record(c.at(attrs.metadata()));
        if is_runtime_span(attrs.metadata()) {
            c.fields = runtime_context(c.fields);
        }
        let clean = self
            .cfg
            .redactor
            .as_ref()
            .map_or(0, |red| redact_captured(&mut c.fields, red));
        let mut ext = span.extensions_mut();
        if attrs.metadata().name() == INVOCATION_SPAN {
            let debug_sampled = c
                .fields
                .iter()
                .any(|(n, v)| *n == "telemetry.debug_sampled" && *v == FieldValue::Bool(true));
            let log = InvocationLog {
                debug_sampled,
                buffer: LogBuffer::default(),
                owner: self.cfg_id,
            };
            insert_own(&mut ext, log);
        }
        insert_own(&mut ext, SpanFields::new(self.cfg_id, c.fields, clean));
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        if is_runtime_span(span.metadata()) {
            return;
        }
        // Visit the values (user `Debug` code that may panic) before taking the extensions lock, so a
        // panic hook that logs never finds it held.
        let mut recorded = FieldCollector::for_span(values.len());
        values.record(recorded.at(span.metadata()));
        let clean = self
            .cfg
            .redactor
            .as_ref()
            .map_or(0, |red| redact_captured(&mut recorded.fields, red));
        let mut ext = span.extensions_mut();
        if let Some(fields) = layer_own_mut::<SpanFields>(&mut ext, self.cfg_id) {
            for (k, (name, value)) in recorded.fields.into_iter().enumerate() {
                let i = match fields.fields.iter().position(|(n, _)| *n == name) {
                    Some(i) => {
                        fields.fields[i].1 = value;
                        i
                    }
                    None => {
                        fields.fields.push((name, value));
                        fields.fields.len() - 1
                    }
                };
                if i < 64 {
                    let bit = 1u64 << i;
                    fields.clean = if k < 64 && clean & (1 << k) != 0 {
                        fields.clean | bit
                    } else {
                        fields.clean & !bit
                    };
                }
            }
            fields.json.take();
        }
        drop(ext);
        // After the values changed: a line run made from the old ones is stale from here on.
        RECORDS.fetch_add(1, Ordering::Release);
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let meta = event.metadata();
        // Without buffering (which needs the invocation span) and in compact JSON, a line inside a span
        // is written from that span's run; the scope is walked only for the others.
        let unbuffered = self.cfg.buffer.is_none() && meta.target() != CONTROL_TARGET;
        if unbuffered && *meta.level() > self.cfg.level() && *meta.level() > Level::DEBUG {
            // Printed neither at the configured level nor by debug sampling, and never buffered.
            return;
        }
        let run = (unbuffered && !self.cfg.pretty)
            .then(|| ctx.event_span(event))
            .flatten()
            .and_then(|leaf| self.line_run(&leaf));
        let event_scope = || -> Vec<_> { ctx.event_scope(event).map(|s| s.collect()).unwrap_or_default() };
        let scope = if run.is_some() { Vec::new() } else { event_scope() };
        let invocation = scope.iter().rev().find(|s| s.name() == INVOCATION_SPAN);
        if meta.target() == CONTROL_TARGET {
            if let Some(inv) = invocation {
                self.flush_buffer(meta, inv, &scope);
            }
            return;
        }
        let level = *meta.level();
        let (debug_sampled, buffering) = match &run {
            Some(run) => (run.debug_sampled, false),
            None => invocation.map_or((false, false), |inv| {
                let sampled = layer_own::<InvocationLog>(&inv.extensions(), self.cfg_id)
                    .is_some_and(|l| l.debug_sampled);
                (sampled, self.cfg.buffer.is_some_and(|b| b.buffers(level)))
            }),
        };
        let printable = level <= self.cfg.level() || (debug_sampled && level <= self.cfg.sampled_level());
        if !printable && !buffering {
            return;
        }
        let emit = |c: &FieldCollector| {
            let message = c.message.as_deref().unwrap_or("");
            if let (true, Some(inv), Some(cfg)) = (buffering, invocation, self.cfg.buffer) {
                let line = self.render(level, message, &c.fields, &scope);
                let oversize = {
                    let mut ext = inv.extensions_mut();
                    match layer_own_mut::<InvocationLog>(&mut ext, self.cfg_id) {
                        Some(l) => l.buffer.push(line, cfg.max_bytes),
                        None => Some(line),
                    }
                };
                if let Some(line) = oversize {
                    self.write(meta, &line);
                }
                return;
            }
            // A line written at once is rendered into this thread's reused buffer (a fresh one if a
            // writer that logs got here again while it is in use).
            let write_line = |out: &mut Vec<u8>| {
                match &run {
                    Some(run) if run.admits(&c.fields) => {
                        self.render_run(out, level, message, &c.fields, run);
                    }
                    // Its own fields shadow the spans': the long way, over the whole scope.
                    Some(_) => self.render_into(out, level, message, &c.fields, &event_scope()),
                    None => self.render_into(out, level, message, &c.fields, &scope),
                }
                if level == Level::ERROR
                    && let (Some(inv), Some(b)) = (invocation, self.cfg.buffer)
                    && b.flush_on_error_log
                {
                    self.flush_buffer(meta, inv, &scope);
                }
                self.write(meta, out);
            };
            let reused = LINE
                .try_with(|line| {
                    let Ok(mut out) = line.try_borrow_mut() else {
                        return false;
                    };
                    out.clear();
                    write_line(&mut out);
                    if out.capacity() > MAX_KEPT_LINE {
                        *out = Vec::new();
                    }
                    true
                })
                .unwrap_or(false);
            if !reused {
                write_line(&mut Vec::with_capacity(512));
            }
        };
        // Most events have a message, which is kept apart from the fields. The event's fields are
        // collected into this thread's reused collector (a fresh one if a `Debug` impl or a writer
        // that logs got here again while it is in use).
        let room = meta.fields().len().saturating_sub(1);
        let collected = EVENT
            .try_with(|cell| {
                let Ok(mut c) = cell.try_borrow_mut() else {
                    return false;
                };
                c.reset(room);
                event.record(c.at(meta));
                emit(&c);
                c.release();
                true
            })
            .unwrap_or(false);
        if !collected {
            let mut c = FieldCollector::with_capacity(room);
            event.record(c.at(meta));
            emit(&c);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::FixedClock;
    use crate::logs::BufferConfig;
    use serde_json::{Value, json};
    use std::sync::Mutex;
    use tracing_subscriber::layer::SubscriberExt;

    #[derive(Clone, Default)]
    struct Cap(Arc<Mutex<Vec<u8>>>);
    impl io::Write for Cap {
        fn write(&mut self, b: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    impl<'a> MakeWriter<'a> for Cap {
        type Writer = Self;
        fn make_writer(&'a self) -> Self {
            self.clone()
        }
    }
    impl Cap {
        fn lines(&self) -> Vec<Value> {
            let s = String::from_utf8(self.0.lock().unwrap().clone()).unwrap();
            s.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
        }
    }

    thread_local! {
        static ORDER: std::cell::RefCell<Vec<String>> = const { std::cell::RefCell::new(Vec::new()) };
    }

    /// Key order of the first line's top-level object, read from the raw text.
    fn key_order(line: &str) -> Vec<String> {
        struct Keys(Vec<String>);
        impl<'de> serde::Deserialize<'de> for Keys {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl<'de> serde::de::Visitor<'de> for V {
                    type Value = Keys;
                    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                        f.write_str("map")
                    }
                    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut m: A) -> Result<Keys, A::Error> {
                        let mut k = Vec::new();
                        while let Some((key, _)) = m.next_entry::<String, serde::de::IgnoredAny>()? {
                            k.push(key);
                        }
                        Ok(Keys(k))
                    }
                }
                d.deserialize_map(V)
            }
        }
        serde_json::from_str::<Keys>(line).unwrap().0
    }

    /// What the layer under `cfg` writes while `f` runs, as text (a fixed clock).
    fn run_text(cfg: LogConfig, f: impl FnOnce()) -> String {
        let cap = Cap::default();
        let layer = JsonLogLayer::new(cfg)
            .with_writer(cap.clone())
            .with_clock(FixedClock::from_millis(1_763_769_493_123));
        tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), f);
        String::from_utf8(cap.0.lock().unwrap().clone()).unwrap()
    }

    fn run(cfg: LogConfig, f: impl FnOnce()) -> Vec<Value> {
        let text = run_text(cfg, f);
        if let Some(first) = text.lines().next() {
            ORDER.with(|o| *o.borrow_mut() = key_order(first));
        }
        text.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
    }

    /// A line over CloudWatch Logs' 256 KB event limit would be cut mid-JSON by the log pipeline:
    /// its longest strings are cut instead, each saying how much, and every key stays — with
    /// redaction off (no scan budget), in spans' fields too, with escapes, and pretty-printed.
    #[test]
    fn lines_over_the_event_limit_keep_their_keys_and_cut_their_longest_strings() {
        let cfg = || LogConfig::new("valuation").with_redactor(None);
        let big = "x".repeat(300_000);
        let text = run_text(cfg(), || {
            tracing::info!(payload = %big, note = "short", "big");
        });
        assert!(text.len() <= MAX_LINE_BYTES, "{} bytes", text.len());
        assert_eq!(text.lines().count(), 1);
        let line: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(line["level"], "INFO");
        assert_eq!(line["message"], "big");
        assert_eq!(line["note"], "short");
        let payload = line["payload"].as_str().unwrap();
        assert!(payload.starts_with("xxxx"));
        assert!(
            payload.ends_with("bytes cut: line over the 256 KB log event limit]"),
            "{}",
            &payload[payload.len() - 80..]
        );
        assert!(
            payload.len() > 200_000,
            "cut only as far as needed: {}",
            payload.len()
        );
        // Escaped characters (six bytes each when written) in a span's fields and the event's.
        let ctrl = "\u{1}".repeat(40_000);
        let text = run_text(cfg(), || {
            let _s = tracing::info_span!("s", a = %ctrl, b = %ctrl).entered();
            tracing::info!(c = %ctrl, "escaped");
        });
        assert!(text.len() <= MAX_LINE_BYTES, "{} bytes", text.len());
        let line: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(line["message"], "escaped");
        for k in ["a", "b", "c"] {
            assert!(line[k].is_string(), "{k}: {line}");
        }
        let text = run_text(
            cfg().with_pretty(true),
            || tracing::info!(payload = %big, "pretty"),
        );
        assert!(text.len() <= MAX_LINE_BYTES);
        let line: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(line["message"], "pretty");
    }

    /// Cutting touches string values only: keys, their order and numbers (a `u128` beyond `f64`) stay
    /// byte for byte; cuts fall between characters and escapes; many long values are cut in one pass,
    /// never given up on while cutting can still make the line fit.
    #[test]
    fn cutting_keeps_keys_their_order_and_numbers_byte_for_byte() {
        let head =
            r#"{"level":"INFO","message":"m","trace":340282366920938463463374607431768211455,"ratio":0.1,"#;
        let causes: Vec<String> = (0..1_000)
            .map(|i| format!("cause {i} {}", r"é\u0001x".repeat(40)))
            .collect();
        let line = format!(
            "{head}\"causes\":[\"{}\"],\"zeta\":\"{}\"}}\n",
            causes.join("\",\""),
            "z".repeat(30_000)
        );
        assert!(line.len() > MAX_LINE_BYTES);
        let out = within_event_limit(line.as_bytes(), false);
        let text = std::str::from_utf8(&out).unwrap();
        assert!(out.len() <= MAX_LINE_BYTES, "{}", out.len());
        assert!(text.starts_with(head), "{}", &text[..200]);
        assert!(text.ends_with("}\n"));
        let v: Value = serde_json::from_str(text).unwrap();
        assert_eq!(
            v["causes"].as_array().unwrap().len(),
            1_000,
            "every value kept, cut"
        );
        assert!(
            v["zeta"].as_str().unwrap().contains("bytes cut"),
            "the longest is cut first"
        );
        let keys: Vec<&str> = text
            .match_indices("\":")
            .map(|(i, _)| &text[text[..i].rfind('"').unwrap() + 1..i])
            .collect();
        assert_eq!(&keys[..5], ["level", "message", "trace", "ratio", "causes"]);
    }

    /// A line that no cutting of long strings brings under the limit (thousands of short fields) is
    /// replaced by a short one naming its size, with its level and timestamp; a short line is
    /// written as it is.
    #[test]
    fn a_line_that_cannot_be_cut_to_fit_is_named_not_written() {
        let mut map = serde_json::Map::new();
        map.insert("level".into(), "ERROR".into());
        map.insert("timestamp".into(), "2026-12-05T04:00:00.000Z".into());
        for i in 0..2_000 {
            map.insert(format!("field{i}"), "v".repeat(200).into());
        }
        let mut line = serde_json::to_vec(&Value::Object(map)).unwrap();
        line.push(b'\n');
        assert!(line.len() > MAX_LINE_BYTES);
        let out = within_event_limit(&line, false);
        let short: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(short["level"], "ERROR");
        assert_eq!(short["timestamp"], "2026-12-05T04:00:00.000Z");
        assert!(
            short["message"]
                .as_str()
                .unwrap()
                .contains(&format!("{} bytes", line.len())),
            "{short}"
        );
        let small = b"{\"level\":\"INFO\"}\n";
        assert!(matches!(
            within_event_limit(small, false),
            std::borrow::Cow::Borrowed(_)
        ));
    }

    /// An event whose field's `Debug` logs another event while the first is collected (`tracing`
    /// drops an event dispatched from inside the subscriber): the outer line is written whole, and the
    /// reused collector starts the next event clean.
    #[test]
    fn an_event_logged_while_another_is_collected_leaves_the_collector_clean() {
        struct Noisy;
        impl std::fmt::Debug for Noisy {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                tracing::warn!(inner_field = "i", "from debug");
                f.write_str("noisy")
            }
        }
        let lines = run(LogConfig::new("s"), || {
            tracing::info!(outer_field = ?Noisy, "outer message");
            tracing::info!("after");
            tracing::info!(n = 1u64, "last");
        });
        assert_eq!(lines.len(), 3, "{lines:?}");
        assert_eq!(lines[0]["message"], "outer message");
        assert_eq!(lines[0]["outer_field"], "noisy");
        assert!(lines[0].get("inner_field").is_none());
        assert_eq!(lines[1]["message"], "after");
        assert!(lines[1].get("outer_field").is_none(), "{:?}", lines[1]);
        assert_eq!(lines[2]["message"], "last");
        assert_eq!(lines[2]["n"], 1);
    }

    fn invocation(sampled: bool) -> tracing::Span {
        tracing::info_span!(
            "lambda.invocation",
            function_request_id = "req-1",
            function_arn = "arn:aws:lambda:eu-west-1:1:function:f",
            xray_trace_id = "1-5759e988-bd862e3fe1be46a994272793",
            correlation_id = "corr-9",
            cold_start = true,
            telemetry.debug_sampled = sampled,
        )
    }

    #[derive(Debug, thiserror::Error)]
    #[error("pricing failed")]
    struct Outer(#[source] std::io::Error);

    #[test]
    fn lambda_runtime_events_carry_the_request_and_trace_id() {
        // lambda_runtime's own invocation span, made by its own code, around an event it would log
        // (`user handler panicked`) after our invocation span has closed.
        let mut ctx = lambda_runtime::Context::default();
        ctx.request_id = "req-rt".into();
        ctx.xray_trace_id =
            Some("Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1".into());
        let lines = run(LogConfig::new("s"), || {
            let _rt = lambda_runtime::layers::trace::request_span(&ctx).entered();
            let worker = tracing::info_span!(target: "lambda_runtime::runtime", "worker", task_id = 3u64);
            let _w = worker.entered();
            tracing::error!(target: "lambda_runtime::layers::panic", "user handler panicked");
            let _inv = invocation(false).entered();
            tracing::info!("inside ours");
        });
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0]["function_request_id"], "req-rt");
        assert_eq!(lines[0]["xray_trace_id"], "1-5759e988-bd862e3fe1be46a994272793");
        assert_eq!(lines[0]["level"], "ERROR");
        for key in ["requestId", "xrayTraceId", "task_id"] {
            assert!(
                lines[0].get(key).is_none(),
                "{key} is not flattened: {}",
                lines[0]
            );
        }
        assert_eq!(lines[1]["function_request_id"], "req-1", "our span (inner) wins");
    }

    #[test]
    fn root_keys_order_and_flattening() {
        let cfg = LogConfig::new("valuation").with_function(crate::context::FunctionInfo {
            service: "valuation".into(),
            function_name: Some("valuate-card".into()),
            memory_size: Some(512),
            ..Default::default()
        });
        let lines = run(cfg, || {
            let _inv = invocation(false).entered();
            let _outer = tracing::info_span!("outer", card_id = "c-outer", stage = "extract").entered();
            let _inner = tracing::info_span!("inner", card_id = "c-inner").entered();
            tracing::info!(attempt = 2u64, stage = "price", ratio = 0.5, "valued {}", "card");
        });
        assert_eq!(lines.len(), 1);
        let l = &lines[0];
        let raw = serde_json::to_string(&ORDER.with(|o| o.borrow().clone())).unwrap();
        let keys: Vec<String> = serde_json::from_str(&raw).unwrap();
        assert_eq!(
            &keys[..11],
            [
                "timestamp",
                "level",
                "message",
                "service",
                "cold_start",
                "function_name",
                "function_memory_size",
                "function_arn",
                "function_request_id",
                "xray_trace_id",
                "correlation_id"
            ]
        );
        assert_eq!(l["timestamp"], "2025-11-21T23:58:13.123Z");
        assert_eq!(l["level"], "INFO");
        assert_eq!(l["message"], "valued card");
        assert_eq!(l["function_memory_size"], 512);
        assert_eq!(l["cold_start"], true);
        assert_eq!(l["stage"], "price", "event wins over spans");
        assert_eq!(l["card_id"], "c-inner", "inner span wins");
        assert_eq!(l["attempt"], 2);
        assert_eq!(l["ratio"], 0.5);
        assert!(l.get("telemetry.debug_sampled").is_none());
    }

    /// JSON text with the blanks between tokens taken out: a pretty line as the compact one.
    /// The `count` compact lines `work` logs under `cfg()`, checked to be the ones written afresh from
    /// the whole scope (the pretty path, which uses no span's run, minified; the afresh writer is
    /// serde's output, `record`'s tests hold it to), parsed.
    fn written_as_afresh(cfg: impl Fn() -> LogConfig, work: impl Fn(), count: usize) -> Vec<Value> {
        let compact = run_text(cfg(), &work);
        assert_eq!(compact.lines().count(), count);
        assert_eq!(
            compact.replace('\n', ""),
            minified(&run_text(cfg().with_pretty(true), &work))
        );
        compact
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    fn minified(text: &str) -> String {
        let (mut out, mut in_str, mut escaped) = (String::new(), false, false);
        for c in text.chars() {
            if in_str {
                out.push(c);
                (in_str, escaped) = (escaped || c != '"', !escaped && c == '\\');
            } else if !c.is_ascii_whitespace() {
                in_str = c == '"';
                out.push(c);
            }
        }
        out
    }

    /// Lines whose context keys all come from one span copy the members written for the first such
    /// line (`SpanFields::context_block`); each is exactly the line written afresh (the pretty
    /// path, minified): context from the invocation span alone, with the configuration's function
    /// name, memory size and sampling rate, lines in nested spans, an event's own context key, a
    /// nested span's, a span carrying all of them, context keys recorded after the first line, and
    /// lines with no context at all.
    #[test]
    fn context_members_copied_from_a_span_are_the_ones_written_afresh() {
        let work = || {
            tracing::info!("before any span");
            let inv = tracing::info_span!(
                "lambda.invocation",
                function_request_id = "req-1",
                function_arn = "arn:aws:lambda:eu-west-1:1:function:f",
                xray_trace_id = "1-5759e988-bd862e3fe1be46a994272793",
                correlation_id = tracing::field::Empty,
                cold_start = true,
            );
            let _inv = inv.enter();
            tracing::info!("first");
            tracing::info!(n = 2u64, "second, from the copy");
            {
                let _s = tracing::info_span!("price", card_id = "c-1").entered();
                tracing::info!("nested, context still the invocation's");
                tracing::info!(correlation_id = "own", "the event's own context key");
                let _r = tracing::info_span!("retry", function_request_id = "req-2").entered();
                tracing::info!("a nested span's context key");
                inv.record("correlation_id", "corr-1");
                tracing::info!("and the invocation's, recorded since");
            }
            inv.record("correlation_id", "mail bob@x.io");
            tracing::info!("after the invocation span recorded a context key");
            {
                let _all = tracing::info_span!(
                    "replay",
                    cold_start = false,
                    function_name = "other",
                    function_memory_size = 128u64,
                    function_arn = "arn:aws:lambda:eu-west-1:2:function:g",
                    function_request_id = "req-3",
                    xray_trace_id = "1-00000000-000000000000000000000000",
                    correlation_id = "c-3",
                )
                .entered();
                tracing::info!("every context key from the nested span");
                tracing::info!("again");
            }
            tracing::info!("back in the invocation");
        };
        let cfg = || {
            LogConfig::new("valuation")
                .with_function(crate::context::FunctionInfo {
                    service: "valuation".into(),
                    function_name: Some("valuate".into()),
                    memory_size: Some(512),
                    ..Default::default()
                })
                .with_sample_rate(0.25)
        };
        let lines = written_as_afresh(cfg, work, 11);
        assert_eq!(lines[2]["function_name"], "valuate");
        assert_eq!(lines[5]["function_request_id"], "req-2");
        assert_eq!(lines[6]["correlation_id"], "corr-1");
        assert_eq!(lines[7]["correlation_id"], "mail [REDACTED]");
        assert_eq!(lines[8]["function_memory_size"], 128);
        assert_eq!(lines[10]["function_memory_size"], 512);
    }

    /// A span's cached context members belong to the layer that wrote them: after the log layer is
    /// swapped for one of another configuration (`reload`), the same span's next line carries the new
    /// service, function name and memory size.
    #[test]
    fn a_reloaded_layer_writes_its_own_context_members() {
        let layer = |service: &str, memory: u32| {
            let cap = Cap::default();
            let cfg = LogConfig::new(service).with_function(crate::context::FunctionInfo {
                service: service.into(),
                function_name: Some(format!("{service}-fn")),
                memory_size: Some(memory),
                ..Default::default()
            });
            (JsonLogLayer::new(cfg).with_writer(cap.clone()), cap)
        };
        let (first, first_cap) = layer("valuation", 512);
        let (second, second_cap) = layer("pricing", 1024);
        let (reloadable, handle) = tracing_subscriber::reload::Layer::new(first);
        tracing::subscriber::with_default(tracing_subscriber::registry().with(reloadable), || {
            let _inv = invocation(false).entered();
            tracing::info!("under the first layer");
            handle.reload(second).unwrap();
            tracing::info!("under the second");
        });
        let (a, b) = (first_cap.lines(), second_cap.lines());
        assert_eq!((a.len(), b.len()), (1, 1));
        assert_eq!(a[0]["service"], "valuation");
        assert_eq!(b[0]["service"], "pricing");
        assert_eq!(b[0]["function_name"], "pricing-fn");
        assert_eq!(b[0]["function_memory_size"], 1024);
        assert_eq!(b[0]["function_request_id"], "req-1");
    }

    /// Two log layers of different configurations on one registry (a second one added beside
    /// `init`'s): each captures, redacts and prints a span's fields under its own configuration,
    /// and writes exactly the lines it writes alone.
    #[test]
    fn two_log_layers_each_write_their_own_lines() {
        let work = || {
            let _inv = invocation(false).entered();
            let _s = tracing::info_span!("price", card_id = "c-1", note = "mail bob@x.io").entered();
            tracing::info!("first");
            tracing::info!(n = 2u64, "second");
            let t = tracing::info_span!("persist", table = "cards", stage = tracing::field::Empty);
            let _t = t.enter();
            tracing::info!("third");
            t.record("stage", "stored");
            tracing::info!("fourth");
        };
        let strict = || LogConfig::new("valuation").with_sample_rate(0.5);
        let open = || LogConfig::new("pricing").with_redactor(None);
        let layer = |cfg: LogConfig| {
            let cap = Cap::default();
            let layer = JsonLogLayer::new(cfg)
                .with_writer(cap.clone())
                .with_clock(FixedClock::from_millis(1_763_769_493_123));
            (layer, cap)
        };
        let ((a, a_cap), (b, b_cap)) = (layer(strict()), layer(open()));
        tracing::subscriber::with_default(tracing_subscriber::registry().with(a).with(b), work);
        let text = |cap: Cap| String::from_utf8(cap.0.lock().unwrap().clone()).unwrap();
        let (a_text, b_text) = (text(a_cap), text(b_cap));
        assert_eq!(a_text, run_text(strict(), work));
        assert_eq!(b_text, run_text(open(), work));
        assert!(a_text.contains(r#""note":"mail [REDACTED]""#), "{a_text}");
        assert!(b_text.contains(r#""note":"mail bob@x.io""#), "{b_text}");
        assert!(b_text.lines().last().unwrap().contains(r#""stage":"stored""#));
    }

    /// Two log layers, the second reloaded with another configuration inside a span: the new layer
    /// takes over what the one it replaced kept for the span (redacted under strict rules), never the
    /// live first layer's (unredacted), and its records leave the first layer's values alone.
    #[test]
    fn a_layer_reloaded_beside_another_takes_over_only_its_predecessors_span_fields() {
        let layer = |cfg: LogConfig| {
            let cap = Cap::default();
            (JsonLogLayer::new(cfg).with_writer(cap.clone()), cap)
        };
        let (open, open_cap) = layer(LogConfig::new("open").with_redactor(None));
        let (strict, strict_cap) = layer(LogConfig::new("strict"));
        let (reloaded, reloaded_cap) = layer(LogConfig::new("reloaded"));
        let (reloadable, handle) = tracing_subscriber::reload::Layer::new(strict);
        let subscriber = tracing_subscriber::registry().with(open).with(reloadable);
        tracing::subscriber::with_default(subscriber, || {
            let _inv = invocation(false).entered();
            let s = tracing::info_span!("price", note = "mail bob@x.io", stage = tracing::field::Empty);
            let _s = s.enter();
            tracing::info!("before the reload");
            handle.reload(reloaded).unwrap();
            tracing::info!("after it");
            s.record("stage", "mail carol@x.io");
            tracing::info!("recorded since");
        });
        let (open, strict, reloaded) = (open_cap.lines(), strict_cap.lines(), reloaded_cap.lines());
        assert_eq!((open.len(), strict.len(), reloaded.len()), (3, 1, 2));
        assert!(open.iter().all(|l| l["note"] == "mail bob@x.io"));
        assert_eq!(open[2]["stage"], "mail carol@x.io");
        assert_eq!(strict[0]["note"], "mail [REDACTED]");
        for l in &reloaded {
            assert_eq!(l["service"], "reloaded");
            assert_eq!(l["note"], "mail [REDACTED]");
            assert_eq!(l["function_request_id"], "req-1");
        }
        assert_eq!(reloaded[1]["stage"], "mail [REDACTED]");
    }

    /// An error is Powertools (TypeScript)'s `error {name, location, message, cause}`: `location` is
    /// the `file:line` of the event that logged it (a Rust error carries none of its own), so on-call
    /// goes from the line to the code; in a span's field, the span's.
    #[test]
    fn errors_are_structured() {
        let mut logged_at = 0;
        let lines = run(LogConfig::new("s"), || {
            let e = Outer(std::io::Error::new(std::io::ErrorKind::NotFound, "no such table"));
            logged_at = line!() + 1;
            tracing::error!(error = &e as &(dyn std::error::Error + 'static), "boom");
            let cause: &(dyn std::error::Error + 'static) = &e;
            let span_at = line!() + 1;
            let _s = tracing::info_span!("valuing", error = cause).entered();
            tracing::warn!(span_at, "inside");
        });
        assert_eq!(
            lines[0]["error"],
            json!({"name": "Outer", "type": "Outer", "location": format!("telemetry/src/logs/layer.rs:{logged_at}"),
                "message": "pricing failed", "cause": {"message": "no such table"}, "causes": ["no such table"]})
        );
        assert_eq!(lines[0]["level"], "ERROR");
        let span_at = lines[1]["span_at"].as_u64().unwrap();
        assert_eq!(
            lines[1]["error"]["location"],
            format!("telemetry/src/logs/layer.rs:{span_at}")
        );
    }

    /// Lines inside spans are written from the span's cached run (`LineRun`): nodes added in front of
    /// the parent's, or merged from the whole scope when a span adds a context key or a name an
    /// enclosing span has, rebuilt after any span records values. Each line is exactly the one
    /// written afresh from the whole scope (the pretty path, minified).
    #[test]
    fn lines_written_from_a_span_run_are_the_ones_written_afresh() {
        let work = || {
            let inv = invocation(true);
            let _inv = inv.enter();
            let outer = tracing::info_span!("outer", card_id = "c-1", stage = tracing::field::Empty);
            let _o = outer.enter();
            tracing::info!("in outer");
            {
                let _e = tracing::info_span!("empty").entered();
                tracing::info!("in a span without fields");
                let inner = tracing::info_span!("inner", source = "ebay", n = 3u64);
                let _i = inner.enter();
                tracing::info!("in inner");
                tracing::info!(extra = true, "with a field of its own");
                tracing::info!(
                    f0 = 0u64,
                    f1 = 1u64,
                    f2 = 2u64,
                    f3 = 3u64,
                    f4 = 4u64,
                    f5 = 5u64,
                    f6 = 6u64,
                    f7 = 7u64,
                    f8 = 8u64,
                    f9 = 9u64,
                    f0 = 10u64,
                    "more fields of its own than the stack list holds, one name twice"
                );
                tracing::info!(card_id = "own", "an own field shadowing the outer span's");
                tracing::info!(function_request_id = "own-req", "an own context key");
                tracing::debug!("a sampled debug line, three spans down");
                outer.record("stage", "pricing");
                tracing::info!("after the outer span recorded a field");
                inner.record("n", 4u64);
                tracing::info!("after the inner span recorded one");
                {
                    let _s = tracing::info_span!("shadow", source = "tcgplayer").entered();
                    tracing::info!("a span shadowing an enclosing one's field");
                }
                {
                    let _c = tracing::info_span!("ctx", correlation_id = "corr-inner", lot = 7u64).entered();
                    tracing::info!("a span adding a context key");
                    let _d = tracing::info_span!("below", depth = 1u64).entered();
                    tracing::info!("and one below it");
                }
                tracing::info!(parent: &outer, "explicitly the outer span's");
            }
            let mut spans = Vec::new();
            // Deeper than a run is made through at once, then a chain longer than a run may be.
            for depth in 0..40u64 {
                spans.push(tracing::info_span!("deep", depth, level_at = depth * 2).entered());
            }
            tracing::info!("forty spans down");
            for depth in 40..80u64 {
                spans.push(tracing::info_span!("deep", depth, level_at = depth * 2).entered());
            }
            tracing::info!("eighty spans down");
            drop(spans);
            tracing::info!("back in outer");
        };
        let cfg = || LogConfig::new("valuation").with_sample_rate(0.5);
        let lines = written_as_afresh(cfg, work, 17);
        assert_eq!(lines[2]["card_id"], "c-1");
        assert_eq!(lines[3]["extra"], true);
        // A name given twice is printed once, with its last value (the collector keeps that one).
        assert_eq!(lines[4]["f0"], 10);
        assert_eq!(lines[4]["f9"], 9);
        let text = run_text(cfg(), work);
        let raw = text.lines().nth(4).unwrap();
        assert_eq!(raw.matches("\"f0\"").count(), 1);
        let l = &lines[5..];
        assert_eq!(l[0]["card_id"], "own");
        assert_eq!(l[1]["function_request_id"], "own-req");
        assert_eq!(l[2]["level"], "DEBUG");
        assert_eq!(l[3]["stage"], "pricing");
        assert_eq!(l[4]["n"], 4);
        assert_eq!(l[5]["source"], "tcgplayer");
        assert_eq!(l[6]["correlation_id"], "corr-inner");
        assert_eq!(l[7]["depth"], 1);
        assert_eq!(l[7]["correlation_id"], "corr-inner");
        assert_eq!(
            l[8].get("source"),
            None,
            "the outer span's line has no inner field"
        );
        assert_eq!(l[9]["depth"], 39);
        assert_eq!(l[9]["level_at"], 78);
        assert_eq!(l[10]["depth"], 79);
        assert_eq!(l[11]["stage"], "pricing");
    }

    #[test]
    fn level_filter_and_sampling() {
        let lines = run(LogConfig::new("s"), || {
            tracing::debug!("hidden");
            let _inv = invocation(true).entered();
            tracing::debug!("sampled in");
            tracing::trace!("still hidden");
        });
        assert_eq!(
            lines.len(),
            0,
            "sample rate 0 means the layer never enables DEBUG callsites"
        );
        let lines = run(LogConfig::new("s").with_sample_rate(0.5), || {
            tracing::debug!("hidden outside a sampled invocation");
            {
                let _inv = invocation(false).entered();
                tracing::debug!("not sampled");
            }
            let _inv = invocation(true).entered();
            tracing::debug!("sampled in");
            tracing::trace!("still hidden");
        });
        let msgs: Vec<_> = lines.iter().map(|l| l["message"].as_str().unwrap()).collect();
        assert_eq!(msgs, ["sampled in"]);
        assert_eq!(lines[0]["sampling_rate"], 0.5);
    }

    /// `AWS_LAMBDA_LOG_LEVEL` wins over debug sampling as over every other setting: a sampled
    /// invocation prints nothing below it (Lambda would drop those lines anyway).
    #[test]
    fn debug_sampling_stays_within_lambdas_log_level() {
        let cfg = |alc: &'static str| {
            LogConfig::from_lookup(move |k| match k {
                "AWS_LAMBDA_LOG_LEVEL" => Some(alc.into()),
                "POWERTOOLS_LOGGER_SAMPLE_RATE" => Some("1".into()),
                _ => None,
            })
        };
        let work = || {
            let _inv = invocation(true).entered();
            tracing::debug!("sampled debug");
            tracing::info!("info");
            tracing::warn!("warn");
        };
        let msgs = |lines: Vec<Value>| -> Vec<String> {
            lines
                .iter()
                .map(|l| l["message"].as_str().unwrap().to_owned())
                .collect()
        };
        assert_eq!(msgs(run(cfg("WARN"), work)), ["warn"]);
        assert_eq!(msgs(run(cfg("INFO"), work)), ["info", "warn"]);
        assert_eq!(msgs(run(cfg("DEBUG"), work)), ["sampled debug", "info", "warn"]);
        assert_eq!(msgs(run(cfg("TRACE"), work)), ["sampled debug", "info", "warn"]);
    }

    /// A field named `_aws` made the log line look like an EMF document to CloudWatch Logs (whose
    /// `_aws` must be an object with `CloudWatchMetrics`): a malformed metrics document, not a log field.
    /// It is reserved like `level` and `message`, in events and in spans.
    #[test]
    fn a_field_named_aws_never_makes_a_line_look_like_an_emf_document() {
        let lines = run(LogConfig::new("s"), || {
            let _span = tracing::info_span!("work", _aws = "{}").entered();
            tracing::info!(_aws = "x", kept = 1, "m");
        });
        assert_eq!(lines.len(), 1);
        assert!(lines[0].get("_aws").is_none(), "{}", lines[0]);
        assert_eq!(lines[0]["kept"], 1);
    }

    #[test]
    fn redaction_in_messages_fields_and_names() {
        let lines = run(LogConfig::new("s"), || {
            tracing::info!(
                password = "hunter2",
                user_email = "a@b.co",
                note = "Authorization: Bearer x",
                n = 1,
                "mail bob@x.io"
            );
        });
        let l = &lines[0];
        assert_eq!(l["password"], "[REDACTED]");
        assert_eq!(l["user_email"], "[REDACTED]");
        assert_eq!(l["note"], "Authorization: [REDACTED]");
        assert_eq!(l["message"], "mail [REDACTED]");
        assert_eq!(l["n"], 1);
        let lines = run(LogConfig::new("s").with_redactor(None), || {
            tracing::info!(password = "hunter2", "x")
        });
        assert_eq!(lines[0]["password"], "hunter2");
    }

    #[test]
    fn span_fields_and_context_keys_are_redacted_when_recorded() {
        let lines = run(LogConfig::new("s"), || {
            let inv = tracing::info_span!(
                "lambda.invocation",
                function_request_id = "req-1",
                correlation_id = "mail bob@x.io",
                api_token = "t-123",
                note = tracing::field::Empty,
                telemetry.debug_sampled = false,
            );
            let _inv = inv.enter();
            inv.record("note", "Authorization: Bearer x");
            let _inner = tracing::info_span!("inner", session_secret = 7u64, card_id = "c-1").entered();
            tracing::info!(password = "p", "one");
            tracing::info!("two");
        });
        assert_eq!(lines.len(), 2);
        for l in &lines {
            assert_eq!(
                l["correlation_id"], "mail [REDACTED]",
                "a context key is scanned: {l}"
            );
            assert_eq!(l["function_request_id"], "req-1");
            assert_eq!(l["api_token"], "[REDACTED]", "denied by name: {l}");
            assert_eq!(
                l["session_secret"], "[REDACTED]",
                "denied by name whatever its type: {l}"
            );
            assert_eq!(l["note"], "Authorization: [REDACTED]", "recorded later: {l}");
            assert_eq!(l["card_id"], "c-1");
        }
        assert_eq!(lines[0]["password"], "[REDACTED]", "the event's own fields too");
        // With redaction off, nothing is touched at record time either.
        let lines = run(LogConfig::new("s").with_redactor(None), || {
            let _s = tracing::info_span!("x", api_token = "t-123").entered();
            tracing::info!("x");
        });
        assert_eq!(lines[0]["api_token"], "t-123");
    }

    #[test]
    fn buffering_flushes_on_error_and_discards_otherwise() {
        let cfg = LogConfig::new("s").with_buffer(BufferConfig::default().with_max_bytes(600));
        let lines = run(cfg.clone(), || {
            tracing::debug!("init debug is never buffered and below level");
            {
                let _inv = invocation(false).entered();
                tracing::debug!("discarded");
                tracing::info!("printed");
            }
            let _inv = invocation(false).entered();
            for i in 0..5 {
                tracing::debug!(i, "held");
            }
            tracing::error!("failed");
        });
        let msgs: Vec<_> = lines
            .iter()
            .map(|l| l["message"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(msgs[0], "printed");
        assert!(msgs[1].contains("dropped"), "{msgs:?}");
        let dropped = lines[1]["buffer_dropped_lines"].as_u64().unwrap();
        let held: Vec<_> = lines.iter().filter(|l| l["message"] == "held").collect();
        assert_eq!(held.len() as u64 + dropped, 5);
        assert_eq!(held.last().unwrap()["i"], 4, "newest kept");
        assert_eq!(msgs.last().unwrap(), "failed");
        assert_eq!(held[0]["level"], "DEBUG");
    }

    #[test]
    fn control_event_flushes_buffer() {
        let cfg = LogConfig::new("s").with_buffer(BufferConfig::default().flush_on_error_log(false));
        let lines = run(cfg, || {
            let _inv = invocation(false).entered();
            tracing::debug!("held");
            tracing::event!(target: "telemetry::control", Level::ERROR, "flush");
        });
        assert_eq!(lines.len(), 1);
        assert_eq!(lines[0]["message"], "held");
        assert_eq!(lines[0]["function_request_id"], "req-1");
    }

    #[test]
    fn pretty_output_is_still_json() {
        let cap = Cap::default();
        let layer = JsonLogLayer::new(LogConfig::new("s").with_pretty(true)).with_writer(cap.clone());
        tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
            tracing::info!(a = 1, "x")
        });
        let text = String::from_utf8(cap.0.lock().unwrap().clone()).unwrap();
        assert!(text.lines().count() > 3);
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["a"], 1);
    }

    #[test]
    fn snapshot_of_a_line() {
        let lines = run(LogConfig::new("valuation"), || {
            let _inv = invocation(false).entered();
            tracing::warn!(card_id = "c-1", latency_ms = 12.5, "slow valuation");
        });
        assert_eq!(lines[0]["latency_ms"], 12.5);
        // Key order must not depend on serde_json's preserve_order, which other crates switch on.
        let mut settings = insta::Settings::clone_current();
        settings.set_sort_maps(true);
        let _sorted = settings.bind_to_scope();
        insta::assert_json_snapshot!(lines[0]);
    }
}

//! One scan is one trace: the api's request span for the capture upload is the root, and the
//! trace context reaches every stage only through the `traceparent` header of the NATS
//! messages (the stage loops run as separate tasks with no span of their own to inherit).
//! Spans are collected with the OpenTelemetry SDK's in-memory exporter.

use std::collections::BTreeSet;
use std::time::Duration;

use opentelemetry::trace::{SpanId, TracerProvider as _};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData};
use recon_tests::{fixtures, TestStack};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

fn attribute(span: &SpanData, key: &str) -> Option<String> {
    span.attributes
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| kv.value.as_str().into_owned())
}

#[tokio::test]
async fn a_scan_is_one_trace_from_upload_to_render_through_nats_headers() {
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(exporter.clone())
        .build();
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    tracing_subscriber::registry()
        .with(tracing_subscriber::filter::LevelFilter::INFO)
        .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")))
        .init();

    let stack = TestStack::start().await;
    let scan_id = stack.run_scan(&fixtures::shop_capture()).await;
    stack
        .wait_for_terminal(scan_id, Duration::from_secs(60))
        .await;
    stack.stop().await;
    provider.force_flush().expect("flush spans");
    let spans = exporter.get_finished_spans().expect("finished spans");

    let upload = spans
        .iter()
        .find(|span| {
            span.name == "request"
                && attribute(span, "uri")
                    .is_some_and(|uri| uri == format!("/scans/{scan_id}/capture"))
        })
        .expect("the api's span for the capture upload");
    let trace_id = upload.span_context.trace_id();

    let scan = scan_id.to_string();
    let stage_spans: Vec<&SpanData> = spans
        .iter()
        .filter(|span| span.name == "stage" && attribute(span, "scan_id").as_deref() == Some(&scan))
        .collect();
    let steps: BTreeSet<String> = stage_spans
        .iter()
        .filter_map(|span| attribute(span, "step"))
        .collect();
    let expected: BTreeSet<String> = recon_tests::steps()
        .iter()
        .map(|s| s.as_str().to_owned())
        .collect();
    assert_eq!(steps, expected, "a stage span for every step");
    for span in &stage_spans {
        assert_eq!(
            span.span_context.trace_id(),
            trace_id,
            "stage {:?} is in another trace",
            attribute(span, "step")
        );
        assert_ne!(
            span.parent_span_id,
            SpanId::INVALID,
            "a stage span is a root"
        );
    }
    // Detection's parent is the upload request itself: the context crossed NATS intact.
    let detection = stage_spans
        .iter()
        .find(|span| attribute(span, "step").as_deref() == Some("detection"))
        .expect("detection span");
    assert_eq!(detection.parent_span_id, upload.span_context.span_id());
}

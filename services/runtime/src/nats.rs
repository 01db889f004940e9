//! NATS JetStream: the two streams, the durable consumers, and confirmed, de-duplicated publishes.

use std::time::Duration;

use async_nats::jetstream::{self, consumer, stream};
use recon_contracts::{encode_message, names, StageMessage, StepEvent};
use uuid::Uuid;

use crate::config::PipelineSettings;

#[derive(Debug, thiserror::Error)]
pub enum BusError {
    #[error("cannot connect to NATS at {url}: {source}")]
    Connect {
        url: String,
        source: async_nats::ConnectError,
    },
    #[error("JetStream {action} failed: {message}")]
    JetStream {
        action: &'static str,
        message: String,
    },
    #[error("could not encode message: {0}")]
    Encode(#[from] recon_contracts::MessageError),
}

fn js_error(action: &'static str) -> impl FnOnce(String) -> BusError {
    move |message| BusError::JetStream { action, message }
}

/// A NATS connection and its JetStream context.
#[derive(Clone, Debug)]
pub struct Bus {
    pub client: async_nats::Client,
    pub jetstream: jetstream::Context,
}

pub type PullConsumer = consumer::Consumer<consumer::pull::Config>;

impl Bus {
    /// Connects, retrying in the background when NATS is not up yet.
    pub async fn connect(url: &str) -> Result<Bus, BusError> {
        let client = async_nats::ConnectOptions::new()
            .name("recon-server")
            .retry_on_initial_connect()
            .connect(url)
            .await
            .map_err(|source| BusError::Connect {
                url: url.to_owned(),
                source,
            })?;
        let jetstream = jetstream::new(client.clone());
        Ok(Bus { client, jetstream })
    }

    pub fn is_connected(&self) -> bool {
        self.client.connection_state() == async_nats::connection::State::Connected
    }

    /// Messages a durable consumer has not delivered yet plus those delivered but unacknowledged.
    pub async fn consumer_lag(&self, stream: &str, consumer: &str) -> Result<u64, BusError> {
        let describe = |err: String| js_error("reading consumer info")(err);
        let stream = self
            .jetstream
            .get_stream(stream)
            .await
            .map_err(|err| describe(err.to_string()))?;
        let info = stream
            .consumer_info(consumer)
            .await
            .map_err(|err| describe(err.to_string()))?;
        Ok(info.num_pending + info.num_ack_pending as u64)
    }

    /// Creates the streams if missing. Safe to call from every role and replica.
    pub async fn ensure_streams(&self) -> Result<(), BusError> {
        self.jetstream
            .get_or_create_stream(stream::Config {
                name: names::SCANS_STREAM.to_owned(),
                subjects: vec![names::SCANS_SUBJECTS.to_owned()],
                retention: stream::RetentionPolicy::WorkQueue,
                storage: stream::StorageType::File,
                max_age: Duration::from_secs(24 * 3600),
                duplicate_window: Duration::from_secs(120),
                ..Default::default()
            })
            .await
            .map_err(|err| js_error("creating stream SCANS")(err.to_string()))?;
        self.jetstream
            .get_or_create_stream(stream::Config {
                name: names::SCAN_EVENTS_STREAM.to_owned(),
                subjects: vec![names::SCAN_EVENTS_SUBJECTS.to_owned()],
                retention: stream::RetentionPolicy::Limits,
                storage: stream::StorageType::File,
                max_age: Duration::from_secs(7 * 24 * 3600),
                duplicate_window: Duration::from_secs(120),
                ..Default::default()
            })
            .await
            .map_err(|err| js_error("creating stream SCAN_EVENTS")(err.to_string()))?;
        Ok(())
    }

    /// The durable pull consumer shared by every replica of a stage, named after the stage and
    /// filtering on the subject it consumes.
    pub async fn stage_consumer(
        &self,
        name: &str,
        consumes: &str,
        settings: &PipelineSettings,
    ) -> Result<PullConsumer, BusError> {
        self.durable_consumer(
            names::SCANS_STREAM,
            consumer::pull::Config {
                durable_name: Some(name.to_owned()),
                filter_subject: consumes.to_owned(),
                ack_policy: consumer::AckPolicy::Explicit,
                ack_wait: settings.ack_wait,
                max_deliver: settings.max_deliver,
                ..Default::default()
            },
        )
        .await
    }

    /// The recorder's consumer. One event in flight across all recorders: the next event is
    /// delivered only after the previous one is stored, so cursors follow publication order.
    pub async fn events_consumer(
        &self,
        settings: &PipelineSettings,
    ) -> Result<PullConsumer, BusError> {
        self.durable_consumer(
            names::SCAN_EVENTS_STREAM,
            consumer::pull::Config {
                durable_name: Some(names::EVENTS_CONSUMER.to_owned()),
                filter_subject: names::SCAN_EVENTS_SUBJECTS.to_owned(),
                ack_policy: consumer::AckPolicy::Explicit,
                ack_wait: settings.ack_wait,
                max_ack_pending: 1,
                ..Default::default()
            },
        )
        .await
    }

    async fn durable_consumer(
        &self,
        stream_name: &str,
        config: consumer::pull::Config,
    ) -> Result<PullConsumer, BusError> {
        let name = config.durable_name.clone().unwrap_or_default();
        let stream = self
            .jetstream
            .get_stream(stream_name)
            .await
            .map_err(|err| js_error("looking up stream")(err.to_string()))?;
        stream
            .get_or_create_consumer(&name, config)
            .await
            .map_err(|err| js_error("creating consumer")(err.to_string()))
    }

    /// Publishes the message that hands a scan to the next stage, confirmed by the server.
    /// The `Nats-Msg-Id` makes a repeated publish (after a redelivery) a no-op.
    pub async fn publish_stage(&self, scan_id: Uuid, subject: &str) -> Result<(), BusError> {
        let payload = encode_message(&StageMessage { scan_id })?;
        self.publish(
            subject.to_owned(),
            names::pipeline_message_id(scan_id, subject),
            payload,
        )
        .await
    }

    pub async fn publish_event(&self, event: &StepEvent) -> Result<(), BusError> {
        let payload = encode_message(event)?;
        self.publish(
            names::events_subject(event.scan_id),
            event.message_id(),
            payload,
        )
        .await
    }

    async fn publish(
        &self,
        subject: String,
        message_id: String,
        payload: Vec<u8>,
    ) -> Result<(), BusError> {
        let mut headers = async_nats::HeaderMap::new();
        headers.insert("Nats-Msg-Id", message_id.as_str());
        crate::trace_context::inject_current(&mut headers);
        self.jetstream
            .publish_with_headers(subject, headers, payload.into())
            .await
            .map_err(|err| js_error("publish")(err.to_string()))?
            .await
            .map_err(|err| js_error("publish acknowledgement")(err.to_string()))?;
        Ok(())
    }
}

impl From<BusError> for crate::StageError {
    fn from(err: BusError) -> Self {
        match err {
            BusError::Encode(_) => crate::StageError::permanent_from(err.to_string(), err),
            _ => crate::StageError::transient_from(err.to_string(), err),
        }
    }
}

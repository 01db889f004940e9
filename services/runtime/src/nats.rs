//! NATS JetStream: the two streams, the durable consumers, and confirmed, de-duplicated publishes.
//! `NATS_URL` may name every server of a cluster; the streams and their consumers get
//! `RECON_NATS_REPLICAS` replicas, also when they already exist with another count.
//! `SCAN_EVENTS` maps each scan onto one of `RECON_EVENT_PARTITIONS` partitions (a subject
//! transform), each with its own recorder consumer (`recon_events` explains the layout change).

use std::time::Duration;

use async_nats::jetstream::{self, consumer, stream};
use futures::TryStreamExt;
use recon_contracts::{encode_message, names, StageMessage, StepEvent};
use uuid::Uuid;

use crate::config::PipelineSettings;

#[derive(Debug, thiserror::Error)]
pub enum BusError {
    #[error("NATS_URL {url:?}: {problem}")]
    Address { url: String, problem: String },
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
    #[error(
        "JetStream refused {replicas} replicas for {what}: {message} (RECON_NATS_REPLICAS must \
         not exceed the JetStream servers of the cluster; a single server takes only 1)"
    )]
    Replicas {
        what: String,
        replicas: usize,
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

/// The servers of a `NATS_URL`: one URL, or several separated by commas (the client connects
/// to any of them and fails over to the others).
pub fn server_addresses(urls: &str) -> Result<Vec<async_nats::ServerAddr>, String> {
    urls.split(',')
        .map(str::trim)
        .map(|url| {
            if url.is_empty() {
                return Err("an empty entry; expected URLs separated by commas, like \
                            nats://nats-0:4222,nats://nats-1:4222"
                    .to_owned());
            }
            url.parse::<async_nats::ServerAddr>()
                .map_err(|err| format!("{url:?} is not a NATS server URL: {err}"))
        })
        .collect()
}

impl Bus {
    /// Connects to any of the servers in `urls` (see [`server_addresses`]), retrying in the
    /// background when none is up yet.
    pub async fn connect(urls: &str) -> Result<Bus, BusError> {
        let servers = server_addresses(urls).map_err(|problem| BusError::Address {
            url: urls.to_owned(),
            problem,
        })?;
        let client = async_nats::ConnectOptions::new()
            .name("recon-server")
            .retry_on_initial_connect()
            .connect(servers)
            .await
            .map_err(|source| BusError::Connect {
                url: urls.to_owned(),
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

    /// Creates the streams if missing, with `settings.replicas` replicas and `SCAN_EVENTS` split
    /// into `settings.event_partitions` partitions, each with its recorder consumer; an existing
    /// stream with another count or layout is updated to them. Safe to call from every role and
    /// replica.
    pub async fn ensure_streams(&self, settings: &PipelineSettings) -> Result<(), BusError> {
        let replicas = settings.replicas;
        let (source, destination) = names::events_subject_transform(settings.event_partitions);
        let layout = Some(stream::SubjectTransform {
            source,
            destination,
        });
        self.ensure_stream(stream::Config {
            name: names::SCANS_STREAM.to_owned(),
            subjects: vec![names::SCANS_SUBJECTS.to_owned()],
            retention: stream::RetentionPolicy::WorkQueue,
            storage: stream::StorageType::File,
            max_age: Duration::from_secs(24 * 3600),
            duplicate_window: Duration::from_secs(120),
            num_replicas: replicas,
            ..Default::default()
        })
        .await?;
        let existing = self
            .ensure_stream(stream::Config {
                name: names::SCAN_EVENTS_STREAM.to_owned(),
                subjects: vec![names::SCAN_EVENTS_SUBJECTS.to_owned()],
                retention: stream::RetentionPolicy::Limits,
                storage: stream::StorageType::File,
                max_age: Duration::from_secs(7 * 24 * 3600),
                duplicate_window: Duration::from_secs(120),
                num_replicas: replicas,
                subject_transform: layout.clone(),
                ..Default::default()
            })
            .await?;
        // The layout's consumers exist before its subjects receive anything: whichever role
        // switches the layout, every event stored under it has a consumer to deliver it.
        for partition in 0..settings.event_partitions {
            self.event_partition_consumer(settings, partition).await?;
        }
        if existing.subject_transform != layout {
            // Only the layout changes: whatever else an operator tuned stays.
            let mapped = stream::Config {
                subject_transform: layout,
                ..existing
            };
            self.jetstream.update_stream(&mapped).await.map_err(|err| {
                js_error("changing the events layout")(format!("{}: {err}", mapped.name))
            })?;
            tracing::info!(
                partitions = settings.event_partitions,
                "SCAN_EVENTS now stores events in a new layout of partitions"
            );
        }
        Ok(())
    }

    /// The stream `wanted` names, created if missing; an existing one is scaled to its replica
    /// count and otherwise left as it is. Returns the stream's configuration now.
    async fn ensure_stream(&self, wanted: stream::Config) -> Result<stream::Config, BusError> {
        let replicas = wanted.num_replicas;
        let refused = |message: String| BusError::Replicas {
            what: format!("stream {}", wanted.name),
            replicas,
            message,
        };
        let mut stream = self
            .jetstream
            .get_or_create_stream(wanted.clone())
            .await
            .map_err(|err| match err.kind() {
                jetstream::context::CreateStreamErrorKind::JetStream(_) if replicas > 1 => {
                    refused(err.to_string())
                }
                _ => js_error("creating a stream")(format!("{}: {err}", wanted.name)),
            })?;
        let mut existing = stream.cached_info().config.clone();
        if existing.num_replicas != replicas {
            // Only the replica count changes: whatever else an operator tuned stays.
            existing.num_replicas = replicas;
            self.jetstream
                .update_stream(&existing)
                .await
                .map_err(|err| refused(err.to_string()))?;
            tracing::info!(stream = %existing.name, replicas, "stream replicas changed");
        }
        if replicas > 1 {
            // Consumers cannot be placed on a stream whose new peers have not caught up yet
            // (JetStream answers "insufficient resources").
            wait_until_replicated(&mut stream, replicas)
                .await
                .map_err(refused)?;
        }
        Ok(existing)
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
                num_replicas: settings.replicas,
                ..Default::default()
            },
        )
        .await
    }

    /// The recorders' consumer of one partition of the current layout. One event of the
    /// partition in flight across all recorders: the next is delivered only after the previous
    /// one is stored, so a scan's cursors follow its publication order.
    pub async fn event_partition_consumer(
        &self,
        settings: &PipelineSettings,
        partition: u16,
    ) -> Result<PullConsumer, BusError> {
        let partitions = settings.event_partitions;
        self.durable_consumer(
            names::SCAN_EVENTS_STREAM,
            consumer::pull::Config {
                durable_name: Some(names::events_partition_consumer(partitions, partition)),
                filter_subject: names::events_partition_filter(partitions, partition),
                ack_policy: consumer::AckPolicy::Explicit,
                ack_wait: settings.ack_wait,
                max_ack_pending: 1,
                num_replicas: settings.replicas,
                ..Default::default()
            },
        )
        .await
    }

    /// Recorder consumers on `SCAN_EVENTS` that belong to no current partition: the single
    /// consumer of the unpartitioned layout, and those of a layout of another size.
    pub async fn stale_event_consumers(
        &self,
        event_partitions: u16,
    ) -> Result<Vec<PullConsumer>, BusError> {
        let describe = |err: String| js_error("listing the events consumers")(err);
        let stream = self
            .jetstream
            .get_stream(names::SCAN_EVENTS_STREAM)
            .await
            .map_err(|err| describe(err.to_string()))?;
        let listed: Vec<String> = stream
            .consumer_names()
            .try_collect()
            .await
            .map_err(|err| describe(err.to_string()))?;
        let mut stale = Vec::new();
        for name in listed {
            let is_stale = name == names::LEGACY_EVENTS_CONSUMER
                || names::parse_events_partition_consumer(&name)
                    .is_some_and(|(partitions, _)| partitions != event_partitions);
            if !is_stale {
                continue;
            }
            match stream.consumer_info(&name).await {
                Ok(_) => {}
                // Another recorder finished draining it and deleted it meanwhile.
                Err(err) if err.kind() == jetstream::context::ConsumerInfoErrorKind::NotFound => {
                    continue
                }
                Err(err) => return Err(describe(format!("{name}: {err}"))),
            }
            let consumer = stream
                .get_consumer::<consumer::pull::Config>(&name)
                .await
                .map_err(|err| describe(format!("{name}: {err}")))?;
            stale.push(consumer);
        }
        Ok(stale)
    }

    /// Stream sequence of the first `SCAN_EVENTS` message at or after `from` on a subject
    /// matching `filter`; `None` when there is none.
    pub async fn next_event_sequence(
        &self,
        filter: &str,
        from: u64,
    ) -> Result<Option<u64>, BusError> {
        let describe = |err: String| js_error("looking up a stored event")(err);
        let stream = self
            .jetstream
            .get_stream_no_info(names::SCAN_EVENTS_STREAM)
            .await
            .map_err(|err| describe(err.to_string()))?;
        match stream
            .raw_message_builder()
            .sequence(from)
            .next_by_subject(filter)
            .send()
            .await
        {
            Ok(message) => Ok(Some(message.sequence)),
            Err(err) if err.kind() == stream::LastRawMessageErrorKind::NoMessageFound => Ok(None),
            Err(err) => Err(describe(format!("{filter} from {from}: {err}"))),
        }
    }

    /// Deletes a drained consumer of `SCAN_EVENTS`; one already gone is fine.
    pub async fn delete_event_consumer(&self, name: &str) -> Result<(), BusError> {
        let describe = |err: String| js_error("deleting an events consumer")(err);
        let stream = self
            .jetstream
            .get_stream(names::SCAN_EVENTS_STREAM)
            .await
            .map_err(|err| describe(err.to_string()))?;
        match stream.delete_consumer(name).await {
            Ok(_) => Ok(()),
            Err(err) => match err.kind() {
                stream::ConsumerErrorKind::JetStream(code)
                    if code.error_code() == jetstream::ErrorCode::CONSUMER_NOT_FOUND =>
                {
                    Ok(())
                }
                _ => Err(describe(format!("{name}: {err}"))),
            },
        }
    }

    /// The durable consumer `config` names, created if missing; an existing one whose replica
    /// count differs is updated to `config`.
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
        let replicas = config.num_replicas;
        // A stream created a moment ago on a cluster may not take consumers yet.
        let deadline = tokio::time::Instant::now() + CONSUMER_CREATE_TIMEOUT;
        let consumer = loop {
            match stream.get_or_create_consumer(&name, config.clone()).await {
                Ok(consumer) => break consumer,
                Err(err) if tokio::time::Instant::now() < deadline => {
                    tracing::debug!(consumer = %name, error = %err, "consumer not created yet; retrying");
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
                Err(err) => {
                    return Err(js_error("creating consumer")(format!("{name}: {err}")));
                }
            }
        };
        // The server reports 0 for a consumer that follows its stream's count.
        let existing = match consumer.cached_info().config.num_replicas {
            0 => stream.cached_info().config.num_replicas,
            count => count,
        };
        if existing == replicas {
            return Ok(consumer);
        }
        let updated = stream
            .update_consumer(config)
            .await
            .map_err(|err| BusError::Replicas {
                what: format!("consumer {name}"),
                replicas,
                message: err.to_string(),
            })?;
        tracing::info!(consumer = %name, replicas, "consumer replicas changed");
        Ok(updated)
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

/// How long creating a consumer is retried at start-up.
const CONSUMER_CREATE_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a stream's replicas may take to catch up with its leader at start-up.
const REPLICATION_TIMEOUT: Duration = Duration::from_secs(60);

/// Waits until `stream` has a leader and `replicas - 1` current followers.
async fn wait_until_replicated(
    stream: &mut jetstream::stream::Stream,
    replicas: usize,
) -> Result<(), String> {
    let deadline = tokio::time::Instant::now() + REPLICATION_TIMEOUT;
    loop {
        let seen = match stream.info().await {
            Ok(info) => match &info.cluster {
                Some(cluster) if cluster.leader.is_some() => {
                    let current = cluster.replicas.iter().filter(|peer| peer.current).count();
                    if current + 1 >= replicas {
                        return Ok(());
                    }
                    format!("{} of {replicas} replicas current", current + 1)
                }
                _ => "no leader".to_owned(),
            },
            Err(err) => err.to_string(),
        };
        if tokio::time::Instant::now() >= deadline {
            return Err(format!(
                "not replicated within {REPLICATION_TIMEOUT:?} ({seen})"
            ));
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
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

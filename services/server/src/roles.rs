//! The role table and the start-up of a set of roles.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{bail, Context};
use recon_contracts::Step;
use recon_runtime::quota::validation::ValidationQuota;
use recon_runtime::stage::{run_stage, Deps};
use recon_runtime::{blob, db, nats::Bus, secrets, ServerConfig, Stage};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// The events recorder.
    Events,
    /// One pipeline stage, named after its step.
    Stage(Step),
    Api,
}

impl Role {
    /// Every role, in start-up order: the recorder first, the api last.
    pub fn all() -> Vec<Role> {
        std::iter::once(Role::Events)
            .chain(Step::ALL.map(Role::Stage))
            .chain(std::iter::once(Role::Api))
            .collect()
    }

    /// The role's `--target` name.
    pub fn name(self) -> &'static str {
        match self {
            Role::Events => "events",
            Role::Stage(step) => step.as_str(),
            Role::Api => "api",
        }
    }
}

/// Parses `all` or a comma list such as `api,events`.
pub fn parse_targets(text: &str) -> anyhow::Result<Vec<Role>> {
    let mut roles = Vec::new();
    for name in text
        .split(',')
        .map(str::trim)
        .filter(|name| !name.is_empty())
    {
        if name == "all" {
            roles.extend(Role::all());
            continue;
        }
        match Role::all().into_iter().find(|role| role.name() == name) {
            Some(role) => roles.push(role),
            None => {
                let known: Vec<&str> = Role::all().into_iter().map(Role::name).collect();
                bail!(
                    "unknown target {name:?}; expected all or one of {}",
                    known.join(", ")
                );
            }
        }
    }
    if roles.is_empty() {
        bail!("--target is empty; expected all or one of the roles");
    }
    let mut unique = Vec::new();
    for role in roles {
        if !unique.contains(&role) {
            unique.push(role);
        }
    }
    Ok(unique)
}

/// Roles running in the background.
pub struct RunningServer {
    /// Where the api listens, when the api role runs.
    pub api_address: Option<SocketAddr>,
    /// Where /healthz, /readyz and /metrics are served, when RECON_OPS_LISTEN is set.
    pub ops_address: Option<SocketAddr>,
    /// Flushed on SIGHUP so rotated proxy secrets are read again.
    pub secrets: Arc<dyn recon_runtime::secrets::SecretsStore>,
    pub tasks: JoinSet<anyhow::Result<()>>,
}

impl RunningServer {
    /// Waits for every role to stop; the first failure is returned.
    pub async fn wait(mut self) -> anyhow::Result<()> {
        let mut first_error = None;
        while let Some(joined) = self.tasks.join_next().await {
            let outcome = joined.context("a role panicked").and_then(|result| result);
            if let Err(err) = outcome {
                tracing::error!(error = %format!("{err:#}"), "role failed");
                first_error.get_or_insert(err);
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}

/// Opens what the roles need and starts them. Returns once the api (if any) is bound.
pub async fn start(
    config: &ServerConfig,
    roles: &[Role],
    shutdown: CancellationToken,
) -> anyhow::Result<RunningServer> {
    let deps = open_deps(config).await?;
    let secrets = Arc::clone(&deps.secrets);
    let mut tasks = JoinSet::new();
    let mut api_address = None;
    for role in roles {
        let deps = deps.clone();
        let shutdown = shutdown.clone();
        match role {
            Role::Api => {
                let settings = recon_api::ApiSettings {
                    listen: config.listen,
                    public_url: config.public_url.clone(),
                    versions: config.versions.clone(),
                    http: config.http.clone(),
                    websockets: config.websockets.clone(),
                };
                let app = recon_api::Application::build(settings, deps)
                    .await
                    .with_context(|| format!("cannot listen on {}", config.listen))?;
                api_address = Some(app.address());
                tasks.spawn(async move { Ok(app.run(shutdown).await?) });
            }
            Role::Events => {
                tasks.spawn(async move { Ok(recon_events::run_recorder(deps, shutdown).await?) });
            }
            Role::Stage(Step::Detection) => {
                spawn_stage(&mut tasks, deps, recon_detection::DetectionStage, shutdown)
            }
            Role::Stage(Step::Analysis) => {
                spawn_stage(&mut tasks, deps, recon_analysis::AnalysisStage, shutdown)
            }
            Role::Stage(Step::IntentFilter) => {
                spawn_stage(&mut tasks, deps, recon_intent::IntentStage, shutdown)
            }
            // The account's daily validation quota is reserved around each run.
            Role::Stage(Step::Validation) => spawn_stage(
                &mut tasks,
                deps,
                ValidationQuota(recon_validation::ValidationStage),
                shutdown,
            ),
            Role::Stage(Step::Scrub) => {
                // The scrub role also deletes raw captures once their scan has ended.
                tasks.spawn(with_context(
                    "raw-capture retention",
                    recon_scrub::retention::run(deps.clone(), shutdown.clone()),
                ));
                spawn_stage(&mut tasks, deps, recon_scrub::ScrubStage, shutdown)
            }
            Role::Stage(Step::Synthesis) => {
                spawn_stage(&mut tasks, deps, recon_synthesis::SynthesisStage, shutdown)
            }
            Role::Stage(Step::Render) => {
                spawn_stage(&mut tasks, deps, recon_render::RenderStage, shutdown)
            }
        }
    }
    let mut ops_address = None;
    if let Some(listen) = config.ops_listen {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("cannot listen on {listen} (RECON_OPS_LISTEN)"))?;
        ops_address = Some(listener.local_addr()?);
        let (deps, http, shutdown) = (deps.clone(), config.http.clone(), shutdown.clone());
        tasks.spawn(
            async move { Ok(recon_api::ops::serve_ops(listener, deps, http, shutdown).await?) },
        );
    }
    if roles.contains(&Role::Api) {
        let (deps, shutdown) = (deps.clone(), shutdown.clone());
        tasks.spawn(async move {
            crate::housekeeping::run_sweeper(deps, shutdown).await;
            Ok(())
        });
    }
    let (lag_deps, lag_roles, lag_shutdown) = (deps.clone(), roles.to_vec(), shutdown.clone());
    tasks.spawn(async move {
        crate::housekeeping::run_lag_sampler(lag_deps, lag_roles, lag_shutdown).await;
        Ok(())
    });
    Ok(RunningServer {
        api_address,
        ops_address,
        secrets,
        tasks,
    })
}

/// Starts one stage's consumer loop; public so tests can run a wrapped stage.
pub fn spawn_stage<S: Stage>(
    tasks: &mut JoinSet<anyhow::Result<()>>,
    deps: Deps,
    stage: S,
    shutdown: CancellationToken,
) {
    tasks.spawn(with_context(
        S::STEP.as_str(),
        run_stage(deps, stage, shutdown),
    ));
}

async fn with_context<E: std::error::Error + Send + Sync + 'static>(
    role: &'static str,
    work: impl Future<Output = Result<(), E>>,
) -> anyhow::Result<()> {
    work.await.with_context(|| format!("role {role}"))
}

/// Connects to Postgres, NATS, the blob store and the secrets store.
pub async fn open_deps(config: &ServerConfig) -> anyhow::Result<Deps> {
    let db =
        db::connect(&config.database_url).context("DATABASE_URL is not a valid Postgres URL")?;
    let bus = Bus::connect(&config.nats_url).await?;
    bus.ensure_streams(config.pipeline.replicas).await?;
    let blob = blob::open_blob_store(&config.blob_url)
        .await
        .context("cannot open the blob store (RECON_BLOB_URL)")?;
    let secrets = secrets::open_secrets_store(&config.secrets_url, config.secrets_ttl)
        .await
        .context("cannot open the secrets store (RECON_SECRETS_URL)")?;
    Ok(Deps {
        db,
        bus,
        blob,
        secrets,
        pipeline: config.pipeline.clone(),
        limits: config.limits.clone(),
        validation: config.validation.clone(),
        retention: config.retention.clone(),
        quotas: config.quotas.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_parse_all_and_lists() {
        assert_eq!(parse_targets("all").unwrap(), Role::all());
        assert_eq!(Role::all().len(), 9);
        assert_eq!(
            parse_targets("intent_filter").unwrap(),
            vec![Role::Stage(Step::IntentFilter)]
        );
        assert_eq!(
            parse_targets("api,events").unwrap(),
            vec![Role::Api, Role::Events]
        );
        assert_eq!(parse_targets("api, api").unwrap(), vec![Role::Api]);
        let err = parse_targets("api,nope").unwrap_err().to_string();
        assert!(err.contains("unknown target \"nope\""), "{err}");
        assert!(parse_targets(" , ").is_err());
    }
}

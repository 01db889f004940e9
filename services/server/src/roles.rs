//! The role table and the start-up of a set of roles. A role is the events recorder, the api,
//! or one stage of the pipeline registry; each declares what it needs, and a process opens only
//! the union of what its roles need. `--target` takes role names, `all` (every role), `pipeline`
//! (every stage, without api and events) or a comma list of any of these.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{bail, Context};
use recon_runtime::stage::Deps;
use recon_runtime::{open_deps, Needs, ServerConfig, Stage};
use tokio_util::sync::CancellationToken;

use crate::pipeline::{with_context, Pipeline, Tasks};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// The events recorder.
    Events,
    /// One pipeline stage, named as in the registry.
    Stage(&'static str),
    Api,
}

/// Target groups besides single roles (the Loki/Mimir `-target` groups).
const ALL: &str = "all";
const PIPELINE: &str = "pipeline";

impl Role {
    /// Every role of `pipeline`, in start-up order: the recorder first, the api last.
    pub fn all_of(pipeline: &Pipeline) -> Vec<Role> {
        std::iter::once(Role::Events)
            .chain(pipeline.stages().map(|stage| Role::Stage(stage.name())))
            .chain(std::iter::once(Role::Api))
            .collect()
    }

    /// Every role of the standard pipeline.
    pub fn all() -> Vec<Role> {
        Role::all_of(&Pipeline::standard())
    }

    /// The role's `--target` name.
    pub fn name(self) -> &'static str {
        match self {
            Role::Events => "events",
            Role::Stage(name) => name,
            Role::Api => "api",
        }
    }

    /// What the role uses: the recorder only Postgres and NATS, the api also the blob store
    /// (uploads), stages what the registry says (validation alone reads the secrets).
    pub fn needs(self, pipeline: &Pipeline) -> Needs {
        match self {
            Role::Events => Needs::DATABASE_AND_NATS,
            Role::Api => Needs::DATABASE_AND_NATS.and_blob(),
            Role::Stage(name) => pipeline
                .get(name)
                .map_or(Needs::DATABASE_AND_NATS, |stage| stage.needs()),
        }
    }
}

/// Parses `all`, `pipeline` or a comma list such as `api,events` for the standard pipeline.
pub fn parse_targets(text: &str) -> anyhow::Result<Vec<Role>> {
    parse_targets_of(&Pipeline::standard(), text)
}

/// Parses a `--target` value against `pipeline`'s roles.
pub fn parse_targets_of(pipeline: &Pipeline, text: &str) -> anyhow::Result<Vec<Role>> {
    let every = Role::all_of(pipeline);
    let mut roles = Vec::new();
    for name in text
        .split(',')
        .map(str::trim)
        .filter(|name| !name.is_empty())
    {
        match name {
            ALL => roles.extend(every.iter().copied()),
            PIPELINE => roles.extend(
                every
                    .iter()
                    .copied()
                    .filter(|r| matches!(r, Role::Stage(_))),
            ),
            _ => match every.iter().find(|role| role.name() == name) {
                Some(role) => roles.push(*role),
                None => {
                    let known: Vec<&str> = every.iter().map(|role| role.name()).collect();
                    bail!(
                        "unknown target {name:?}; expected {ALL}, {PIPELINE} or one of {}",
                        known.join(", ")
                    );
                }
            },
        }
    }
    if roles.is_empty() {
        bail!("--target is empty; expected {ALL}, {PIPELINE} or one of the roles");
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
    /// Flushed on SIGHUP so rotated proxy secrets are read again (when a role reads them).
    pub secrets: Option<Arc<dyn recon_runtime::secrets::SecretsStore>>,
    pub tasks: Tasks,
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

/// Opens what the roles of the standard pipeline need and starts them.
pub async fn start(
    config: &ServerConfig,
    roles: &[Role],
    shutdown: CancellationToken,
) -> anyhow::Result<RunningServer> {
    start_pipeline(config, Arc::new(Pipeline::standard()), roles, shutdown).await
}

/// Opens what `roles` need and starts them on `pipeline`. Returns once the api (if any) is bound.
pub async fn start_pipeline(
    config: &ServerConfig,
    pipeline: Arc<Pipeline>,
    roles: &[Role],
    shutdown: CancellationToken,
) -> anyhow::Result<RunningServer> {
    let needs = roles.iter().fold(Needs::default(), |needs, role| {
        needs.union(role.needs(&pipeline))
    });
    let deps = open_deps(config, needs).await?;
    let secrets = deps.secrets.clone();
    let mut tasks = Tasks::new();
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
                    steps: pipeline.steps(),
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
            Role::Stage(name) => pipeline.launch(name, &mut tasks, deps, shutdown)?,
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
        let (deps, steps, shutdown) = (deps.clone(), pipeline.steps(), shutdown.clone());
        tasks.spawn(async move {
            crate::housekeeping::run_sweeper(deps, steps, shutdown).await;
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

/// Starts one stage's consumer loop at its place in the standard pipeline; public so tests can
/// run a wrapped stage beside the other roles.
pub fn spawn_stage<S: Stage>(tasks: &mut Tasks, deps: Deps, stage: S, shutdown: CancellationToken) {
    let place = Pipeline::standard()
        .place_of(S::STEP)
        .unwrap_or_else(|err| panic!("spawn_stage: {err}"));
    tasks.spawn(with_context(
        S::STEP,
        recon_runtime::stage::run_stage(deps, stage, place, shutdown),
    ));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_parse_groups_and_lists() {
        assert_eq!(parse_targets("all").unwrap(), Role::all());
        assert_eq!(Role::all().len(), Pipeline::standard().stages().count() + 2);
        let stages = parse_targets("pipeline").unwrap();
        assert_eq!(stages.len(), Pipeline::standard().stages().count());
        assert!(!stages.contains(&Role::Api) && !stages.contains(&Role::Events));
        assert_eq!(
            parse_targets("intent_filter").unwrap(),
            vec![Role::Stage("intent_filter")]
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

    #[test]
    fn roles_open_only_what_they_need() {
        let pipeline = Pipeline::standard();
        let events = Role::Events.needs(&pipeline);
        assert!(events.database && events.nats && !events.blob && !events.secrets);
        let api = Role::Api.needs(&pipeline);
        assert!(api.blob && !api.secrets);
        assert!(Role::Stage("validation").needs(&pipeline).secrets);
        assert!(!Role::Stage("detection").needs(&pipeline).secrets);
    }
}

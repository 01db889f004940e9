//! A JetStream cluster of throwaway `nats-server` processes on loopback: each node on free
//! client, route and monitoring ports with a store of its own, routed to every other node. A
//! node can be SIGKILLed and started again on the same ports and store, as a crashed pod comes
//! back with its volume; every node is killed and reaped on drop.

use std::process::Stdio;
use std::time::{Duration, Instant};

use tempfile::TempDir;
use tokio::process::{Child, Command};

const CLUSTER_NAME: &str = "recon-test";

/// How long a node, or the whole cluster, may take to report JetStream healthy.
const READY_TIMEOUT: Duration = Duration::from_secs(60);

pub struct NatsCluster {
    nodes: Vec<Node>,
    http: reqwest::Client,
}

struct Node {
    name: String,
    client_port: u16,
    route_port: u16,
    monitor_port: u16,
    store: TempDir,
    /// `None` while the node is killed.
    child: Option<Child>,
}

impl NatsCluster {
    /// Starts `size` nodes and waits until every one reports JetStream healthy (a meta leader
    /// is elected and the node has caught up with it).
    pub async fn start(size: usize) -> NatsCluster {
        let mut nodes: Vec<Node> = (0..size)
            .map(|index| Node {
                name: format!("node-{index}"),
                client_port: crate::free_port(),
                route_port: crate::free_port(),
                monitor_port: crate::free_port(),
                store: TempDir::new().expect("temp dir for a JetStream node"),
                child: None,
            })
            .collect();
        let routes = route_urls(&nodes);
        for node in &mut nodes {
            node.child = Some(spawn(node, &routes));
        }
        let cluster = NatsCluster {
            nodes,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(2))
                .build()
                .expect("http client"),
        };
        for index in 0..size {
            cluster.wait_until_healthy(index).await;
        }
        cluster
    }

    /// Every node's client URL, separated by commas, as `NATS_URL` takes them.
    pub fn urls(&self) -> String {
        self.nodes
            .iter()
            .map(|node| format!("nats://127.0.0.1:{}", node.client_port))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// The server name of node `index` (`node-<index>`), as JetStream reports leaders.
    pub fn name(&self, index: usize) -> &str {
        &self.nodes[index].name
    }

    /// The node a JetStream server name (a stream's `cluster.leader`) belongs to.
    pub fn index_of(&self, server_name: &str) -> Option<usize> {
        self.nodes.iter().position(|node| node.name == server_name)
    }

    /// SIGKILLs node `index` and waits until it is reaped; its store stays.
    pub async fn kill(&mut self, index: usize) {
        if let Some(mut child) = self.nodes[index].child.take() {
            let _ = child.kill().await;
        }
    }

    /// Starts node `index` again on its ports and store and waits until it is healthy, that is,
    /// back in the cluster and caught up.
    pub async fn restart(&mut self, index: usize) {
        assert!(
            self.nodes[index].child.is_none(),
            "{} is still running",
            self.nodes[index].name
        );
        let routes = route_urls(&self.nodes);
        let child = spawn(&self.nodes[index], &routes);
        self.nodes[index].child = Some(child);
        self.wait_until_healthy(index).await;
    }

    /// Polls the node's `/healthz`, which answers 200 only once JetStream is usable there.
    async fn wait_until_healthy(&self, index: usize) {
        let node = &self.nodes[index];
        let url = format!("http://127.0.0.1:{}/healthz", node.monitor_port);
        let deadline = Instant::now() + READY_TIMEOUT;
        let mut last = String::from("no answer");
        while Instant::now() < deadline {
            match self.http.get(&url).send().await {
                Ok(response) if response.status().is_success() => return,
                Ok(response) => {
                    last = format!(
                        "{}: {}",
                        response.status(),
                        response.text().await.unwrap_or_default()
                    )
                }
                Err(err) => last = err.to_string(),
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        panic!(
            "{} did not report JetStream healthy within {READY_TIMEOUT:?}: {last}",
            node.name
        );
    }
}

impl Drop for NatsCluster {
    fn drop(&mut self) {
        for node in &mut self.nodes {
            if let Some(child) = node.child.as_mut() {
                crate::nats_server::kill_and_reap(child);
            }
        }
    }
}

fn route_urls(nodes: &[Node]) -> Vec<(String, String)> {
    nodes
        .iter()
        .map(|node| {
            (
                node.name.clone(),
                format!("nats://127.0.0.1:{}", node.route_port),
            )
        })
        .collect()
}

fn spawn(node: &Node, routes: &[(String, String)]) -> Child {
    let binary = crate::harness_env("RECON_TEST_NATS_SERVER");
    let others: Vec<&str> = routes
        .iter()
        .filter(|(name, _)| *name != node.name)
        .map(|(_, url)| url.as_str())
        .collect();
    Command::new(&binary)
        .args(["-js", "-a", "127.0.0.1", "-n", &node.name])
        .args(["-p", &node.client_port.to_string()])
        .args(["-m", &node.monitor_port.to_string()])
        .args(["--cluster_name", CLUSTER_NAME])
        .args([
            "--cluster",
            &format!("nats://127.0.0.1:{}", node.route_port),
        ])
        .args(["--routes", &others.join(",")])
        .arg("-sd")
        .arg(node.store.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|err| panic!("cannot start {binary} as {}: {err}", node.name))
}

//! Which component each node runs, as a value: a default for every node, one per role (the
//! log-servers, the clients), one per node. The builder's `component`,
//! `log_server_component`, `client_component` and `component_for`, kept so that many
//! builders get the same (`explore` builds one per run).

use std::sync::Arc;

use super::SandboxBuilder;
use crate::op::NodeId;
use crate::runtime::Runtime;

/// See the module documentation. Empty: the built-in guest everywhere.
#[derive(Clone, Default)]
pub struct Components {
    /// Every node not named otherwise.
    pub default: Option<Arc<Runtime>>,
    /// The log-servers.
    pub log_server: Option<Arc<Runtime>>,
    /// The client nodes.
    pub client: Option<Arc<Runtime>>,
    /// One node each; beats its role's and the default.
    pub nodes: Vec<(NodeId, Arc<Runtime>)>,
}

impl Components {
    /// The same component on every node.
    pub fn everywhere(runtime: Arc<Runtime>) -> Components {
        Components {
            default: Some(runtime),
            ..Components::default()
        }
    }

    /// The command-line flags that name these components (`--log-server PATH`...), each by
    /// the name it was loaded under: its path when read with [`Runtime::from_file`], which
    /// is what a replay command needs.
    pub fn flags(&self) -> String {
        let mut out = String::new();
        if let Some(runtime) = &self.default {
            out += &format!(" --guest {}", runtime.name());
        }
        if let Some(runtime) = &self.log_server {
            out += &format!(" --log-server {}", runtime.name());
        }
        if let Some(runtime) = &self.client {
            out += &format!(" --client {}", runtime.name());
        }
        for (node, runtime) in &self.nodes {
            out += &format!(" --node-guest {node}={}", runtime.name());
        }
        out
    }

    /// The builder, told which component each node runs.
    pub fn apply(&self, mut builder: SandboxBuilder) -> SandboxBuilder {
        if let Some(runtime) = &self.default {
            builder = builder.component(runtime.clone());
        }
        if let Some(runtime) = &self.log_server {
            builder = builder.log_server_component(runtime.clone());
        }
        if let Some(runtime) = &self.client {
            builder = builder.client_component(runtime.clone());
        }
        for (node, runtime) in &self.nodes {
            builder = builder.component_for(*node, runtime.clone());
        }
        builder
    }
}

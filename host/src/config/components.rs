//! Which component each node runs, as a value: a default for every node, one per role (the
//! log-servers, the clients), one per node. The lookup (node beats role beats default) is
//! written once, in [`Components::for_node`].

use std::fmt;
use std::sync::Arc;

use crate::op::NodeId;
use crate::runtime::Component;

/// See the module documentation. Empty: the built-in guest everywhere.
#[derive(Clone, Default)]
pub struct Components {
    /// Every node not named otherwise.
    pub default: Option<Arc<Component>>,
    /// The log-servers.
    pub log_server: Option<Arc<Component>>,
    /// The client nodes.
    pub client: Option<Arc<Component>>,
    /// One node each; beats its role's and the default. Named twice, the later wins.
    pub nodes: Vec<(NodeId, Arc<Component>)>,
}

impl fmt::Debug for Components {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = |c: &Option<Arc<Component>>| c.as_ref().map(|r| r.name().to_string());
        f.debug_struct("Components")
            .field("default", &name(&self.default))
            .field("log_server", &name(&self.log_server))
            .field("client", &name(&self.client))
            .field(
                "nodes",
                &self
                    .nodes
                    .iter()
                    .map(|(n, r)| (*n, r.name()))
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl Components {
    /// The same component on every node.
    pub fn everywhere(component: Arc<Component>) -> Components {
        Components {
            default: Some(component),
            ..Components::default()
        }
    }

    /// Names the component one node runs (beats the role's and the default).
    pub fn set_node(&mut self, node: NodeId, component: Arc<Component>) {
        self.nodes.retain(|(n, _)| *n != node);
        self.nodes.push((node, component));
    }

    /// The component `node` runs, if one was named for it, its role (`client` or a
    /// log-server) or every node; `None`: the built-in guest.
    pub fn for_node(&self, node: NodeId, client: bool) -> Option<&Arc<Component>> {
        let role = if client {
            &self.client
        } else {
            &self.log_server
        };
        self.nodes
            .iter()
            .rev()
            .find(|(n, _)| *n == node)
            .map(|(_, r)| r)
            .or(role.as_ref())
            .or(self.default.as_ref())
    }

    /// The command-line flags that name these components (`--log-server PATH`...), each by
    /// the name it was loaded under: its path when read with [`Component::from_file`], which
    /// is what a replay command needs.
    pub fn flags(&self) -> String {
        let mut out = String::new();
        if let Some(component) = &self.default {
            out += &format!(" --guest {}", component.name());
        }
        if let Some(component) = &self.log_server {
            out += &format!(" --log-server {}", component.name());
        }
        if let Some(component) = &self.client {
            out += &format!(" --client {}", component.name());
        }
        for (node, component) in &self.nodes {
            out += &format!(" --node-guest {node}={}", component.name());
        }
        out
    }
}

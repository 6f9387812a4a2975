//! `--guest`, `--log-server`, `--client` and `--node-guest`: which component each node
//! runs, as every command that builds a cluster takes it (run, explore, repl).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use logsandbox::Components;
use logsandbox::runtime::Component;

use crate::exit::CliError;

/// The flags; any role not given runs the built-in guest.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ComponentArgs {
    /// Run this component on every node (any implementation of the world).
    #[arg(long, value_name = "PATH.wasm")]
    pub guest: Option<PathBuf>,
    /// Run this component on the log-servers only; the clients keep theirs.
    #[arg(long = "log-server", value_name = "PATH.wasm")]
    pub log_server: Option<PathBuf>,
    /// Run this component on the client nodes only.
    #[arg(long, value_name = "PATH.wasm")]
    pub client: Option<PathBuf>,
    /// Run this component on one node, e.g. `--node-guest 2=PATH.wasm` (repeatable; beats
    /// the role's and --guest).
    #[arg(long = "node-guest", value_name = "N=PATH.wasm")]
    pub nodes: Vec<String>,
}

impl ComponentArgs {
    /// Every file named, with the node it is for (None: a role or every node), checked.
    pub fn per_node(&self) -> Result<Vec<(u32, PathBuf)>, CliError> {
        self.nodes
            .iter()
            .map(|arg| {
                let bad = || {
                    CliError::Usage(format!(
                        "--node-guest {arg:?}: expected N=PATH.wasm, e.g. 2=my_log_server.wasm"
                    ))
                };
                let (node, path) = arg.split_once('=').ok_or_else(bad)?;
                let node = node
                    .trim()
                    .trim_start_matches('N')
                    .parse::<u32>()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(bad)?;
                Ok((node, PathBuf::from(path)))
            })
            .collect()
    }

    /// The components, each file compiled once however many roles name it.
    pub fn load(&self) -> Result<Components, CliError> {
        let mut loaded: BTreeMap<PathBuf, Arc<Component>> = BTreeMap::new();
        let mut load = |path: &Path| -> Result<Arc<Component>, CliError> {
            if let Some(component) = loaded.get(path) {
                return Ok(component.clone());
            }
            let component = load_guest(path)?;
            loaded.insert(path.to_path_buf(), component.clone());
            Ok(component)
        };
        Ok(Components {
            default: self.guest.as_deref().map(&mut load).transpose()?,
            log_server: self.log_server.as_deref().map(&mut load).transpose()?,
            client: self.client.as_deref().map(&mut load).transpose()?,
            nodes: self
                .per_node()?
                .into_iter()
                .map(|(node, path)| Ok((node, load(&path)?)))
                .collect::<Result<_, CliError>>()?,
        })
    }

    /// The files to keep beside a run's outputs, under the names `replay` looks for.
    pub fn files(&self) -> Result<Vec<(String, PathBuf)>, CliError> {
        let mut files = Vec::new();
        if let Some(p) = &self.guest {
            files.push((GUEST_FILE.to_string(), p.clone()));
        }
        if let Some(p) = &self.log_server {
            files.push((LOG_SERVER_FILE.to_string(), p.clone()));
        }
        if let Some(p) = &self.client {
            files.push((CLIENT_FILE.to_string(), p.clone()));
        }
        for (node, p) in self.per_node()? {
            files.push((format!("node-{node}.wasm"), p));
        }
        Ok(files)
    }

    /// The flags that name the files kept in `dir` (what `files` wrote there).
    pub fn kept_in(dir: &Path) -> Result<ComponentArgs, CliError> {
        let at = |name: &str| Some(dir.join(name)).filter(|p| p.is_file());
        let mut nodes = Vec::new();
        let entries = std::fs::read_dir(dir)
            .map_err(|e| CliError::Usage(format!("{}: {e}", dir.display())))?;
        let mut names: Vec<String> = entries
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        for name in names {
            if let Some(node) = name
                .strip_prefix("node-")
                .and_then(|rest| rest.strip_suffix(".wasm"))
            {
                nodes.push(format!("{node}={}", dir.join(&name).display()));
            }
        }
        Ok(ComponentArgs {
            guest: at(GUEST_FILE),
            log_server: at(LOG_SERVER_FILE),
            client: at(CLIENT_FILE),
            nodes,
        })
    }
}

/// The component a `--out` directory keeps for `--guest`.
pub const GUEST_FILE: &str = "guest.wasm";
/// For `--log-server`.
pub const LOG_SERVER_FILE: &str = "log-server.wasm";
/// For `--client`.
pub const CLIENT_FILE: &str = "client.wasm";

/// A component from a file.
pub fn load_guest(path: &std::path::Path) -> Result<Arc<Component>, CliError> {
    Ok(Arc::new(Component::from_file(path)?))
}

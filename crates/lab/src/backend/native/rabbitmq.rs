//! RabbitMQ nodes from Debian packages: in a Debian 13 chroot or on the host.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{Dirs, process, write};
use crate::{LabError, NodeLayout, Result, Topology};

/// Where RabbitMQ's own start script lives in Debian's package.
const SERVER: &str = "/usr/lib/rabbitmq/bin/rabbitmq-server";
const CTL: &str = "/usr/lib/rabbitmq/bin/rabbitmqctl";

/// The Erlang cookie the lab's nodes share, so they cluster and CLI tools reach them.
const COOKIE: &str = "brokerlings-lab-cookie";

/// An installed RabbitMQ: a chroot root, or `/` when the host's packages are used.
pub(crate) struct RabbitInstall {
    root: PathBuf,
}

impl RabbitInstall {
    pub(crate) fn load(dirs: &Dirs) -> Result<RabbitInstall> {
        let kind = super::read_trimmed(&dirs.rabbit_marker()).unwrap_or_default();
        let root = if kind == "host" {
            PathBuf::from("/")
        } else {
            chroot_root(dirs)
        };
        Ok(RabbitInstall { root })
    }

    fn chrooted(&self) -> bool {
        self.root != Path::new("/")
    }

    /// The node's directory as RabbitMQ sees it (inside the chroot, if any).
    fn node_dir(&self, dirs: &Dirs, node: NodeLayout) -> PathBuf {
        if self.chrooted() {
            Path::new("/var/lib/brokerlings").join(node.name())
        } else {
            dirs.run(node).join("rabbitmq")
        }
    }

    /// The shared home (holding the cookie), as RabbitMQ sees it.
    fn home_dir(&self, dirs: &Dirs) -> PathBuf {
        if self.chrooted() {
            PathBuf::from("/var/lib/brokerlings/home")
        } else {
            dirs.home.join("run").join("rabbitmq-home")
        }
    }

    /// A path as the host sees it.
    fn on_host(&self, inside: &Path) -> PathBuf {
        match inside.strip_prefix("/") {
            Ok(relative) if self.chrooted() => self.root.join(relative),
            _ => inside.to_path_buf(),
        }
    }

    fn node_name(node: NodeLayout) -> String {
        format!("{}@localhost", node.name())
    }

    /// The environment RabbitMQ's scripts need for `node`, and nothing else.
    fn env(&self, dirs: &Dirs, node: NodeLayout) -> Vec<(String, String)> {
        let dir = self.node_dir(dirs, node);
        let d = |sub: &str| dir.join(sub).display().to_string();
        [
            ("PATH", "/usr/sbin:/usr/bin:/sbin:/bin".to_string()),
            ("HOME", self.home_dir(dirs).display().to_string()),
            ("LANG", "C.UTF-8".to_string()),
            ("RABBITMQ_NODENAME", Self::node_name(node)),
            ("RABBITMQ_NODE_PORT", node.amqp_port().to_string()),
            ("RABBITMQ_DIST_PORT", node.dist_port().to_string()),
            ("RABBITMQ_BASE", dir.display().to_string()),
            ("RABBITMQ_MNESIA_BASE", d("mnesia")),
            ("RABBITMQ_LOG_BASE", d("log")),
            ("RABBITMQ_CONFIG_FILE", d("rabbitmq.conf")),
            ("RABBITMQ_ENABLED_PLUGINS_FILE", d("enabled_plugins")),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    }

    /// The command prefix that runs a program of the install (in the chroot, with
    /// its own /proc mounted in a private mount namespace that dies with it).
    fn wrap(&self, program: &str) -> (String, Vec<String>) {
        if self.chrooted() {
            let proc_dir = self.root.join("proc").display().to_string();
            let root = self.root.display().to_string();
            let args = vec![
                format!("--mount-proc={proc_dir}"),
                "chroot".into(),
                root,
                program.into(),
            ];
            ("unshare".into(), args)
        } else {
            (program.into(), vec![])
        }
    }

    fn write_config(&self, dirs: &Dirs, node: NodeLayout) -> Result<()> {
        let dir = self.on_host(&self.node_dir(dirs, node));
        let home = self.on_host(&self.home_dir(dirs));
        for d in [&dir, &home] {
            std::fs::create_dir_all(d)
                .map_err(LabError::io(format!("creating {}", d.display())))?;
        }
        let cookie = home.join(".erlang.cookie");
        if !cookie.exists() {
            write(&cookie, COOKIE)?;
            set_mode(&cookie, 0o400)?;
        }
        let mut conf = format!(
            "# Written by the brokerlings lab for {node}.\n\
             listeners.tcp.local = 127.0.0.1:{amqp}\n\
             management.tcp.port = {mgmt}\n\
             management.tcp.ip = 127.0.0.1\n\
             # guest/guest from anywhere: the lab listens on loopback only.\n\
             loopback_users = none\n",
            amqp = node.amqp_port(),
            mgmt = node.management_port(),
        );
        if node.topology == Topology::RabbitCluster {
            conf.push_str("cluster_formation.peer_discovery_backend = classic_config\n");
            for peer in node.topology.nodes() {
                conf.push_str(&format!(
                    "cluster_formation.classic_config.nodes.{} = {}\n",
                    peer.number,
                    Self::node_name(peer)
                ));
            }
        }
        write(&dir.join("rabbitmq.conf"), &conf)?;
        write(&dir.join("enabled_plugins"), "[rabbitmq_management].\n")
    }

    pub(crate) async fn spawn(&self, dirs: &Dirs, node: NodeLayout) -> Result<()> {
        self.write_config(dirs, node)?;
        let (program, args) = self.wrap(SERVER);
        process::spawn_detached(&dirs.run(node), &program, &args, &self.env(dirs, node))
            .await
    }

    /// Waits until all nodes of the cluster see each other.
    pub(crate) async fn await_cluster(
        &self,
        dirs: &Dirs,
        node: NodeLayout,
        timeout: Duration,
    ) -> Result<()> {
        let (program, mut args) = self.wrap(CTL);
        args.extend(
            [
                "-n",
                &Self::node_name(node),
                "await_online_nodes",
                "3",
                "--timeout",
            ]
            .map(String::from),
        );
        args.push(timeout.as_secs().to_string());
        let mut command = tokio::process::Command::new(program);
        command.args(args).env_clear().envs(self.env(dirs, node));
        process::run_bounded(
            "waiting for the 3 RabbitMQ nodes to form a cluster",
            command,
            timeout + Duration::from_secs(10),
        )
        .await
        .map(|_| ())
    }
}

/// The chroot made by `lab install` on hosts whose packages are too old.
pub(crate) fn chroot_root(dirs: &Dirs) -> PathBuf {
    dirs.rabbit_install().join("root")
}

fn set_mode(path: &Path, mode: u32) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).map_err(
        LabError::io(format!("setting the mode of {}", path.display())),
    )
}

//! Running a RabbitMQ node from Debian's packages, in the Debian 13 chroot `lab
//! install` made (or on the host, whose packages are new enough): its files are the
//! node's description rendered, its process `rabbitmq-server`, detached.

use std::path::{Path, PathBuf};

use super::{Dirs, process, write};
use crate::rabbitmq::config::{COOKIE, RabbitNode};
use crate::{LabError, NodeLayout, Result};

/// Where RabbitMQ's own start script lives in Debian's package.
const SERVER: &str = "/usr/lib/rabbitmq/bin/rabbitmq-server";

/// An installed RabbitMQ: a chroot root, or `/` when the host's packages are used.
pub(crate) struct RabbitInstall {
    root: PathBuf,
}

impl RabbitInstall {
    pub(crate) fn load(dirs: &Dirs) -> RabbitInstall {
        let kind = super::read_trimmed(&dirs.rabbit_marker()).unwrap_or_default();
        let root = if kind == "host" {
            PathBuf::from("/")
        } else {
            chroot_root(dirs)
        };
        RabbitInstall { root }
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

    /// The environment RabbitMQ's scripts get: the node's own (name, distribution
    /// port) and where this install keeps its files; nothing else.
    fn env(&self, dirs: &Dirs, node: &RabbitNode) -> Vec<(String, String)> {
        let dir = self.node_dir(dirs, node.layout);
        let d = |sub: &str| dir.join(sub).display().to_string();
        let paths = [
            ("PATH", "/usr/sbin:/usr/bin:/sbin:/bin".to_string()),
            ("HOME", self.home_dir(dirs).display().to_string()),
            ("LANG", "C.UTF-8".to_string()),
            ("RABBITMQ_BASE", dir.display().to_string()),
            ("RABBITMQ_MNESIA_BASE", d("mnesia")),
            ("RABBITMQ_LOG_BASE", d("log")),
            ("RABBITMQ_CONFIG_FILE", d("rabbitmq.conf")),
            ("RABBITMQ_ENABLED_PLUGINS_FILE", d("enabled_plugins")),
        ];
        let mut env = node.env();
        env.extend(paths.into_iter().map(|(k, v)| (k.to_string(), v)));
        env
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

    /// Writes the node's `rabbitmq.conf`, `enabled_plugins` and the shared cookie.
    fn write_files(&self, dirs: &Dirs, node: &RabbitNode) -> Result<()> {
        let dir = self.on_host(&self.node_dir(dirs, node.layout));
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
        write(&dir.join("rabbitmq.conf"), &node.conf_file())?;
        write(&dir.join("enabled_plugins"), &node.enabled_plugins())
    }

    pub(crate) async fn spawn(&self, dirs: &Dirs, node: &RabbitNode) -> Result<()> {
        self.write_files(dirs, node)?;
        let (program, args) = self.wrap(SERVER);
        let env = self.env(dirs, node);
        process::spawn_detached(&dirs.run(node.layout), &program, &args, &env).await
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

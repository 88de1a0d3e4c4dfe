//! A throwaway PostgreSQL cluster for the tests and benchmarks: Debian's
//! `postgresql` package (installed when missing), `initdb` into a temporary
//! directory, `pg_ctl start` on a free loopback port with its socket in that
//! directory, trust authentication on loopback only. PostgreSQL refuses to
//! run as root: as root the cluster belongs to the `postgres` user. Stopped
//! and removed when dropped.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{Result, sh};

pub struct Cluster {
    dir: PathBuf,
    bin: PathBuf,
    port: u16,
}

impl Cluster {
    pub fn start() -> Result<Cluster> {
        let bin = match find_bin() {
            Some(b) => b,
            None => {
                install()?;
                find_bin().ok_or(
                    "postgresql was installed, but no initdb was found under /usr/lib/postgresql",
                )?
            }
        };
        let dir = std::env::temp_dir().join(format!("fieldbook-pg-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| format!("no free port for PostgreSQL: {e}"))?
            .port();
        let cluster = Cluster { dir, bin, port };
        if is_root() {
            sh(Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(&cluster.dir))?;
        }
        let data = cluster.dir.join("data");
        cluster.run(
            "initdb",
            &[
                "-D",
                &data.display().to_string(),
                "--auth=trust",
                "-U",
                "postgres",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ],
        )?;
        // Durable as in production (fsync on); enough connections for tests
        // running side by side, each server holding a few.
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c max_connections=300",
            cluster.port,
            cluster.dir.display()
        );
        cluster.run(
            "pg_ctl",
            &[
                "-D",
                &data.display().to_string(),
                "-o",
                &options,
                "-l",
                &cluster.dir.join("log").display().to_string(),
                "-w",
                "start",
            ],
        )?;
        println!("xtask: PostgreSQL at {}", cluster.url());
        Ok(cluster)
    }

    /// The server's URL, without a database name.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}", self.port)
    }

    fn run(&self, tool: &str, args: &[&str]) -> Result {
        let exe = self.bin.join(tool);
        if is_root() {
            sh(Command::new("runuser")
                .args(["-u", "postgres", "--"])
                .arg(&exe)
                .args(args)
                .current_dir(&self.dir))
        } else {
            sh(Command::new(&exe).args(args).current_dir(&self.dir))
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let data = self.dir.join("data").display().to_string();
        if let Err(e) = self.run("pg_ctl", &["-D", &data, "-m", "fast", "-w", "stop"]) {
            eprintln!("xtask: stopping PostgreSQL: {e}");
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .ok()
        .is_some_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// The newest installed server's `bin` directory.
fn find_bin() -> Option<PathBuf> {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let v = e.file_name().to_string_lossy().parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").is_file().then_some((v, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, b)| b)
}

fn install() -> Result {
    if !Path::new("/usr/bin/apt-get").exists() {
        return Err(
            "PostgreSQL is not installed and this is not Debian: install the postgresql package"
                .into(),
        );
    }
    sh(Command::new("apt-get").arg("update"))?;
    sh(Command::new("apt-get")
        .args(["install", "-y", "--no-install-recommends", "postgresql"])
        .env("DEBIAN_FRONTEND", "noninteractive"))
}

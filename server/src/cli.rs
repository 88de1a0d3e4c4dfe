//! The command line: `serve`, `user add`, `unit add`, `demo`.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, Subcommand};
use fieldbook_shared::vocab::Role;

use crate::error::ServerError;
use crate::store::db::Db;
use crate::store::sql::Location;
use crate::{auth, demo, rules};

#[derive(Debug, Parser)]
#[command(
    name = "fieldbook-server",
    version,
    about = "Fieldbook's central sync and reporting server"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the sync endpoint, the REST API and the built client.
    Serve {
        #[arg(long, env = "FIELDBOOK_DB", default_value = "fieldbook.db")]
        db: Location,
        #[arg(long, env = "FIELDBOOK_LISTEN", default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// The built client to serve at / (made by `cargo xtask dist`).
        #[arg(
            long = "static",
            env = "FIELDBOOK_STATIC",
            default_value = "client/dist"
        )]
        static_dir: PathBuf,
        /// Unload a customer document from memory after this many seconds with
        /// no device syncing it (0: never). It stays in the database and is
        /// loaded again when next asked for.
        #[arg(long, env = "FIELDBOOK_UNLOAD_IDLE_SECS", default_value_t = 300)]
        unload_idle_secs: u64,
        /// The address people open (e.g. https://fieldbook.example.cn) when a
        /// proxy stands in front: pages of that origin may change state, and an
        /// https address makes the session cookie Secure.
        #[arg(long, env = "FIELDBOOK_PUBLIC_URL")]
        public_url: Option<String>,
        /// Another origin whose pages may change state (repeatable). By
        /// default only the server's own (or the public URL's) may.
        #[arg(
            long = "allow-origin",
            env = "FIELDBOOK_ALLOW_ORIGINS",
            value_delimiter = ','
        )]
        allow_origins: Vec<String>,
        /// Forget a claim on a document whose content has not arrived after
        /// this many seconds (a peer may name made-up document ids).
        #[arg(long, env = "FIELDBOOK_CLAIM_GRACE_SECS", default_value_t = 3600)]
        claim_grace_secs: u64,
    },
    /// Manage users.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Manage the org tree.
    Unit {
        #[command(subcommand)]
        command: UnitCommand,
    },
    /// Show or set the operator's rules (grading thresholds, managed-as tiers,
    /// anomaly alerts, complaint time limits) as JSON.
    Rules {
        #[command(subcommand)]
        command: RulesCommand,
    },
    /// Load the demo org, users and customers (idempotent: skipped if present).
    Demo {
        #[arg(long, env = "FIELDBOOK_DB", default_value = "fieldbook.db")]
        db: Location,
    },
    /// Copy a SQLite deployment into an empty PostgreSQL database, then verify
    /// it (row counts of every table, every document's heads). Stop the
    /// server first: what it writes during the copy would not be copied.
    Migrate {
        /// The SQLite file.
        #[arg(long)]
        from: Location,
        /// postgres://user:password@host:port/database (empty).
        #[arg(long)]
        to: Location,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add a user; a unit that does not exist yet is created.
    Add {
        #[arg(long, env = "FIELDBOOK_DB", default_value = "fieldbook.db")]
        db: Location,
        #[arg(long)]
        username: String,
        #[arg(long)]
        password: String,
        /// manager, head or admin
        #[arg(long)]
        role: String,
        #[arg(long)]
        unit: String,
        /// The name shown in the app (defaults to the username).
        #[arg(long, default_value = "")]
        name: String,
        /// The operator's staff number (工号), if it has them.
        #[arg(long, default_value = "")]
        staff_no: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// Print the rules in force (the defaults if none were set).
    Show {
        #[arg(long, env = "FIELDBOOK_DB", default_value = "fieldbook.db")]
        db: Location,
    },
    /// Validate a JSON file and store it; settings it leaves out take the defaults.
    /// A running server picks it up at its next start (or use PUT /api/rules).
    Set {
        #[arg(long, env = "FIELDBOOK_DB", default_value = "fieldbook.db")]
        db: Location,
        file: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum UnitCommand {
    /// Add a unit under an existing parent (or at the top without --parent).
    Add {
        #[arg(long, env = "FIELDBOOK_DB", default_value = "fieldbook.db")]
        db: Location,
        #[arg(long)]
        code: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        parent: Option<String>,
    },
}

/// Runs one command to completion.
pub async fn run(cli: Cli) -> Result<(), ServerError> {
    match cli.command {
        Command::Serve {
            db,
            listen,
            static_dir,
            unload_idle_secs,
            public_url,
            allow_origins,
            claim_grace_secs,
        } => {
            let running = crate::start(crate::Config {
                db,
                listen,
                static_dir: Some(static_dir),
                unload_idle: (unload_idle_secs > 0)
                    .then(|| std::time::Duration::from_secs(unload_idle_secs)),
                origins: crate::web_security::Origins {
                    allowed: allow_origins,
                    public_url,
                },
                claim_grace: std::time::Duration::from_secs(claim_grace_secs),
            })
            .await?;
            println!("Fieldbook is listening on http://{}", running.addr);
            tokio::signal::ctrl_c().await?;
            tracing::info!("shutting down");
            running.stop().await;
            Ok(())
        }
        Command::User {
            command:
                UserCommand::Add {
                    db,
                    username,
                    password,
                    role,
                    unit,
                    name,
                    staff_no,
                },
        } => {
            let role = Role::parse(&role);
            let id = Db::open(&db)?.blocking(|c| {
                let tx = c.transaction()?;
                let id = auth::add_user(&tx, &username, &name, &password, &role, &unit)?;
                auth::set_staff_no(&tx, id, &staff_no)?;
                tx.commit()?;
                Ok(id)
            })?;
            println!("added user {username} (id {id}, {role}, unit {unit})");
            Ok(())
        }
        Command::Unit {
            command:
                UnitCommand::Add {
                    db,
                    code,
                    name,
                    parent,
                },
        } => {
            Db::open(&db)?.blocking(|c| auth::add_unit(c, &code, &name, parent.as_deref()))?;
            println!("added unit {code} ({name})");
            Ok(())
        }
        Command::Rules {
            command: RulesCommand::Show { db },
        } => {
            let current = Db::open(&db)?.blocking(|c| rules::load(c))?.get();
            println!(
                "{}",
                serde_json::to_string_pretty(&current).unwrap_or_default()
            );
            Ok(())
        }
        Command::Rules {
            command: RulesCommand::Set { db, file },
        } => {
            Db::open(&db)?.blocking(|c| rules::set_from_file(c, &file))?;
            println!("rules from {} stored", file.display());
            Ok(())
        }
        Command::Demo { db } => demo::load(&db).await,
        Command::Migrate { from, to } => {
            let started = std::time::Instant::now();
            let report = tokio::task::spawn_blocking(move || {
                crate::store::migrate::copy(&from, &to).map(|r| (r, to))
            })
            .await
            .map_err(|e| ServerError::Internal(format!("the copy stopped: {e}")))?;
            let (report, to) = report?;
            for (table, rows) in &report.tables {
                println!("  {table:<24} {rows:>10} rows");
            }
            println!(
                "copied into {} in {:.1} s and verified: every table's rows counted in both, {} documents with the same heads",
                to.display(),
                started.elapsed().as_secs_f64(),
                report.documents
            );
            Ok(())
        }
    }
}

use clap::Parser;
use fieldbook_server::cli::{Cli, run};

/// jemalloc, not glibc's malloc: under glibc, the memory of documents synced
/// and then unloaded stayed resident, pinned by the few allocations that
/// outlive them (see `fieldbook_server::memory`).
#[cfg(feature = "jemalloc")]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    // Colours only on a terminal: a log written to a file stays plain text.
    tracing_subscriber::fmt()
        .with_env_filter(log_filter(std::env::var("RUST_LOG").ok()))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    match run(Cli::parse()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// What is logged: `RUST_LOG` if set and valid, else info, with samod's
/// chatter at warn. automerge's spans stay off unless `RUST_LOG` names
/// automerge: it marks its loading functions `#[instrument]`, at info, with
/// the document's whole change graph among the span's fields, so every sync
/// message formatted the graph (a tenth of the server's CPU in a visit storm,
/// and growing with the document).
fn log_filter(env: Option<String>) -> tracing_subscriber::EnvFilter {
    const DEFAULT: &str = "info,samod=warn,samod_core=warn";
    let mut directives = env.unwrap_or_else(|| DEFAULT.into());
    if !directives.contains("automerge") {
        directives.push_str(",automerge=warn");
    }
    tracing_subscriber::EnvFilter::try_new(&directives)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(format!("{DEFAULT},automerge=warn")))
}

#[cfg(test)]
mod tests {
    use super::log_filter;

    /// Whether an info span of automerge's loader would be recorded.
    fn automerge_spans_on(env: Option<&str>) -> bool {
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter(log_filter(env.map(String::from)))
            .with_writer(std::io::sink)
            .finish();
        tracing::subscriber::with_default(
            subscriber,
            || tracing::enabled!(target: "automerge::storage::load", tracing::Level::INFO),
        )
    }

    #[test]
    fn automerge_spans_are_off_unless_asked_for_by_name() {
        assert!(!automerge_spans_on(None));
        assert!(!automerge_spans_on(Some("info")));
        assert!(!automerge_spans_on(Some("debug,fieldbook_server=trace")));
        assert!(automerge_spans_on(Some("info,automerge=info")));
    }

    #[test]
    fn our_own_info_logs_stay_on() {
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter(log_filter(None))
            .with_writer(std::io::sink)
            .finish();
        assert!(tracing::subscriber::with_default(subscriber, || {
            tracing::enabled!(target: "fieldbook_server::sync", tracing::Level::INFO)
        }));
    }
}

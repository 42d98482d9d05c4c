//! `zhengzhao serve` and `zhengzhao demo config`.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, OnceLock};

use clap::Subcommand;

use super::Failure;
use crate::audit::entry::{Action, Actor, EntryDraft, HolderKey};
use crate::codes::{make_visible, redact_id_numbers};
use crate::node::{Config, Node};

#[derive(Debug, Subcommand)]
pub(crate) enum DemoCommand {
    /// Print a complete, working node configuration for a demo region on the demo PKI.
    Config {
        /// The demo region: 370900, 370115, 140802 or 370306.
        #[arg(long)]
        region: String,
        /// The demo PKI directory (certs/ in the repository).
        #[arg(long)]
        certs: PathBuf,
        /// The node's data directory.
        #[arg(long)]
        data_dir: PathBuf,
        /// The address and port to listen on.
        #[arg(long, default_value = "127.0.0.1:8443")]
        listen: String,
        /// A demo partner region and its node's URL, `REGION=https://HOST:PORT`; repeatable.
        #[arg(long = "partner", value_name = "REGION=URL")]
        partners: Vec<String>,
    },
}

pub(crate) fn demo(cmd: DemoCommand) -> Result<ExitCode, Failure> {
    match cmd {
        DemoCommand::Config {
            region,
            certs,
            data_dir,
            listen,
            partners,
        } => {
            let partners = partners
                .iter()
                .map(|p| {
                    p.split_once('=')
                        .map(|(r, u)| (r.to_owned(), u.to_owned()))
                        .ok_or_else(|| {
                            Failure::Usage(format!("--partner {p:?}: expected REGION=URL"))
                        })
                })
                .collect::<Result<Vec<_>, _>>()?;
            let text =
                crate::demo::config::config_text(&region, &certs, &data_dir, &listen, &partners)
                    .map_err(Failure::Usage)?;
            print!("{text}");
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The node's holder key, once loaded: log lines are redacted with it from then on.
static LOG_KEY: OnceLock<HolderKey> = OnceLock::new();

/// Standard error with every formatted log line redacted before it is written: a holder code
/// found in it, however written, becomes `<holder:HASH>` once the node's holder key is loaded
/// (`<redacted>` before), and characters that a line-based reader would misread (U+2028,
/// bidirectional controls, zero-width characters…) are written out as `<U+XXXX>`.
struct RedactedStderr;

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for RedactedStderr {
    type Writer = RedactedLine;

    fn make_writer(&'a self) -> RedactedLine {
        RedactedLine
    }
}

/// The writer of one log line. The formatter hands it each event whole, in one write.
struct RedactedLine;

impl Write for RedactedLine {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        let redacted = match LOG_KEY.get() {
            Some(key) => key.redact(&text),
            None => redact_id_numbers(&text),
        };
        std::io::stderr()
            .lock()
            .write_all(make_visible(&redacted).as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

/// Logs to standard error, redacted ([`RedactedStderr`]); `RUST_LOG` sets the level (default
/// `info`).
fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    use std::io::IsTerminal as _;
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(RedactedStderr)
        .try_init();
}

async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        // Without signal handlers, run until killed.
        std::future::pending::<()>().await;
        return;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
}

pub(crate) fn serve(config: PathBuf) -> Result<ExitCode, Failure> {
    init_tracing();
    let config = Config::load(&config).map_err(|e| Failure::Usage(e.to_string()))?;
    let listen = config.listen;
    let node = Node::open(config).map_err(|e| Failure::Usage(e.to_string()))?;
    // Set once per process: `serve` runs once.
    let _ = LOG_KEY.set(node.holder_key.clone());
    let node = Arc::new(node);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::Usage(format!("starting the runtime: {e}")))?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .map_err(|e| Failure::Usage(format!("config: `node.listen`: {listen}: {e}")))?;
        let bound = listener
            .local_addr()
            .map_err(|e| Failure::Usage(e.to_string()))?;
        let actor = Actor {
            id: node.config.node_id.clone(),
            region: Some(node.config.region),
            cert_sha256: None,
        };
        let mut start = EntryDraft::new(actor.clone(), Action::NodeStart, "ok");
        start
            .detail
            .insert("listen".into(), bound.to_string().into());
        start.detail.insert(
            "version".into(),
            env!("CARGO_PKG_VERSION").to_string().into(),
        );
        let log_err = |e: crate::audit::error::AuditError| {
            Failure::Usage(format!("the audit log refuses writes: {e}"))
        };
        node.log
            .submit(vec![start], Vec::new())
            .map_err(log_err)?
            .recv()
            .await
            .map_err(log_err)?;
        let sequence = crate::node::federation::publish_trust_list(&node)
            .await
            .map_err(|e| Failure::Usage(format!("publishing the trust list: {e}")))?;
        node.log.checkpoint_now().map_err(log_err)?;
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        if !node.config.partners.is_empty() {
            tokio::spawn(crate::node::federation::trust_list_loop(
                node.clone(),
                stop_rx.clone(),
            ));
            tokio::spawn(crate::node::federation::witness_loop(
                node.clone(),
                stop_rx.clone(),
            ));
        }
        tracing::info!(
            trust_list_sequence = sequence,
            partners = node.config.partners.len(),
            "federation"
        );
        tracing::info!(listen = %bound, region = %node.config.region, "serving");
        // The line tests and scripts wait for.
        println!("listening on {bound}");
        crate::node::server::serve(node.clone(), listener, shutdown_signal()).await;
        let _ = stop_tx.send(true);
        tracing::info!("stopping");
        let stop = EntryDraft::new(actor, Action::NodeStop, "ok");
        let result = match node.log.submit(vec![stop], Vec::new()) {
            Ok(p) => p.recv().await.map(|_| ()),
            Err(e) => Err(e),
        };
        if let Err(e) = result {
            tracing::error!(error = %e, "could not log the stop");
        }
        match node.log.checkpoint_now() {
            Ok(cp) => tracing::info!(size = cp.checkpoint.size, "final checkpoint signed"),
            Err(e) => tracing::error!(error = %e, "could not sign the final checkpoint"),
        }
        node.log.close();
        Ok::<(), Failure>(())
    })?;
    Ok(ExitCode::SUCCESS)
}

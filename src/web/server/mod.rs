//! The plugin's HTTP server: our own accept loop, with connection limits, around Rocket's
//! request pipeline (why: [`bridge`]).
//!
//! Shutdown (SIGTERM or Ctrl-C) keeps Rocket's promise: the listener closes at once, Rocket's
//! `Shutdown` fires (the delivery worker and `/health/ready` see it), requests in flight get
//! `shutdown_grace`, then connections `shutdown_mercy`, then they are cut; the shutdown
//! fairings run last.

mod bridge;
mod connection;

use std::net::SocketAddr;
use std::sync::Arc;

use rocket::local::asynchronous::Client;
use rocket::{Build, Rocket};
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinSet;

use crate::config::{ConnectionLimits, ServerSettings};

/// File descriptors kept for what is not a client connection: the store, outbound HTTP
/// (deliveries, Smart-ID), logs, the trust material.
const RESERVED_FDS: u64 = 256;

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("cannot listen on {0}: {1}")]
    Bind(SocketAddr, std::io::Error),
    #[error("cannot start: {0}")]
    Rocket(#[from] Box<rocket::Error>),
    #[error("cannot install the signal handler: {0}")]
    Signal(std::io::Error),
}

/// Listens on the configured address and serves until SIGTERM or Ctrl-C.
pub async fn serve(rocket: Rocket<Build>, settings: &ServerSettings) -> Result<(), ServeError> {
    let address = SocketAddr::new(settings.address, settings.port);
    let listener = TcpListener::bind(address)
        .await
        .map_err(|e| ServeError::Bind(address, e))?;
    let stop = stop_signal()?;
    serve_on(listener, rocket, settings, stop).await
}

/// Binds the configured address before anything else starts, so a taken port is reported
/// first and plainly (the command line then serves on it with [`serve_bound`]).
pub fn bind(settings: &ServerSettings) -> Result<std::net::TcpListener, ServeError> {
    let address = SocketAddr::new(settings.address, settings.port);
    let listener =
        std::net::TcpListener::bind(address).map_err(|e| ServeError::Bind(address, e))?;
    listener
        .set_nonblocking(true)
        .map_err(|e| ServeError::Bind(address, e))?;
    Ok(listener)
}

/// [`serve`] on a listener from [`bind`].
pub async fn serve_bound(
    listener: std::net::TcpListener,
    rocket: Rocket<Build>,
    settings: &ServerSettings,
) -> Result<(), ServeError> {
    let address = SocketAddr::new(settings.address, settings.port);
    let listener = TcpListener::from_std(listener).map_err(|e| ServeError::Bind(address, e))?;
    let stop = stop_signal()?;
    serve_on(listener, rocket, settings, stop).await
}

/// Serves `listener` until `stop` resolves.
async fn serve_on(
    listener: TcpListener,
    rocket: Rocket<Build>,
    settings: &ServerSettings,
    stop: impl std::future::Future<Output = ()>,
) -> Result<(), ServeError> {
    let limits = fitted(settings.limits);
    // Ignites Rocket and runs its liftoff fairings (the delivery worker starts).
    let client = Arc::new(Client::untracked(rocket).await.map_err(Box::new)?);
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let mut connections = JoinSet::new();
    tokio::pin!(stop);
    loop {
        // At the cap, new connections wait in the kernel's accept queue, holding no descriptor.
        let permit = tokio::select! {
            _ = &mut stop => break,
            permit = permits.clone().acquire_owned() => permit.expect("never closed"),
        };
        let (stream, peer) = tokio::select! {
            _ = &mut stop => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // EMFILE and the like: pause rather than spin; the connections in the queue
                    // stay there.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let (client, shutdown) = (client.clone(), shutdown_rx.clone());
        connections.spawn(async move {
            connection::serve(stream, peer, client, limits, shutdown).await;
            drop(permit);
        });
        // Reap finished tasks so the set does not grow with every connection ever served.
        while connections.try_join_next().is_some() {}
    }
    drop(listener);
    shutdown_gracefully(client, connections, shutdown_tx, settings).await;
    Ok(())
}

async fn shutdown_gracefully(
    client: Arc<Client>,
    mut connections: JoinSet<()>,
    shutdown: watch::Sender<bool>,
    settings: &ServerSettings,
) {
    client.rocket().shutdown().notify();
    let _ = shutdown.send(true);
    let deadline = settings.shutdown_grace + settings.shutdown_mercy;
    let drained = tokio::time::timeout(deadline, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            open = connections.len(),
            "connections still open after grace and mercy: cutting them"
        );
        connections.shutdown().await;
    }
    match Arc::try_unwrap(client) {
        Ok(client) => {
            client.terminate().await;
        }
        Err(_) => tracing::warn!("a request outlived its connection: shutdown fairings skipped"),
    }
}

/// The limits, with the connection cap lowered to what the file descriptor limit allows
/// (after raising the soft limit to the hard one, as far as the system lets us).
fn fitted(mut limits: ConnectionLimits) -> ConnectionLimits {
    use rustix::process::{getrlimit, setrlimit, Resource};
    let mut nofile = getrlimit(Resource::Nofile);
    if nofile.current != nofile.maximum {
        nofile.current = nofile.maximum;
        let _ = setrlimit(Resource::Nofile, nofile);
    }
    let Some(soft) = getrlimit(Resource::Nofile).current else {
        return limits;
    };
    let room = soft.saturating_sub(RESERVED_FDS).max(16) as usize;
    if room < limits.max_connections {
        tracing::warn!(
            open_files = soft,
            max_connections = room,
            configured = limits.max_connections,
            "the open-file limit allows fewer connections than server.max_connections: raise `ulimit -n`"
        );
        limits.max_connections = room;
    }
    limits
}

/// SIGTERM (what orchestrators send) or Ctrl-C.
fn stop_signal() -> Result<impl std::future::Future<Output = ()>, ServeError> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).map_err(ServeError::Signal)?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => tracing::info!("SIGTERM: shutting down"),
            _ = tokio::signal::ctrl_c() => tracing::info!("Ctrl-C: shutting down"),
        }
    })
}
